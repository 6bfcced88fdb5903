/**
 * @portico/client: a typed client for the Portico API.
 *
 * Every method, path, parameter and body is typed from the OpenAPI spec (openapi-typescript +
 * openapi-fetch). On top of that: bearer auth, an X-Request-ID on every request, optional retries
 * of 429 and 503 honouring Retry-After, typed problem+json errors, task polling and typed,
 * resuming iterators over the server-sent event streams.
 */
import type { components } from './generated/api.js';

export type { components, operations, paths } from './generated/api.js';
export type Schemas = components['schemas'];

export { type ClientOptions, createClient, type PorticoClient, randomRequestId } from './client.js';
export { type ApiResult, type Problem, PorticoError, PorticoStreamError, unwrap } from './errors.js';
export { type FetchLike, type RetryOptions, retryAfterMs } from './retry.js';
export { isTerminal, type TaskKind, type TaskState, type TaskStatus, TERMINAL_STATES, waitForTask, type WaitForTaskOptions } from './tasks.js';
export {
  type ChatFrame,
  type ChatRequest,
  type LiveEvent,
  liveEvents,
  type LiveEventsOptions,
  type ResumableStreamOptions,
  type StreamOptions,
  streamChat,
  type TaskEvent,
  taskEvents,
} from './streams.js';
