/**
 * Gateway overhead benchmark (`npx tsx bench/gateway.ts`): the same streamed completions sent to a
 * stand-in upstream directly and through Portico (one service process on real Postgres, a key,
 * routing, accounting and the completion event included), to show what the gateway itself adds.
 *
 * 1. Time to first token: 200 sequential streamed requests of one short answer, each way.
 * 2. CPU per streamed token: the service process's CPU time (utime + stime) over 20 answers of
 *    1,000 tokens and over 20 answers of 1 token, four at a time; the difference per extra token is
 *    the cost of relaying a token, the 1-token figure the cost of a request.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandInUpstream } from '../test/support/upstream.js';
import { ADMIN_TOKEN, fmt, machine, percentile, startBenchService } from './support.js';

const TTFT_REQUESTS = 200;
const CPU_REQUESTS = 20;
const LONG_ANSWER = 1000;
const CONCURRENCY = 4;

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Sends one streamed completion and reads it to the end; returns ms to the first content chunk. */
async function streamOnce(baseUrl: string, token: string, model: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Suggest a lake resort' }], stream: true }),
  });
  if (response.status !== 200) throw new Error(`${baseUrl} answered ${response.status}: ${await response.text()}`);
  let first = Number.NaN;
  let text = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body!) {
    text += decoder.decode(bytes, { stream: true });
    if (Number.isNaN(first) && text.includes('"content":"w')) first = performance.now() - started;
  }
  if (!text.includes('data: [DONE]')) throw new Error(`${baseUrl}: the stream did not end with [DONE]`);
  return first;
}

async function inParallel(count: number, run: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < count) await run();
  }));
}

async function main(): Promise<void> {
  const short = await StandInUpstream.start({ kind: 'ok', tokens: ['w0 '] });
  const long = await StandInUpstream.start({ kind: 'ok', tokens: Array.from({ length: LONG_ANSWER }, (_, i) => `w${i} `) });
  const file = join(mkdtempSync(join(tmpdir(), 'portico-bench-')), 'models.json');
  writeFileSync(file, JSON.stringify({ models: [{ name: 'short', upstreams: [{ base_url: short.baseUrl, model: 'short' }] }, { name: 'long', upstreams: [{ base_url: long.baseUrl, model: 'long' }] }] }));
  const service = await startBenchService({ MODELS_FILE: file, RUN_WORKERS: 'false' });
  try {
    console.log(`machine: ${machine()}`);
    const created = await fetch(`${service.url}/admin/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', scopes: ['chat'], token_budget: 1_000_000_000, tokens_per_minute: 1_000_000_000 }),
    });
    const { token } = (await created.json()) as { token: string };
    const portico = `${service.url}/v1`;
    // Warm-up: JIT, connection pools, the key cache.
    for (let i = 0; i < 30; i++) {
      await streamOnce(short.baseUrl, token, 'short');
      await streamOnce(portico, token, 'short');
    }

    const direct: number[] = [];
    const through: number[] = [];
    for (let i = 0; i < TTFT_REQUESTS; i++) {
      direct.push(await streamOnce(short.baseUrl, token, 'short'));
      through.push(await streamOnce(portico, token, 'short'));
    }
    const p = (values: number[], q: number) => fmt(percentile(values, q), 2);
    console.log(`\ntime to first token, ${TTFT_REQUESTS} sequential streamed requests (ms):`);
    console.log(`  stand-in directly:  p50 ${p(direct, 50)}, p90 ${p(direct, 90)}, p99 ${p(direct, 99)}`);
    console.log(`  through Portico:    p50 ${p(through, 50)}, p90 ${p(through, 90)}, p99 ${p(through, 99)}`);
    console.log(`  added by Portico:   p50 ${fmt(percentile(through, 50) - percentile(direct, 50), 2)} ms`);

    const pid = service.child.pid!;
    const cpuOf = async (model: 'short' | 'long') => {
      const before = cpuSeconds(pid);
      const started = performance.now();
      await inParallel(CPU_REQUESTS, () => streamOnce(portico, token, model));
      return { cpu: cpuSeconds(pid) - before, wall: (performance.now() - started) / 1000 };
    };
    const one = await cpuOf('short');
    const many = await cpuOf('long');
    const perRequestMs = (one.cpu / CPU_REQUESTS) * 1000;
    const perTokenUs = ((many.cpu - one.cpu) / (CPU_REQUESTS * (LONG_ANSWER - 1))) * 1e6;
    console.log(`\nservice CPU, ${CPU_REQUESTS} streamed answers each, ${CONCURRENCY} at a time:`);
    console.log(`  1-token answers:     ${fmt(one.cpu, 2)} s CPU in ${fmt(one.wall, 2)} s (${fmt(perRequestMs, 2)} ms per request)`);
    console.log(`  ${LONG_ANSWER}-token answers:  ${fmt(many.cpu, 2)} s CPU in ${fmt(many.wall, 2)} s (${fmt((CPU_REQUESTS * LONG_ANSWER) / many.wall, 0)} tokens/s relayed)`);
    console.log(`  CPU per streamed token: ${fmt(perTokenUs, 1)} µs`);
  } finally {
    await service.stop();
    await short.stop();
    await long.stop();
  }
}

await main();
