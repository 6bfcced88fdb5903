import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { UpstreamConfig } from '../config.js';
import { DomainError, type DomainErrorKind } from '../domain/errors.js';
import type { Chunk, CompletionBody } from './chunks.js';

/**
 * A failure of one upstream. `retriable` failures (no connection, a timeout, 429, 5xx, a broken
 * stream) let the gateway try the next upstream as long as no token has reached the client.
 */
export class UpstreamError extends DomainError {
  constructor(
    kind: Extract<DomainErrorKind, 'upstream' | 'upstream_timeout' | 'validation'>,
    detail: string,
    readonly retriable: boolean,
  ) {
    // The upstream's own words about a request it refused are the client's to read, as the field error.
    super(kind, kind === 'validation' ? 'The upstream refused the request.' : detail, kind === 'validation' ? { fields: [{ location: 'body', pointer: '/', message: detail }] } : {});
  }
}

/** Where a completion can be sent: an OpenAI-compatible server, or the built-in development model. */
export interface Upstream {
  /** How metrics, logs and the X-Portico-Upstream header name it. */
  readonly label: string;
  /**
   * Streams the completion's chunks as the upstream sends them (the usage chunk included); ends
   * after `[DONE]`. Aborting `signal` must close the upstream request at once.
   */
  stream(body: CompletionBody, signal: AbortSignal): AsyncIterable<Chunk>;
}

const RETRIABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;
// The upstream refused the request itself: another upstream would refuse it too.
const REQUEST_STATUS = new Set([400, 404, 413, 422]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Any server speaking OpenAI's chat completions protocol (OpenAI, vLLM, Ollama, llama.cpp):
 * `POST {base_url}/chat/completions`, always streamed with usage (so that every answer, streamed
 * to the client or not, is counted exactly and can be cut off at once), parsed with
 * eventsource-parser as it arrives.
 */
export class OpenAiUpstream implements Upstream {
  readonly label: string;
  constructor(private readonly config: UpstreamConfig) {
    this.label = `${config.baseUrl} ${config.model}`;
  }

  async *stream(body: CompletionBody, signal: AbortSignal): AsyncIterable<Chunk> {
    const options = isObject(body.stream_options) ? body.stream_options : {};
    let response: Response;
    try {
      response = await fetch(`${this.config.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify({ ...body, model: this.config.model, stream: true, stream_options: { ...options, include_usage: true } }),
        signal,
      });
    } catch (error) {
      signal.throwIfAborted();
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new UpstreamError('upstream', `could not be reached${cause}`, true);
    }
    if (!response.ok || !response.body) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      const detail = `answered ${response.status}${text ? `: ${text}` : ''}`;
      if (REQUEST_STATUS.has(response.status)) throw new UpstreamError('validation', detail, false);
      throw new UpstreamError('upstream', detail, RETRIABLE_STATUS(response.status) || response.status === 401 || response.status === 403);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    // Cancelling the reader ends a pending read at once and closes the connection.
    const cancel = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        const { value: event, done } = await reader.read();
        signal.throwIfAborted();
        if (done) throw new UpstreamError('upstream', 'ended the stream before [DONE]', true);
        if (event.data === '[DONE]') return;
        let chunk: unknown;
        try {
          chunk = JSON.parse(event.data);
        } catch {
          throw new UpstreamError('upstream', 'sent a frame that is not JSON', true);
        }
        if (!isObject(chunk)) throw new UpstreamError('upstream', 'sent a frame that is not a chunk object', true);
        if (chunk.error !== undefined) {
          const message = isObject(chunk.error) && typeof chunk.error.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error).slice(0, 300);
          throw new UpstreamError('upstream', `reported an error: ${message}`, true);
        }
        yield chunk;
      }
    } finally {
      signal.removeEventListener('abort', cancel);
      cancel();
    }
  }
}
