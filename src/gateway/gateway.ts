import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { DomainError } from '../domain/errors.js';
import { CircuitBreaker } from './breaker.js';
import { type Chunk, choiceOf, type CompletionBody, deliveredCharacters, estimatePrompt, estimateTokens, isToken, type Usage, usageOf } from './chunks.js';
import { type Upstream, UpstreamError } from './upstream.js';

/** What one upstream attempt came to, for metrics. */
export type AttemptOutcome = 'ok' | 'error' | 'timeout' | 'broken' | 'skipped' | 'client_closed';

/** Per-upstream figures (time to first token, tokens per second, errors, breaker state). */
export interface UpstreamObserver {
  attempted(upstream: string, outcome: AttemptOutcome): void;
  firstToken(upstream: string, seconds: number): void;
  streamed(upstream: string, tokens: number, seconds: number): void;
  breaker(upstream: string, open: boolean): void;
}

/** Which route a completion came through. */
export type Surface = 'v1' | 'chat' | 'ws';

/** `broken`: tokens had flowed when the upstream failed. `error`: no upstream answered. */
export type CompletionOutcome = 'ok' | 'error' | 'broken' | 'client_closed';

export interface FinishedCompletion {
  id: string;
  principal: Principal;
  model: string;
  surface: Surface;
  /** The upstream's model and its position in the route, when one answered. */
  upstream: { model: string; position: number } | null;
  usage: Usage;
  /** Whether `usage` is Portico's estimate of what was delivered rather than the upstream's report. */
  estimated: boolean;
  outcome: CompletionOutcome;
  latencyMs: number;
  firstTokenMs: number | null;
}

/** Budgets and accounting, as the gateway needs them. */
export interface Ledger {
  /** Throws a rate_limited DomainError when the key has used its budget or tokens per minute. */
  admit(principal: Principal): Promise<void>;
  /** Records the completion (usage, counters, its event) before the caller ends the answer. */
  record(completion: FinishedCompletion): Promise<void>;
}

export interface RouteConfig {
  name: string;
  upstreams: { upstream: Upstream; model: string }[];
}

export interface GatewayOptions {
  routes: RouteConfig[];
  ledger: Ledger;
  observer: UpstreamObserver;
  firstTokenTimeoutMs: number;
  timeoutMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  log: Logger;
}

interface RoutedUpstream {
  upstream: Upstream;
  model: string;
  position: number;
  breaker: CircuitBreaker;
}

export interface CompletionResult {
  /** The upstream's report, or Portico's estimate when it made none. */
  usage: Usage;
  finishReason: string | null;
}

/**
 * The model gateway: public model names routed to their upstreams in order, with fallback before
 * the first token, a circuit breaker per upstream, and every completion admitted against the key's
 * limits and recorded. Every route into a model (/v1, /chat, /ws/chat) goes through here.
 */
export class Gateway {
  /** When the model list was loaded: OpenAI's `created` of each model. */
  readonly loadedAt = Math.floor(Date.now() / 1000);
  private readonly routes = new Map<string, RoutedUpstream[]>();

  constructor(private readonly options: GatewayOptions) {
    for (const route of options.routes) {
      this.routes.set(
        route.name,
        route.upstreams.map(({ upstream, model }, index) => ({ upstream, model, position: index + 1, breaker: new CircuitBreaker(options.breakerFailures, options.breakerCooldownMs) })),
      );
    }
  }

  /** The model a request that names none gets: the first configured. */
  get defaultModel(): string {
    return this.options.routes[0]!.name;
  }

  /** The public models this key may use, in configuration order. */
  models(principal: Principal): string[] {
    return [...this.routes.keys()].filter((name) => principal.models === null || principal.models.includes(name));
  }

  /**
   * Checks that the model exists, that the key may use it and is within its limits; the returned
   * completion runs when its chunks are read.
   */
  async open(principal: Principal, model: string, body: CompletionBody, surface: Surface): Promise<Completion> {
    await this.admit(principal, model);
    return this.start(principal, model, body, surface);
  }

  /** The checks of `open` alone, for callers that store something between checking and starting. */
  async admit(principal: Principal, model: string): Promise<void> {
    this.check(principal, model);
    await this.options.ledger.admit(principal);
  }

