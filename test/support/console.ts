import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONSOLE_DIR } from '../../src/http/console.js';
import { projectRoot } from '../../src/project.js';

/** What the console's build reads: a change to any of these makes dist/console stale. */
const SOURCES = ['console/src', 'console/index.html', 'console/vite.config.ts', 'clients/typescript/src'].map((path) => join(projectRoot, path));

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newest(join(path, entry))));
}

function builtAt(): number {
  try {
    return statSync(join(CONSOLE_DIR, 'index.html')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Builds the console unless dist/console is newer than its sources (`make test` has just built
 * it), so that a browser test never runs against an old bundle. Built as `make console` builds it,
 * in a process of its own: under vitest NODE_ENV is `test`, and Vite would bundle for that.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  if (builtAt() > Math.max(...SOURCES.map(newest))) return;
  console.log('console: building dist/console (its sources changed)');
  await promisify(execFile)(join(projectRoot, 'node_modules/.bin/vite'), ['build', '--config', 'console/vite.config.ts', '--logLevel', 'warn'], {
    cwd: projectRoot,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
