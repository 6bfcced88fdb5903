/**
 * The published package as a consumer gets it: `npm pack` (which builds through prepack), install
 * the tarball into an empty project, then compile a strict TypeScript program against it with the
 * repository's compiler, and import it at run time.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { startTestService } from './support/service.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('../clients/typescript/', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));
const temporary: string[] = [];

afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

const program = `import { createClient, type PorticoClient, type TaskStatus, unwrap, waitForTask } from '@portico/client';

const client: PorticoClient = createClient({ baseUrl: 'http://portico.invalid', token: 'ptk_example', retry: { retries: 2 } });

export async function settle(taskId: string): Promise<TaskStatus> {
  const task = await unwrap(client.GET('/inference/status/{task_id}', { params: { path: { task_id: taskId } } }));
  // @ts-expect-error the types are the spec's, not \`any\`: a task has no \`name\`
  task.name;
  return waitForTask(client, 'inference', task.task_id, { intervalMs: 500, timeoutMs: 60_000 });
}
`;

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    types: [],
  },
  include: ['index.ts'],
};

it('packs, installs into an empty project, and compiles a strict consumer with zero errors', { timeout: 120_000 }, async () => {
  const packDir = await mkdtemp(join(tmpdir(), 'portico-pack-'));
  const consumer = await mkdtemp(join(tmpdir(), 'portico-consumer-'));
  temporary.push(packDir, consumer);

  // npm pack prints the tarball's name last (after prepack's build output).
  const packed = await run('npm', ['pack', '--pack-destination', packDir], { cwd: packageDir, maxBuffer: 16 * 1024 * 1024 });
  const tarball = join(packDir, packed.stdout.trim().split('\n').at(-1) ?? '');
  const listed = await run('tar', ['-tzf', tarball]);
  const files = listed.stdout.trim().split('\n');
  expect(files).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/README.md', 'package/package.json']));
  expect(files.filter((file) => !file.startsWith('package/dist/') && !/^package\/(README\.md|package\.json)$/.test(file))).toEqual([]);

  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: consumer });
  await writeFile(join(consumer, 'index.ts'), program);
  await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));

  const compiled = await run(tsc, ['-p', 'tsconfig.json'], { cwd: consumer }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
  expect(compiled.stdout).toBe('');

  const imported = await run('node', ['--input-type=module', '-e', "const m = await import('@portico/client'); console.log(Object.keys(m).sort().join(' '))"], { cwd: consumer });
  expect(imported.stdout.trim().split(' ')).toEqual(expect.arrayContaining(['createClient', 'unwrap', 'waitForTask', 'streamChat', 'taskEvents', 'liveEvents', 'PorticoError']));
});

/** What the issue asks a new user to be able to write: create an event, wait for an inference result. */
const tenLines = `import { createClient, unwrap, waitForTask } from '@portico/client';

const portico = createClient({ baseUrl: process.env.PORTICO_URL ?? '', token: process.env.PORTICO_TOKEN ?? '' });
await unwrap(portico.POST('/events', { body: { event_id: \`signup-\${Date.now()}\`, event_type: 'signup', event_data: { plan: 'pro' } } }));
const search = { name: 'Ada', people_num: 2, people_age: [35, 33], children_num: 0, budget: 400, nights: 3, time_arrival: '2027-05-01', pool: true, spa: false, pet_friendly: false, lake: true, mountain: false, sport: false };
const task = await unwrap(portico.POST('/inference/start', { body: search }));
const done = await waitForTask(portico, 'inference', task.task_id, { intervalMs: 100, timeoutMs: 30_000 });
const top = await unwrap(portico.GET('/inference/results/{task_id}', { params: { path: { task_id: task.task_id }, query: { limit: 3 } } }));
console.log(JSON.stringify({ status: done.status, top: top.map((result) => result.location_id) }));
`;

it('runs a ten-line program from the packed SDK against a running service, first time', { timeout: 180_000 }, async () => {
  const packDir = await mkdtemp(join(tmpdir(), 'portico-pack-'));
  const consumer = await mkdtemp(join(tmpdir(), 'portico-user-'));
  temporary.push(packDir, consumer);
  const packed = await run('npm', ['pack', '--pack-destination', packDir], { cwd: packageDir, maxBuffer: 16 * 1024 * 1024 });
  const tarball = join(packDir, packed.stdout.trim().split('\n').at(-1) ?? '');
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'first-time-user', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, '@types/node@20'], { cwd: consumer });
  await writeFile(join(consumer, 'index.ts'), tenLines);
  await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...tsconfig.compilerOptions, noEmit: false, types: ['node'], outDir: 'out' }, include: ['index.ts'] }));
  const compiled = await run(tsc, ['-p', 'tsconfig.json'], { cwd: consumer }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
  expect(compiled.stdout).toBe('');

  const service = await startTestService('pglite');
  try {
    const key = await service.createKey(['events:write', 'inference:run', 'inference:read']);
    const { stdout } = await run('node', ['out/index.js'], { cwd: consumer, env: { ...process.env, PORTICO_URL: service.url, PORTICO_TOKEN: key.token } });
    const outcome = JSON.parse(stdout) as { status: string; top: number[] };
    expect(outcome.status).toBe('SUCCESS');
    expect(outcome.top).toHaveLength(3);
  } finally {
    await service.stop();
  }
});
