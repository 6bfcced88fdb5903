import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components } from '../src/generated/api.js';
import { captureErrorLogs, documentedStatuses, type Exchange, FailureSurvey, FuzzClient, matchOperation, report, violations } from './support/fuzz-http.js';
import { type FuzzRequest, fuzzOperations, fuzzRequests, type RefKind } from './support/fuzz-requests.js';
import { type Engine, engines, startTestService, type TestService } from './support/service.js';
import { SEARCH } from './support/tasks.js';

/**
 * Property-based fuzzing of every operation in the spec, over real HTTP, on every engine.
 *
 * Requests are generated from the spec (valid ones from the schemas; invalid ones by mutating
 * them; transport-level garbage around them) and sent in batches of 8 concurrent requests. Every
 * answer must: arrive, never be a 5xx, carry X-Request-ID, be application/problem+json valid
 * against the spec's Problem (with its status and request id) when it is an error, and match the
 * operation's response schema when it is a 2xx JSON answer. Afterwards the service must be healthy.
 *
 * Seeds: CI runs the fixed list in test/fuzz-seeds.json (the runs shared between them), so that no
 * random draw decides a build. Random exploration is `make fuzz` (FUZZ_SECONDS, default 300): it
 * runs fresh seeds until the time is up and prints every seed that fails; fix the bug, then add
 * the seed to test/fuzz-seeds.json so CI keeps checking it.
 *
 * Reproducing a failure: fast-check's report (seed, path, counterexample, and the failing
 * exchanges with the server's log) is the error.
 *
 *   FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts                      # that seed alone
 *   FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz.test.ts     # only the shrunk case
 *
 * Both engines run the same seeds (Postgres runs a prefix of PGlite's requests), so add
 * `-t pglite` or `-t postgres` to replay on the engine that failed.
 *
 *   FUZZ_SURVEY=1 npx vitest run test/fuzz.test.ts
 *
 * sends every request even after failures, then fails listing each distinct failure once (by
 * status, broken property and server error, with the operations it hit) with its smallest request:
 * every bug a seed reaches, at once, where the property stops at the first one it finds.
 */

const committedSeeds = JSON.parse(readFileSync(new URL('./fuzz-seeds.json', import.meta.url), 'utf8')) as number[];
const seeds = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : committedSeeds;
for (const seed of seeds) if (!Number.isSafeInteger(seed)) throw new Error(`fuzz seed ${seed} is not an integer`);
/** Set by `make fuzz`: explore fresh seeds for this long instead of running the committed ones. */
const exploreSeconds = process.env.FUZZ_SECONDS ? Number(process.env.FUZZ_SECONDS) : undefined;
if (exploreSeconds !== undefined && !(exploreSeconds > 0)) throw new Error(`FUZZ_SECONDS=${process.env.FUZZ_SECONDS} is not a positive number`);
const replayPath = process.env.FUZZ_PATH || undefined;
const surveying = process.env.FUZZ_SURVEY === '1';
console.log(exploreSeconds === undefined ? `fuzz: seeds ${seeds.join(', ')}` : `fuzz: exploring fresh seeds for ${exploreSeconds} s per engine`);

const BATCH = 8;
/** Property runs per engine: PGlite gets 3,000 requests, Postgres 2,200; together above 5,000. */
const RUNS: Record<Engine, number> = { pglite: 375, postgres: 275 };
/** Sent requests (a few valid POST /train/start are skipped by budget): at least 5,000 in all. */
const MIN_REQUESTS: Record<Engine, number> = { pglite: 2_900, postgres: 2_100 };
/** Valid POST /train/start trains a model in the worker: a handful shows it works, more only costs. */
const VALID_BUDGETS = { startTraining: 5 };
/** fast-check stops (and reports what it has) before vitest's timeout would lose the report. */
const TIME_LIMIT_MS = 100_000;

const operations = fuzzOperations();
const batches = fc.array(fuzzRequests(operations), { minLength: BATCH, maxLength: BATCH });

type Schemas = components['schemas'];

