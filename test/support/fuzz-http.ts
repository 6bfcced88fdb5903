import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { ValidateFunction } from 'ajv';
import pino, { type Logger } from 'pino';
import { preview, resolveSchema } from './arbitraries.js';
import { ajv, schemaErrors } from './contract.js';
import { ADMIN_TOKEN_PLACEHOLDER, type FuzzOperation, type FuzzRequest, REF_KINDS, type RefKind, rawOperation, refPlaceholder } from './fuzz-requests.js';

/**
 * Sends generated requests over real HTTP (node:http, not fetch: fetch refuses bodies on GET,
 * normalizes `..` in paths and decodes answers itself) and checks every answer against the
 * properties the API promises.
 */

export interface Exchange {
  request: FuzzRequest;
  /** What went on the wire, placeholders resolved. */
  method: string;
  target: string;
  headers: Record<string, string>;
  status: number | undefined;
  responseHeaders: IncomingHttpHeaders;
  /** The decoded body; empty for streams (only their head is read). */
  body: Buffer;
  /** A live text/event-stream, cancelled after its head. */
  streamed: boolean;
  /** No answer at all: a reset connection or a timeout. */
  error: string | undefined;
}

export interface FuzzTargets {
  baseUrl: string;
  adminToken: string;
  /** A key with some scopes but not admin, of another owner. */
  limitedToken: string;
  refs: Record<RefKind, string | number>;
  /** Targets a DELETE must never reach (the admin key's own id: revoking it would end the run). */
  neverDelete: string[];
}

/** How long one answer (or a stream's head) may take before it counts as a hang. */
const ANSWER_TIMEOUT_MS = 20_000;

function decode(body: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
      return gunzipSync(body);
    case 'br':
      return brotliDecompressSync(body);
    case 'deflate':
      return inflateSync(body);
    default:
      return body;
  }
}

