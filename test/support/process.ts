import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { projectRoot } from '../../src/project.js';

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Runs an entry point (src/server.ts by default) as a real process, as `make run` would, and waits
 * until it says that it serves (or, for src/worker.ts, that its workers started).
 */
export async function spawnService(env: Record<string, string>, entry = 'src/server.ts', timeoutMs = 60_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: projectRoot,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  let onListening: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => (onListening = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr.push(line);
    }
  });
  // The human start-up lines go to stderr whatever LOG_LEVEL says.
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    const serving = /Portico is serving on (http:\/\/\S+)/.exec(line);
    if (serving) onListening(serving[1]!);
    if (line.includes('Portico worker started')) onListening('');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const url = await Promise.race([
    listening,
    exit.then(({ code }) => Promise.reject(new Error(`${entry} exited with ${code} before listening:\n${stderr.join('\n')}`))),
  ]).finally(() => clearTimeout(timer));
  return { child, url, logs, stderr, exit, kill: (signal = 'SIGTERM') => void child.kill(signal) };
}
