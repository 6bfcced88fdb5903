import type { Request } from 'express';
import type { SchemaFieldError, SchemaProblem } from '../generated/api.js';
import { isDatabaseUnavailable } from '../db/errors.js';

/** The problem types this API documents (see "Errors" in the API description). */
export const PROBLEM_TYPES = {
  validation: 'urn:portico:problem:validation',
  malformedBody: 'urn:portico:problem:malformed-body',
  malformedRequest: 'urn:portico:problem:malformed-request',
  headersTooLarge: 'urn:portico:problem:headers-too-large',
  invalidToken: 'urn:portico:problem:invalid-token',
  invalidRequest: 'urn:portico:problem:invalid-request',
  insufficientScope: 'urn:portico:problem:insufficient-scope',
  notFound: 'urn:portico:problem:not-found',
  methodNotAllowed: 'urn:portico:problem:method-not-allowed',
  conflict: 'urn:portico:problem:conflict',
  idempotencyConflict: 'urn:portico:problem:idempotency-conflict',
  taskNotReady: 'urn:portico:problem:task-not-ready',
  notEnoughLabels: 'urn:portico:problem:not-enough-labels',
  payloadTooLarge: 'urn:portico:problem:payload-too-large',
  unsupportedMediaType: 'urn:portico:problem:unsupported-media-type',
  unprocessable: 'urn:portico:problem:unprocessable',
  rateLimited: 'urn:portico:problem:rate-limited',
  unavailable: 'urn:portico:problem:unavailable',
  notImplemented: 'urn:portico:problem:not-implemented',
  upstream: 'urn:portico:problem:upstream',
  upstreamTimeout: 'urn:portico:problem:upstream-timeout',
  internal: 'about:blank',
} as const;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export type FieldError = SchemaFieldError;

export interface ProblemInit {
  status: number;
  type: string;
  detail: string;
  title?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2), such as `required_scope`. */
  extensions?: Record<string, unknown>;
}

/** An error that already knows how it should look to the client. Throw it from anywhere. */
export class ProblemError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(init: ProblemInit) {
    super(init.detail);
    this.name = 'ProblemError';
    this.status = init.status;
    this.type = init.type;
    this.title = init.title ?? TITLES[init.status] ?? 'Error';
    this.errors = init.errors;
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }

  static notFound(detail: string): ProblemError {
    return new ProblemError({ status: 404, type: PROBLEM_TYPES.notFound, detail });
  }

  static conflict(detail: string, extensions?: Record<string, unknown>): ProblemError {
    return new ProblemError({ status: 409, type: PROBLEM_TYPES.conflict, detail, ...(extensions ? { extensions } : {}) });
  }

  static unprocessable(detail: string, errors?: FieldError[]): ProblemError {
    return new ProblemError({ status: 422, type: PROBLEM_TYPES.unprocessable, detail, ...(errors ? { errors } : {}) });
  }

  static validation(errors: FieldError[], status = 400): ProblemError {
    const count = errors.length;
    return new ProblemError({
      status,
      type: PROBLEM_TYPES.validation,
      title: 'Invalid request',
      detail: `The request has ${count} invalid field${count === 1 ? '' : 's'}.`,
      errors,
    });
  }

  static invalidToken(detail = 'A valid bearer token is required.'): ProblemError {
    return new ProblemError({
      status: 401,
      type: PROBLEM_TYPES.invalidToken,
      detail,
      headers: { 'WWW-Authenticate': bearerChallenge('invalid_token') },
    });
  }

  static invalidRequest(detail: string): ProblemError {
    return new ProblemError({
      status: 400,
      type: PROBLEM_TYPES.invalidRequest,
      detail,
      headers: { 'WWW-Authenticate': bearerChallenge('invalid_request') },
    });
  }

  static insufficientScope(scope: string): ProblemError {
    return new ProblemError({
      status: 403,
      type: PROBLEM_TYPES.insufficientScope,
      detail: `This operation needs the ${scope} scope.`,
      headers: { 'WWW-Authenticate': bearerChallenge('insufficient_scope', scope) },
      extensions: { required_scope: scope },
    });
  }

  static unavailable(detail: string, retryAfterSeconds: number): ProblemError {
    return new ProblemError({
      status: 503,
      type: PROBLEM_TYPES.unavailable,
      detail,
      headers: { 'Retry-After': String(retryAfterSeconds) },
      extensions: { retry_after_seconds: retryAfterSeconds },
    });
  }
}

/** The RFC 6750 challenge sent with 401, 403 and malformed-header 400 answers. */
export function bearerChallenge(error: 'invalid_token' | 'invalid_request' | 'insufficient_scope', scope?: string): string {
  return `Bearer realm="portico", error="${error}"${scope ? `, scope="${scope}"` : ''}`;
}

/** What an error looks like on the wire. */
export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: SchemaProblem;
}

const MAX_FIELD_ERRORS = 100;

