// The dashboard (/ui, docs/dashboard.md) in a real browser: Debian's Chromium driven by
// playwright-core (pinned in package-lock.json) against the real binary. Logging in,
// seeing a created task, requeueing a dead letter, pausing a queue, a task's live log,
// and the page on a phone's screen. Screenshots go to SCREENSHOT_DIR (default: the
// server's temporary directory, kept when the variable is set).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ADMIN_KEY, http, registerKey, startServer } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// As root, without a sandbox; no background traffic to hosts this machine cannot reach.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server;
let key;
let browser;
let shots;

before(async () => {
  server = await startServer();
  key = await registerKey(server.base);
  shots = process.env.SCREENSHOT_DIR || join(server.dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function create(type, extra = {}) {
  const res = await http(server.base, 'POST', '/v1/tasks', { key, body: { type, payload: { n: 1 }, ...extra } });
  assert.equal(res.status, 201, res.text);
  return res.json.task.id;
}

async function loggedIn(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.base}/ui`);
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('#queues');
  return { page, context, errors };
}

test('the page and its files come from the binary with a strict policy', async () => {
  const res = await fetch(`${server.base}/ui`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/);
  assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  for (const [file, type] of [['app.js', /^text\/javascript/], ['style.css', /^text\/css/]]) {
    const asset = await fetch(`${server.base}/ui/${file}`);
    assert.equal(asset.status, 200, file);
    assert.match(asset.headers.get('content-type'), type);
  }
  assert.equal((await fetch(`${server.base}/ui/nothing.js`)).status, 404);
});

test('a wrong key is refused and the key never goes into a URL', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const urls = [];
  page.on('request', (request) => urls.push(request.url()));
  await page.goto(`${server.base}/ui`);
  await page.fill('#key', 'not-a-key');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=That key was not accepted.');
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('#queues');
  assert.ok(urls.every((url) => !url.includes(key)), 'the key appeared in a URL');
  // Kept for this tab only.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('baton-key')), key);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await context.close();
});

test('log in, see a created task, open it', async () => {
  const type = `ui_seen_${Date.now()}`;
  const id = await create(type);
  const { page, context, errors } = await loggedIn();
  await page.waitForSelector(`#queues tr[data-type="${type}"]`);
  await page.screenshot({ path: join(shots, 'queues.png') });
  await page.click('a[href="#/tasks"]');
  await page.waitForSelector(`#tasks tr[data-id="${id}"]`);
  await page.screenshot({ path: join(shots, 'tasks.png') });
  await page.click(`a[href="#/task/${id}"]`);
  await page.waitForSelector(`text=Task ${id}`);
  assert.match(await page.textContent('main'), /pending/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('requeue a dead letter from the dead-letter page', async () => {
  const type = `ui_dead_${Date.now()}`;
  const id = await create(type, { maxAttempts: 1 });
  const claimed = await http(server.base, 'POST', `/v1/tasks/${id}/claim`, { key, body: { worker_id: 'w' } });
  const failed = await http(server.base, 'POST', `/v1/tasks/${id}/fail`, {
    key, body: { lease_token: claimed.json.task.leaseToken, reason: 'the model refused', retryable: false },
  });
  assert.equal(failed.json.task.status, 'dead_letter', failed.text);
  const { page, context } = await loggedIn();
  await page.click('a[href="#/dead"]');
  const row = page.locator(`#tasks tr[data-id="${id}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /the model refused/);
  await page.screenshot({ path: join(shots, 'dead-letters.png') });
  await row.locator('button', { hasText: 'Requeue' }).click();
  await page.locator(`#tasks tr[data-id="${id}"]`).waitFor({ state: 'detached' });
  const read = await http(server.base, 'GET', `/v1/tasks/${id}`, { key });
  assert.equal(read.json.task.status, 'pending');
  await context.close();
});

test("a task's page shows its history", async () => {
  const type = `ui_history_${Date.now()}`;
  const id = await create(type, { maxAttempts: 2 });
  for (const [worker, reason, retryable] of [['w-a', 'first try failed', true], ['w-b', 'gave up', false]]) {
    const claimed = await http(server.base, 'POST', `/v1/tasks/${id}/claim`, { key, body: { worker_id: worker } });
    assert.equal(claimed.status, 200, claimed.text);
    const failed = await http(server.base, 'POST', `/v1/tasks/${id}/fail`, {
      key, body: { lease_token: claimed.json.task.leaseToken, reason, retryable, retry_after_seconds: 0 },
    });
    assert.equal(failed.status, 200, failed.text);
  }
  const { page, context, errors } = await loggedIn();
  await page.goto(`${server.base}/ui#/task/${id}`);
  const rows = page.locator('#history tbody tr');
  await rows.nth(4).waitFor();
  const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.deepEqual(cells.map((c) => [c[1], c[2], c[3], c[4], c[5], c[6]]), [
    ['create_task', '', 'pending', '0', '', ''],
    ['claim_task', 'pending', 'claimed', '1', 'w-a', ''],
    ['fail_task', 'claimed', 'pending', '1', 'w-a', 'first try failed'],
    ['claim_task', 'pending', 'claimed', '2', 'w-b', ''],
    ['fail_task', 'claimed', 'dead_letter', '2', 'w-b', 'gave up'],
  ]);
  await page.screenshot({ path: join(shots, 'task-history.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('pause and resume a queue', async () => {
  const type = `ui_pause_${Date.now()}`;
  await create(type);
  const { page, context } = await loggedIn();
  const row = page.locator(`#queues tr[data-type="${type}"]`);
  await row.waitFor();
  await row.locator('button', { hasText: 'Pause' }).click();
  await row.locator('text=paused').waitFor();
  let queues = await http(server.base, 'GET', '/v1/queues', { key });
  assert.equal(queues.json.queues.find((q) => q.type === type).paused, true);
  const claim = await http(server.base, 'POST', '/v1/tasks/claim', { key, body: { type } });
  assert.equal(claim.json.task, null);
  assert.equal(claim.json.agent_contract.queue_context.reason, 'queue_paused');
  await page.screenshot({ path: join(shots, 'queue-paused.png') });
  await row.locator('button', { hasText: 'Resume' }).click();
  await row.locator('text=running').waitFor();
  queues = await http(server.base, 'GET', '/v1/queues', { key });
  assert.equal(queues.json.queues.find((q) => q.type === type).paused, false);
  await context.close();
});

test("a task's page follows its live log", async () => {
  const type = `ui_log_${Date.now()}`;
  const id = await create(type);
  const claimed = await http(server.base, 'POST', `/v1/tasks/${id}/claim`, { key, body: { worker_id: 'w' } });
  const token = claimed.json.task.leaseToken;
  const { page, context } = await loggedIn();
  await page.goto(`${server.base}/ui#/task/${id}`);
  await page.waitForSelector(`text=Task ${id}`);
  await http(server.base, 'POST', `/v1/tasks/${id}/logs`, {
    key, body: { lease_token: token, lines: [{ message: 'reading the repository' }, { level: 'warn', message: 'rate limited, retrying' }] },
  });
  await page.locator('#log', { hasText: 'rate limited, retrying' }).waitFor();
  await page.screenshot({ path: join(shots, 'task-log.png') });
  await http(server.base, 'POST', `/v1/tasks/${id}/complete`, { key, body: { lease_token: token, result: { ok: true } } });
  await page.locator('#log', { hasText: 'the task ended' }).waitFor();
  await context.close();
});

test('the admin key sees every account, one at a time', async () => {
  const otherKey = await registerKey(server.base);
  const type = `ui_admin_${Date.now()}`;
  const made = await http(server.base, 'POST', '/v1/tasks', { key: otherKey, body: { type, payload: {} } });
  assert.equal(made.status, 201, made.text);
  const status = await http(server.base, 'GET', '/v1/billing/status', { key: otherKey });
  const account = status.json.accountId ?? status.json.account_id ?? status.json.account?.id;
  const accounts = await http(server.base, 'GET', '/v1/admin/accounts?limit=1000', { key: ADMIN_KEY });
  assert.equal(accounts.status, 200, accounts.text);
  const listed = accounts.json.accounts.map((a) => a.accountId);
  assert.ok(listed.length >= 2);
  const target = account && listed.includes(account) ? account : listed[listed.length - 1];

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/ui`);
  await page.fill('#key', ADMIN_KEY);
  await page.click('button[type=submit]');
  await page.waitForSelector('#accounts');
  await page.locator(`#accounts tr[data-id="${target}"] button`).click();
  await page.waitForSelector('#queues');
  assert.match(await page.textContent('#shown-account'), new RegExp(target));
  if (target === account) await page.waitForSelector(`#queues tr[data-type="${type}"]`);
  await page.screenshot({ path: join(shots, 'admin.png') });
  // An API key cannot act for another account; the admin key must name one.
  const refused = await http(server.base, 'GET', '/v1/queues', { key, headers: { 'X-Baton-Account': target } });
  assert.equal(refused.status, 403);
  const asAdmin = await http(server.base, 'GET', '/v1/queues', { key: ADMIN_KEY, headers: { 'X-Baton-Account': target } });
  assert.equal(asAdmin.status, 200, asAdmin.text);
  const unknown = await http(server.base, 'GET', '/v1/queues', { key: ADMIN_KEY, headers: { 'X-Baton-Account': 'acct_nobody' } });
  assert.equal(unknown.status, 404);
  await context.close();
});

test('readable on a phone', async () => {
  await create(`ui_phone_${Date.now()}`);
  const { page, context, errors } = await loggedIn({ width: 390, height: 844 });
  // Nothing wider than the screen but the tables, which scroll inside their box.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: join(shots, 'phone.png') });
  assert.deepEqual(errors, []);
  await context.close();
});
