/**
 * Inference task benchmark (`npx tsx bench/inference.ts`, part of `make bench`): one service
 * process with its workers in-process, on real Postgres, with 300 locations in the catalogue.
 *
 * 1. Latency on an idle service: tasks started one at a time; time from POST /inference/start to
 *    SUCCESS, as the client sees it (SUCCESS frame of the task's event stream) and as the service
 *    records it (created_at to finished_at).
 * 2. Statements per task: the service's node-postgres round trips over 50 idle tasks, by statement
 *    (bench/count-statements.mjs, preloaded), including what pg-boss runs in the background.
 * 3. Throughput: tasks started at a fixed rate for a while (open loop, BENCH_TASK_RATE, default the
 *    target's 500/s); completed tasks per second, starts shed (503), backlog at the end, and
 *    created-to-finished latency under that load.
 * BENCH_PROFILE=1 also takes a CPU profile of the service and prints where its time went (JSON and
 * serialisation included). Ends with the targets, measured beside each.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../src/project.js';
import { SEARCH } from '../test/support/tasks.js';
import { ADMIN_TOKEN, fmt, machine, percentile, sql, startBenchService } from './support.js';

const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

class Shed extends Error {}

async function startTask(url: string): Promise<string> {
  const response = await fetch(`${url}/inference/start`, { method: 'POST', headers, body: JSON.stringify(SEARCH) });
  if (response.status === 503) throw new Shed('shed: 503');
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

type StatementCounts = Record<string, number>;

/** The service's statement counts so far (it writes them on SIGUSR2). */
async function statementCounts(pid: number, file: string, snapshot: number): Promise<StatementCounts> {
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    if (existsSync(file)) {
      const written = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: number; counts: StatementCounts };
      if (written.snapshot === snapshot) return written.counts;
    }
    await sleep(20);
  }
}

const mark = (met: boolean) => (met ? 'met' : '**missed**');

async function main(): Promise<void> {
  const rate = Number(process.env.BENCH_TASK_RATE ?? 500);
  const seconds = Number(process.env.BENCH_TASK_SECONDS ?? 20);
  const idleTasks = Number(process.env.BENCH_TASK_IDLE ?? 200);
  const out = `${projectRoot}/bench/results/inference-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  mkdirSync(out, { recursive: true });
  const statementsFile = `${out}/statements.json`;
  const profile = process.env.BENCH_PROFILE === '1';
  process.env.BENCH_NODE_FLAGS = [process.env.BENCH_NODE_FLAGS ?? '', `--import=${projectRoot}/bench/count-statements.mjs`, profile ? `--cpu-prof --cpu-prof-dir=${out}` : ''].join(' ');
  const service = await startBenchService({ WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '2', BENCH_STATEMENTS_FILE: statementsFile });
  let summary: string | undefined;
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
    for (let i = 0; i < idleTasks; i++) {
      const started = performance.now();
      const taskId = await startTask(service.url);
      await waitForSuccess(service.url, taskId);
      observed.push(performance.now() - started);
      ids.push(taskId);
      await sleep(5);
    }
    const recorded = (await sql<{ ms: number }>(service.schema, `select extract(epoch from finished_at - created_at) * 1000 as ms from tasks where task_id = any($1::uuid[])`, [ids])).map((row) => Number(row.ms));
    console.log(`\nidle latency, POST /inference/start to SUCCESS (${idleTasks} tasks, one at a time)`);
    console.log(`  client-observed (via the task's SSE stream): p50 ${fmt(percentile(observed, 50))} ms, p99 ${fmt(percentile(observed, 99))} ms`);
    console.log(`  recorded (created_at to finished_at):        p50 ${fmt(percentile(recorded, 50))} ms, p99 ${fmt(percentile(recorded, 99))} ms`);

    // Statements per task: 50 idle tasks between two snapshots of the service's counts.
    const countedTasks = 50;
    const first = await statementCounts(service.child.pid!, statementsFile, 1);
    for (let i = 0; i < countedTasks; i++) await waitForSuccess(service.url, await startTask(service.url));
    const second = await statementCounts(service.child.pid!, statementsFile, 2);
    const perKind = Object.entries(second)
      .map(([kind, n]) => [kind, n - (first[kind] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const statements = perKind.reduce((sum, [, n]) => sum + n, 0);
    console.log(`\nstatements per task (node-postgres round trips, ${countedTasks} idle tasks, start + SSE to SUCCESS, background included): ${fmt(statements / countedTasks, 1)}`);
    for (const [kind, n] of perKind.slice(0, 15)) console.log(`  ${fmt(n / countedTasks, 2).padStart(6)}  ${kind}`);

    const before = Number((await sql<{ n: string }>(service.schema, `select count(*) n from tasks where status = 'SUCCESS'`))[0]!.n);
    const errors: string[] = [];
    let shed = 0;
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    let sent = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (sent < due) {
        sent += 1;
        inFlight.push(
          startTask(service.url).then(
            () => undefined,
            (error: Error) => {
              if (error instanceof Shed) shed += 1;
              else errors.push(error.message);
            },
          ),
        );
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
    console.log(`  shed (503 with Retry-After): ${shed}; errors: ${errors.length} HTTP, ${failed} tasks not SUCCESS after draining`);
    const kinds = new Map<string, number>();
    for (const error of errors) kinds.set(error, (kinds.get(error) ?? 0) + 1);
    for (const [error, count] of kinds) console.log(`    ${count}× ${error}`);

    const completed = doneInWindow / window;
    const idleP50 = percentile(observed, 50);
    summary = [
      `\ntargets (one process, API and workers, ${rate} tasks/s offered):`,
      `  completed ${fmt(completed)} tasks/s (target ≥ 500 at 500 offered): ${mark(rate >= 500 && completed >= 500)}`,
      `  shed ${shed} starts (target 0): ${mark(shed === 0)}`,
      `  idle start → SUCCESS p50 ${fmt(idleP50)} ms as the client sees it on the task's stream (target ≤ 10 ms): ${mark(idleP50 <= 10)}`,
      `  statements per task: ${fmt(statements / countedTasks, 1)}`,
    ].join('\n');
  } finally {
    await service.stop();
  }
  if (profile) {
    const file = readdirSync(out).find((name) => name.endsWith('.cpuprofile'));
    if (file) {
      const text = execFileSync(process.execPath, [`${projectRoot}/bench/profile-summary.mjs`, `${out}/${file}`, '25']).toString();
      const byPackage = text.slice(0, text.indexOf('\nself time by function'));
      const serialisation = text
        .split('\n')
        .filter((line) => /JSON|stringify|parse|serializ|ajv|(?<!\w)pg(?:-\w+)?\b/.test(line) && line.includes('%'))
        .slice(0, 15);
      console.log(`\nCPU profile of the service (${out}/${file}):${byPackage}`);
      console.log('\nJSON, serialisation and driver functions (self time):');
      for (const line of serialisation) console.log(line);
    }
  }
  if (summary) console.log(summary);
}

await main();
