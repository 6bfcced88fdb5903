/** Shared pieces of the benchmarks: a service process on real Postgres, and latency statistics. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { projectRoot } from '../src/project.js';

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/portico_bench';
export const ADMIN_TOKEN = 'bench-admin-token';

export interface BenchService {
  url: string;
  child: ChildProcess;
  schema: string;
  stop(): Promise<void>;
}

export async function ensureDatabase(): Promise<void> {
  const url = new URL(BENCH_DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
}

export async function sql<T>(schema: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Starts the built service (dist/) on the benchmark database in a fresh schema. BENCH_NODE_FLAGS
 * passes flags to its node process, e.g. `--cpu-prof --cpu-prof-dir=bench/results/profile`.
 */
export async function startBenchService(env: Record<string, string>, entry = 'dist/src/server.js'): Promise<BenchService> {
  execFileSync('make', ['--no-print-directory', 'build'], { cwd: projectRoot, stdio: 'ignore' });
  await ensureDatabase();
  const schema = env.DATABASE_SCHEMA ?? 'bench';
  if (!env.DATABASE_SCHEMA) await sql('public', `drop schema if exists bench_pgboss cascade; drop schema if exists bench cascade`);
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), entry], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: BENCH_DATABASE_URL, DATABASE_SCHEMA: schema, ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const match = /Portico is serving on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
      if (line.includes('Portico worker started')) resolve('');
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
  });
  return {
    url,
    child,
    schema,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Resident memory of a process in MB (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

export function machine(): string {
  const cpus = execFileSync('nproc').toString().trim();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `${cpus} cores, load ${load}, node ${process.version}`;
}
