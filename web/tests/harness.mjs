// Shared by the browser tests: the real server, its API, and Chromium.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, access } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const BIN = process.env.WAITROOM_BIN || path.resolve(here, '../../target/debug/waitroom');
export const ADMIN_TOKEN = 'test-admin-token';

// Backends a calling script may export for other tests; each browser test
// starts from the embedded defaults unless it passes them back in `env`.
const INHERITED = ['REDIS_URL', 'DATABASE_URL', 'WAITROOM_REDIS_URL', 'WAITROOM_DATABASE_URL', 'SMTP_URL',
  'STRIPE_SECRET_KEY', 'STRIPE_PUBLISHABLE_KEY', 'WAITROOM_PUBLIC_BASE_URL'];

const running = new Set();
// A crash of the test process must not leave a server behind.
process.on('exit', () => { for (const s of running) s.child.kill('SIGKILL'); });

/**
 * Starts `waitroom serve` on a free port in a fresh data dir with `env` on
 * top, and resolves once it prints its address: `{ child, base, dataDir, log }`.
 */
export async function startServer(env = {}, label = 'web-test') {
  await access(BIN, fsc.X_OK).catch(() => {
    throw new Error(`waitroom binary not found at ${BIN}: run \`cargo build\` or set WAITROOM_BIN`);
  });
  const dataDir = await mkdtemp(path.join(tmpdir(), `waitroom-${label}-`));
  const full = { ...process.env, WAITROOM_DATA_DIR: dataDir, WAITROOM_ADMIN_TOKEN: ADMIN_TOKEN };
  for (const k of INHERITED) delete full[k];
  Object.assign(full, env);
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], { cwd: repoRoot, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const keep = (chunk) => {
    const text = chunk.toString();
    if (process.env.TEST_LOG) process.stderr.write(text);
    log.push(text);
    if (log.length > 400) log.shift();
  };
  child.stderr.on('data', keep);
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not print "listening on" within 30 s\n' + log.join(''))), 30_000);
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      out += chunk.toString();
      const m = out.match(/listening on (https?:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${sig})\n` + log.join('')));
    });
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const server = { child, base, dataDir, log };
  running.add(server);
  return server;
}

/** SIGTERM (SIGKILL after 5 s), then removes the data dir. */
export async function stopServer(server) {
  if (!server) return;
  running.delete(server);
  const { child, dataDir } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(t);
  }
  await rm(dataDir, { recursive: true, force: true });
}

/** A JSON request to `base`: `{ status, json, text }`. */
export async function request(base, method, urlPath, body, headers = {}) {
  const res = await fetch(base + urlPath, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

/** Debian's Chromium, headless, with nothing that reaches the network. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Closes a browser context, giving up after `ms`: a Chromium that never
 * answers must not hang the suite (test hooks have no timeout of their own).
 */
export async function closeWithin(context, ms = 10_000) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve('late'), ms); });
  const outcome = await Promise.race([context.close().then(() => 'closed'), late]);
  clearTimeout(timer);
  if (outcome === 'late') console.error(`# a browser context did not close within ${ms} ms; moving on`);
}

/**
 * A phone-sized page in a fresh context of `browser` (with `options` such
 * as `locale`), closed after test `t`, which fails on any script error or
 * Content-Security-Policy refusal on the page: `{ context, page }`.
 */
export async function phonePage(browser, t, options = {}) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, ...options });
  t.after(() => closeWithin(context));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  collectCspViolations(page, errors);
  t.after(() => assert.deepEqual(errors.map(String), [], 'no script errors on the page'));
  return { context, page };
}

/**
 * Collects what the page's Content-Security-Policy refused (Chromium logs
 * it as a console error, not a page error) into `errors`, so a page that
 * still relies on something the policy forbids fails its test.
 */
export function collectCspViolations(page, errors) {
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(new Error(m.text()));
  });
}

/**
 * One fan through the queue at `base`, a two-place general-admission hold,
 * checkout and the development payment: the order id. The queue must admit
 * (e.g. 600/min with 200 ms ticks).
 */
export async function fanBuys(base, event, email) {
  const call = (method, p, body, headers) => request(base, method, p, body, headers);
  const joined = await call('POST', `/api/v1/queue/${event}/join`, {}, { 'x-queue-token-in-body': '1' });
  assert.equal(joined.status, 201, `join: ${joined.text}`);
  const queue = { 'x-queue-token': joined.json.queue_token };
  // Admission happens on the server's tick; from outside there is nothing
  // to await but the status, so poll it a bounded number of times.
  let admission;
  for (let i = 0; i < 100 && !admission; i++) {
    const st = await call('GET', `/api/v1/queue/${event}/status`, undefined, queue);
    assert.equal(st.status, 200, `status: ${st.text}`);
    admission = st.json.admission_token;
    if (!admission) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(admission, 'the fan was not admitted within about 10 s (600/min, 200 ms ticks)');
  const hold = await call('POST', `/api/v1/events/${event}/holds`, { quantity: 2 },
    { ...queue, authorization: `Bearer ${admission}` });
  assert.equal(hold.status, 201, `hold: ${hold.text}`);
  const checkout = await call('POST', `/api/v1/holds/${hold.json.hold_id}/checkout`, { email }, queue);
  assert.equal(checkout.status, 200, `checkout: ${checkout.text}`);
  const paid = await call('POST', checkout.json.confirm_url);
  assert.equal(paid.status, 200, `pay: ${paid.text}`);
  assert.equal(paid.json.status, 'confirmed');
  return paid.json.order_id;
}

/**
 * A page of a fresh `browser` context (with `options`, e.g. a `timezoneId`)
 * signed in to the dashboard at `base` as `who` ({ email, password }),
 * closed after test `t`, which fails on any script error or CSP refusal
 * on it; confirmation dialogs are accepted.
 */
export async function operatorPage(browser, t, base, who, options = {}) {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  t.after(() => closeWithin(context));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('dialog', (d) => d.accept());
  collectCspViolations(page, errors);
  t.after(() => assert.deepEqual(errors.map(String), [], 'no script errors on the page'));
  await page.goto(`${base}/admin.html`);
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await page.click('#login button[type=submit]');
  await page.locator('#dash-view').waitFor({ timeout: 25_000 });
  return page;
}