/** Seconds a client should wait before retrying after the database was unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/** The error shapes of express-openapi-validator and body-parser, as far as the mapper needs them. */
interface ValidatorError {
  status: number;
  message: string;
  headers?: Record<string, string>;
  errors?: { path?: string; message?: string }[];
}
interface BodyParserError {
  type: string;
  status?: number;
  statusCode?: number;
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
  return (
    error instanceof Error &&
    typeof (error as { status?: unknown }).status === 'number' &&
    Array.isArray((error as { errors?: unknown }).errors)
  );
}

const LOCATIONS: Record<string, FieldError['location']> = {
  body: 'body',
  query: 'query',
  params: 'path',
  path: 'path',
  headers: 'header',
  header: 'header',
};

/** `/body/events/3/event_type` (or `.body.events[3]`) → location body, pointer /events/3/event_type. */
export function fieldErrorFromValidator(path: string | undefined, message: string): FieldError {
  const segments = (path ?? '')
    .replace(/\[(\d+)\]/g, '.$1')
    .split(/[/.]/)
    .filter((segment) => segment !== '');
  const location = LOCATIONS[segments[0] ?? ''] ?? 'body';
  const rest = LOCATIONS[segments[0] ?? ''] ? segments.slice(1) : segments;
  return { location, pointer: '/' + rest.join('/'), message };
}

function fromValidator(error: ValidatorError): ProblemError {
  const message = error.message;
  if (error.status === 400 && message.startsWith('malformed uri')) {
    return ProblemError.validation([{ location: 'path', pointer: '/', message: 'has malformed percent-encoding' }]);
  }
  switch (error.status) {
    case 400: {
      // Every bad field is reported, up to a cap that keeps a pathological body's answer small.
      const errors = (error.errors ?? []).slice(0, MAX_FIELD_ERRORS).map((item) => fieldErrorFromValidator(item.path, item.message ?? message));
      return ProblemError.validation(errors.length > 0 ? errors : [fieldErrorFromValidator(undefined, message)]);
    }
    case 401:
      return ProblemError.invalidToken();
    case 404:
      return new ProblemError({ status: 404, type: PROBLEM_TYPES.notFound, detail: 'No operation exists at this path.' });
    case 405:
      return new ProblemError({
        status: 405,
        type: PROBLEM_TYPES.methodNotAllowed,
        detail: `This path does not support ${message.replace(/ method not allowed$/, '')}.`,
        headers: { Allow: error.headers?.Allow ?? '' },
      });
    case 413:
      return new ProblemError({ status: 413, type: PROBLEM_TYPES.payloadTooLarge, detail: message });
    case 415:
      return new ProblemError({
        status: 415,
        type: PROBLEM_TYPES.unsupportedMediaType,
        detail: `${message.charAt(0).toUpperCase()}${message.slice(1)}; see the operation's request body for the accepted types.`,
      });
    default:
      return new ProblemError({ status: error.status, type: PROBLEM_TYPES.internal, detail: message });
  }
}

function fromBodyParser(error: BodyParserError): ProblemError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new ProblemError({ status: 400, type: PROBLEM_TYPES.malformedBody, title: 'Malformed request body', detail: error.message });
    case 'entity.too.large':
      return new ProblemError({
        status: 413,
        type: PROBLEM_TYPES.payloadTooLarge,
        detail: `The request body exceeds the limit of ${error.limit ?? 'the configured'} bytes.`,
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProblemError({ status: 415, type: PROBLEM_TYPES.unsupportedMediaType, detail: error.message });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ProblemError({ status: 400, type: PROBLEM_TYPES.malformedBody, title: 'Malformed request body', detail: error.message });
    default:
      return undefined;
  }
}

/**
 * The one place every error becomes a response. Known errors keep their status; database outages
 * become 503; anything else is a bug: 500 without internals (the caller logs the stack).
 */
export function toProblemError(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (isBodyParserError(error)) {
    const mapped = fromBodyParser(error);
    if (mapped) return mapped;
  }
  if (isValidatorError(error) && error.status < 500) return fromValidator(error);
  if (isClientHttpError(error)) {
    // Other request errors raised by express's body parsing (a body that fails to decompress, say).
    return new ProblemError({ status: error.status, type: error.status === 400 ? PROBLEM_TYPES.malformedBody : PROBLEM_TYPES.internal, detail: error.message });
  }
  if (isDatabaseUnavailable(error)) {
    return ProblemError.unavailable('The database is unreachable or too busy to take the request; nothing was written. Retry shortly.', DATABASE_RETRY_AFTER_SECONDS);
  }
  return new ProblemError({ status: 500, type: PROBLEM_TYPES.internal, detail: 'An unexpected error occurred; it has been logged.' });
}

/** The request path as a valid URI reference, even when the client sent broken percent-encoding. */
function instanceOf(url: string): string {
  return (url.split('?')[0] ?? '/').replace(/%(?![0-9A-Fa-f]{2})/g, '%25');
}

export function problemResponse(problem: ProblemError, req: Pick<Request, 'originalUrl'>, requestId: string): ProblemResponse {
  const body: SchemaProblem = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    instance: instanceOf(req.originalUrl),
    request_id: requestId,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...problem.extensions,
  };
  return { status: problem.status, headers: problem.headers, body };
}
