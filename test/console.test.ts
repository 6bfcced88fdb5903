/**
 * The operator console at /console, driven in a real browser (Debian's chromium through
 * playwright-core) against the running service: what a person signing in with a key sees and does,
 * an accessibility scan of each view (axe-core), and screenshots of each in test-results/.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page, type Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PorticoClient } from '../clients/typescript/src/index.js';
import { ModelRepository } from '../src/db/models.js';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium.js';
import { ensureConsoleBuilt } from './support/console.js';
import { expectProblem } from './support/contract.js';
import { engines, startTestService, type TestService } from './support/service.js';
import { SEARCH } from './support/tasks.js';

const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);

// The little of the browser that the page-side functions below use: they run in chromium, and this
// project's tsconfig has no DOM types (declared here, these names stay local to this file).
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray; width: number; height: number } } | null;
}
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number; dataset: Record<string, string | undefined> };
  addEventListener(type: 'securitypolicyviolation', listener: (event: { violatedDirective: string; blockedURI: string }) => void): void;
};
declare const window: { loadedOnce?: boolean; axe?: { run(context: unknown): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } };
declare const sessionStorage: { length: number };
declare function getComputedStyle(element: unknown): { getPropertyValue(name: string): string };

/** Holds inference batches before their results are written, so a task stays STARTED until released. */
class Gate {
  private held: Promise<void> | undefined;
  private open: (() => void) | undefined;
  hold(): void {
    this.held = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.held = undefined;
  }
  readonly wait = async (): Promise<void> => this.held;
}

interface Watched {
  page: Page;
  requests: Request[];
  errors: string[];
}

const LIVE_WAIT_MS = 25_000;

