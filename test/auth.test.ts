import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isScope, SCOPES } from '../src/auth/principal.js';
import { startWellInsideAMinute } from './support/clock.js';
import { expectErrorAt, expectProblem, expectSchema } from './support/contract.js';
import { specOperations } from './support/operations.js';
import { engines, startTestService, testConfig, type TestService } from './support/service.js';

const ALL_SCOPES = SCOPES;
const operations = specOperations();
const secured = operations.filter((operation) => operation.scopes !== undefined);

/** Collects every log line a service writes. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

describe.each(engines())('authentication and authorization on %s', (engine) => {
  let service: TestService;
  const captured = capturingLogger();
  beforeAll(async () => {
    service = await startTestService(engine, { logger: captured.logger });
  });
  afterAll(async () => {
    await service?.stop();
  });

  const call = (operation: (typeof operations)[number], token?: string) =>
    fetch(`${service.url}${operation.example.url}`, {
      method: operation.method.toUpperCase(),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(operation.example.contentType ? { 'content-type': operation.example.contentType } : {}),
      },
      body: operation.example.body,
    });

  it('leaves only the documented operations public', () => {
    const open = operations.filter((operation) => operation.scopes === undefined).map((operation) => operation.path).sort();
    expect(open).toEqual(['/console', '/docs', '/health', '/metrics', '/openapi.json', '/openapi.yaml', '/ready']);
  });

  describe.each(secured.map((operation) => [`${operation.method.toUpperCase()} ${operation.path}`, operation] as const))('%s', (_name, operation) => {
    it('answers 401 without a token', async () => {
      const response = await call(operation);
      await expectErrorAt(operation.path, response, 401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="portico", error="invalid_token"');
    });

    it('answers 401 with a revoked key', async () => {
      const key = await service.createKey(ALL_SCOPES);
      await service.service.app.keys.repository.revoke(key.keyId);
      await expectErrorAt(operation.path, await call(operation, key.token), 401);
    });

    // Operations that need a valid key but no scope (GET /me, GET /stats) have no 403 to give.
    it.runIf(operation.scopes!.length > 0)('answers 403 naming the scope to a key without it', async () => {
      const others = ALL_SCOPES.filter((scope) => scope !== 'admin' && !operation.scopes!.includes(scope));
      const key = await service.createKey([others[0]!]);
      const response = await call(operation, key.token);
      const { problem, openAi } = await expectErrorAt(operation.path, response, 403);
      const scope = /scope="([^"]+)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
      expect(operation.scopes).toContain(scope);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="portico", error="insufficient_scope", scope="${scope}"`);
      // problem+json names the scope in a member; OpenAI's error object has none, so its code says what is wrong.
      if (problem) expect(problem.required_scope).toBe(scope);
      else expect(openAi?.error.code).toBe('insufficient_scope');
    });

    it.runIf(operation.scopes!.length === 0)('lets a key with any one scope through', async () => {
      for (const scope of ALL_SCOPES.filter((scope) => scope !== 'admin')) {
        const response = await call(operation, (await service.createKey([scope])).token);
        expect(response.status, scope).toBe(200);
      }
    });

    it('lets a key with exactly its scopes through', async () => {
      const key = await service.createKey(operation.scopes!.filter(isScope));
      const response = await call(operation, key.token);
      expect([401, 403]).not.toContain(response.status);
      expect(response.status).toBeLessThan(500);
    });
  });

  it('answers a malformed Authorization header with 400 invalid_request', async () => {
    for (const header of ['Bearer', 'Bearer two tokens', 'Bearer  spaced']) {
      const response = await fetch(`${service.url}/admin/api-keys`, { headers: { authorization: header } });
      await expectProblem(response, 400);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="portico", error="invalid_request"');
    }
  });

  it('answers 401 to an unknown token, a non-bearer scheme and an expired key', async () => {
    const expired = await service.createKey(['admin'], { expiresAt: new Date(Date.now() - 1000) });
    for (const authorization of ['Bearer ptk_unknown', 'Basic YWRtaW46YWRtaW4=', `Bearer ${expired.token}`]) {
      await expectProblem(await fetch(`${service.url}/admin/api-keys`, { headers: { authorization } }), 401);
    }
  });

  it('manages keys through the admin API, showing the token only once', async () => {
    const admin = service.client(service.adminToken);
    const created = await admin.POST('/admin/api-keys', { body: { name: 'ingest', scopes: ['events:write'], owner: 'acme', rate_limit_per_minute: 100 } });
    expect(created.response.status).toBe(201);
    const key = created.data!;
    expect(created.response.headers.get('location')).toBe(`/admin/api-keys/${key.key_id}`);
    expect(key.token).toMatch(/^ptk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ owner: 'acme', scopes: ['events:write'], status: 'active', rate_limit_per_minute: 100 });

    const fetched = await admin.GET('/admin/api-keys/{key_id}', { params: { path: { key_id: key.key_id } } });
    expect(fetched.data).not.toHaveProperty('token');
    expect(JSON.stringify(fetched.data)).not.toContain(key.token.slice(4));
    const listed = await admin.GET('/admin/api-keys', { params: { query: { owner: 'acme' } } });
    expect(listed.data?.items.map((item) => item.key_id)).toContain(key.key_id);
    expect(JSON.stringify(listed.data)).not.toContain(key.token.slice(4));

    const revoked = await admin.DELETE('/admin/api-keys/{key_id}', { params: { path: { key_id: key.key_id } } });
    expect(revoked.response.status).toBe(204);
    expect((await admin.DELETE('/admin/api-keys/{key_id}', { params: { path: { key_id: key.key_id } } })).response.status).toBe(204);
    const after = await admin.GET('/admin/api-keys/{key_id}', { params: { path: { key_id: key.key_id } } });
    expect(after.data?.status).toBe('revoked');
    const missing = await admin.GET('/admin/api-keys/{key_id}', { params: { path: { key_id: 'key_doesnotexist' } } });
    expect(missing.response.status).toBe(404);
  });

  it('pages through keys with an opaque cursor', async () => {
    const admin = service.client(service.adminToken);
    for (let i = 0; i < 5; i++) await service.createKey(['chat'], { owner: 'pager' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { data } = await admin.GET('/admin/api-keys', { params: { query: { owner: 'pager', limit: 2, ...(cursor ? { cursor } : {}) } } });
      seen.push(...data!.items.map((item) => item.key_id));
      cursor = data!.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    const bad = await fetch(`${service.url}/admin/api-keys?cursor=bm9wZQ`, { headers: { authorization: `Bearer ${service.adminToken}` } });
    expect((await expectProblem(bad, 400)).errors?.[0]?.pointer).toBe('/cursor');
  });

  it('rejects an expiry in the past', async () => {
    const response = await service.client(service.adminToken).POST('/admin/api-keys', {
      body: { name: 'old', scopes: ['chat'], expires_at: '2001-01-01T00:00:00Z' },
    });
    expect(response.response.status).toBe(400);
    expect(response.error?.errors?.[0]?.pointer).toBe('/expires_at');
  });

  it('refuses an expiry that an offset carries past year 9999 in UTC, which could not be answered back', async () => {
    const response = await service.client(service.adminToken).POST('/admin/api-keys', {
      body: { name: 'far', scopes: ['chat'], expires_at: '9999-12-31T23:59:59-21:13' },
    });
    expect(response.response.status).toBe(400);
    expect(response.error?.errors?.[0]?.pointer).toBe('/expires_at');
    const latest = await service.client(service.adminToken).POST('/admin/api-keys', {
      body: { name: 'far', scopes: ['chat'], expires_at: '9999-12-31T23:59:59Z' },
    });
    expect(latest.response.status).toBe(201);
    expect(latest.data?.expires_at).toBe('9999-12-31T23:59:59.000Z');
  });

  it('refuses a revoked key within a second', async () => {
    const key = await service.createKey(['events:read']);
    const headers = { authorization: `Bearer ${key.token}` };
    expect((await fetch(`${service.url}/events`, { headers })).status).not.toBe(401);
    await service.client(service.adminToken).DELETE('/admin/api-keys/{key_id}', { params: { path: { key_id: key.keyId } } });
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 1000) {
      status = (await fetch(`${service.url}/events`, { headers })).status;
      if (status === 401) break;
    }
    expect(status).toBe(401);
  });

  it('limits each key to its rate, with Retry-After and RateLimit headers', async () => {
    await startWellInsideAMinute();
    const key = await service.createKey(['events:read'], { rateLimitPerMinute: 3 });
    const headers = { authorization: `Bearer ${key.token}` };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${service.url}/events`, { headers });
      statuses.push(last.status);
      if (i < 3) await last.body?.cancel();
    }
    expect(statuses.slice(0, 3).every((status) => status !== 429)).toBe(true);
    const problem = await expectProblem(last!, 429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('ratelimit-policy')).toBe('3;w=60');
    expect(last!.headers.get('ratelimit')).toMatch(/^limit=3, remaining=0, reset=\d+$/);
    expect(problem.retry_after_seconds).toBeGreaterThan(0);
    // Other keys are not affected.
    const other = await service.createKey(['events:read'], { rateLimitPerMinute: 3 });
    expect((await fetch(`${service.url}/events`, { headers: { authorization: `Bearer ${other.token}` } })).status).not.toBe(429);
  });

  it('never writes a token into the logs', async () => {
    const key = await service.createKey(['events:read']);
    await fetch(`${service.url}/events`, { headers: { authorization: `Bearer ${key.token}` } });
    await fetch(`${service.url}/events?access_token=${key.token}`, { headers: { authorization: `Bearer ${key.token}` } });
    await fetch(`${service.url}/events`, { headers: { authorization: 'Bearer ptk_wrong-token-value' } });
    const logs = captured.lines.join('');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(key.token.slice(4));
    expect(logs).not.toContain('wrong-token-value');
    expect(logs).not.toContain(service.adminToken.slice(4));
  });

  it('sends security headers and compresses large JSON only', async () => {
    const large = await fetch(`${service.url}/openapi.json`, { headers: { 'accept-encoding': 'gzip' } });
    expect(large.headers.get('content-encoding')).toBe('gzip');
    expect(large.headers.get('x-content-type-options')).toBe('nosniff');
    expect(large.headers.get('content-security-policy')).toContain("default-src 'self'");
    const small = await fetch(`${service.url}/health`, { headers: { 'accept-encoding': 'gzip' } });
    expect(small.headers.get('content-encoding')).toBeNull();
    expect(small.headers.get('access-control-allow-origin')).toBeNull();
    expectSchema('Health', await small.json());
  });
});

describe.each(engines())('admin bootstrap on %s', (engine) => {
  it('creates an admin key once when ADMIN_TOKEN is unset, and announces it once', async () => {
    const config = testConfig(engine, engine === 'pglite' ? { DATA_DIR: `${process.env.TMPDIR ?? '/tmp'}/portico-boot-${Date.now()}` } : {});
    const announced: string[] = [];
    const first = await startTestService(engine, { config, keepDatabase: true, onAnnounce: (text) => announced.push(text) });
    expect(announced).toHaveLength(1);
    const token = /ptk_[A-Za-z0-9_-]+/.exec(announced[0]!)![0];
    expect((await first.client(token).GET('/admin/api-keys')).response.status).toBe(200);
    await first.stop();
    const second = await startTestService(engine, { config, onAnnounce: (text) => announced.push(text) });
    expect(announced).toHaveLength(1);
    expect((await second.client(token).GET('/admin/api-keys')).response.status).toBe(200);
    await second.stop();
  });

  it('makes ADMIN_TOKEN the admin key, and a changed value replaces the old one', async () => {
    const base = testConfig(engine, engine === 'pglite' ? { DATA_DIR: `${process.env.TMPDIR ?? '/tmp'}/portico-admin-${Date.now()}` } : {});
    const first = await startTestService(engine, { config: { ...base, adminToken: 'first-admin-token' }, keepDatabase: true });
    expect((await first.client('first-admin-token').GET('/admin/api-keys')).response.status).toBe(200);
    await first.stop();
    const second = await startTestService(engine, { config: { ...base, adminToken: 'second-admin-token' } });
    expect((await second.client('second-admin-token').GET('/admin/api-keys')).response.status).toBe(200);
    expect((await second.client('first-admin-token').GET('/admin/api-keys')).response.status).toBe(401);
    await second.stop();
  });
});

describe('CORS', () => {
  it('allows only the configured origins', async () => {
    const service = await startTestService('pglite', { env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const preflight = await fetch(`${service.url}/events`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const other = await fetch(`${service.url}/health`, { headers: { origin: 'https://evil.example.com' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await service.stop();
    }
  });
});

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await import('node:net').then(
  ({ connect }) =>
    new Promise<boolean>((resolve) => {
      const { hostname, port } = new URL(redisUrl);
      const socket = connect(Number(port || 6379), hostname, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    }),
);
if (!redisUp) console.warn(`NOTICE: no Redis at ${redisUrl}; the Redis rate-limit test is skipped.`);

describe.runIf(redisUp)('rate limits kept in Redis (REDIS_URL)', () => {
  it('limits a key across requests with counters in Redis', async () => {
    const service = await startTestService('pglite', { env: { REDIS_URL: redisUrl } });
    try {
      await startWellInsideAMinute();
      const key = await service.createKey(['events:read'], { rateLimitPerMinute: 2 });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${service.url}/events`, { headers: { authorization: `Bearer ${key.token}` } })).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await service.stop();
    }
  });
});
