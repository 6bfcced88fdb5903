import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from './support/contract.js';
import { engines, startTestService, type TestService } from './support/service.js';

describe.each(engines())('foundation on %s', (engine) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(engine);
  });
  afterAll(async () => {
    await service?.stop();
  });

  const raw = (path: string, init?: RequestInit) => fetch(`${service.url}${path}`, init);

  it('answers /health without touching the database', async () => {
    const { data, response } = await service.client().GET('/health');
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ status: 'healthy', version: expect.any(String) });
  });

  it('answers /ready after checking the database', async () => {
    const { data } = await service.client().GET('/ready');
    expect(data?.status).toBe('ready');
    expect(data?.database.engine).toBe(engine);
  });

  it('serves the bundled spec as JSON and YAML', async () => {
    const json = await raw('/openapi.json');
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await json.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/events');
    const yaml = await raw('/openapi.yaml');
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(await yaml.text()).toContain('openapi: 3.1.0');
  });

  it('serves /docs with every asset from the service itself', async () => {
    const response = await raw('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(reference).toMatch(/^\//);
    for (const reference of references) expect((await raw(reference!)).status).toBe(200);
  });

  it('exposes Prometheus metrics by operation', async () => {
    await raw('/health');
    const text = await (await raw('/metrics')).text();
    expect(text).toMatch(/http_requests_total\{operation="getHealth",status="200"\} \d+/);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).toContain('db_pool_connections_total');
    expect(text).toContain('process_cpu_seconds_total');
    // The event loop's delay since the previous scrape: what a request that stalls the process shows.
    for (const name of ['nodejs_eventloop_lag_max_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_mean_seconds']) {
      expect(text).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
  });

  it('answers an unknown path with 404 problem+json', async () => {
    const body = await expectProblem(await raw('/no/such/path'), 404);
    expect(body.instance).toBe('/no/such/path');
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const response = await raw('/health', { method: 'DELETE' });
    await expectProblem(response, 405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers HEAD as GET without a body (RFC 9110), with the same status and headers', async () => {
    const head = await raw('/health', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await head.text()).toBe('');
    const listing = await raw('/events?limit=1', { method: 'HEAD', headers: { authorization: `Bearer ${service.adminToken}` } });
    expect(listing.status).toBe(200);
    expect((await raw('/events?limit=1', { method: 'HEAD' })).status).toBe(401);
  });

  it('rejects unknown query parameters, naming them', async () => {
    const body = await expectProblem(await raw('/health?verbose=1'), 400);
    expect(body.errors).toEqual([expect.objectContaining({ location: 'query', pointer: '/verbose' })]);
  });

  describe('request bodies', () => {
    let token: string;
    beforeAll(async () => {
      token = service.adminToken;
    });
    const post = (body: string, contentType = 'application/json') =>
      raw('/admin/api-keys', { method: 'POST', body, headers: { 'content-type': contentType, authorization: `Bearer ${token}` } });

    it('answers malformed JSON with 400', async () => {
      const body = await expectProblem(await post('{"name": '), 400);
      expect(body.type).toBe('urn:portico:problem:malformed-body');
    });

    it('answers a wrong content type with 415, and says so when there is none', async () => {
      const wrong = await expectProblem(await post('name=x', 'application/x-www-form-urlencoded'), 415);
      expect(wrong.detail).toMatch(/^Unsupported media type application\/x-www-form-urlencoded; /);
      const none = await expectProblem(await raw('/admin/api-keys', { method: 'POST', headers: { authorization: `Bearer ${token}` } }), 415);
      expect(none.detail).toBe("The request has no body or no Content-Type; see the operation's request body for the accepted types.");
    });

    it('answers an oversized body with 413', async () => {
      const huge = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), scopes: ['chat'] });
      await expectProblem(await post(huge), 413);
    });

    it('names every invalid field at once', async () => {
      const body = await expectProblem(await post(JSON.stringify({ name: '', scopes: ['nope'], extra: true })), 400);
      const pointers = (body.errors ?? []).map((error) => error.pointer);
      expect(pointers).toEqual(expect.arrayContaining(['/name', '/scopes/0', '/extra']));
    });

    it('does not coerce body types', async () => {
      const body = await expectProblem(await post(JSON.stringify({ name: 'k', scopes: ['chat'], rate_limit_per_minute: '10' })), 400);
      expect(body.errors).toEqual([expect.objectContaining({ pointer: '/rate_limit_per_minute' })]);
    });
  });

  it('treats /path and /path/ as the same operation', async () => {
    expect((await raw('/health/')).status).toBe(200);
    const response = await raw('/admin/api-keys/', { headers: { authorization: `Bearer ${service.adminToken}` } });
    expect(response.status).toBe(200);
  });

  it('keeps a sane inbound X-Request-ID and replaces an unsafe one', async () => {
    const kept = await raw('/health', { headers: { 'x-request-id': 'client-abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('client-abc-123');
    const replaced = await raw('/no/such', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    const id = replaced.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await expectProblem(replaced, 404)).request_id).toBe(id);
  });

  it('reports X-Process-Time in seconds on every response', async () => {
    for (const path of ['/health', '/no/such']) {
      const value = (await raw(path)).headers.get('x-process-time');
      // A missing header is null, and Number(null) is 0: check the text before the number.
      expect(value, path).toMatch(/^\d+(\.\d+)?$/);
      expect(Number.parseFloat(value!)).toBeGreaterThanOrEqual(0);
    }
  });
});