  /** Refuses a model that is not configured (not found) or that the key may not use (forbidden). */
  check(principal: Principal, model: string): void {
    const route = this.routes.get(model);
    if (!route) {
      const known = this.models(principal);
      throw new DomainError('not_found', `No model named "${model}" exists; ${known.length > 0 ? `this key may use ${known.join(', ')}` : 'this key may use none'}.`);
    }
    if (principal.models !== null && !principal.models.includes(model)) {
      throw new DomainError('forbidden', `This key may not use the model "${model}"; it may use ${principal.models.join(', ') || 'none'}.`);
    }
  }

  /** A completion of a model `admit` accepted. */
  start(principal: Principal, model: string, body: CompletionBody, surface: Surface): Completion {
    const route = this.routes.get(model);
    if (!route) throw new Error(`start() of the unknown model ${model}: admit() first`);
    return new Completion(this.options, principal, model, route, body, surface);
  }
}

const ABORT_FIRST_TOKEN = 'first_token';
const ABORT_WHOLE = 'whole';

/** One completion: tried on each upstream in turn until one sends a token, then streamed from it. */
export class Completion {
  readonly id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
  readonly created = Math.floor(Date.now() / 1000);
  /** Set once the answer ended well: its usage and finish reason. */
  result: CompletionResult | undefined;

  constructor(
    private readonly options: GatewayOptions,
    private readonly principal: Principal,
    readonly model: string,
    private readonly route: RoutedUpstream[],
    private readonly body: CompletionBody,
    private readonly surface: Surface,
  ) {}

  /** A chunk as the client gets it: this completion's id, time and public model name, no usage. */
  private present(chunk: Chunk): Chunk {
    const { usage: _usage, ...rest } = chunk;
    return { ...rest, id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: Array.isArray(chunk.choices) ? chunk.choices : [] };
  }

