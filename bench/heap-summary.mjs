// Compares two V8 heap snapshots (node --heapsnapshot-signal, v8.writeHeapSnapshot): objects and
// self size by constructor, what the second holds beyond the first, per unit (e.g. per stream).
//   node bench/heap-summary.mjs before.heapsnapshot after.heapsnapshot [units] [top]
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile, unitsArg, topArg] = process.argv.slice(2);
const units = Number(unitsArg ?? 1);
const top = Number(topArg ?? 30);

function byConstructor(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const totals = new Map();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const key = type === 'object' || type === 'closure' ? `${type} ${strings[nodes[i + nameAt]]}` : `(${type})`;
    const entry = totals.get(key) ?? { count: 0, size: 0 };
    entry.count += 1;
    entry.size += nodes[i + sizeAt];
    totals.set(key, entry);
  }
  return totals;
}

const before = byConstructor(beforeFile);
const after = byConstructor(afterFile);
const rows = [...after].map(([key, { count, size }]) => ({ key, count: count - (before.get(key)?.count ?? 0), size: size - (before.get(key)?.size ?? 0) }));
const total = rows.reduce((sum, row) => sum + row.size, 0);
console.log(`heap growth: ${(total / 1024 / 1024).toFixed(1)} MB, ${(total / units / 1024).toFixed(2)} KB per unit (${units} units)`);
console.log('  per unit: objects   bytes   constructor');
for (const row of rows.sort((a, b) => b.size - a.size).slice(0, top)) {
  console.log(`  ${(row.count / units).toFixed(2).padStart(16)} ${(row.size / units).toFixed(0).padStart(7)}   ${row.key}`);
}
