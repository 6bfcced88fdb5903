import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's chromium: what the browser tests drive, through playwright-core. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline headless browser: nothing but the page may touch the network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

function run(command: string, args: string[]): Promise<number> {
  console.log(`chromium: running ${command} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * Installs Debian's chromium package when it is missing (needs root). Tries without refreshing the
 * package lists first: `apt-get update` is slow and often unnecessary.
 */
export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) {
    console.log(`chromium: found ${CHROMIUM_PATH}`);
    return CHROMIUM_PATH;
  }
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM_PATH} is missing; install it with \`apt-get install -y chromium\` (as root).`);
  if ((await run('apt-get', ['install', '-y', 'chromium'])) !== 0) {
    if ((await run('apt-get', ['update'])) !== 0) throw new Error('apt-get update failed');
    if ((await run('apt-get', ['install', '-y', 'chromium'])) !== 0) throw new Error('apt-get install -y chromium failed');
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium, but ${CHROMIUM_PATH} does not exist`);
  return CHROMIUM_PATH;
}
