import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flatten, type JsonSchema } from './support/arbitraries.js';
import { expectErrorAt, expectProblem } from './support/contract.js';
import { fuzzOperations } from './support/fuzz-requests.js';
import { specOperations } from './support/operations.js';
import { engines, startTestService, type TestService } from './support/service.js';

/**
 * Issue 12: one request must never stall the process. Every operation with a JSON body (from the
 * spec) gets the worst shapes that fit in BODY_LIMIT, while a second client polls GET /health:
 * each must answer 400, and /health must not wait 250 ms (the bound; the figures are
 * printed). Without the bounds the 200 KB batch alone held the event loop for 40 s.
 */

const HEALTH_BOUND_MS = 250;
const ATTEMPTS = 3;
/** Stays under the default BODY_LIMIT (1 MB), so every shape reaches the parser. */
const BODY_BYTES = 900_000;

/** A JSON Pointer's property names through the schema to the first value `wanted` picks, if any. */
function findPath(schema: JsonSchema, wanted: (schema: JsonSchema) => boolean, depth = 0): string[] | undefined {
  const flat = flatten(schema);
  if (wanted(flat)) return [];
  if (depth > 4) return undefined;
  for (const [name, property] of Object.entries(flat.properties ?? {})) {
    const below = findPath(property, wanted, depth + 1);
    if (below) return [name, ...below];
  }
  return undefined;
}

/** `inner` (JSON text) placed at `path` inside objects. */
const at = (path: string[], inner: string): string => path.reduceRight((text, name) => `{${JSON.stringify(name)}:${text}}`, inner);

/** `count` copies of `item`, comma-separated. */
const repeated = (item: string, count: number): string => `${item},`.repeat(count - 1) + item;

interface Shape {
  name: string;
  body: Buffer;
}

/** The worst shapes for one operation's body schema (the list), each under BODY_BYTES; `scale` shrinks them. */
function shapesFor(schema: JsonSchema, scale = 1): Shape[] {
  const items = 100_000 * scale;
  const array = findPath(schema, (s) => s.type === 'array' && s.maxItems !== undefined);
  const arraySchema = array && flatten(array.reduce<JsonSchema>((s, name) => flatten(s).properties![name]!, schema));
  const text = findPath(schema, (s) => s.type === 'string');
  const first = Object.keys(flatten(schema).properties ?? {})[0] ?? 'x';
  // Unknown names from a counter in base 36: 100,000 of them in about 900 KB.
  const unknownKeys = `{${Array.from({ length: items }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`;
  const depth = ((BODY_BYTES - 100) / 2) * scale;
  const shapes: Shape[] = [
    { name: '100,000 unknown keys', body: Buffer.from(unknownKeys) },
    { name: `arrays ${depth} deep`, body: Buffer.from(at([first], '['.repeat(depth) + ']'.repeat(depth))) },
    { name: '100,000 invalid items', body: Buffer.from(at(array ?? [first], `[${repeated('{}', items)}]`)) },
    { name: 'a root array of 100,000 items', body: Buffer.from(`[${repeated('0', items)}]`) },
    { name: 'a 900 KB string', body: Buffer.from(at(text ?? [first], JSON.stringify('x'.repeat((BODY_BYTES - 100) * scale)))) },
  ];
  if (array && arraySchema?.maxItems !== undefined) {
    shapes.push(
      { name: `an array 100× over its maxItems (${arraySchema.maxItems})`, body: Buffer.from(at(array, `[${repeated('0', Math.ceil(100 * scale) * arraySchema.maxItems)}]`)) },
      // Within the bounds, so the schema validator sees it: maxItems items, each with several errors.
      { name: `${arraySchema.maxItems} invalid items`, body: Buffer.from(at(array, `[${repeated('{"x":[]}', arraySchema.maxItems)}]`)) },
    );
  }
  for (const shape of shapes) expect(shape.body.length, shape.name).toBeLessThan(1_000_000);
  return shapes;
}

