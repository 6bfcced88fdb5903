/**
 * The one place where any error becomes an answer: a domain error, a validator or body-parser
 * error, an unreachable database, or a bug. Everywhere it is `application/problem+json` (RFC 9457)
 * with the request id; on the OpenAI-compatible routes (/v1/…) the same problem is written as
 * OpenAI's error object, so OpenAI clients raise their own typed errors.
 */
import type { SchemaProblem } from '../generated/api.js';
import { DomainError, type DomainErrorKind, type FieldIssue, MAX_FIELD_ERRORS } from '../domain/errors.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { JsonTextError } from './json-body.js';

/** Kinds the HTTP layer itself detects, besides the domain's. */
type TransportKind = 'malformed_body' | 'malformed_request' | 'headers_too_large' | 'method_not_allowed' | 'payload_too_large' | 'unsupported_media_type' | 'internal';
export type ProblemKind = DomainErrorKind | TransportKind;

interface KindSpec {
  status: number;
  /** The problem type URI (the API description's "Errors" table lists them). */
  type: string;
  title: string;
  /** OpenAI's error `type` for this kind on /v1. */
  openAiType: 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'conflict_error' | 'rate_limit_error' | 'server_error';
}

const urn = (name: string) => `urn:portico:problem:${name}`;

const KINDS: Record<ProblemKind, KindSpec> = {
  validation: { status: 400, type: urn('validation'), title: 'Invalid request', openAiType: 'invalid_request_error' },
  malformed_body: { status: 400, type: urn('malformed-body'), title: 'Malformed request body', openAiType: 'invalid_request_error' },
  malformed_request: { status: 400, type: urn('malformed-request'), title: 'Bad Request', openAiType: 'invalid_request_error' },
  invalid_request: { status: 400, type: urn('invalid-request'), title: 'Bad Request', openAiType: 'invalid_request_error' },
  invalid_token: { status: 401, type: urn('invalid-token'), title: 'Unauthorized', openAiType: 'authentication_error' },
  insufficient_scope: { status: 403, type: urn('insufficient-scope'), title: 'Forbidden', openAiType: 'permission_error' },
  forbidden: { status: 403, type: urn('forbidden'), title: 'Forbidden', openAiType: 'permission_error' },
  not_found: { status: 404, type: urn('not-found'), title: 'Not Found', openAiType: 'not_found_error' },
  method_not_allowed: { status: 405, type: urn('method-not-allowed'), title: 'Method Not Allowed', openAiType: 'invalid_request_error' },
  conflict: { status: 409, type: urn('conflict'), title: 'Conflict', openAiType: 'conflict_error' },
  idempotency_conflict: { status: 409, type: urn('idempotency-conflict'), title: 'Conflict', openAiType: 'conflict_error' },
  task_not_ready: { status: 409, type: urn('task-not-ready'), title: 'Conflict', openAiType: 'conflict_error' },
  payload_too_large: { status: 413, type: urn('payload-too-large'), title: 'Payload Too Large', openAiType: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: urn('unsupported-media-type'), title: 'Unsupported Media Type', openAiType: 'invalid_request_error' },
  unprocessable: { status: 422, type: urn('unprocessable'), title: 'Unprocessable Content', openAiType: 'invalid_request_error' },
  not_enough_labels: { status: 422, type: urn('not-enough-labels'), title: 'Unprocessable Content', openAiType: 'invalid_request_error' },
  rate_limited: { status: 429, type: urn('rate-limited'), title: 'Too Many Requests', openAiType: 'rate_limit_error' },
  headers_too_large: { status: 431, type: urn('headers-too-large'), title: 'Request Header Fields Too Large', openAiType: 'invalid_request_error' },
  // nginx's "client closed request": only ever logged, nobody is left to read it.
  client_closed: { status: 499, type: 'about:blank', title: 'Client Closed Request', openAiType: 'invalid_request_error' },
  internal: { status: 500, type: 'about:blank', title: 'Internal Server Error', openAiType: 'server_error' },
  not_implemented: { status: 501, type: urn('not-implemented'), title: 'Not Implemented', openAiType: 'server_error' },
  upstream: { status: 502, type: urn('upstream'), title: 'Bad Gateway', openAiType: 'server_error' },
  unavailable: { status: 503, type: urn('unavailable'), title: 'Service Unavailable', openAiType: 'server_error' },
  upstream_timeout: { status: 504, type: urn('upstream-timeout'), title: 'Gateway Timeout', openAiType: 'server_error' },
};

/** Seconds a client should wait before retrying when the service cannot take a request now. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** An error as the mapper understands it, before it is written in either dialect. */
export interface Problem {
  kind: ProblemKind;
  status: number;
  detail: string;
  fields?: FieldIssue[];
  headers: Record<string, string>;
  extensions: Record<string, unknown>;
}

