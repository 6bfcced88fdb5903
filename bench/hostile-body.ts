/**
 * Issue 12's stall, measured: POST /events/batch with a 200 KB body holding 100,000 invalid items
 * (two other hostile shapes, and a valid event of 100,000 members to POST /events), each sent 5 times while a second client polls GET /health. Prints the batch's answer time and /health's worst
 * latency meanwhile. Runs the service from source (tsx) on PGlite in memory, or on DATABASE_URL.
 *
 *   npx tsx bench/hostile-body.ts
 *
 * BENCH_NODE_FLAGS passes flags to the service's node, as for the other benchmarks.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { projectRoot } from '../src/project.js';

const ADMIN_TOKEN = 'hostile-body-admin-token';

async function startService(): Promise<{ url: string; stop(): Promise<void> }> {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'src/server.ts'], {
    cwd: projectRoot,
    env: { ...process.env, PORT: '0', DATA_DIR: process.env.DATA_DIR ?? 'memory://', ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn', RUN_WORKERS: 'false' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const match = /Portico is serving on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Polls GET /health until `done` settles; the slowest answer in ms. */
async function worstHealth(url: string, done: Promise<unknown>): Promise<{ worst: number; polls: number }> {
  let finished = false;
  void done.finally(() => (finished = true));
  let worst = 0;
  let polls = 0;
  while (!finished) {
    const started = performance.now();
    await (await fetch(`${url}/health`)).arrayBuffer();
    worst = Math.max(worst, performance.now() - started);
    polls++;
  }
  return { worst, polls };
}

const wide = `{${Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36)}":${i % 10}`).join(',')}}`;
/** Each shape's path and body (a function of the round where each round needs its own event id). */
const shapes: Record<string, { path: string; body: (round: number) => string }> = {
  '100,000 zeros (200 KB)': { path: '/events/batch', body: () => `{"events":[${Array(100_000).fill('0').join(',')}]}` },
  '60,000 empty objects': { path: '/events/batch', body: () => `{"events":[${Array(60_000).fill('{}').join(',')}]}` },
  '100,000 unknown keys': { path: '/events/batch', body: () => `{${Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36)}":0`).join(',')}}` },
  // Valid, so it is stored: the scan, JSON.parse, the write's JSON.stringify and the insert all run.
  'a valid event of 100,000 members': { path: '/events', body: (round) => `{"event_id":"wide-${Date.now()}-${round}","event_type":"wide","event_data":${wide}}` },
};

const service = await startService();
try {
  for (const [name, shape] of Object.entries(shapes)) for (let round = 1; round <= 5; round++) {
    await fetch(`${service.url}/health`);
    const body = shape.body(round);
    const started = performance.now();
    const answer = fetch(`${service.url}${shape.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body,
    }).then(async (response) => ({ status: response.status, text: await response.text(), ms: performance.now() - started }));
    const [result, health] = await Promise.all([answer, worstHealth(service.url, answer)]);
    console.log(
      `${name}, ${(Buffer.byteLength(body) / 1024).toFixed(0)} KB, round ${round}: ${result.status} in ${result.ms.toFixed(0)} ms (answer ${(result.text.length / 1024).toFixed(1)} KB); ` +
        `GET /health worst ${health.worst.toFixed(0)} ms over ${health.polls} polls`,
    );
  }
} finally {
  await service.stop();
}