  /**
   * The answer's chunks (the usage chunk left out: the result carries the usage). Throws a
   * DomainError when no upstream answers, or when the answer breaks off after tokens flowed.
   * The completion is recorded when the generator ends, however it ends, and `result` is set
   * when it ended well.
   */
  async *chunks(signal: AbortSignal): AsyncGenerator<Chunk, void> {
    const { observer, log } = this.options;
    const started = performance.now();
    const failures: string[] = [];
    let lastFailure: UpstreamError | undefined;
    let retryInMs = Infinity;
    let answered: RoutedUpstream | undefined;
    let reported: Usage | undefined;
    let deliveredChars = 0;
    let firstTokenAt: number | undefined;
    let finishReason: string | null = null;
    let outcome: CompletionOutcome = 'error';
    try {
      for (const candidate of this.route) {
        const label = candidate.upstream.label;
        if (!candidate.breaker.allow()) {
          retryInMs = Math.min(retryInMs, candidate.breaker.retryInMs());
          failures.push(`upstream ${candidate.position} is paused after repeated failures`);
          observer.attempted(label, 'skipped');
          continue;
        }
        const attempt = new AbortController();
        const firstTokenTimer = setTimeout(() => attempt.abort(ABORT_FIRST_TOKEN), this.options.firstTokenTimeoutMs);
        const wholeTimer = setTimeout(() => attempt.abort(ABORT_WHOLE), this.options.timeoutMs);
        const combined = AbortSignal.any([signal, attempt.signal]);
        const iterator = candidate.upstream.stream(this.body, combined)[Symbol.asyncIterator]();
        const failureOf = (error: unknown): UpstreamError => {
          if (attempt.signal.reason === ABORT_FIRST_TOKEN) return new UpstreamError('upstream_timeout', `sent no token within ${this.options.firstTokenTimeoutMs} ms`, true);
          if (attempt.signal.reason === ABORT_WHOLE) return new UpstreamError('upstream_timeout', `did not finish within ${this.options.timeoutMs} ms`, true);
          if (error instanceof UpstreamError) return error;
          log.warn({ err: error, upstream: label }, 'upstream failed unexpectedly');
          return new UpstreamError('upstream', 'failed unexpectedly', true);
        };
        const clientClosed = (error: unknown): DomainError => {
          candidate.breaker.released();
          observer.attempted(label, 'client_closed');
          outcome = 'client_closed';
          return new DomainError('client_closed', 'The client closed the connection.', { cause: error });
        };
        const buffered: Chunk[] = [];
        let ended = false;
        try {
          // Until the first token nothing has reached the client: a failure moves on to the next upstream.
          for (;;) {
            const next = await iterator.next();
            if (next.done) {
              ended = true;
              break;
            }
            reported = usageOf(next.value) ?? reported;
            buffered.push(next.value);
            if (isToken(next.value)) break;
          }
        } catch (error) {
          clearTimeout(firstTokenTimer);
          clearTimeout(wholeTimer);
          if (signal.aborted) throw clientClosed(error);
          const failure = failureOf(error);
          if (failure.retriable) {
            candidate.breaker.failed();
            observer.breaker(label, candidate.breaker.state === 'open');
          } else {
            // It answered (refusing the request): the upstream itself works.
            candidate.breaker.succeeded();
          }
          observer.attempted(label, failure.kind === 'upstream_timeout' ? 'timeout' : 'error');
          failures.push(`upstream ${candidate.position} ${failure.message}`);
          lastFailure = failure;
          if (!failure.retriable) break;
          continue;
        }
        clearTimeout(firstTokenTimer);
        answered = candidate;
        firstTokenAt = performance.now();
        observer.firstToken(label, (firstTokenAt - started) / 1000);
        // What was read before the first token, then the rest as it comes.
        const answer = async function* (): AsyncGenerator<Chunk, void> {
          yield* buffered;
          while (!ended) {
            const next = await iterator.next();
            if (next.done) return;
            yield next.value;
          }
        };
        try {
          for await (const chunk of answer()) {
            const usage = usageOf(chunk);
            reported = usage ?? reported;
            deliveredChars += deliveredCharacters(chunk);
            finishReason = finishOf(chunk) ?? finishReason;
            // The usage chunk is the caller's to send (only when the client asked for it).
            if (usage && Array.isArray(chunk.choices) && chunk.choices.length === 0) continue;
            yield this.present(chunk);
          }
        } catch (error) {
          if (signal.aborted) throw clientClosed(error);
          const failure = failureOf(error);
          candidate.breaker.failed();
          observer.breaker(label, candidate.breaker.state === 'open');
          observer.attempted(label, 'broken');
          outcome = 'broken';
          throw new DomainError(failure.kind === 'upstream_timeout' ? 'upstream_timeout' : 'upstream', `The answer broke off: upstream ${candidate.position} ${failure.message}.`, { cause: error });
        } finally {
          clearTimeout(wholeTimer);
          await iterator.return?.();
        }
        candidate.breaker.succeeded();
        observer.breaker(label, false);
        observer.attempted(label, 'ok');
        const seconds = (performance.now() - firstTokenAt) / 1000;
        const completionTokens = reported?.completion_tokens ?? estimateTokens(deliveredChars);
        if (seconds > 0) observer.streamed(label, completionTokens, seconds);
        outcome = 'ok';
        this.result = { usage: this.usage(reported, deliveredChars, outcome), finishReason };
        return;
      }
      const summary = `No upstream of "${this.model}" answered: ${failures.join('; ')}.`;
      if (lastFailure === undefined) {
        const seconds = Math.max(1, Math.ceil(retryInMs / 1000));
        throw DomainError.unavailable(`Every upstream of "${this.model}" failed repeatedly and is paused; retry in ${seconds} s.`, seconds);
      }
      if (lastFailure.kind === 'validation') throw lastFailure;
      throw new DomainError(lastFailure.kind, summary);
    } finally {
      const usage = this.usage(outcome === 'ok' ? reported : undefined, deliveredChars, outcome);
      await this.options.ledger
        .record({
          id: this.id,
          principal: this.principal,
          model: this.model,
          surface: this.surface,
          upstream: answered ? { model: answered.model, position: answered.position } : null,
          usage,
          estimated: outcome !== 'ok' ? usage.total_tokens > 0 : reported === undefined,
          outcome,
          latencyMs: Math.round(performance.now() - started),
          firstTokenMs: firstTokenAt === undefined ? null : Math.round(firstTokenAt - started),
        })
        .catch((error: unknown) => log.error({ err: error, completion: this.id }, 'could not record a completion'));
    }
  }

  /**
   * The upstream's report when it made one; otherwise an estimate of what was delivered (the
   * prompt counts once an upstream started answering or the client left), never 0 for an answer
   * that had started. A request no upstream answered costs nothing.
   */
  private usage(reported: Usage | undefined, deliveredChars: number, outcome: CompletionOutcome): Usage {
    if (reported) return reported;
    if (outcome === 'error') return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    const prompt = estimatePrompt(this.body.messages);
    const completion = estimateTokens(deliveredChars);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
}

function finishOf(chunk: Chunk): string | null {
  const reason = choiceOf(chunk)?.finish_reason;
  return typeof reason === 'string' ? reason : null;
}
