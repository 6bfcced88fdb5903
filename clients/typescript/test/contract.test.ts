/**
 * The spec-derived mocks themselves: every operation answers the spec's example, and every example
 * (answers, requests, problems, SSE frames) is valid against its schema. The other test files rely
 * on these mocks, so this is what keeps them honest.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_URL, sseExampleErrors, useMockApi } from './support/mock-api.js';
import { errorsAt, mediaExample, operations, problemExamples, type SpecOperation } from './support/spec.js';

const api = useMockApi();

/** A request built from the operation's examples: path parameters, required query, body. */
function exampleRequest(operation: SpecOperation): Request {
  let path = operation.path;
  const query = new URLSearchParams();
  for (const parameter of operation.parameters) {
    if (parameter.in === 'path') path = path.replace(`{${parameter.name}}`, encodeURIComponent(String(parameter.example)));
    if (parameter.in === 'query' && parameter.required) query.set(parameter.name, String(parameter.example));
  }
  const headers = new Headers(api.client().authHeaders());
  let body: string | FormData | undefined;
  const requestBody = operation.requestBody;
  if (requestBody?.contentType === 'multipart/form-data') {
    body = new FormData();
    for (const [name, value] of Object.entries(mediaExample(requestBody.media) ?? {})) body.append(name, new Blob([String(value)]), `${name}.csv`);
  } else if (requestBody) {
    body = JSON.stringify(mediaExample(requestBody.media));
    headers.set('Content-Type', requestBody.contentType);
  }
  const search = query.size > 0 ? `?${query}` : '';
  return new Request(`${BASE_URL}${path}${search}`, { method: operation.method.toUpperCase(), headers, ...(body === undefined ? {} : { body }) });
}

const jsonAnswers = operations.filter((operation) => operation.success.contentType === 'application/json');
const streams = operations.filter((operation) => operation.success.contentType === 'text/event-stream');

describe('spec-derived mocks', () => {
  it('cover every operation of the spec, each with an example answer', () => {
    expect(operations.length).toBeGreaterThan(40);
    for (const operation of operations) {
      if (operation.success.contentType !== undefined) expect(mediaExample(operation.success.media), operation.operationId).toBeDefined();
    }
  });

  it.each(jsonAnswers.map((operation) => [operation.operationId, operation] as const))(
    '%s answers its JSON example, valid against its schema',
    async (operationId, operation) => {
      const response = await api.client().options.fetch(exampleRequest(operation));
      expect(response.status).toBe(operation.success.status);
      const body: unknown = await response.json();
      const { at, contentType = 'application/json', media } = operation.success;
      expect(errorsAt([...at, 'content', contentType, 'schema'], body)).toEqual([]);
      expect(body).toEqual(mediaExample(media));
      expect(api.record.served).toContain(operationId);
    },
  );

  it.each(streams.map((operation) => [operation.operationId, operation] as const))(
    '%s answers its SSE example, every frame valid against x-sse-events',
    async (_operationId, operation) => {
      const response = await api.client().options.fetch(exampleRequest(operation));
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(sseExampleErrors(operation, await response.text())).toEqual([]);
    },
  );

  it.each(operations.filter((operation) => operation.success.contentType === undefined).map((operation) => [operation.operationId, operation] as const))(
    '%s answers with no content',
    async (_operationId, operation) => {
      const response = await api.client().options.fetch(exampleRequest(operation));
      expect(response.status).toBe(operation.success.status);
      expect(await response.text()).toBe('');
    },
  );

  it.each(problemExamples().map((problem) => [problem.name, problem] as const))('problem example %s is a valid Problem', (_name, problem) => {
    expect(errorsAt(problem.at, problem.example)).toEqual([]);
  });

  afterAll(() => {
    // Every operation with a JSON answer was served by its mock at least once in this file.
    const missing = jsonAnswers.map((operation) => operation.operationId).filter((id) => !api.record.served.has(id));
    expect(missing).toEqual([]);
  });
});