export class FuzzClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly base: URL;
  /** Requests answered (or failed) on the wire. */
  sent = 0;
  /** Requests not sent because a budget was used up. */
  skipped = 0;
  private readonly budgets = new Map<string, number>();

  constructor(
    private readonly targets: FuzzTargets,
    /** Operations whose VALID requests may be sent only this many times (they start real work). */
    private readonly validBudgets: Record<string, number>,
  ) {
    this.base = new URL(targets.baseUrl);
  }

  private resolveText(text: string, encode: boolean, quoted: boolean): string {
    let result = text;
    for (const kind of REF_KINDS) {
      const value = this.targets.refs[kind];
      if (quoted) result = result.replaceAll(JSON.stringify(refPlaceholder(kind)), JSON.stringify(value));
      result = result.replaceAll(refPlaceholder(kind), encode ? encodeURIComponent(String(value)) : String(value));
    }
    return result;
  }

  private headersFor(request: FuzzRequest): Record<string, string> {
    const headers: Record<string, string> = { ...request.headers };
    // The server keeps a sane inbound X-Request-ID; made unique, it still tells logs apart.
    const requestId = headers['x-request-id'];
    if (requestId !== undefined && requestId.length < 120) headers['x-request-id'] = `${requestId}.${this.sent}`;
    const bearer = request.auth === 'admin' ? this.targets.adminToken : request.auth === 'limited' ? this.targets.limitedToken : undefined;
    if (request.authorization !== undefined) headers.authorization = request.authorization.replaceAll(ADMIN_TOKEN_PLACEHOLDER, this.targets.adminToken);
    else if (bearer) headers.authorization = `Bearer ${bearer}`;
    return headers;
  }

  /** Sends one request; undefined when a budget says not to. */
  async send(request: FuzzRequest): Promise<Exchange | undefined> {
    if (request.kind === 'valid' && request.operationId !== undefined && request.operationId in this.validBudgets) {
      const used = this.budgets.get(request.operationId) ?? 0;
      if (used >= (this.validBudgets[request.operationId] ?? 0)) {
        this.skipped += 1;
        return undefined;
      }
      this.budgets.set(request.operationId, used + 1);
    }
    const target = this.resolveText(request.target, true, false);
    const body = typeof request.body === 'string' ? this.resolveText(request.body, false, true) : request.body;
    const headers = this.headersFor(request);
    if (request.method === 'DELETE' && this.targets.neverDelete.some((id) => target.includes(id))) {
      throw new Error(`refusing to send DELETE ${target}: it would revoke the key the run depends on`);
    }
    this.sent += 1;
    const answer = await this.roundTrip(request.method, target, headers, body, request.chunked);
    return { request, method: request.method, target, headers, ...answer };
  }

  private roundTrip(method: string, target: string, headers: Record<string, string>, body: string | Uint8Array | undefined, chunked: boolean) {
    type Answer = Pick<Exchange, 'status' | 'responseHeaders' | 'body' | 'streamed' | 'error'>;
    return new Promise<Answer>((resolve) => {
      let settled = false;
      const finish = (answer: Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(answer);
      };
      const failed = (error: string) => finish({ status: undefined, responseHeaders: {}, body: Buffer.alloc(0), streamed: false, error });
      const req = httpRequest({ host: this.base.hostname, port: this.base.port, method, path: target, headers, agent: this.agent });
      const timer = setTimeout(() => {
        failed(`no answer within ${ANSWER_TIMEOUT_MS} ms`);
        req.destroy();
      }, ANSWER_TIMEOUT_MS);
      req.on('error', (error) => failed(`${error.name}: ${error.message}`));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const streams = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
        if (streams && status < 300) {
          // Live streams never end: the head is what the properties are about.
          res.destroy();
          finish({ status, responseHeaders: res.headers, body: Buffer.alloc(0), streamed: true, error: undefined });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => failed(`response broke off: ${error.message}`));
        res.on('end', () => {
          try {
            const encoding = res.headers['content-encoding'];
            finish({ status, responseHeaders: res.headers, body: decode(Buffer.concat(chunks), encoding), streamed: false, error: undefined });
          } catch (error) {
            failed(`undecodable ${String(res.headers['content-encoding'])} body: ${String(error)}`);
          }
        });
      });
      if (body === undefined) req.end();
      else if (chunked) {
        // Explicit: Node only chunks GET, DELETE and friends when told to (otherwise it sends the
        // body unframed, which the server rightly reads as a broken next request).
        req.setHeader('transfer-encoding', 'chunked');
        if (body.length > 0) req.write(body);
        req.end();
      } else {
        req.setHeader('content-length', Buffer.byteLength(body));
        req.end(body);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Which operation answered
// ---------------------------------------------------------------------------------------------

/**
 * The operation a method and raw path reach, as the service's router sees it: literal segments
 * beat parameters (`/events/stream` is streamEvents, not getEvent), a trailing slash is ignored.
 */
export function matchOperation(operations: FuzzOperation[], method: string, target: string): FuzzOperation | undefined {
  const path = target.split('?')[0]!.replace(/(.)\/$/, '$1');
  const segments = path.split('/');
  let best: { operation: FuzzOperation; literals: number } | undefined;
  for (const operation of operations) {
    if (operation.method !== method) continue;
    const template = operation.path.split('/');
    if (template.length !== segments.length) continue;
    let literals = 0;
    const matches = template.every((part, index) => {
      if (part.startsWith('{')) return segments[index] !== '';
      literals += 1;
      return part === segments[index];
    });
    if (matches && (!best || literals > best.literals)) best = { operation, literals };
  }
  return best?.operation;
}

// ---------------------------------------------------------------------------------------------
// Properties of every answer
// ---------------------------------------------------------------------------------------------

/** Rewrites `#/components/...` refs to the `spec#/...` document the contract Ajv knows. */
function specRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(specRefs);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `spec${value}` : specRefs(value)]));
}

const validators = new Map<string, ValidateFunction | null>();

/** The Ajv validator of an operation's JSON answer with this status, if the spec declares one. */
function responseValidator(operation: FuzzOperation, status: number): ValidateFunction | undefined {
  const key = `${operation.operationId} ${status}`;
  if (!validators.has(key)) {
    const response = rawOperation(operation.path, operation.method.toLowerCase()).responses[String(status)];
    const resolved = response?.$ref ? (resolveSchema({ $ref: response.$ref }) as { content?: Record<string, { schema?: unknown }> }) : response;
    const schema = resolved?.content?.['application/json']?.schema;
    validators.set(key, schema === undefined ? null : ajv.compile(specRefs(schema) as object));
  }
  return validators.get(key) ?? undefined;
}

