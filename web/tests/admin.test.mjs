// Browser test of the operators' dashboard against the real server.
//
// Starts `waitroom serve` (fresh data dir, a known owner password) on the
// embedded backends, then on PostgreSQL (a fresh database made with `psql`)
// and Redis, fills a queue over HTTP, then in Debian's Chromium: signs in,
// raises the admission rate (confirming the tenfold raise), sees the
// admitted/min chart respond, pauses and resumes the queue. On the embedded
// backends only: a fan buys two places over HTTP, and the operator sees the
// order and its revenue live, publishes a draft, edits the event, downloads
// the orders' CSV and cancels the sale (a viewer meanwhile sees the figures,
// not the controls).
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
import { readFile } from 'node:fs/promises';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, collectCspViolations, launchBrowser } = harness;
const OWNER = { email: 'admin@localhost', password: 'dashboard-test-pw' };
const VIEWER = { email: 'viewer@localhost', password: 'viewer-test-password' };
const SEAT_MAP = 'section,row,seats,tier,price\nFloor,,300,GA,4500\nBalcony,A,12,Front,9000\n';
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
  collectCspViolations(page, errors);
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

test('an operator follows a sale live, publishes a draft, edits, exports and cancels a sale (embedded)', { timeout: 120_000 }, async () => {
  server = await startServer();
  try {
    await saleScenario();
  } finally {
    await stopServer();
  }
});

/** A phone-sized page signed in as `who`, its script errors collected. */
async function signedIn(who, query = '') {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  collectCspViolations(page, errors);
  await page.goto(`${server.base}/admin.html${query}`);
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await page.click('#login button[type=submit]');
  // Signed in once the first listed event is shown: live, or without a queue.
  await page.waitForFunction(() => /^live$|no queue/.test(document.querySelector('#conn').textContent.trim()),
    null, { timeout: STEP });
  return { context, page, errors };
}

const visible = (page, sel) => page.locator(sel).isVisible();

