// Preloaded into the service by bench/inference.ts (node --import): counts the statements (round
// trips) the process sends through node-postgres, by their opening text. On SIGUSR2 it writes the
// counts so far to BENCH_STATEMENTS_FILE, so the benchmark can take the difference over a phase.
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const counts = new Map();
let snapshots = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : config?.text;
  if (typeof text === 'string') {
    const kind = text.trim().replace(/\s+/g, ' ').slice(0, 90);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return query.call(this, config, ...rest);
};
process.on('SIGUSR2', () => {
  snapshots += 1;
  writeFileSync(process.env.BENCH_STATEMENTS_FILE, JSON.stringify({ snapshot: snapshots, counts: Object.fromEntries(counts) }));
});