describe.each(engines())('the console on %s', (engine) => {
  const gate = new Gate();
  let service: TestService;
  let admin: PorticoClient;
  let browser: Browser;
  const opened: Watched[] = [];
  const shots = engine === 'pglite';

  beforeAll(async () => {
    const [executablePath] = await Promise.all([ensureChromium(), ensureConsoleBuilt()]);
    service = await startTestService(engine, { env: { RATE_LIMIT_PER_MINUTE: '0' }, hooks: { inference: { beforeComplete: gate.wait } } });
    admin = service.client(service.adminToken);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    await mkdir(RESULTS, { recursive: true });
  }, 600_000);

  // Each test's tabs close with it: their streams and polls would otherwise load the next tests.
  afterEach(async () => {
    gate.release();
    await Promise.all(opened.map(({ page }) => page.context().close()));
  });

  afterAll(async () => {
    gate.release();
    await browser?.close();
    await service?.stop();
  });

  /** A fresh tab signed in with `token`; every request, page error and CSP violation is kept. */
  async function signIn(token: string, viewport = DESKTOP, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
    const context = await browser.newContext({ viewport, colorScheme });
    const page = await context.newPage();
    const watched: Watched = { page, requests: [], errors: [] };
    opened.push(watched);
    page.on('request', (request) => watched.requests.push(request));
    page.on('pageerror', (error) => watched.errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') watched.errors.push(message.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));
    });
    const response = await page.goto(`${service.url}/console`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await page.getByLabel('API key').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    return watched;
  }

  const open = async (page: Page, view: string, heading: string) => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  /** axe-core's serious and critical findings on the page as it is now. */
  async function accessibility(page: Page): Promise<string[]> {
    await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(async () => {
      const result = await window.axe!.run(document);
      return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, targets: violation.nodes.map((node) => JSON.stringify(node.target)) }));
    });
    return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.impact} ${violation.id}: ${violation.targets.join(' ')}`);
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    if (shots) await page.screenshot({ path: `${RESULTS}console-${name}.png`, fullPage: true });
  }

  const taskRow = (page: Page, taskId: string) => page.locator(`tr[data-task-id="${taskId}"]`);

  it('serves the page uncached and its hashed assets for a year, under a strict CSP', async () => {
    const page = await fetch(`${service.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    const assets = [...html.matchAll(/\/console\/assets\/[\w.-]+/g)].map((match) => match[0]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const response = await fetch(`${service.url}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-security-policy')).toBe(csp);
    }
    await expectProblem(await fetch(`${service.url}/console/assets/missing-0000.js`), 404);
  });

  it('refuses a wrong key with the problem the API answered', async () => {
    const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    await page.goto(`${service.url}/console`);
    await page.getByLabel('API key').fill('ptk_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('A valid bearer token is required.');
    expect(await alert.innerText()).toContain('401');
    if (shots) expect(await accessibility(page)).toEqual([]);
    await screenshot(page, 'sign-in');
    await page.context().close();
  });

  it('draws the overview from GET /stats', async () => {
    const events = Array.from({ length: 12 }, () => ({ event_id: randomUUID(), event_type: 'page_view', event_data: { path: '/' } }));
    expect((await admin.POST('/events/batch', { body: { events } })).response.status).toBe(202);
    const { page } = await signIn(service.adminToken);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const chart = page.locator('[data-chart="Events per minute"] canvas').first();
    await chart.waitFor();
    // The series colour must rise well above the floor of the plot: a flat line at zero would not.
    const rise = await chart.evaluate((canvas: PageCanvas) => {
      const hex = getComputedStyle(document.documentElement).getPropertyValue('--chart-1').trim();
      const target = [1, 3, 5].map((offset) => parseInt(hex.slice(offset, offset + 2), 16));
      const context = canvas.getContext('2d')!;
      const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
      const rows: number[] = [];
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4;
          if (data[i + 3]! > 200 && target.every((channel, c) => Math.abs(data[i + c]! - channel) < 40)) {
            rows.push(y);
            break;
          }
        }
      }
      return rows.length === 0 ? 0 : Math.max(...rows) - Math.min(...rows);
    });
    expect(rise).toBeGreaterThan(20);
    await expect.poll(() => page.getByRole('list', { name: 'Key figures' }).innerText()).toContain('12 in the window');
    if (shots) expect(await accessibility(page)).toEqual([]);
    await screenshot(page, 'overview');
  });

  it('shows a started task go PENDING → STARTED → SUCCESS without a reload', async () => {
    const { page } = await signIn(service.adminToken);
    await open(page, 'Tasks', 'Tasks');
    await page.evaluate(() => (window.loadedOnce = true));
    gate.hold();
    const posted = Date.now();
    const { data: task } = await admin.POST('/inference/start', { body: SEARCH });
    const row = taskRow(page, task!.task_id);
    await row.waitFor();
    const listed = Date.now() - posted;
    await expect.poll(() => row.getByText('STARTED').count()).toBe(1);
    await row.getByRole('link').click();
    const timeline = page.getByRole('list', { name: 'Status changes' });
    await expect.poll(() => timeline.innerText()).toMatch(/PENDING[\s\S]*STARTED/);
    const released = Date.now();
    gate.release();
    await expect.poll(() => row.getByText('SUCCESS').count()).toBe(1);
    const finished = Date.now() - released;
    await expect.poll(() => timeline.innerText()).toMatch(/PENDING[\s\S]*STARTED[\s\S]*SUCCESS/);
    expect(await page.evaluate(() => window.loadedOnce)).toBe(true);
    // Once the view's streams are open, a new task shows through the service's record of it.
    const again = Date.now();
    const { data: next } = await admin.POST('/inference/start', { body: SEARCH });
    await taskRow(page, next!.task_id).getByText('SUCCESS').waitFor();
    const nextShown = Date.now() - again;
    console.log(
      `console (${engine}): the first task was listed ${listed} ms after POST /inference/start (the view had just opened), its SUCCESS showed ${finished} ms after the worker was let finish; a later task showed as SUCCESS ${nextShown} ms after its POST`,
    );
    if (shots) expect(await accessibility(page)).toEqual([]);
    await screenshot(page, 'tasks');
  });

  it('cancels a running task with the button (REVOKED), and retries it as a new task', async () => {
    gate.hold();
    const { data: task } = await admin.POST('/inference/start', { body: SEARCH });
    const { page } = await signIn(service.adminToken);
    await page.goto(`${service.url}/console#/tasks/inference/${task!.task_id}`);
    const detail = page.getByRole('complementary');
    await expect.poll(() => detail.getByText('STARTED').count()).toBeGreaterThan(0);
    await detail.getByRole('button', { name: 'Cancel task' }).click();
    await expect.poll(() => taskRow(page, task!.task_id).getByText('REVOKED').count()).toBe(1);
    await expect.poll(() => page.getByRole('list', { name: 'Status changes' }).innerText()).toContain('REVOKED');
    gate.release();
    expect((await admin.GET('/inference/status/{task_id}', { params: { path: { task_id: task!.task_id } } })).data!.status).toBe('REVOKED');

    await detail.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL((url) => url.hash.startsWith('#/tasks/inference/') && !url.hash.endsWith(task!.task_id));
    const retried = decodeURIComponent(new URL(page.url()).hash.split('/').at(-1)!);
    await expect.poll(() => taskRow(page, retried).getByText('SUCCESS').count()).toBe(1);
    // Escape closes the details.
    await page.getByRole('complementary').getByRole('button', { name: /Close/ }).focus();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('complementary').count()).toBe(0);
  });

  it('activates an earlier model version and shows it in the history', async () => {
    const models = new ModelRepository(service.service.database);
    const first = await models.active();
    await models.addVersion({ kind: 'logistic-regression', artifact: first!.artifact, metrics: null, trainingTaskId: null, labelsUsed: 0 }, () => ({
      activate: false,
      status: 'standby',
      record: { policy: 'if_better', decision: 'kept_previous', metric: 'auc', new_value: 0.61, previous_model_id: first!.model_id, previous_value: null, decided_at: new Date().toISOString() },
    }));
    const { page } = await signIn(service.adminToken);
    await open(page, 'Models', 'Models');
    const activate = async (version: number, reason?: string) => {
      await page.locator(`tr[data-model-version="${version}"]`).getByRole('button', { name: 'Activate' }).click();
      const dialog = page.getByRole('dialog');
      if (reason) await dialog.getByRole('textbox', { name: /^Reason/ }).fill(reason);
      await dialog.getByRole('button', { name: `Activate v${version}` }).click();
      await expect.poll(() => page.locator(`tr[data-model-version="${version}"]`).getByText('champion').count()).toBe(1);
    };
    await activate(2);
    // The rollback: back to the earlier version, with a reason.
    await activate(1, 'rollback: v2 picked worse');
    const history = page.getByRole('list', { name: 'Activation history' });
    await expect
      .poll(() => history.innerText())
      .toMatch(/v1[\s\S]*Activated \(by hand, previously v2\) by key_\w+: rollback: v2 picked worse[\s\S]*v2[\s\S]*Activated \(by hand, previously v1\) by key_\w+[\s\S]*v1[\s\S]*Activated \(first start\) by the service/);
    expect((await admin.GET('/models')).data!.items.find((model) => model.active)!.version).toBe(1);
    const { data: recorded } = await admin.GET('/models/activations');
    expect(recorded!.items[0]).toMatchObject({ version: 1, previous_version: 2, change: 'activated', reason: 'manual', note: 'rollback: v2 picked worse' });
    if (shots) expect(await accessibility(page)).toEqual([]);
    await screenshot(page, 'models');
    // Escape closes a dialog without acting.
    await page.locator('tr[data-model-version="2"]').getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });

  // Live rows wait for the listing horizon (every older transaction on the server), which other test
  // files on the shared Postgres can hold back for a while: the waits allow for that.
  it('tails live events with a type filter, and pause and resume miss nothing', { timeout: 120_000 }, async () => {
    const { page } = await signIn(service.adminToken);
    await open(page, 'Events', 'Events');
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: LIVE_WAIT_MS });
    const post = async (eventType: string) => {
      const id = randomUUID();
      expect((await admin.POST('/events', { body: { event_id: id, event_type: eventType, event_data: { n: 1 } } })).response.status).toBe(202);
      return page.locator(`tr[data-event-id="${id}"]`);
    };
    await (await post('page_view')).waitFor({ timeout: LIVE_WAIT_MS });
    await page.getByRole('button', { name: 'Pause' }).click();
    const whilePaused = await post('page_view');
    await page.getByRole('button', { name: 'Resume' }).click();
    await whilePaused.waitFor({ timeout: LIVE_WAIT_MS });

    await page.getByLabel('Event type').fill('checkout');
    await page.getByRole('button', { name: 'Apply' }).click();
    // A new filter is a new tail from now on: "Live" once the server has attached it.
    await page.getByRole('status').filter({ hasText: 'Live · 0 shown' }).waitFor({ timeout: LIVE_WAIT_MS });
    const ignored = await post('page_view');
    const wanted = await post('checkout');
    await wanted.waitFor({ timeout: LIVE_WAIT_MS });
    expect(await ignored.count()).toBe(0);
    if (shots) expect(await accessibility(page)).toEqual([]);
    await screenshot(page, 'events');
  });

  it('creates and revokes keys (admin), showing the token once', async () => {
    const { page } = await signIn(service.adminToken);
    await open(page, 'Keys', 'API keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('console-made');
    await dialog.getByLabel('Owner').fill('acme');
    await dialog.getByRole('checkbox', { name: /events:read/ }).check();
    await dialog.getByRole('checkbox', { name: /^chat/ }).check();
    await dialog.getByRole('textbox', { name: /^Models/ }).fill('portico-dev-echo');
    await dialog.getByRole('spinbutton', { name: /^Token budget/ }).fill('5000');
    await dialog.getByRole('combobox', { name: /^Budget period/ }).selectOption('day');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const token = await page.locator('[data-token]').innerText();
    expect(token).toMatch(/^ptk_/);
    expect((await service.client(token).GET('/me')).data).toMatchObject({
      name: 'console-made', owner: 'acme', scopes: ['events:read', 'chat'], models: ['portico-dev-echo'], token_budget: 5000, budget_period: 'day',
    });
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('tr', { hasText: 'console-made' });
    await row.waitFor();
    await expect.poll(() => row.innerText()).toContain('0 of 5,000 per day');

    // Tokens spent through the gateway show against the budget (after the next usage read).
    const completion = await fetch(`${service.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'portico-dev-echo', messages: [{ role: 'user', content: 'Count me in' }] }),
    });
    expect(completion.status).toBe(200);
    const { usage } = (await completion.json()) as { usage: { total_tokens: number } };
    await page.reload();
    await expect.poll(() => row.innerText(), { timeout: 20_000 }).toContain(`${usage.total_tokens} of 5,000 per day`);
    if (shots) expect(await accessibility(page)).toEqual([]);
    await screenshot(page, 'keys');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.getByText('revoked').count()).toBe(1);
    expect((await service.client(token).GET('/me')).response.status).toBe(401);
  });

  it('gives a key without admin no Keys view, and only its owner’s figures', async () => {
    const key = await service.createKey(['inference:read', 'events:read'], { owner: 'acme' });
    const { page } = await signIn(key.token);
    const nav = page.getByRole('navigation', { name: 'Views' });
    expect(await nav.getByRole('link').allInnerTexts()).toEqual(['Overview', 'Tasks', 'Models', 'Events']);
    await page.goto(`${service.url}/console#/keys`);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await expect.poll(() => page.getByText('Owner acme').count()).toBe(1);
    expect(await page.getByRole('heading', { name: 'API keys' }).count()).toBe(0);
    // The server refuses it anyway.
    expect((await service.client(key.token).GET('/admin/api-keys')).response.status).toBe(403);
    // No activation without models:manage.
    await open(page, 'Models', 'Models');
    await page.locator('tr[data-model-version="1"]').waitFor();
    expect(await page.getByRole('button', { name: 'Activate' }).count()).toBe(0);
  });

  it('holds its layout on a phone and in the dark theme', async () => {
    const phone = await signIn(service.adminToken, PHONE);
    await phone.page.getByRole('heading', { name: 'Overview' }).waitFor();
    await phone.page.locator('[data-chart] canvas').first().waitFor();
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    if (shots) expect(await accessibility(phone.page)).toEqual([]);
    await screenshot(phone.page, 'overview-phone');
    await open(phone.page, 'Tasks', 'Tasks');
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await screenshot(phone.page, 'tasks-phone');

    const dark = await signIn(service.adminToken, DESKTOP, 'dark');
    expect(await dark.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await dark.page.locator('[data-chart] canvas').first().waitFor();
    if (shots) expect(await accessibility(dark.page)).toEqual([]);
    await screenshot(dark.page, 'overview-dark');
    await dark.page.getByRole('button', { name: /Theme/ }).click();
    await expect.poll(() => dark.page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
  });

  it('signs out, forgetting the key', async () => {
    const { page } = await signIn(service.adminToken);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.reload();
    await page.getByLabel('API key').waitFor();
  });

  it('loaded nothing from anywhere but the service, with no page error or CSP violation', () => {
    const remote = opened.flatMap(({ requests }) => requests.map((request) => new URL(request.url())).filter((url) => url.protocol !== 'data:' && !LOCAL_HOSTS.has(url.hostname)));
    expect(remote.map(String)).toEqual([]);
    // A failed sign-in logs the 401 it got; nothing else may.
    expect(opened.flatMap(({ errors }) => errors)).toEqual([]);
  });
});
