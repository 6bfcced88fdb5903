/**
 * The API reference at /docs, rendered by a real browser (Debian's chromium through
 * playwright-core) from the running service: it must load nothing from anywhere but the service,
 * and show every tag and operation of the spec.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium.js';
import { startTestService, type TestService } from './support/service.js';

const SCREENSHOT = fileURLToPath(new URL('../test-results/docs.png', import.meta.url));
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);

interface SpecSummary {
  tags: { name: string }[];
  paths: Record<string, Record<string, { summary?: string }>>;
}

/** Whether a request targets somewhere other than this machine (blob: and data: never leave the browser). */
function isRemote(request: Request): boolean {
  const url = new URL(request.url());
  return url.protocol !== 'blob:' && url.protocol !== 'data:' && !LOCAL_HOSTS.has(url.hostname);
}

describe('the /docs page in chromium', () => {
  let service: TestService;
  let browser: Browser;

  beforeAll(async () => {
    const executablePath = await ensureChromium();
    service = await startTestService('pglite');
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('renders every tag and operation from the service alone', { timeout: 60_000 }, async () => {
    // The spec the page renders: the one the service serves.
    const spec = (await (await fetch(`${service.url}/openapi.json`)).json()) as SpecSummary;
    const summaries = Object.values(spec.paths).flatMap((item) => Object.values(item).flatMap((operation) => (operation.summary ? [operation.summary] : [])));
    expect(summaries.length).toBeGreaterThan(0);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: Request[] = [];
    page.on('request', (request) => requests.push(request));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    const response = await page.goto(`${service.url}/docs`, { waitUntil: 'load', timeout: 30_000 });
    expect(response?.status()).toBe(200);
    // Redoc renders the side menu and the operations once it has fetched and parsed the spec.
    await page.locator('.menu-content').waitFor({ timeout: 30_000 });
    await page.getByRole('heading', { name: summaries.at(-1) }).first().waitFor({ timeout: 30_000 });

    const text = await page.locator('body').innerText();
    const missing = [...spec.tags.map((tag) => tag.name), ...summaries].filter((name) => !text.includes(name));
    expect(missing).toEqual([]);
    expect(errors).toEqual([]);
    expect(requests.some((request) => request.url().endsWith('/openapi.json'))).toBe(true);

    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 30_000 });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(50_000);

    // Checked last, once every request was made: not one may go to another host (the service
    // rewrites Redoc's CDN logo to a local one).
    expect(requests.filter(isRemote).map((request) => request.url())).toEqual([]);
  });
});
