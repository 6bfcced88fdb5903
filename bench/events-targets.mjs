// The events targets of issue 14 from the anchor kit's summary of one run (bench/events.sh):
// POST ≥ 0.8× and GET ≥ 0.9× the bare Node+pg baseline, p99 ≤ 50 ms for both, each beside its
// ratio to FastAPI.   node bench/events-targets.mjs anchor-wc1.txt
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const summary = text.slice(text.indexOf('=== Summary'));
const targets = { POST: 0.8, GET: 0.9 };
const mark = (met) => (met ? 'met' : '**missed**');
console.log('targets (one process, 64 connections):');
for (const [endpoint, bare] of Object.entries(targets)) {
  const start = summary.search(new RegExp(`^${endpoint}  `, 'm'));
  if (start < 0) continue;
  const section = summary.slice(start).split(/\n\s*\n/)[0];
  const median = new RegExp(`^\\s*target\\s+median\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)`, 'm').exec(section);
  const ratio = (to) => new RegExp(`^\\s*target / ${to}\\s+([\\d.]+)`, 'm').exec(section)?.[1];
  if (!median) continue;
  const [, reqs, , p99] = median.map(Number);
  const toBare = Number(ratio('node-baseline'));
  const toFastapi = Number(ratio('fastapi'));
  console.log(`  ${endpoint.padEnd(4)} ${reqs.toFixed(0)} req/s = ${toBare.toFixed(2)}× bare (target ≥ ${bare}×): ${mark(toBare >= bare)}; ${toFastapi.toFixed(2)}× FastAPI; p99 ${p99.toFixed(1)} ms (target ≤ 50 ms): ${mark(p99 <= 50)}`);
}
