// Browser test of the sale report against the real server (embedded
// backends): a small simulated sale over HTTP (two fans buy two places
// each, a third is admitted and buys nothing), then in Debian's Chromium
// the operator opens the report: the summary, wait percentiles,
// conversion and revenue match the sale, every chart has axes, a unit and
// a point per minute, the CSV link carries the range, and a range that
// ends before it starts is refused on the page.
//
//   cd web/tests && npm ci && node --test admin_analytics.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, request } = harness;
const OWNER = { email: 'admin@localhost', password: 'analytics-test-pw' };
const SEAT_MAP = 'section,row,seats,tier,price\nFloor,,300,GA,4500\n';
const STEP = 25_000;

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await harness.startServer({
    WAITROOM_ADMIN_PASSWORD: OWNER.password,
    WAITROOM_TICK_MS: '200',
    WAITROOM_DEMO_EVENT: 'false',
    WAITROOM_RATE_LIMITS__ENABLED: 'false',
  }, 'analytics');
});

after(async () => {
  await harness.stopServer(server);
  await browser?.close();
});

const admin = (method, p, body) => request(server.base, method, p, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

test('the sale report shows what the sale did, with charts that have axes and units', { timeout: 120_000 }, async (t) => {
  const event = `report-${Date.now().toString(36)}`;
  let r = await admin('POST', '/api/v1/admin/events', {
    id: event, name: 'Report <b>night</b>', venue: 'Arena', starts_at: '2027-07-01T20:00:00Z',
    currency: 'EUR', status: 'published', seat_map_csv: SEAT_MAP,
  });
  assert.equal(r.status, 201, r.text);
  r = await admin('PUT', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 600, max_active: 100, captcha: 'off' });
  assert.equal(r.status, 201, r.text);
  await harness.fanBuys(server.base, event, 'ann@example.com');
  await harness.fanBuys(server.base, event, 'bob@example.com');
  const looker = await request(server.base, 'POST', `/api/v1/queue/${event}/join`, {}, { 'x-queue-token-in-body': '1' });
  assert.equal(looker.status, 201, looker.text);

  // The figures reach the database within a flush (5 s) of the tick.
  let report;
  for (let i = 0; i < 100; i++) {
    report = (await admin('GET', `/api/v1/admin/events/${event}/analytics`)).json;
    const s = report.summary;
    if (s.admitted === 3 && s.buyers === 2 && s.revenue === 18_000) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.deepEqual(
    [report.summary.joins, report.summary.admitted, report.summary.holders, report.summary.buyers, report.summary.revenue],
    [3, 3, 2, 2, 18_000], JSON.stringify(report));
  assert.equal(report.waits.count, 3);

  const page = await harness.operatorPage(browser, t, server.base, OWNER, { timezoneId: 'Asia/Tokyo' });
  await page.goto(`${server.base}/admin-analytics.html?event=${event}`);
  const text = (sel) => page.locator(sel).textContent();
  await page.waitForFunction(() => document.querySelector('#s-admitted').textContent === '3', null, { timeout: STEP });
  assert.equal(await text('#s-joins'), '3');
  assert.equal(await text('#s-buyers'), '2');
  assert.equal(await text('#s-revenue'), '€180.00');
  assert.equal(await text('#s-hold-rate'), '66.7%');
  assert.equal(await text('#s-pay-rate'), '100%');
  assert.match(await text('#s-p50'), /^\d+ s$/);
  // The operator's name for the event is text, never markup.
  assert.match(await page.locator('#event option:checked').textContent(), /Report <b>night<\/b>/);
  assert.equal(await page.locator('#event b').count(), 0);
  // Times in the operator's zone, UTC beside them.
  assert.equal((await page.locator('.tz').first().textContent()).trim(), 'Asia/Tokyo');
  const from = await page.inputValue('#from');
  const utc = new Date(report.from).toISOString().slice(0, 16);
  assert.equal(from, new Date(report.from + 9 * 3_600_000).toISOString().slice(0, 16));
  assert.match(await text('#range-utc'), new RegExp(utc.replace('T', ' ')));

  for (const [id, unit] of [['c-flow', 'fans per minute'], ['c-length', 'fans'], ['c-wait', 'seconds'],
    ['c-rejections', 'requests per minute'], ['c-sales', 'per minute'], ['c-revenue', 'EUR per minute']]) {
    const svg = page.locator(`#${id}`);
    assert.equal(await svg.getAttribute('data-points'), String(report.minutes.length), id);
    const labels = await svg.locator('text').allTextContents();
    assert.ok(labels.includes(unit), `${id} names its unit: ${labels}`);
    assert.ok(labels.includes('0'), `${id} has a y axis from 0: ${labels}`);
    assert.ok(labels.some((l) => /^\d\d:\d\d( [AP]M)?$/.test(l)), `${id} has times on its x axis: ${labels}`);
    assert.ok(await svg.locator('line.axis').count() >= 2, `${id} draws its axes`);
  }
  assert.match(await page.getAttribute('#csv', 'href'), new RegExp(`/api/v1/admin/events/${event}/analytics\\.csv`));
  const csv = await page.evaluate(async (href) => (await fetch(href)).text(), await page.getAttribute('#csv', 'href'));
  assert.ok(csv.startsWith('minute_utc,joins,admitted,'), csv);

  // A range that ends before it starts is refused on the page.
  await page.fill('#to', '2020-01-01T00:00');
  await page.click('#range button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#msg').classList.contains('bad'), null, { timeout: STEP });
});
