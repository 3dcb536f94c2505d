// Browser test of the waiting-room page against the real server.
//
// Starts `waitroom serve` on a free port with a fresh data dir, fills a queue
// over HTTP, opens /queue/{event} in Debian's Chromium (never a downloaded
// browser) and follows the page until it is admitted, once over the
// WebSocket and once with WebSocket disabled (polling fallback). Queues
// keep the default CAPTCHA (proof of work before joining): the page solves it
// in its Web Worker, and the test's own API joins solve it here in Node, at
// a low difficulty (WAITROOM_POW_DIFFICULTY) so the suite stays fast.
//
//   cd web/tests && npm install && npm test
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, access } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const BIN = process.env.WAITROOM_BIN || path.resolve(here, '../../target/debug/waitroom');
const ADMIN_TOKEN = 'test-admin-token';
const STEP = 20_000; // timeout for one waited-for page change
// Unique per run, in case a queue store outlives the server (it should not: see startServer).
const RUN = Date.now().toString(36);
const POW_DIFFICULTY = '10';

let server; // { child, base, dataDir, log }
let browser;

/** Starts the real server (with `extraEnv`) and resolves once it prints its address. */
async function startServer(extraEnv = {}) {
  await access(BIN, fsc.X_OK).catch(() => {
    throw new Error(`waitroom binary not found at ${BIN}: run \`cargo build\` or set WAITROOM_BIN`);
  });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'waitroom-web-test-'));
  // The embedded backends in a fresh data dir: a self-contained server, even
  // when the calling script exports REDIS_URL / DATABASE_URL for other tests.
  const env = {
    ...process.env, WAITROOM_DATA_DIR: dataDir, WAITROOM_ADMIN_TOKEN: ADMIN_TOKEN, WAITROOM_POW_DIFFICULTY: POW_DIFFICULTY, ...extraEnv,
  };
  for (const k of ['REDIS_URL', 'DATABASE_URL', 'WAITROOM_REDIS_URL', 'WAITROOM_DATABASE_URL']) delete env[k];
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  return { child, base, dataDir, log };
}

async function stopServer(which = server) {
  if (!which) return;
  const { child, dataDir } = which;
  if (which === server) server = undefined;
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(t);
  }
  await rm(dataDir, { recursive: true, force: true });
}

// A crash of the test process must not leave the server behind.
process.on('exit', () => { if (server) server.child.kill('SIGKILL'); });

async function api(method, urlPath, body, headers = {}) {
  const res = await fetch(server.base + urlPath, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const admin = (method, event, body) =>
  api(method, `/api/v1/admin/events/${event}/queue`, body, { Authorization: `Bearer ${ADMIN_TOKEN}` });

/** A join body solving the event's proof of work, as the page's worker would. */
async function solvedBody(base, event) {
  const c = await (await fetch(`${base}/api/v1/queue/${event}/challenge`)).json();
  if (!c.required) return {};
  for (let n = 0; ; n += 1) {
    const h = createHash('sha256').update(c.challenge + n).digest();
    let bits = 0;
    for (const b of h) {
      bits += b === 0 ? 8 : Math.clz32(b) - 24;
      if (b !== 0) break;
    }
    if (bits >= c.difficulty) return { captcha: { challenge: c.challenge, signature: c.signature, nonce: String(n) } };
  }
}

/** Opens the queue of `event` (admission stopped) and joins `n` cookie-less visitors. */
async function queueWithWaiters(event, n) {
  const put = await admin('PUT', event, {
    state: 'open', admit_per_minute: 0, max_active: 100, session_ttl_seconds: 600, departure_grace_seconds: 60,
  });
  assert.ok(put.status >= 200 && put.status < 300, `PUT queue settings: ${put.status} ${put.text}`);
  for (let i = 1; i <= n; i += 1) {
    const j = await api('POST', `/api/v1/queue/${event}/join`, await solvedBody(server.base, event));
    assert.equal(j.status, 201, `join #${i}: ${j.status} ${j.text}`);
    assert.equal(j.json.position, i, `join #${i} position: ${j.text}`);
  }
}

async function startAdmitting(event) {
  const patch = await admin('PATCH', event, { admit_per_minute: 120 });
  assert.ok(patch.status >= 200 && patch.status < 300, `PATCH queue settings: ${patch.status} ${patch.text}`);
}

const text = (page, sel) => page.locator(sel).textContent();
const waitText = (page, sel, want) =>
  page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent.trim() === w, [sel, want], { timeout: STEP });

function assertJwt(token) {
  assert.equal(typeof token, 'string', 'admission token in sessionStorage');
  const parts = token.split('.');
  assert.equal(parts.length, 3, `JWT has three parts: ${token}`);
  for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/, 'base64url JWT part');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  assert.ok(header.alg, 'JWT header names its algorithm');
}

