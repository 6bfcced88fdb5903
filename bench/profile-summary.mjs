// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package.
//   node bench/profile-summary.mjs file.cpuprofile [top]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
const deltas = profile.timeDeltas;
profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (deltas[index] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const packageOf = (url) => {
  if (!url) return '(native)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (url.includes('/src/')) return 'portico';
  return url.split('/').slice(-2).join('/');
};
const byFunction = new Map();
const byPackage = new Map();
for (const [id, time] of self) {
  const { callFrame } = byId.get(id);
  const name = `${callFrame.functionName || '(anonymous)'} ${packageOf(callFrame.url)}${callFrame.url ? ':' + (callFrame.lineNumber + 1) : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  const pkg = callFrame.url ? packageOf(callFrame.url) : callFrame.functionName || '(native)';
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
}
const print = (title, map) => {
  console.log(`\n${title}`);
  for (const [name, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
print('self time by package', byPackage);
print('self time by function', byFunction);

// Inclusive time (self + callees) by function, for spotting which middleware costs what.
const children = new Map(profile.nodes.map((node) => [node.id, node.children ?? []]));
const inclusive = new Map();
const totalOf = (id) => {
  if (inclusive.has(id)) return inclusive.get(id);
  const value = (self.get(id) ?? 0) + children.get(id).reduce((sum, child) => sum + totalOf(child), 0);
  inclusive.set(id, value);
  return value;
};
const byFunctionInclusive = new Map();
const seenOnStack = new Set();
const walk = (id) => {
  const { callFrame } = byId.get(id);
  const name = `${callFrame.functionName || '(anonymous)'} ${packageOf(callFrame.url)}${callFrame.url ? ':' + (callFrame.lineNumber + 1) : ''}`;
  const recursive = seenOnStack.has(name);
  if (!recursive) byFunctionInclusive.set(name, (byFunctionInclusive.get(name) ?? 0) + totalOf(id));
  seenOnStack.add(name);
  for (const child of children.get(id)) walk(child);
  if (!recursive) seenOnStack.delete(name);
};
walk(profile.nodes[0].id);
print('inclusive time by function', byFunctionInclusive);
