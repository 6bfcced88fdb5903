/**
 * An MSW mock of the whole API, derived from the spec: every operation answers its first 2xx
 * response with the spec's own example. Each answer is validated against its schema as it is
 * sent, and each JSON request body against the request schema, so neither the mocks nor the SDK's
 * requests can drift from the contract unnoticed: violations fail the test that caused them.
 */
import { HttpResponse, type HttpHandler } from 'msw';
import { type SetupServer, setupServer } from 'msw/node';
import { createOpenApiHttp } from 'openapi-msw';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type ClientOptions, createClient, type paths, type PorticoClient } from '../../src/index.js';
import { errorsAt, mediaExample, operation as specOperation, operations, type SpecOperation } from './spec.js';
import { parseFrames, SSE_HEADERS } from './sse.js';

export const BASE_URL = 'http://portico.test';
/** Typed handlers for scenario-specific answers (errors, retries, streams). */
export const http = createOpenApiHttp<paths>({ baseUrl: BASE_URL });

export interface ContractRecord {
  /** operationIds the spec-derived handlers answered. */
  served: Set<string>;
  /** Every mismatch between a request or an answer and the spec. */
  violations: string[];
}

/** The errors of an SSE example: each frame's data must match its event's schema in `x-sse-events`. */
export function sseExampleErrors(operation: SpecOperation, text: string): string[] {
  const at = [...operation.success.at, 'content', 'text/event-stream', 'x-sse-events'];
  const events = operation.success.media?.['x-sse-events'] ?? {};
  // A frame is only dispatched at the blank line after it; YAML's `|` strips the last one (`|+` keeps it).
  const unterminated = /(\r\n|\r|\n){2}$/.test(text) ? [] : ['the last frame is not followed by a blank line, so clients never receive it'];
  return [...unterminated, ...parseFrames(text).flatMap((message) => {
    const name = message.event ?? 'message';
    if (!(name in events)) return [`event "${name}" is not declared in x-sse-events`];
    return errorsAt([...at, name], JSON.parse(message.data)).map((error) => `${name}: ${error}`);
  })];
}

/** The errors of an answer body against the operation's success schema. */
function answerErrors(operation: SpecOperation, body: unknown): string[] {
  const { contentType, at } = operation.success;
  if (contentType === 'text/event-stream') return typeof body === 'string' ? sseExampleErrors(operation, body) : ['not text'];
  if (contentType === undefined || !contentType.endsWith('json')) return [];
  return errorsAt([...at, 'content', contentType, 'schema'], body);
}

function successAnswer(operation: SpecOperation, record: ContractRecord): Response {
  const { status, headers, contentType, media } = operation.success;
  const example = mediaExample(media);
  const errors = answerErrors(operation, example);
  record.violations.push(...errors.map((error) => `${operation.operationId} answer: ${error}`));
  if (contentType === undefined) return new HttpResponse(null, { status, headers });
  if (contentType.endsWith('json')) return new HttpResponse(JSON.stringify(example), { status, headers: { ...headers, 'Content-Type': contentType } });
  const streamHeaders = contentType === 'text/event-stream' ? SSE_HEADERS : {};
  return new HttpResponse(String(example), { status, headers: { ...headers, ...streamHeaders, 'Content-Type': contentType } });
}

async function checkRequest(operation: SpecOperation, request: Request, record: ContractRecord): Promise<void> {
  const body = operation.requestBody;
  if (!body?.contentType.endsWith('json')) return;
  const text = await request.clone().text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    record.violations.push(`${operation.operationId} request: body is not JSON: ${text.slice(0, 100)}`);
    return;
  }
  record.violations.push(...errorsAt([...body.at, 'schema'], value).map((error) => `${operation.operationId} request: ${error}`));
}

function mswPath(path: string): string {
  return `${BASE_URL}${path.replaceAll(/\{([^}]+)\}/g, ':$1')}`;
}

/** One handler per operation; literal paths first, so `/events/stream` is not taken for an event id. */
export function specHandlers(record: ContractRecord): HttpHandler[] {
  const templates = (path: string) => path.split('{').length;
  return [...operations]
    .sort((a, b) => templates(a.path) - templates(b.path))
    .map((operation) =>
      http.untyped[operation.method](mswPath(operation.path), async ({ request }) => {
        record.served.add(operation.operationId);
        await checkRequest(operation, request, record);
        return successAnswer(operation, record);
      }),
    );
}

export interface MockApi {
  server: SetupServer;
  record: ContractRecord;
  /** Validates a request a scenario handler received, as the spec-derived handlers do. */
  check(operationId: string, request: Request): Promise<void>;
  /** A client of the mock; `token` defaults to a test token. */
  client(options?: Partial<ClientOptions>): PorticoClient;
}

/**
 * Starts the mock for the calling test file. Handlers a test adds with `server.use` go before the
 * spec-derived ones and are removed after it; contract violations fail the test.
 */
export function useMockApi(): MockApi {
  const record: ContractRecord = { served: new Set(), violations: [] };
  const server = setupServer(...specHandlers(record));
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    server.resetHandlers();
    const violations = record.violations.splice(0);
    expect(violations, 'requests and answers must match the spec').toEqual([]);
  });
  afterAll(() => server.close());
  return {
    server,
    record,
    check: (operationId, request) => checkRequest(specOperation(operationId), request, record),
    client: (options = {}) => createClient({ baseUrl: BASE_URL, token: 'ptk_test', ...options }),
  };
}