async function newPage(t) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  t.after(() => assert.deepEqual(errors.map(String), [], 'no script errors on the page'));
  return page;
}

before(async () => {
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(); }
});

test('the page follows its place over the WebSocket until admitted', { timeout: 120_000 }, async (t) => {
  const event = `webtest-ws-${RUN}`;
  await queueWithWaiters(event, 5);
  const page = await newPage(t);

  await page.goto(`${server.base}/queue/${event}?stay=1`);
  await waitText(page, '#position', '6');
  await waitText(page, '#conn', 'Live updates');
  assert.equal(await text(page, '#ahead'), '5');
  assert.equal(await page.getAttribute('[role=progressbar]', 'aria-valuenow'), '0');
  assert.equal(await page.getAttribute('#announce', 'aria-live'), 'polite');
  const ticket = await text(page, '#ids');

  // The HttpOnly cookie keeps the place across a reload; the page keeps no credential.
  await page.reload();
  await waitText(page, '#position', '6');
  assert.equal(await text(page, '#ids'), ticket);
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.doesNotMatch(stored, /wr_queue_/, 'the credential is not readable by the page');

  await startAdmitting(event);
  await page.waitForFunction(() => {
    const n = Number(document.getElementById('position').textContent.replace(/\D/g, ''));
    return n > 0 && n < 6;
  }, null, { timeout: STEP });

  await page.waitForSelector('#turn', { state: 'visible', timeout: STEP });
  assert.match(await text(page, '#title'), /your turn/i);
  assert.equal(await page.getAttribute('#go', 'href'), `/events/${event}/book`);
  assert.equal(await page.getAttribute('[role=progressbar]', 'aria-valuenow'), '100');
  assertJwt(await page.evaluate((e) => sessionStorage.getItem(`wr_admission_${e}`), event));
  assert.equal(new URL(page.url()).pathname, `/queue/${event}`, '?stay=1 keeps the page');
});

test('without WebSocket the page polls status and is admitted', { timeout: 120_000 }, async (t) => {
  const event = `webtest-poll-${RUN}`;
  await queueWithWaiters(event, 2);
  const page = await newPage(t);
  await page.addInitScript(() => { window.WebSocket = undefined; });

  await page.goto(`${server.base}/queue/${event}`);
  await waitText(page, '#position', '3');
  assert.match(await text(page, '#conn'), /every few seconds/);

  // Without ?stay=1 the page moves on to booking by itself after a few seconds
  // (watched as a request: whether the booking page exists is not this test's business).
  const toBooking = page.waitForRequest((r) => new URL(r.url()).pathname === `/events/${event}/book`
    && r.isNavigationRequest(), { timeout: 2 * STEP });
  await startAdmitting(event);
  await page.waitForSelector('#turn', { state: 'visible', timeout: STEP });
  assertJwt(await page.evaluate((e) => sessionStorage.getItem(`wr_admission_${e}`), event));
  await toBooking;
});

test('an unknown event says there is no waiting room', { timeout: 60_000 }, async (t) => {
  const page = await newPage(t);
  await page.goto(`${server.base}/queue/no-such-event-${RUN}`);
  await page.waitForSelector('#problem', { state: 'visible', timeout: STEP });
  assert.match(await text(page, '#problem-text'), /no waiting room for this event/i);
});