export function documentedStatuses(operation: FuzzOperation): string[] {
  return Object.keys(rawOperation(operation.path, operation.method.toLowerCase()).responses);
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

/**
 * What is wrong with an answer, by the properties every answer must have: an answer at all, never
 * a 5xx, an X-Request-ID, errors as problem+json valid against the spec's Problem (with the status
 * and request id of the answer), or on /v1/… as OpenAI's error object valid against OpenAiError,
 * and 2xx JSON bodies valid against the operation's response schema.
 */
export function violations(exchange: Exchange, operations: FuzzOperation[]): string[] {
  if (exchange.error !== undefined || exchange.status === undefined) return [`no answer: ${exchange.error}`];
  const problems: string[] = [];
  const { status, responseHeaders: headers } = exchange;
  const requestId = headers['x-request-id'];
  const contentType = String(headers['content-type'] ?? '');
  if (status >= 500) problems.push(`answered ${status}`);
  if (typeof requestId !== 'string' || requestId === '') problems.push('no X-Request-ID header');
  if (status >= 400 && exchange.target.startsWith('/v1/')) {
    if (!/^application\/json/.test(contentType)) problems.push(`/v1 error with content-type ${preview(contentType, 60)}, not application/json`);
    if (exchange.method === 'HEAD') return problems;
    const parsed = parseJson(exchange.body);
    if (!parsed.ok) return [...problems, `error body is not JSON: ${parsed.error}`];
    const errors = schemaErrors('OpenAiError', parsed.value);
    if (errors.length > 0) problems.push(`error body breaks the OpenAiError schema: ${errors.join('; ')}`);
    return problems;
  }
  if (status >= 400) {
    if (!/^application\/problem\+json/.test(contentType)) problems.push(`error with content-type ${preview(contentType, 60)}, not application/problem+json`);
    if (exchange.method === 'HEAD') return problems;
    const parsed = parseJson(exchange.body);
    if (!parsed.ok) return [...problems, `error body is not JSON: ${parsed.error}`];
    const errors = schemaErrors('Problem', parsed.value);
    if (errors.length > 0) problems.push(`error body breaks the Problem schema: ${errors.join('; ')}`);
    const problem = parsed.value as { status?: unknown; request_id?: unknown };
    if (problem.status !== status) problems.push(`problem status ${String(problem.status)} differs from the HTTP status ${status}`);
    if (problem.request_id !== requestId) problems.push(`problem request_id ${String(problem.request_id)} differs from X-Request-ID ${String(requestId)}`);
    return problems;
  }
  const operation = matchOperation(operations, exchange.method, exchange.target);
  if (!operation || status < 200 || status >= 300) return problems;
  if (exchange.streamed) {
    if (!operation.streams) problems.push(`${operation.operationId} answered a text/event-stream`);
    return problems;
  }
  if (operation.streams && status === 200 && exchange.method !== 'HEAD') problems.push(`${operation.operationId} answered 200 without an event stream (${contentType})`);
  if (!/^application\/json/.test(contentType) || exchange.method === 'HEAD') return problems;
  const validate = responseValidator(operation, status);
  if (!validate) return problems;
  const parsed = parseJson(exchange.body);
  if (!parsed.ok) return [...problems, `2xx body is not JSON: ${parsed.error}`];
  if (!validate(parsed.value)) {
    problems.push(`${status} body breaks ${operation.operationId}'s response schema: ${(validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`).join('; ')}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Server logs, to put the stack of a 500 next to the request that caused it
// ---------------------------------------------------------------------------------------------

export interface LogCapture {
  logger: Logger;
  /** Error log lines of one request. */
  linesFor(requestId: string): string[];
}

export function captureErrorLogs(): LogCapture {
  const byRequest = new Map<string, string[]>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = String(chunk);
      const id = /"request_id":"([^"]+)"/.exec(line)?.[1] ?? '(none)';
      byRequest.set(id, [...(byRequest.get(id) ?? []), line]);
      done();
    },
  });
  return { logger: pino({ level: 'error' }, stream), linesFor: (requestId) => byRequest.get(requestId) ?? [] };
}