/** Operations with a JSON body, with a URL their path parameters' examples fill in. */
const targets = fuzzOperations()
  .filter((operation) => operation.body?.contentType === 'application/json')
  .map((operation) => ({
    operationId: operation.operationId,
    method: operation.method,
    url: specOperations().find((candidate) => candidate.operationId === operation.operationId)!.example.url,
    shapes: shapesFor(operation.body!.schema),
    warmUps: shapesFor(operation.body!.schema, 0.05),
  }));

/** Pointers to the arrays of a body schema that have no maxItems (uniqueItems over one is quadratic in ajv). */
function unboundedArrays(schema: JsonSchema, pointer = '', depth = 0): string[] {
  const flat = flatten(schema);
  if (depth > 8) return [];
  const here = flat.type === 'array' && flat.maxItems === undefined ? [pointer || '/'] : [];
  const items = flat.items ? unboundedArrays(flat.items, `${pointer}/*`, depth + 1) : [];
  return [...here, ...items, ...Object.entries(flat.properties ?? {}).flatMap(([name, property]) => unboundedArrays(property, `${pointer}/${name}`, depth + 1))];
}

it('bounds every array of every JSON request body with maxItems', () => {
  const unbounded = fuzzOperations().flatMap((operation) =>
    operation.body?.contentType === 'application/json' ? unboundedArrays(operation.body.schema).map((pointer) => `${operation.operationId} ${pointer}`) : [],
  );
  expect(unbounded).toEqual([]);
});

