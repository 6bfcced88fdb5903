import type { components } from './generated/api.js';

export type Problem = components['schemas']['Problem'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isProblem(value: unknown): value is Problem {
  return isRecord(value) && typeof value.type === 'string' && typeof value.title === 'string' && typeof value.status === 'number';
}

/**
 * The problem an error answer carries. Answers that are not problem+json (a proxy's HTML page, an
 * empty body) get one made from the status, so callers can always rely on `problem`.
 */
function problemOf(body: unknown, response: Response): Problem {
  const requestId = response.headers.get('x-request-id') ?? '';
  if (isProblem(body)) return { ...body, request_id: typeof body.request_id === 'string' ? body.request_id : requestId };
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    ...(typeof body === 'string' && body !== '' ? { detail: body.slice(0, 500) } : {}),
    request_id: requestId,
  };
}

/** An error answer of the API, with its problem+json body. */
export class PorticoError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** The id the server logged the request under (problem `request_id` or the X-Request-ID header). */
  readonly requestId: string | undefined;
  readonly response: Response;

  constructor(body: unknown, response: Response) {
    const problem = problemOf(body, response);
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'PorticoError';
    this.status = response.status;
    this.problem = problem;
    this.requestId = problem.request_id || undefined;
    this.response = response;
  }
}

/** A stream that broke its contract: it ended before its last frame, or sent a frame that is not one. */
export class PorticoStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PorticoStreamError';
  }
}

/** What openapi-fetch resolves with: data on success, the typed error body otherwise. */
export type ApiResult<Data, Failure> =
  | { data: Data; error?: never; response: Response }
  | { data?: never; error: Failure; response: Response };

/** The success member of a result union. */
type Success<Result> = Extract<Result, { error?: never }>;

function isSuccess<Result extends ApiResult<unknown, unknown>>(result: Result): result is Success<Result> {
  // openapi-fetch leaves `error` undefined for an error answer without a body: check the status too.
  return result.error === undefined && result.response.ok;
}

/**
 * The data of a successful answer, or a PorticoError carrying the problem. For code that prefers
 * exceptions to checking `error`:
 *   const event = await unwrap(client.GET('/events/{event_id}', { params: { path: { event_id } } }));
 */
export async function unwrap<Result extends ApiResult<unknown, unknown>>(pending: Promise<Result> | Result): Promise<Success<Result>['data']> {
  const result = await pending;
  if (isSuccess(result)) return result.data;
  throw new PorticoError(result.error, result.response);
}