/** Calls the service as admin during setup; anything but a 2xx is a broken setup. */
async function adminCall<T>(service: TestService, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${service.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`setup: ${method} ${path} answered ${response.status}: ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** One resource of every kind, so that generated ids sometimes name something that exists. */
async function createResources(service: TestService): Promise<Record<RefKind, string | number>> {
  const event = { event_id: 'fuzz-known-event', event_type: 'fuzz_known', event_data: { n: 1 } };
  await adminCall(service, 'POST', '/events', event);
  const task = await adminCall<Schemas['TaskStatus']>(service, 'POST', '/inference/start', SEARCH);
  for (let waited = 0; ; waited += 50) {
    const status = await adminCall<Schemas['TaskStatus']>(service, 'GET', `/inference/status/${task.task_id}`);
    if (status.status === 'SUCCESS') break;
    if (waited > 20_000 || ['FAILURE', 'REVOKED'].includes(status.status)) throw new Error(`setup: inference task ended as ${status.status}`);
    await sleep(50);
  }
  const scored = await adminCall<Schemas['ScoredLocation'][]>(service, 'GET', `/inference/results/${task.task_id}?limit=10`);
  const resultLocation = scored[0]!.location_id;
  await adminCall(service, 'PUT', '/inference/select', { task_id: task.task_id, location_id: resultLocation });
  const training = await adminCall<Schemas['TaskStatus']>(service, 'POST', '/train/start', { min_labels: 1, epochs: 5 });
  const chat = await adminCall<Schemas['ChatResponse']>(service, 'POST', '/chat', { message: 'hello from the fuzzer' });
  const models = await adminCall<Schemas['ModelPage']>(service, 'GET', '/models');
  const users = await adminCall<Schemas['StoredUserData'][]>(service, 'GET', '/content/users?limit=1');
  const results = await adminCall<Schemas['ResultRecord'][]>(service, 'GET', `/content/results?task_id=${task.task_id}`);
  const key = await service.createKey(['events:read'], { owner: 'fuzz-target' });
  return {
    event: event.event_id,
    eventType: event.event_type,
    inferenceTask: task.task_id,
    trainingTask: training.task_id,
    conversation: chat.conversation_id,
    model: models.items[0]!.model_id,
    key: key.keyId,
    location: resultLocation,
    resultLocation,
    user: users[0]!.user_id,
    result: results[0]!.result_id,
  };
}

/** The API guide (openapi/description.md) documents these once for every operation. */
const ANY_OPERATION_STATUSES = new Set(['405', '413', '415', '431']);

/** What the run saw, printed at the end: it shows the generators reach every operation and status. */
class Tally {
  readonly byKind = new Map<string, number>();
  readonly byStatus = new Map<string, number>();
  readonly validByOperation = new Map<string, Map<string, number>>();
  readonly undocumented = new Map<string, string>();

  add(exchange: Exchange): void {
    const { request, status } = exchange;
    const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    bump(this.byKind, request.kind);
    bump(this.byStatus, String(status ?? 'none'));
    if (request.kind === 'valid' && request.operationId) {
      const statuses = this.validByOperation.get(request.operationId) ?? new Map<string, number>();
      bump(statuses, String(status ?? 'none'));
      this.validByOperation.set(request.operationId, statuses);
    }
    const operation = matchOperation(operations, exchange.method, exchange.target);
    if (operation && status !== undefined && !ANY_OPERATION_STATUSES.has(String(status)) && !documentedStatuses(operation).includes(String(status))) {
      const key = `${operation.operationId} ${status}`;
      if (!this.undocumented.has(key)) this.undocumented.set(key, `${request.kind}: ${request.label}`);
    }
  }

  summary(): string {
    const list = (map: Map<string, number>) => [...map].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => `${key}=${count}`).join(' ');
    return [
      `  by kind: ${list(this.byKind)}`,
      `  by status: ${list(this.byStatus)}`,
      `  valid requests by operation: ${operations.map((operation) => `${operation.operationId}(${list(this.validByOperation.get(operation.operationId) ?? new Map())})`).join(' ')}`,
      `  statuses the spec does not list for the operation: ${[...this.undocumented].map(([key, example]) => `${key} (${example})`).join('; ') || 'none'}`,
    ].join('\n');
  }
}

describe.each(engines())('fuzzing every operation on %s', (engine) => {
  let service: TestService;
  let client: FuzzClient;
  const logs = captureErrorLogs();
  const tally = new Tally();
  const survey = surveying ? new FailureSurvey() : undefined;

  beforeAll(async () => {
    service = await startTestService(engine, {
      env: { RATE_LIMIT_PER_MINUTE: '0', RUN_WORKERS: 'true', DEV_MODEL_TOKEN_DELAY_MS: '0' },
      logger: logs.logger,
    });
    // Before any other key exists, the only key is the bootstrap admin's: the one never to revoke.
    const keys = await adminCall<Schemas['ApiKeyPage']>(service, 'GET', '/admin/api-keys');
    const adminKeyIds = keys.items.filter((key) => key.scopes.includes('admin')).map((key) => key.key_id);
    expect(adminKeyIds).toHaveLength(1);
    const limited = await service.createKey(['events:read', 'inference:read', 'chat'], { owner: 'fuzz-limited' });
    const refs = await createResources(service);
    client = new FuzzClient({ baseUrl: service.url, adminToken: service.adminToken, limitedToken: limited.token, refs, neverDelete: adminKeyIds }, VALID_BUDGETS);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await service?.stop();
  });

  const sendBatch = async (batch: FuzzRequest[]) => {
    const exchanges = (await Promise.all(batch.map((request) => client.send(request)))).filter((exchange): exchange is Exchange => exchange !== undefined);
    const failures: string[] = [];
    for (const exchange of exchanges) {
      tally.add(exchange);
      const problems = violations(exchange, operations);
      if (problems.length === 0) continue;
      if (survey) survey.add(exchange, problems, logs, operations);
      else failures.push(report(exchange, problems, logs));
    }
    if (failures.length > 0) throw new Error(`${failures.length} of ${exchanges.length} answers break the properties:\n${failures.join('\n')}`);
  };

  /** One seed's property run; the failure report when it fails. */
  const runSeed = async (seed: number, numRuns: number, timeLimitMs: number): Promise<string | undefined> => {
    const details = await fc.check(fc.asyncProperty(batches, sendBatch), {
      seed,
      numRuns,
      ...(replayPath ? { path: replayPath } : {}),
      includeErrorInReport: true,
      interruptAfterTimeLimit: timeLimitMs,
      timeout: 60_000,
    });
    return details.failed ? fc.defaultReportMessage(details) : undefined;
  };

  it.runIf(exploreSeconds === undefined)(
    'answers every generated request without a 5xx, and every error as problem+json (OpenAI\'s error object on /v1) valid against the spec',
    async () => {
      const started = Date.now();
      for (const seed of seeds) {
        // Each seed's share of the runs bounds its work; the time limit is the whole run's.
        const failure = await runSeed(seed, Math.ceil(RUNS[engine] / seeds.length), Math.max(1_000, started + TIME_LIMIT_MS - Date.now()));
        if (failure) throw new Error(`seed ${seed} fails on ${engine}:\n${failure}`);
      }
      console.log(
        `fuzz on ${engine}: ${client.sent} requests (${client.skipped} skipped by budget) in ${((Date.now() - started) / 1000).toFixed(1)} s, seeds ${seeds.join(', ')}\n${tally.summary()}`,
      );
      if (survey && survey.size > 0) throw new Error(`${survey.size} distinct failures on ${engine}:\n\n${survey.summary()}`);
      if (!replayPath && seeds === committedSeeds) expect(client.sent).toBeGreaterThanOrEqual(MIN_REQUESTS[engine]);
    },
    TIME_LIMIT_MS + 60_000,
  );

  it.runIf(exploreSeconds !== undefined)(
    `explores fresh seeds for FUZZ_SECONDS and lists each one that fails`,
    async () => {
      const deadline = Date.now() + (exploreSeconds ?? 0) * 1000;
      const failed: number[] = [];
      const tried: number[] = [];
      while (Date.now() < deadline) {
        const seed = randomInt(-0x80000000, 0x7fffffff);
        tried.push(seed);
        const failure = await runSeed(seed, RUNS[engine], Math.max(1_000, Math.min(TIME_LIMIT_MS, deadline - Date.now())));
        if (failure) {
          failed.push(seed);
          console.log(`fuzz on ${engine}: seed ${seed} FAILS; fix the bug, then add ${seed} to test/fuzz-seeds.json\n${failure}`);
        }
      }
      console.log(`fuzz on ${engine}: ${tried.length} seeds tried (${client.sent} requests): ${tried.join(', ')}\n${tally.summary()}`);
      expect(failed, `seeds that fail on ${engine}; add each to test/fuzz-seeds.json once fixed`).toEqual([]);
    },
    ((exploreSeconds ?? 0) + 120) * 1000,
  );

  it('is healthy afterwards: liveness, readiness, and an event written and read back', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    expect((await fetch(`${service.url}/ready`)).status).toBe(200);
    const event = { event_id: randomUUID(), event_type: 'after_fuzzing', event_data: { still: 'working' } };
    const created = await fetch(`${service.url}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    expect(created.status).toBe(202);
    const read = await fetch(`${service.url}/events/${event.event_id}`, { headers: { authorization: `Bearer ${service.adminToken}` } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject(event);
  });
});