/** The RFC 6750 challenge sent with 401, 403 and malformed-header 400 answers. */
function bearerChallenge(error: 'invalid_token' | 'invalid_request' | 'insufficient_scope', scope?: string): string {
  return `Bearer realm="portico", error="${error}"${scope ? `, scope="${scope}"` : ''}`;
}

function fromDomain(error: DomainError): Problem {
  const headers: Record<string, string> = {};
  const extensions: Record<string, unknown> = { ...error.extensions };
  if (error.kind === 'invalid_token' || error.kind === 'invalid_request') headers['WWW-Authenticate'] = bearerChallenge(error.kind);
  if (error.kind === 'insufficient_scope') {
    headers['WWW-Authenticate'] = bearerChallenge('insufficient_scope', error.scope);
    extensions.required_scope = error.scope;
  }
  const retryAfter = error.retryAfterSeconds ?? (error.kind === 'unavailable' ? UNAVAILABLE_RETRY_AFTER_SECONDS : undefined);
  if (retryAfter !== undefined) {
    headers['Retry-After'] = String(retryAfter);
    extensions.retry_after_seconds = retryAfter;
  }
  return { kind: error.kind, status: KINDS[error.kind].status, detail: error.message, ...(error.fields ? { fields: error.fields } : {}), headers, extensions };
}

function transport(kind: TransportKind, detail: string, headers: Record<string, string> = {}): Problem {
  return { kind, status: KINDS[kind].status, detail, headers, extensions: {} };
}

/** The error shapes of express-openapi-validator and body-parser, as far as the mapper needs them. */
interface ValidatorError {
  status: number;
  message: string;
  headers?: Record<string, string>;
  errors?: { path?: string; message?: string }[];
}
interface BodyParserError {
  type: string;
  limit?: number;
  message: string;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return error instanceof Error && typeof (error as { type?: unknown }).type === 'string' && 'expose' in error;
}

/** An http-errors error meant for the client (`expose`), as body-parser raises. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  if (!(error instanceof Error) || (error as { expose?: unknown }).expose !== true) return false;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function isValidatorError(error: unknown): error is ValidatorError {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number' && Array.isArray((error as { errors?: unknown }).errors);
}

const LOCATIONS: Record<string, FieldIssue['location']> = { body: 'body', query: 'query', params: 'path', path: 'path', headers: 'header', header: 'header' };

/** `/body/events/3/event_type` (or `.body.events[3]`) → location body, pointer /events/3/event_type. */
export function fieldIssueAt(path: string | undefined, message: string): FieldIssue {
  const segments = (path ?? '')
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[/.]/)
    .filter((segment) => segment !== '');
  const location = LOCATIONS[segments[0] ?? ''] ?? 'body';
  const rest = LOCATIONS[segments[0] ?? ''] ? segments.slice(1) : segments;
  return { location, pointer: '/' + rest.join('/'), message };
}

function fromValidator(error: ValidatorError): Problem {
  const message = error.message;
  if (error.status === 400 && message.startsWith('malformed uri')) {
    return fromDomain(DomainError.validation([{ location: 'path', pointer: '/', message: 'has malformed percent-encoding' }]));
  }
  switch (error.status) {
    case 400: {
      const errors = error.errors ?? [];
      const fields = errors.slice(0, MAX_FIELD_ERRORS).map((item) => fieldIssueAt(item.path, item.message ?? message));
      return fromDomain(fields.length > 0 ? DomainError.validation(fields, errors.length) : DomainError.validation([fieldIssueAt(undefined, message)]));
    }
    case 401:
      return fromDomain(new DomainError('invalid_token', 'A valid bearer token is required.'));
    case 404:
      return fromDomain(DomainError.notFound('No operation exists at this path.'));
    case 405: {
      // Every GET operation answers HEAD too (app.ts).
      const allow = (error.headers?.Allow ?? '').split(', ').filter((method) => method !== '').flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]));
      return transport('method_not_allowed', `This path does not support ${message.replace(/ method not allowed$/, '')}.`, { Allow: allow.join(', ') });
    }
    case 413:
      return transport('payload_too_large', message);
    case 415: {
      // The validator names the media type it got, or "undefined" when the request had none.
      const what = / undefined$/.test(message) ? 'The request has no body or no Content-Type' : `${message.charAt(0).toUpperCase()}${message.slice(1)}`;
      return transport('unsupported_media_type', `${what}; see the operation's request body for the accepted types.`);
    }
    default:
      return transport('internal', message);
  }
}

