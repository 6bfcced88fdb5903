import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnService } from './support/process.js';

/** GET on a new connection (no keep-alive pool): the status, or the connection error. */
function getFresh(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a new connection to `url` is refused before `timeoutMs` (polling, as a retrying client would). */
async function refusedWithin(url: string, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    try {
      await getFresh(url);
    } catch {
      return true;
    }
  }
  return false;
}

describe('graceful shutdown (a real process on PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'portico-shutdown-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lets an in-flight request finish after SIGTERM, refuses new connections, and exits 0', async () => {
    const service = await spawnService({ DATA_DIR: dataDir, ADMIN_TOKEN: 'shutdown-test-token' });
    const { port } = new URL(service.url);

    // A slow request: the body arrives over 1.5 s, so SIGTERM lands while it is in flight.
    const body = JSON.stringify({ name: 'slow', scopes: ['chat'] });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/admin/api-keys', headers: {
          'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: 'Bearer shutdown-test-token',
        } },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 1500);
    });
    // The server has the request once it answers a request sent after it on another connection.
    expect(await getFresh(`${service.url}/health`)).toBe(200);
    service.kill('SIGTERM');

    // New connections are refused as soon as the process has seen the signal, while the slow one goes on.
    await expect(refusedWithin(`${service.url}/health`, 10_000)).resolves.toBe(true);
    const finished = await answer;
    expect(finished.status).toBe(201);
    expect(JSON.parse(finished.text).token).toMatch(/^ptk_/);
    expect(await service.exit).toEqual({ code: 0, signal: null });
  });

  it('keeps the data across a restart of the embedded database', async () => {
    const first = await spawnService({ DATA_DIR: dataDir, ADMIN_TOKEN: 'shutdown-test-token' });
    const headers = { authorization: 'Bearer shutdown-test-token' };
    const listed = (await (await fetch(`${first.url}/admin/api-keys`, { headers })).json()) as { items: { name: string }[] };
    expect(listed.items.map((key) => key.name)).toContain('slow');
    first.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);
  });
});

describe('start-up configuration', () => {
  it('refuses bad settings with a clear message and exit status 2', async () => {
    const { spawn } = await import('node:child_process');
    const { projectRoot } = await import('../src/project.js');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: projectRoot,
      env: { ...process.env, PORT: 'eighty', BODY_LIMIT: 'huge', WEB_CONCURRENCY: '2', DATABASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('PORT=eighty: expected an integer from 0 to 65535');
    expect(stderr).toContain('BODY_LIMIT=huge');
    expect(stderr).toContain('WEB_CONCURRENCY=2');
  });
});
