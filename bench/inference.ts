/**
 * Inference task benchmark (`npx tsx bench/inference.ts`, part of `make bench`): one service
 * process with its workers in-process, on real Postgres, with 300 locations in the catalogue.
 *
 * 1. Latency on an idle service: tasks started one at a time; time from POST /inference/start to
 *    SUCCESS, as the client sees it (SUCCESS frame of the task's event stream) and as the service
 *    records it (created_at to finished_at).
 * 2. Throughput: tasks started at a fixed rate for a while (open loop); completed tasks per second,
 *    backlog at the end, and created-to-finished latency under that load.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SEARCH } from '../test/support/tasks.js';
import { ADMIN_TOKEN, fmt, machine, percentile, sql, startBenchService } from './support.js';

const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function startTask(url: string): Promise<string> {
  const response = await fetch(`${url}/inference/start`, { method: 'POST', headers, body: JSON.stringify(SEARCH) });
  if (response.status !== 200) throw new Error(`start answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return ((await response.json()) as { task_id: string }).task_id;
}

async function waitForSuccess(url: string, taskId: string): Promise<void> {
  const response = await fetch(`${url}/inference/${taskId}/events`, { headers });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream of ${taskId} ended without SUCCESS`);
    text += value;
    if (text.includes('"status":"SUCCESS"')) break;
  }
  await reader.cancel();
}

async function main(): Promise<void> {
  const rate = Number(process.env.BENCH_TASK_RATE ?? 300);
  const seconds = Number(process.env.BENCH_TASK_SECONDS ?? 20);
  const service = await startBenchService({ WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '2' });
  try {
    // 300 locations: the 210 generated on first start and 90 more.
    await sql(service.schema, `
      insert into locations (location_id, children, breakfast, lunch, dinner, price, has_pool, has_spa, animals, near_lake, near_mountains, has_sport,
        family_rating, outdoor_rating, food_rating, leisure_rating, service_rating, user_score)
      select location_id + 210, children, breakfast, lunch, dinner, price, has_pool, has_spa, animals, near_lake, near_mountains, has_sport,
        family_rating, outdoor_rating, food_rating, leisure_rating, service_rating, user_score
      from locations where location_id <= 90`);
    console.log(`machine: ${machine()}`);
    console.log(`catalogue: ${(await sql<{ n: string }>(service.schema, 'select count(*) n from locations'))[0]!.n} locations`);

    for (let i = 0; i < 20; i++) await waitForSuccess(service.url, await startTask(service.url));
    const observed: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      const taskId = await startTask(service.url);
      await waitForSuccess(service.url, taskId);
      observed.push(performance.now() - started);
      ids.push(taskId);
      await sleep(5);
    }
    const recorded = (await sql<{ ms: number }>(service.schema, `select extract(epoch from finished_at - created_at) * 1000 as ms from tasks where task_id = any($1::uuid[])`, [ids])).map((row) => Number(row.ms));
    console.log('\nidle latency, POST /inference/start to SUCCESS (200 tasks, one at a time)');
    console.log(`  client-observed (via the task's SSE stream): p50 ${fmt(percentile(observed, 50))} ms, p99 ${fmt(percentile(observed, 99))} ms`);
    console.log(`  recorded (created_at to finished_at):        p50 ${fmt(percentile(recorded, 50))} ms, p99 ${fmt(percentile(recorded, 99))} ms`);

    const before = Number((await sql<{ n: string }>(service.schema, `select count(*) n from tasks where status = 'SUCCESS'`))[0]!.n);
    const errors: string[] = [];
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    let sent = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (sent < due) {
        sent += 1;
        inFlight.push(startTask(service.url).then(() => undefined, (error: Error) => void errors.push(error.message)));
      }
      await sleep(2);
    }
    await Promise.all(inFlight);
    const window = (performance.now() - started) / 1000;
    const doneInWindow = Number((await sql<{ n: string }>(service.schema, `select count(*) n from tasks where status = 'SUCCESS'`))[0]!.n) - before;
    const backlog = Number((await sql<{ n: string }>(service.schema, `select count(*) n from tasks where status in ('PENDING', 'STARTED', 'RETRY')`))[0]!.n);
    await sleep(5000);
    const latency = (await sql<{ ms: number }>(service.schema, `select extract(epoch from finished_at - created_at) * 1000 as ms from tasks where created_at > now() - make_interval(secs => $1)`, [seconds + 6])).map((row) => Number(row.ms));
    const failed = Number((await sql<{ n: string }>(service.schema, `select count(*) n from tasks where status <> 'SUCCESS'`))[0]!.n);
    console.log(`\nthroughput: ${sent} tasks started at ${rate}/s for ${fmt(window)} s (open loop), workers in-process`);
    console.log(`  completed during the window: ${doneInWindow} (${fmt(doneInWindow / window)} tasks/s); backlog at the end: ${backlog}`);
    console.log(`  created_at to finished_at under load: p50 ${fmt(percentile(latency, 50))} ms, p99 ${fmt(percentile(latency, 99))} ms`);
    console.log(`  errors: ${errors.length} HTTP, ${failed} tasks not SUCCESS after draining`);
    const kinds = new Map<string, number>();
    for (const error of errors) kinds.set(error, (kinds.get(error) ?? 0) + 1);
    for (const [error, count] of kinds) console.log(`    ${count}× ${error}`);
  } finally {
    await service.stop();
  }
}

await main();
