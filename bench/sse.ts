/**
 * Server-sent events benchmark (`npx tsx bench/sse.ts`, part of `make bench`): one service process
 * (workers in-process) on real Postgres.
 *
 * 1. Opens 10,000 concurrent idle SSE streams (BENCH_SSE_STREAMS; live events filtered to a type
 *    nobody sends) and records the process's resident memory before, 2 s after opening them, and
 *    once settled (BENCH_SSE_IDLE_SECONDS, default 60, idle).
 * 2. With those streams open, starts 200 inference tasks one after another, each followed by its
 *    own task stream, and measures the delay from each status change (the event's created_at) to its
 *    frame arriving at the client (BENCH_SSE_TASKS, default 200). Ends with the targets.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEARCH } from '../test/support/tasks.js';
import { ADMIN_TOKEN, fmt, machine, percentile, rssMb, startBenchService } from './support.js';

const STREAMS = Number(process.env.BENCH_SSE_STREAMS ?? 10_000);
const IDLE_MS = Number(process.env.BENCH_SSE_IDLE_SECONDS ?? 60) * 1000;
const TASKS = Number(process.env.BENCH_SSE_TASKS ?? 200);
const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function openIdleStream(url: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${url}/events/stream?event_type=idle-stream`, { headers, signal });
  if (response.status !== 200) throw new Error(`stream answered ${response.status}`);
  // Keep reading (heartbeats) so the stream stays healthy, until aborted.
  void response.body!.pipeTo(new WritableStream(), { signal }).catch(() => undefined);
}

async function main(): Promise<void> {
  const service = await startBenchService({ WORKER_CONCURRENCY: '2' });
  const controller = new AbortController();
  // One signal closes every idle stream at the end: 10,000 listeners on it are the point, not a leak.
  setMaxListeners(0, controller.signal);
  try {
    console.log(`machine: ${machine()}`);
    for (let i = 0; i < 50; i++) await fetch(`${service.url}/health`);
    await sleep(1000);
    const before = rssMb(service.child.pid!);
    const opening = performance.now();
    for (let i = 0; i < STREAMS; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, STREAMS - i) }, () => openIdleStream(service.url, controller.signal)));
    }
    const openedIn = (performance.now() - opening) / 1000;
    const growth = (rss: number) => `+${fmt(rss - before)} MB (${fmt(((rss - before) * 1024) / STREAMS, 2)} KB per stream)`;
    await sleep(2000);
    const burst = rssMb(service.child.pid!);
    // V8 hands the garbage of the opening burst back to the system only once allocation has been
    // quiet for a while (its memory reducer): what the open streams hold is the RSS after that.
    await sleep(IDLE_MS);
    const held = rssMb(service.child.pid!);
    console.log(`\n${STREAMS} idle SSE streams opened in ${fmt(openedIn)} s`);
    console.log(`  service RSS before: ${fmt(before)} MB`);
    console.log(`  2 s after opening:  ${fmt(burst)} MB, ${growth(burst)}`);
    console.log(`  after ${IDLE_MS / 1000} s idle:    ${fmt(held)} MB, ${growth(held)}`);

    const delays: number[] = [];
    for (let i = 0; i < TASKS; i++) {
      const started = await fetch(`${service.url}/inference/start`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(SEARCH),
      });
      const { task_id } = (await started.json()) as { task_id: string };
      const stream = await fetch(`${service.url}/inference/${task_id}/events`, { headers });
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let finished = false;
      while (!finished) {
        const { value, done } = await reader.read();
        if (done) break;
        const arrived = Date.now();
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = /data: (.*)/.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (!data) continue;
          const frame = JSON.parse(data) as { status: string; created_at: string };
          // PENDING is already history when the stream opens; the live changes are what count.
          if (frame.status !== 'PENDING') delays.push(arrived - Date.parse(frame.created_at));
          if (frame.status === 'SUCCESS') finished = true;
        }
      }
      await reader.cancel().catch(() => undefined);
      await sleep(10);
    }
    console.log(`\ndelay from a task status change (event created_at) to its frame at the client, ${delays.length} changes, ${STREAMS} idle streams open:`);
    console.log(`  p50 ${fmt(percentile(delays, 50))} ms, p99 ${fmt(percentile(delays, 99))} ms, max ${fmt(Math.max(...delays))} ms`);
    console.log(`  service RSS at the end: ${fmt(rssMb(service.child.pid!))} MB`);
    const settled = held - before;
    const p99 = percentile(delays, 99);
    const met = (ok: boolean) => (ok ? 'met' : '**missed**');
    console.log(`\ntargets (one process, ${STREAMS} idle streams; the targets are for 10,000):`);
    console.log(`  RSS growth once settled +${fmt(settled)} MB (target ≤ 150 MB): ${met(STREAMS >= 10_000 && settled <= 150)}`);
    console.log(`  status change → frame p99 ${fmt(p99)} ms with them open (target ≤ 50 ms): ${met(p99 <= 50)}`);
  } finally {
    controller.abort();
    await service.stop();
  }
}

await main();
