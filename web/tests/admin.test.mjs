// Browser test of the operators' dashboard against the real server.
//
// Starts `waitroom serve` (fresh data dir, a known owner password) on the
// embedded backends, then on PostgreSQL (a fresh database made with `psql`)
// and Redis, fills a queue over HTTP, then in Debian's Chromium: signs in,
// raises the admission rate (confirming the tenfold raise), sees the
// admitted/min chart respond, pauses and resumes the queue.
//
//   env: WR_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
//   REDIS_URL (default redis://127.0.0.1:6379) for the production run.
//
//   cd web/tests && npm install && node --test admin.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser } = harness;
const OWNER = { email: 'admin@localhost', password: 'dashboard-test-pw' };
const STEP = 25_000;

let server;
let browser;

/** A fresh PostgreSQL database's URL (needs `psql`, as CI has). */
function freshPostgres() {
  const admin = process.env.WR_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `wr_test_${Date.now().toString(36)}_${process.pid}`;
  const r = spawnSync('psql', [admin, '-qc', `create database ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`creating a test database with psql failed: ${r.error || r.stderr}`);
  return admin.replace(/\/[^/]*$/, `/${name}`);
}

/** A server for the dashboard scenario, on the embedded defaults or `backends`. */
const startServer = (backends = {}) => harness.startServer({
  WAITROOM_ADMIN_PASSWORD: OWNER.password,
  WAITROOM_TICK_MS: '200',
  WAITROOM_DEMO_EVENT: 'false',
  // Every join of this test comes from 127.0.0.1.
  WAITROOM_RATE_LIMITS__ENABLED: 'false',
  ...backends,
}, 'admin');

before(async () => {
  browser = await launchBrowser();
});

async function stopServer() {
  const s = server;
  server = undefined;
  await harness.stopServer(s);
}

after(async () => {
  await browser?.close();
  await stopServer();
});


const admin = (method, p, body) => fetch(`${server.base}${p}`, {
  method,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  body: body ? JSON.stringify(body) : undefined,
});

const textIs = (page, sel, want) => page.waitForFunction(
  ([s, w]) => document.querySelector(s)?.textContent.trim() === w, [sel, want], { timeout: STEP },
);

for (const backend of ['embedded', 'production']) {
  test(`an operator signs in, raises the rate, sees admissions respond, pauses and resumes (${backend})`, { timeout: 120_000 }, async () => {
    const backends = backend === 'production'
      ? { DATABASE_URL: freshPostgres(), REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379' }
      : {};
    server = await startServer(backends);
    let event;
    try {
      event = await dashboardScenario();
    } finally {
      await stopServer();
    }
    if (backends.REDIS_URL) forgetRedisEvent(backends.REDIS_URL, event);
  });
}

/** Removes a passed test's event from a shared Redis (engines iterate `wr:events`). */
function forgetRedisEvent(url, event) {
  const cli = (...args) => spawnSync('redis-cli', ['-u', url, ...args], { encoding: 'utf8' });
  const keys = (cli('--scan', '--pattern', `wr:{evt:${event}}:*`).stdout || '').split('\n').filter(Boolean);
  if (keys.length) cli('del', ...keys);
  cli('srem', 'wr:events', event);
}

async function dashboardScenario() {
  const event = `dash-${Date.now().toString(36)}`;
  const r = await admin('PUT', `/api/v1/admin/events/${event}/queue`, {
    admit_per_minute: 60, max_active: 100000, captcha: 'off', session_ttl_seconds: 600,
  });
  assert.equal(r.status, 201, await r.text());
  // Enough waiters that the raised rate keeps admitting for the whole test.
  for (let i = 0; i < 8; i++) {
    const joins = await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.base}/api/v1/queue/${event}/join`, { method: 'POST' })));
    for (const j of joins) assert.equal(j.status, 201);
  }

  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.base}/admin.html?event=${event}`);
  await page.fill('#email', OWNER.email);
  await page.fill('#password', 'wrong-password');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0, null, { timeout: STEP });
  await page.fill('#password', OWNER.password);
  await page.click('#login button[type=submit]');
  await textIs(page, '#conn', 'live');
  await textIs(page, '#state', 'open');
  await textIs(page, '#rate-setting', '60');
  // Admitting at about one a second before the change.
  await page.waitForFunction(() => Number(document.querySelector('#chart-admitted').dataset.last) > 0, null, { timeout: STEP });
  const before = Number(await page.getAttribute('#chart-admitted', 'data-last'));
  assert.ok(before <= 200, `admitted/min before the change: ${before}`);

  // Tenfold: the dashboard asks first.
  await page.fill('#rate', '600');
  await page.click('#apply-rate');
  await page.waitForSelector('#confirm[open]', { timeout: STEP });
  await page.click('#confirm-yes');
  await textIs(page, '#rate-setting', '600');
  await page.waitForFunction(() => Number(document.querySelector('#chart-admitted').dataset.last) >= 300, null, { timeout: STEP })
    .catch(async (e) => {
      const seen = await page.evaluate(() => ({
        last: document.querySelector('#chart-admitted').dataset.last,
        waiting: document.querySelector('#waiting').textContent,
        active: document.querySelector('#active').textContent,
        state: document.querySelector('#state').textContent,
        conn: document.querySelector('#conn').textContent,
      }));
      throw new Error(`admitted/min did not respond: ${JSON.stringify(seen)}: ${e.message}`);
    });

  // Rejection rates are shown (none in this test).
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#rate-limited').textContent), null, { timeout: STEP });
  assert.equal(await page.textContent('#captcha-failed'), '0');

  await page.click('#pause');
  await textIs(page, '#state', 'paused');
  await page.click('#resume');
  await textIs(page, '#state', 'open');

  const audit = await (await admin('GET', `/api/v1/admin/audit?target=event:${event}`)).json();
  assert.deepEqual(audit.slice(0, 3).map((e) => e.action), ['queue.resume', 'queue.pause', 'queue.settings.change']);
  assert.equal(audit[2].actor, 'operator:admin@localhost');
  assert.deepEqual(errors, []);
  return event;
}