async function saleScenario() {
  const stamp = Date.now().toString(36);
  const event = `sale-${stamp}`;
  const queueOnly = `qonly-${stamp}`;
  const draft = `draft-${stamp}`;
  let r;
  for (const [id, status] of [[event, 'published'], [draft, 'draft']]) {
    r = await admin('POST', '/api/v1/admin/events', {
      id, name: 'Summer tour', venue: 'Arena', city: 'Lyon', starts_at: '2027-07-01T20:00:00Z',
      currency: 'EUR', status, seat_map_csv: SEAT_MAP,
    });
    assert.equal(r.status, 201, await r.text());
  }
  // The draft gets no queue: the dashboard lists it from the catalog.
  for (const e of [event, queueOnly]) {
    r = await admin('PUT', `/api/v1/admin/events/${e}/queue`, { admit_per_minute: 600, max_active: 100, captcha: 'off' });
    assert.equal(r.status, 201, await r.text());
  }
  r = await admin('POST', '/api/v1/admin/operators', { ...VIEWER, role: 'viewer' });
  assert.equal(r.status, 201, await r.text());
  const email = `ann-${stamp}@example.com`;
  const { order, queue } = await harness.fanBuys(server.base, event, email);

  const { context, page, errors } = await signedIn(OWNER);
  // A queue with no catalog entry: no figures, no event to edit.
  await page.selectOption('#event', queueOnly);
  await page.locator('#event-missing').waitFor({ timeout: STEP });
  await page.locator('#sales-none').waitFor({ timeout: STEP });
  assert.equal(await visible(page, '#sales-tiles'), false);
  assert.equal(await visible(page, '#report-body'), false);

  // A draft can be published from the dashboard.
  await page.selectOption('#event', draft);
  await textIs(page, '#ev-status', 'draft');
  await page.waitForFunction(() => /no queue/.test(document.querySelector('#conn').textContent), null, { timeout: STEP });
  await page.click('#publish');
  await textIs(page, '#ev-status', 'published');
  assert.equal(await visible(page, '#publish'), false);
  assert.equal((await (await admin('GET', `/api/v1/admin/events/${draft}`)).json()).event.status, 'published');

  await page.selectOption('#event', event);
  await textIs(page, '#orders', '1');
  await textIs(page, '#revenue', '90.00 EUR');
  assert.equal(await visible(page, '#sales-none'), false);
  assert.equal(await page.textContent('#sold'), '2 / 312');
  assert.equal(await page.textContent('#pending'), '0');
  assert.equal(await page.textContent('#r-confirmed'), '1');
  assert.equal(await page.textContent('#r-available'), '310');
  assert.equal(await page.textContent('#r-revenue'), '90.00 EUR');
  await textIs(page, '#ev-status', 'published');
  assert.equal(await page.textContent('#ev-name'), 'Summer tour');
  assert.equal(await visible(page, '#publish'), false, 'Publish is for drafts');
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true,
    'no sideways scrolling on a phone');

  // Edit: the new name is saved through the API.
  await page.fill('#edit-name', 'Summer tour (moved)');
  assert.equal(await page.getByLabel('City', { exact: true }).inputValue(), 'Lyon');
  await page.getByLabel(/^Category/).selectOption('comedy');
  await page.getByLabel('City', { exact: true }).fill('Grenoble');
  await page.click('#event-edit button[type=submit]');
  await textIs(page, '#event-msg', 'Saved.');
  assert.equal(await page.textContent('#ev-name'), 'Summer tour (moved)');
  const saved = (await (await admin('GET', `/api/v1/admin/events/${event}`)).json()).event;
  assert.deepEqual([saved.name, saved.category, saved.city], ['Summer tour (moved)', 'comedy', 'Grenoble']);

  // A check-in at the door shows in the per-minute chart and its CSV.
  const bought = await harness.request(server.base, 'GET', `/api/v1/orders/${order}`, undefined, queue);
  r = await admin('POST', '/api/v1/checkin', { ticket: bought.json.tickets[0].reference, gate: 'North', event });
  assert.equal(r.status, 200, await r.text());
  await page.waitForFunction(() => document.querySelector('#chart-checkins')?.dataset.total === '1', null, { timeout: STEP });
  assert.ok(await page.locator('#chart-checkins path').count() > 0, 'a line is drawn');
  const [arrivals] = await Promise.all([page.waitForEvent('download', { timeout: STEP }), page.click('#checkins-csv')]);
  assert.equal(arrivals.suggestedFilename(), `${event}-checkins.csv`);
  const rows = (await readFile(await arrivals.path(), 'utf8')).trim().split('\n');
  assert.equal(rows[0], 'minute_utc,gate,checked_in');
  assert.match(rows[1], /^\d{4}-\d\d-\d\dT\d\d:\d\dZ,North,1$/);
  assert.equal(rows.length, 2, rows.join('\n'));

  // The CSV link downloads the order, with the buyer's email.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: STEP }), page.click('#csv')]);
  assert.equal(download.suggestedFilename(), `${event}-orders.csv`);
  const lines = (await readFile(await download.path(), 'utf8')).trim().split(/\r?\n/);
  assert.equal(lines.length, 2, `a header and one order: ${lines.join('\n')}`);
  assert.ok(lines[0].startsWith('order_id,reference,status,email'), lines[0]);
  assert.ok(lines[1].startsWith(`${order},`) && lines[1].includes(`,${email},`) && lines[1].includes(',90.00,'), lines[1]);

  // A viewer sees the same figures and no write controls.
  const viewer = await signedIn(VIEWER, `?event=${event}`);
  await textIs(viewer.page, '#ev-status', 'published');
  await textIs(viewer.page, '#orders', '1');
  for (const sel of ['#event-edit', '#publish', '#cancel-sale', '#retry-refunds', '#live-controls']) {
    assert.equal(await visible(viewer.page, sel), false, `a viewer does not see ${sel}`);
  }
  assert.equal(await visible(viewer.page, '#csv'), true);
  assert.deepEqual(viewer.errors, []);
  await viewer.context.close();

  // Cancel: the dialog wants the event id typed again.
  await page.click('#cancel-sale');
  await page.waitForSelector('#cancel-dialog[open]', { timeout: STEP });
  assert.match(await page.textContent('#cancel-dialog'), /refunds every buyer.*emails/s);
  assert.equal(await page.isDisabled('#cancel-go'), true);
  await page.fill('#cancel-confirm', `${event}x`);
  assert.equal(await page.isDisabled('#cancel-go'), true, 'a wrong id does not enable the button');
  await page.fill('#cancel-confirm', event);
  await page.fill('#cancel-reason', 'Storm warning');
  await page.click('#cancel-go');
  await page.locator('#cancel-report').waitFor({ timeout: STEP });
  assert.equal(await visible(page, '#cancel-dialog'), false);
  assert.equal(await page.textContent('#rep-refunded'), '1');
  assert.equal(await page.textContent('#rep-failed'), '');
  await textIs(page, '#ev-status', 'cancelled');
  assert.equal(await visible(page, '#cancel-sale'), false);
  assert.equal(await visible(page, '#event-edit'), false);
  // The queue closes, and the feed's figures follow the refund.
  await textIs(page, '#state', 'closed');
  await textIs(page, '#refunded', '90.00 EUR');
  // A paid order refunded by the cancellation is itself cancelled.
  assert.equal(await page.textContent('#r-cancelled'), '1');
  assert.equal(await page.textContent('#orders'), '0');
  assert.equal(await page.textContent('#revenue'), '0.00 EUR');
  assert.equal((await (await admin('GET', `/api/v1/admin/events/${event}`)).json()).event.status, 'cancelled');
  assert.deepEqual(errors, []);
  await context.close();
}