test('the page runs the check before joining, with an accessible progress bar', { timeout: 60_000 }, async (t) => {
  const event = `webtest-pow-${RUN}`;
  await queueWithWaiters(event, 1);
  const page = await newPage(t);
  // Hold the worker script back so the check can be seen in progress.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/pow-worker.js', async (route) => { await held; await route.continue(); });
  const joins = [];
  page.on('request', (r) => { if (r.url().endsWith('/join')) joins.push(r.postData()); });

  await page.goto(`${server.base}/queue/${event}?stay=1`);
  await page.waitForSelector('#check', { state: 'visible', timeout: STEP });
  assert.equal(await page.getAttribute('#check-bar', 'role'), 'progressbar');
  assert.equal(await page.getAttribute('#check-bar', 'aria-valuenow'), '0');
  assert.ok(await page.getAttribute('#check-bar', 'aria-label'), 'the progress bar is named');
  assert.match(await text(page, '#announce'), /check/i, 'screen readers hear about the check');
  assert.equal(joins.length, 0, 'no join before the check is solved');
  release();

  await waitText(page, '#position', '2');
  assert.equal(await page.getAttribute('#check-bar', 'aria-valuenow'), '100');
  assert.equal(joins.length, 1);
  const body = JSON.parse(joins[0]);
  assert.ok(body.captcha && body.captcha.nonce && body.captcha.signature, `the join carries the solution: ${joins[0]}`);

  // A reload keeps the place without another check (the cookie holds it).
  await page.reload();
  await waitText(page, '#position', '2');
  assert.equal(joins.length, 2);
  assert.deepEqual(JSON.parse(joins[1]), {}, 'no solution needed for an existing place');
});

test('a rate-limited join shows a friendly message with the retry time, then joins', { timeout: 60_000 }, async (t) => {
  // A server of its own whose join budget is one request per 3 seconds.
  const limited = await startServer({
    WAITROOM_RATE_LIMITS__JOIN__PER_IP_PER_MINUTE: '20', WAITROOM_RATE_LIMITS__JOIN__IP_BURST: '1',
  });
  t.after(() => stopServer(limited));
  const event = `webtest-429-${RUN}`;
  const put = await fetch(`${limited.base}/api/v1/admin/events/${event}/queue`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ state: 'open', admit_per_minute: 0, max_active: 10, captcha: 'off' }),
  });
  assert.equal(put.status, 201);
  // Someone else on this address spends the budget first.
  const first = await fetch(`${limited.base}/api/v1/queue/${event}/join`, { method: 'POST' });
  assert.equal(first.status, 201);

  const page = await newPage(t);
  await page.goto(`${limited.base}/queue/${event}`);
  await page.waitForSelector('#problem', { state: 'visible', timeout: STEP });
  assert.match(await text(page, '#title'), /lots of people/i);
  assert.match(await text(page, '#problem-text'), /try again in \d+ seconds?/i);
  await waitText(page, '#position', '2');
});

test('the proof-of-work worker finds valid nonces (and reports its speed here)', { timeout: 60_000 }, async (t) => {
  const page = await newPage(t);
  await page.goto(`${server.base}/queue/none-${RUN}`);
  const runs = await page.evaluate(async () => {
    const out = [];
    for (let i = 0; i < 4; i += 1) {
      const challenge = `wr1.speed.20.0.run${i}xxxxxxxxxxxxxxxxxxx`;
      const t0 = performance.now();
      const found = await new Promise((resolve, reject) => {
        const w = new Worker('/pow-worker.js');
        w.onmessage = (m) => { if (m.data.nonce != null) { w.terminate(); resolve(m.data); } };
        w.onerror = reject;
        w.postMessage({ challenge, difficulty: 20 });
      });
      out.push({ challenge, ...found, ms: performance.now() - t0 });
    }
    return out;
  });
  let tries = 0;
  let ms = 0;
  for (const r of runs) {
    const h = createHash('sha256').update(r.challenge + r.nonce).digest();
    assert.ok(h[0] === 0 && h[1] === 0 && h[2] < 16, `20 zero bits: ${h.toString('hex')}`);
    tries += r.tries;
    ms += r.ms;
  }
  t.diagnostic(`pow-worker.js in Chromium: ${(tries / ms / 1000).toFixed(2)} MH/s`);
});