function fromBodyParser(error: BodyParserError): Problem | undefined {
  switch (error.type) {
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return transport('malformed_body', error.message);
    case 'entity.too.large':
      return transport('payload_too_large', `The request body exceeds the limit of ${error.limit ?? 'the configured'} bytes.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return transport('unsupported_media_type', error.message);
    default:
      return undefined;
  }
}

/**
 * A body that is not JSON is malformed; JSON that could not be stored exactly as sent (a duplicate
 * name, an inexact number, nesting too deep) is a validation error. Both name where the parser stopped.
 */
function fromJsonText(error: JsonTextError): Problem {
  const field: FieldIssue = { location: 'body', pointer: error.pointer || '/', message: error.message };
  if (error.fault === 'not_exact') return fromDomain(DomainError.validation([field]));
  return { ...transport('malformed_body', `The body is not valid JSON: ${error.message}.`), fields: [field] };
}

/**
 * Any error as a Problem. Known errors keep their kind; database outages become 503; anything
 * else is a bug: 500 without internals (the caller logs the stack).
 */
export function toProblem(error: unknown): Problem {
  if (error instanceof DomainError) return fromDomain(error);
  if (error instanceof JsonTextError) return fromJsonText(error);
  if (isBodyParserError(error)) {
    const mapped = fromBodyParser(error);
    if (mapped) return mapped;
  }
  if (isValidatorError(error) && error.status < 500) return fromValidator(error);
  // Other request errors raised while reading the body (one that fails to decompress, say).
  if (isClientHttpError(error)) {
    return transport(error.status === 413 ? 'payload_too_large' : error.status === 415 ? 'unsupported_media_type' : 'malformed_body', error.message);
  }
  if (isDatabaseUnavailable(error)) {
    return fromDomain(DomainError.unavailable('The database is unreachable or too busy to take the request; nothing was written. Retry shortly.'));
  }
  return transport('internal', 'An unexpected error occurred; it has been logged.');
}

/** A problem the HTTP layer detects before any request object exists (Node's HTTP parser). */
export function transportProblem(kind: 'malformed_request' | 'headers_too_large', detail: string): Problem {
  return transport(kind, detail);
}

/** Whether an answer of this problem is the service's fault and worth an error log line. */
export function isServerFault(problem: Problem): boolean {
  return problem.status >= 500 && problem.kind !== 'unavailable';
}

/** The request path as a valid URI reference, even when the client sent broken percent-encoding. */
function instanceOf(url: string): string {
  return (url.split('?')[0] ?? '/').replace(/%(?![0-9A-Fa-f]{2})/g, '%25');
}

export function problemBody(problem: Problem, url: string, requestId: string): SchemaProblem {
  const spec = KINDS[problem.kind];
  return {
    type: spec.type,
    title: spec.title,
    status: problem.status,
    detail: problem.detail,
    instance: instanceOf(url),
    request_id: requestId,
    ...(problem.fields ? { errors: problem.fields } : {}),
    ...problem.extensions,
  };
}

/** OpenAI's error object: what OpenAI's SDKs parse into their typed errors. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAiErrorBody(problem: Problem): OpenAiErrorBody {
  const field = problem.fields?.[0];
  return {
    error: {
      message: field ? `${problem.detail} ${field.pointer.slice(1) || field.location}: ${field.message}` : problem.detail,
      type: KINDS[problem.kind].openAiType,
      param: field ? field.pointer.slice(1).replaceAll('/', '.') || null : null,
      code: problem.kind,
    },
  };
}

/** Which error dialect a path speaks: OpenAI's on the OpenAI-compatible routes, problem+json elsewhere. */
export function dialectOf(url: string): 'openai' | 'problem' {
  return url.startsWith('/v1/') ? 'openai' : 'problem';
}

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  contentType: string;
  body: SchemaProblem | OpenAiErrorBody;
}

/** The whole answer for an error on `url`, in that path's dialect. */
export function errorAnswer(problem: Problem, url: string, requestId: string): ErrorAnswer {
  return dialectOf(url) === 'openai'
    ? { status: problem.status, headers: problem.headers, contentType: 'application/json', body: openAiErrorBody(problem) }
    : { status: problem.status, headers: problem.headers, contentType: 'application/problem+json', body: problemBody(problem, url, requestId) };
}

/**
 * The answer as raw HTTP/1.1 text, for sockets that have no response object: a request Node's
 * parser refused, or a WebSocket upgrade that is refused. The connection closes after it.
 */
export function rawErrorAnswer(problem: Problem, url: string, requestId: string): string {
  const answer = errorAnswer(problem, url, requestId);
  const body = JSON.stringify(answer.body);
  const headers = { ...answer.headers, 'Content-Type': answer.contentType, 'Content-Length': String(Buffer.byteLength(body)), 'X-Request-ID': requestId, Connection: 'close' };
  return `HTTP/1.1 ${answer.status} ${KINDS[problem.kind].title}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body}`;
}