/** A failing exchange as a reproducible report: the request on the wire, the answer, the server log. */
export function report(exchange: Exchange, problems: string[], logs: LogCapture): string {
  const { request } = exchange;
  const body = request.body === undefined ? '(none)' : typeof request.body === 'string' ? preview(request.body, 500) : `bytes ${Buffer.from(request.body).subarray(0, 300).toString('hex')}${request.body.length > 300 ? `…(${request.body.length} bytes)` : ''}`;
  const requestId = String(exchange.responseHeaders['x-request-id'] ?? '');
  const log = requestId ? logs.linesFor(requestId).map((line) => preview(line, 1500)) : [];
  const clip = (value: string, max: number) => (value.length > max ? `${value.slice(0, max)}…(${value.length} chars)` : value);
  const shownHeaders = Object.fromEntries(
    Object.entries(exchange.headers).map(([name, value]) => [name, clip(name === 'authorization' ? value.replace(/ptk_[A-Za-z0-9_-]+/g, 'ptk_…') : value, 200)]),
  );
  return [
    `✗ ${problems.join('; ')}`,
    `  request (${request.kind}: ${request.label}): ${exchange.method} ${preview(exchange.target, 400)}${request.chunked ? ' (chunked)' : ''}`,
    `  headers: ${JSON.stringify(shownHeaders)}`,
    `  body: ${body}`,
    `  answer: ${exchange.status ?? '-'} ${String(exchange.responseHeaders['content-type'] ?? '')} ${preview(exchange.body.toString('utf8'), 800)}`,
    ...(log.length > 0 ? [`  server log: ${log.join('\n    ')}`] : []),
  ].join('\n');
}

/** The message of the first error the server logged for a request, with values blanked out. */
function loggedError(requestId: string, logs: LogCapture): string {
  for (const line of logs.linesFor(requestId)) {
    try {
      const message = (JSON.parse(line) as { err?: { message?: unknown } }).err?.message;
      if (typeof message === 'string' && !message.startsWith('failed with status code')) return message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, '#');
    } catch {
      // Not JSON: nothing to group by.
    }
  }
  return '';
}

/**
 * Every distinct failure of a run (FUZZ_SURVEY=1): grouped by operation, status, kind of problem
 * and the server's error message, each with its smallest example. Unlike a failing property, which
 * stops at the first failure, this shows every bug a seed reaches in one run.
 */
export class FailureSurvey {
  private readonly groups = new Map<string, { count: number; size: number; operations: Set<string>; example: string }>();

  add(exchange: Exchange, problems: string[], logs: LogCapture, operations: FuzzOperation[]): void {
    const operation = matchOperation(operations, exchange.method, exchange.target)?.operationId ?? `(${exchange.request.operationId ?? 'no operation'})`;
    const requestId = String(exchange.responseHeaders['x-request-id'] ?? '');
    // The same fault behind many operations (a body parser, a format) is one entry.
    const key = `${exchange.status ?? 'no answer'}: ${problems.map((problem) => problem.split(':')[0]).join('; ')} ${loggedError(requestId, logs)}`.trim();
    const size = exchange.target.length + (exchange.request.body?.length ?? 0);
    const group = this.groups.get(key) ?? { count: 0, size: Number.POSITIVE_INFINITY, operations: new Set<string>(), example: '' };
    group.count += 1;
    group.operations.add(operation);
    if (size < group.size) Object.assign(group, { size, example: report(exchange, problems, logs) });
    this.groups.set(key, group);
  }

  get size(): number {
    return this.groups.size;
  }

  summary(): string {
    return [...this.groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, group]) => `■ ${key} (${group.count}×, in ${[...group.operations].sort().join(' ')}); smallest:\n${group.example}`)
      .join('\n\n');
  }
}