describe.each(engines())('hostile bodies on %s', (engine) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' } });
    // A steady state is measured, not a cold start: each operation's first request sets up its
    // validator, and the parser runs unoptimized until V8 has seen it work (a 1 MB body then takes
    // about half a second, once per process).
    for (const target of targets) {
      for (const shape of target.warmUps) {
        const response = await fetch(`${service.url}${target.url}`, {
          method: target.method,
          headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
          body: shape.body,
        });
        expect(response.status).toBe(400);
      }
    }
  });
  afterAll(async () => {
    await service?.stop();
  });

  /** Polls GET /health one request at a time until `done` settles; the slowest answer in ms. */
  async function worstHealth(done: Promise<unknown>): Promise<number> {
    let finished = false;
    void done.finally(() => (finished = true));
    let worst = 0;
    do {
      const started = performance.now();
      const response = await fetch(`${service.url}/health`);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      worst = Math.max(worst, performance.now() - started);
    } while (!finished);
    return worst;
  }

  it('covers every operation with a JSON body', () => {
    expect(targets.map((target) => target.operationId)).toEqual(expect.arrayContaining(['createEvent', 'createEventBatch', 'chat', 'createApiKey', 'startInference']));
  });

  it(`answers the worst shapes of every JSON body with 4xx while GET /health stays under ${HEALTH_BOUND_MS} ms`, { timeout: 120_000 }, async () => {
    const figures: string[] = [];
    let worstOverall = 0;
    for (const target of targets) {
      for (const shape of target.shapes) {
        // A stall is systematic and shows on every attempt; the machine being busy elsewhere is
        // not, so a shape gets up to ATTEMPTS tries to stay under the bound. Every try is reported.
        const tries: string[] = [];
        let best = Number.POSITIVE_INFINITY;
        for (let attempt = 0; attempt < ATTEMPTS && best >= HEALTH_BOUND_MS; attempt++) {
          const started = performance.now();
          const answer = fetch(`${service.url}${target.url}`, {
            method: target.method,
            headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
            body: shape.body,
          }).then(async (response) => ({ response, ms: performance.now() - started }));
          const [{ response, ms }, health] = await Promise.all([answer, worstHealth(answer)]);
          // /v1 answers in OpenAI's dialect, which names one field (param) instead of listing them.
          const { problem, openAi } = await expectErrorAt(target.url, response, 400);
          if (problem) {
            expect(problem.errors!.length, `${target.operationId}: ${shape.name}`).toBeGreaterThan(0);
            expect(problem.errors!.length, `${target.operationId}: ${shape.name}`).toBeLessThanOrEqual(20);
          } else {
            expect(openAi!.error.type, `${target.operationId}: ${shape.name}`).toBe('invalid_request_error');
          }
          best = Math.min(best, health);
          worstOverall = Math.max(worstOverall, health);
          tries.push(`400 in ${ms.toFixed(0)} ms, /health worst ${health.toFixed(0)} ms`);
        }
        figures.push(`  ${target.operationId} ${shape.name}: ${tries.join('; ')}`);
        expect(best, `GET /health during ${target.operationId} with ${shape.name}, best of ${tries.length}`).toBeLessThan(HEALTH_BOUND_MS);
      }
    }
    console.log(`hostile bodies on ${engine}: GET /health worst ${worstOverall.toFixed(0)} ms\n${figures.join('\n')}`);
  });

  // Valid, so every step runs (scan, JSON.parse, the write's JSON.stringify, the insert): it is
  // parsed in turns of the event loop, and GET /health's figure is printed, not asserted (it sits
  // near 150 ms on a quiet machine, was 350 to 500; bench/hostile-body.ts measures it).
  it('stores a valid event of 100,000 members (830 KB) exactly', async () => {
    const members = `{${Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36)}":${i % 10}`).join(',')}}`;
    const eventId = `wide-${engine}-${Date.now()}`;
    const answer = fetch(`${service.url}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: `{"event_id":"${eventId}","event_type":"wide","event_data":${members}}`,
    });
    const [response, health] = await Promise.all([answer, worstHealth(answer)]);
    expect(response.status).toBe(202);
    console.log(`a valid event of 100,000 members on ${engine}: GET /health worst ${health.toFixed(0)} ms meanwhile`);
    const stored = await fetch(`${service.url}/events/${eventId}`, { headers: { authorization: `Bearer ${service.adminToken}` } });
    const data = ((await stored.json()) as { event_data: Record<string, number> }).event_data;
    expect(Object.keys(data)).toHaveLength(100_000);
    expect(data[(99_999).toString(36)]).toBe(9);
  });

  it('refuses event_data nested past its x-max-depth of 32 inside a batch, naming where', async () => {
    const deep = `${'{"d":'.repeat(32)}{}${'}'.repeat(32)}`;
    const response = await fetch(`${service.url}/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: `{"events":[{"event_id":"ok-depth","event_type":"t","event_data":{}},{"event_id":"too-deep","event_type":"t","event_data":${deep}}]}`,
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors).toEqual([{ location: 'body', pointer: `/events/1/event_data${'/d'.repeat(32)}`, message: 'is nested deeper than 32 levels' }]);
  });

  it('answers the issue 12 batch (100,000 zeros, 200 KB) with the array named, in one field error', async () => {
    const response = await fetch(`${service.url}/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: `{"events":[${repeated('0', 100_000)}]}`,
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors).toEqual([{ location: 'body', pointer: '/events', message: 'must NOT have more than 1000 items' }]);
  });

  it('lists 20 field errors and counts the rest', async () => {
    const response = await fetch(`${service.url}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: `{"event_id":"e","event_type":"t","event_data":{},${Array.from({ length: 30 }, (_, i) => `"extra${i}":${i}`).join(',')}}`,
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors).toHaveLength(20);
    expect(problem.errors![0]).toEqual({ location: 'body', pointer: '/extra0', message: 'must NOT have additional properties' });
    expect(problem.error_count).toBe(30);
    expect(problem.detail).toBe('The request has 30 invalid fields; the first 20 are listed.');
  });

  it('stops counting at 1,000 invalid fields', async () => {
    const response = await fetch(`${service.url}/train/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: `{${Array.from({ length: 5000 }, (_, i) => `"extra${i}":${i}`).join(',')}}`,
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors).toHaveLength(20);
    expect(problem.error_count).toBe(1000);
    expect(problem.detail).toBe('The request has 1000 or more invalid fields; the first 20 are listed.');
  });

  it('never parses the body of a caller without a valid key', async () => {
    const response = await fetch(`${service.url}/events/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"events": [' });
    await expectProblem(response, 401);
  });
});
