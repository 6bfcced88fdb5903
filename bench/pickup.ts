/**
 * Job pickup latency (`npx tsx bench/pickup.ts`): how long an idle worker takes to receive a job
 * once the transaction that queued it has committed. One job at a time with a pause between, so
 * every job finds the workers asleep; the handler only records the time and completes the job.
 * BENCH_ENGINE=postgres|pglite (default both), BENCH_PICKUP_JOBS (default 200).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { type Database, openDatabase, transactionExecutor } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { TaskQueue } from '../src/queue/task-queue.js';
import { QueueWorker } from '../src/queue/worker.js';
import { BENCH_DATABASE_URL, ensureDatabase, fmt, machine, percentile, sql } from './support.js';

const log = pino({ level: 'warn' });

async function open(engine: string): Promise<Database> {
  if (engine === 'pglite') return openDatabase({ databaseUrl: undefined, databaseSchema: 'public', databasePoolSize: 10, dataDir: 'memory://' }, log);
  await ensureDatabase();
  await sql('public', 'drop schema if exists bench_pickup_pgboss cascade; drop schema if exists bench_pickup cascade');
  return openDatabase({ databaseUrl: BENCH_DATABASE_URL, databaseSchema: 'bench_pickup', databasePoolSize: 10, dataDir: '' }, log);
}

async function measure(engine: string, jobs: number): Promise<void> {
  const database = await open(engine);
  await migrateToLatest(database.db, database.schema);
  const queue = new TaskQueue(database, log, { maintenanceIntervalSeconds: 60 });
  await queue.start();
  const committed = new Map<string, number>();
  const picked = new Map<string, (at: number) => void>();
  const worker = new QueueWorker(
    queue,
    'inference',
    async (batch) => {
      const at = performance.now();
      for (const job of batch) picked.get(job.data.task_id)?.(at);
      await queue.complete('inference', batch.map((job) => job.id));
    },
    log,
    { batchSize: 50, loops: 2, pollMs: 1000 },
  );
  await worker.start();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < jobs + 20; i++) {
      const taskId = randomUUID();
      const arrived = new Promise<number>((resolve) => picked.set(taskId, resolve));
      await database.db.transaction().execute((trx) => queue.enqueue('inference')(transactionExecutor(trx), taskId));
      committed.set(taskId, performance.now());
      const at = await arrived;
      // The first 20 warm up connections and caches.
      if (i >= 20) latencies.push(at - committed.get(taskId)!);
      await sleep(20);
    }
  } finally {
    await worker.stop();
    await queue.stop();
    await database.close();
  }
  console.log(`${engine.padEnd(8)} jobs ${jobs}  commit → handler  p50 ${fmt(percentile(latencies, 50), 2)} ms  p99 ${fmt(percentile(latencies, 99), 2)} ms  max ${fmt(Math.max(...latencies), 2)} ms`);
}

const engines = process.env.BENCH_ENGINE ? [process.env.BENCH_ENGINE] : ['postgres', 'pglite'];
const jobs = Number(process.env.BENCH_PICKUP_JOBS ?? 200);
console.log(`machine: ${machine()}`);
for (const engine of engines) await measure(engine, jobs);
