/**
 * Soak (`npx tsx bench/soak.ts`, `make soak`): a steady mix against one service process (workers
 * in-process) on real Postgres, at half the mix's measured maximum, for SOAK_SECONDS (600).
 *
 * One unit of the mix: 10 events posted, one inference task started, its results fetched once it
 * succeeds, and a pick recorded. Meanwhile 100 live-event streams and 20 task streams stay open.
 * First a short closed-loop probe measures the maximum units per second; then units are started at
 * half that rate (open loop). Every minute it prints requests, errors, p99 latencies and RSS.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEARCH } from '../test/support/tasks.js';
import { ADMIN_TOKEN, fmt, machine, percentile, rssMb, startBenchService } from './support.js';

const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

interface Minute {
  requests: number;
  errors: number;
  eventLatency: number[];
  taskLatency: number[];
}
const newMinute = (): Minute => ({ requests: 0, errors: 0, eventLatency: [], taskLatency: [] });

async function call(url: string, minute: Minute, path: string, init: RequestInit = {}): Promise<Response> {
  minute.requests += 1;
  const response = await fetch(`${url}${path}`, { headers, ...init });
  if (response.status >= 400) minute.errors += 1;
  return response;
}

async function unit(url: string, minute: () => Minute): Promise<void> {
  const events = Array.from({ length: 10 }, async () => {
    const started = performance.now();
    const response = await call(url, minute(), '/events', {
      method: 'POST',
      body: JSON.stringify({ event_id: randomUUID(), event_type: 'soak', event_data: { at: Date.now(), tags: ['a', 'b'] } }),
    });
    await response.body?.cancel();
    minute().eventLatency.push(performance.now() - started);
  });
  const task = (async () => {
    const started = performance.now();
    const response = await call(url, minute(), '/inference/start', { method: 'POST', body: JSON.stringify(SEARCH) });
    const { task_id } = (await response.json()) as { task_id: string };
    for (;;) {
      const status = await call(url, minute(), `/inference/status/${task_id}`);
      const body = (await status.json()) as { status: string };
      if (body.status === 'SUCCESS') break;
      if (body.status === 'FAILURE' || body.status === 'REVOKED') {
        minute().errors += 1;
        return;
      }
      await sleep(20);
    }
    minute().taskLatency.push(performance.now() - started);
    const results = (await (await call(url, minute(), `/inference/results/${task_id}?limit=10`)).json()) as { location_id: number }[];
    await (await call(url, minute(), '/inference/select', { method: 'PUT', body: JSON.stringify({ task_id, location_id: results[0]?.location_id ?? -1 }) })).body?.cancel();
  })();
  await Promise.all([...events, task]);
}

async function main(): Promise<void> {
  const seconds = Number(process.env.SOAK_SECONDS ?? 600);
  const service = await startBenchService({ WORKER_CONCURRENCY: '2' });
  const controller = new AbortController();
  // One signal closes every idle stream at the end: a listener per stream is the point, not a leak.
  setMaxListeners(0, controller.signal);
  try {
    console.log(`machine: ${machine()}`);
    for (let i = 0; i < 100; i++) {
      void fetch(`${service.url}/events/stream?event_type=soak-never`, { headers, signal: controller.signal }).then((response) =>
        response.body?.pipeTo(new WritableStream(), { signal: controller.signal }).catch(() => undefined),
      ).catch(() => undefined);
    }

    // Probe: 16 closed loops for 20 s.
    let current = newMinute();
    let units = 0;
    const probeEnd = performance.now() + 20_000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < probeEnd) {
          await unit(service.url, () => current);
          units += 1;
        }
      }),
    );
    const maximum = units / 20;
    const rate = maximum / 2;
    console.log(`probe: ${fmt(maximum)} units/s at most (${fmt(maximum * 10)} events/s + ${fmt(maximum)} tasks/s with results and picks); soak at ${fmt(rate)} units/s for ${seconds} s`);

    const rssStart = rssMb(service.child.pid!);
    console.log('\n  minute  requests  errors  events p99 ms  tasks p99 ms  RSS MB');
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    let minuteIndex = 0;
    current = newMinute();
    let totalErrors = 0;
    let totalRequests = 0;
    const report = () => {
      minuteIndex += 1;
      totalErrors += current.errors;
      totalRequests += current.requests;
      console.log(
        `  ${String(minuteIndex).padStart(6)}${String(current.requests).padStart(10)}${String(current.errors).padStart(8)}` +
          `${fmt(percentile(current.eventLatency, 99)).padStart(15)}${fmt(percentile(current.taskLatency, 99)).padStart(14)}${fmt(rssMb(service.child.pid!)).padStart(8)}`,
      );
      current = newMinute();
    };
    let nextReport = started + 60_000;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (sent < due) {
        sent += 1;
        const pending = unit(service.url, () => current).catch(() => void (current.errors += 1));
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
      }
      if (performance.now() >= nextReport) {
        report();
        nextReport += 60_000;
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
    if (current.requests > 0) report();
    const rssEnd = rssMb(service.child.pid!);
    console.log(`\n${sent} units, ${totalRequests} requests, ${totalErrors} errors (${fmt((100 * totalErrors) / Math.max(1, totalRequests), 3)} %); RSS ${fmt(rssStart)} → ${fmt(rssEnd)} MB (${fmt(rssEnd - rssStart)} MB growth)`);
  } finally {
    controller.abort();
    await service.stop();
  }
}

await main();
