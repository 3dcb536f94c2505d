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
import { createHash } from 'node:crypto';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, stopServer } = harness;
const STEP = 20_000; // timeout for one waited-for page change
// Unique per run, in case a queue store outlives the server (it should not: see startServer).
const RUN = Date.now().toString(36);
const POW_DIFFICULTY = '10';

let server; // { child, base, dataDir, log }
let browser;

// Low proof-of-work difficulty keeps the suite fast; the page still solves it.
const startServer = (env = {}) => harness.startServer({ WAITROOM_POW_DIFFICULTY: POW_DIFFICULTY, ...env }, 'waiting-room');
const api = (method, urlPath, body, headers) => harness.request(server.base, method, urlPath, body, headers);

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

const newPage = async (t) => (await harness.phonePage(browser, t)).page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(server); }
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

  // Without ?stay=1 the page moves on to booking by itself after a few seconds.
  // Waited for until the booking page has loaded: closing the context while
  // that navigation was still in flight hung Chromium (3 runs in 5 under load).
  const toBooking = page.waitForURL((u) => u.pathname === `/events/${event}/book`,
    { timeout: 2 * STEP, waitUntil: 'load' });
  await startAdmitting(event);
  await page.waitForSelector('#turn', { state: 'visible', timeout: STEP });
  assertJwt(await page.evaluate((e) => sessionStorage.getItem(`wr_admission_${e}`), event));
  await toBooking;
  // The booking page may send a fan without a booking back to the queue;
  // stop here so nothing is navigating when the context closes.
  await page.goto('about:blank');
});

/** Polls room info (as of the last tick) until `waiting` is `n`. */
async function waitingBecomes(event, n, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await api('GET', `/api/v1/queue/${event}`);
    if (info.json.waiting === n) return;
    assert.ok(Date.now() < deadline, `${what}: ${info.text}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a page that slept through a locked phone comes back to its place', { timeout: 120_000 }, async (t) => {
  const event = `webtest-lock-${RUN}`;
  const put = await admin('PUT', event, {
    state: 'open', admit_per_minute: 0, max_active: 100, departure_grace_seconds: 5, captcha: 'off',
  });
  assert.ok(put.status >= 200 && put.status < 300, `PUT queue settings: ${put.status} ${put.text}`);
  const page = await newPage(t);
  // A switch for the test: while `__asleep`, no socket can open (as on a
  // locked phone), and the sockets open now can be dropped.
  await page.addInitScript(() => {
    const Real = window.WebSocket;
    window.__sockets = [];
    window.__asleep = false;
    window.WebSocket = function Sleepy(url) {
      if (window.__asleep) throw new Error('asleep');
      const ws = new Real(url);
      window.__sockets.push(ws);
      return ws;
    };
    window.WebSocket.prototype = Real.prototype;
  });
  const frames = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(`${Date.now()} ${f.payload}`)));
  page.on('request', (r) => { if (r.url().includes('/api/')) frames.push(`${Date.now()} req ${r.url()}`); });
  page.on('console', (m) => frames.push(`${Date.now()} console ${m.text()}`));
  await page.goto(`${server.base}/queue/${event}?stay=1`);
  await waitText(page, '#conn', 'Live updates');
  const ticket = await text(page, '#ids');
  assert.equal(await page.isVisible('#welcome'), false);
  await waitingBecomes(event, 1, 'a tick counts the fan');

  // Lock: the tab is hidden, its socket dies, polls fail. Past the grace
  // the server counts the fan as gone.
  await page.route('**/status', (r) => r.abort());
  await page.evaluate(() => {
    window.__asleep = true;
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    for (const ws of window.__sockets) ws.close();
  });
  await waitingBecomes(event, 0, 'the absent fan departs');

  // Unlock: the page reconnects and hears it kept its place.
  await page.unroute('**/status');
  await page.evaluate(() => {
    window.__asleep = false;
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  frames.push(`${Date.now()} unlocked`);
  await page.waitForSelector('#welcome', { state: 'visible', timeout: STEP }).catch(async (e) => {
    throw new Error(`${e.message}\nconn: ${await text(page, '#conn')}\n${frames.join('\n')}`);
  });
  assert.match(await text(page, '#welcome'), /welcome back.*kept your place/i);
  await waitText(page, '#conn', 'Live updates');
  assert.equal(await text(page, '#ids'), ticket, 'the same ticket');
  await waitText(page, '#position', '1');
  await waitingBecomes(event, 1, 'back in the line');
});

test('a page refused a socket (process full) polls, then gets the socket once one frees up', { timeout: 120_000 }, async (t) => {
  // A process of its own that serves one WebSocket at most.
  const full = await startServer({ WAITROOM_MAX_SOCKETS: '1' });
  t.after(() => stopServer(full));
  const event = `webtest-full-${RUN}`;
  const put = await harness.request(full.base, 'PUT', `/api/v1/admin/events/${event}/queue`, {
    state: 'open', admit_per_minute: 0, max_active: 100, departure_grace_seconds: 60, captcha: 'off',
  }, { Authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.ok(put.status >= 200 && put.status < 300, `PUT queue settings: ${put.status} ${put.text}`);
  const first = await harness.phonePage(browser, t);
  await first.page.goto(`${full.base}/queue/${event}?stay=1`);
  await waitText(first.page, '#conn', 'Live updates');

  const second = await newPage(t);
  let sockets = 0;
  let socketsAtFirstPoll = null;
  second.on('websocket', () => { sockets += 1; });
  second.on('request', (r) => {
    if (socketsAtFirstPoll === null && new URL(r.url()).pathname.endsWith('/status')) socketsAtFirstPoll = sockets;
  });
  await second.goto(`${full.base}/queue/${event}?stay=1`);
  // Refused before the upgrade: the page follows its place by polling at
  // once, not after several failed sockets.
  await waitText(second, '#position', '2');
  await waitText(second, '#conn', 'Checking for updates every few seconds');
  assert.equal(socketsAtFirstPoll, 1, 'the first poll follows the first refused socket');
  const metrics = await (await fetch(`${full.base}/metrics`)).text();
  assert.match(metrics, /waitroom_connections_refused_total\{reason="max_sockets"\} [1-9]/, 'the server refused a socket');

  // The first fan leaves: the second page's retry gets the socket.
  await harness.closeWithin(first.context);
  await waitText(second, '#conn', 'Live updates');
  assert.equal(await text(second, '#position'), '2');
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
