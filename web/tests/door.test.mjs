// Browser test of tickets at the door against the real server (embedded
// defaults): a fan buys two places over HTTP; the confirmation page shows
// their QR codes (the image served is the order's ticket); door staff sign
// in on the scanner page, check a ticket in by its reference (VALID), then
// again (ALREADY USED, with the gate), and a made-up reference (INVALID);
// then, offline, the second ticket is admitted from the saved list and the
// queued scan syncs once the page is back online.
//
//   cd web/tests && npm install && node --test door.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output,
//   DOOR_SCREENSHOTS=<dir> to save phone-sized screenshots of the pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, collectCspViolations, launchBrowser } = harness;
const DOOR = { email: 'door@localhost', password: 'door-test-password' };
const SEAT_MAP = 'section,row,seats,tier,price\nFloor,,300,GA,4500\n';
const STEP = 25_000;
const SHOTS = process.env.DOOR_SCREENSHOTS;

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await harness.startServer({
    WAITROOM_TICK_MS: '200',
    WAITROOM_DEMO_EVENT: 'false',
    WAITROOM_RATE_LIMITS__ENABLED: 'false',
  }, 'door');
});

after(async () => {
  await browser?.close();
  await harness.stopServer(server);
});

const admin = (method, p, body) => harness.request(server.base, method, p, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

const verdictIs = (page, want) => page.waitForFunction(
  (w) => document.querySelector('#verdict')?.textContent.trim() === w, want, { timeout: STEP },
);

test('the confirmation shows QR tickets and the door checks one in once', { timeout: 120_000 }, async () => {
  const event = `door-${Date.now().toString(36)}`;
  let r = await admin('POST', '/api/v1/admin/events', {
    id: event, name: 'Door night', venue: 'Arena', city: 'Lyon', starts_at: '2027-07-01T20:00:00Z',
    currency: 'EUR', status: 'published', seat_map_csv: SEAT_MAP,
  });
  assert.equal(r.status, 201, r.text);
  r = await admin('PUT', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 600, max_active: 100, captcha: 'off' });
  assert.equal(r.status, 201, r.text);
  r = await admin('POST', '/api/v1/admin/operators', { ...DOOR, role: 'door' });
  assert.equal(r.status, 201, r.text);
  const { order, queue } = await harness.fanBuys(server.base, event, 'fan@example.com');
  r = await harness.request(server.base, 'GET', `/api/v1/orders/${order}`, undefined, queue);
  assert.equal(r.status, 200, r.text);
  const [first, second] = r.json.tickets;
  assert.ok(first && second, r.text);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC' });
  const errors = [];
  try {
    // The fan's confirmation page, in the browser session that bought.
    await context.addCookies([{ name: `wr_queue_${event}`, value: queue['x-queue-token'], url: server.base }]);
    const fan = await context.newPage();
    fan.on('pageerror', (e) => errors.push(e));
    collectCspViolations(fan, errors);
    await fan.goto(`${server.base}/confirmation.html?order=${order}`);
    await fan.locator('#tickets .ticket img.qr').first().waitFor({ timeout: STEP });
    assert.equal(await fan.locator('#tickets .ticket').count(), 2);
    assert.equal((await fan.locator('.ticket-ref').first().textContent()).trim(), first.reference);
    const src = await fan.locator('#tickets img.qr').first().getAttribute('src');
    assert.equal(src, `/api/v1/tickets/${first.id}/qr.svg`);
    // The image loads under the page's policy (it is same-origin SVG).
    await fan.waitForFunction(() => {
      const img = document.querySelector('#tickets img.qr');
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: STEP });
    if (SHOTS) await fan.screenshot({ path: path.join(SHOTS, 'confirmation-tickets.png'), fullPage: true });

    // Door staff.
    const door = await context.newPage();
    door.on('pageerror', (e) => errors.push(e));
    collectCspViolations(door, errors);
    await door.goto(`${server.base}/door.html`);
    await door.locator('#login-view').waitFor({ timeout: STEP });
    await door.fill('#email', DOOR.email);
    await door.fill('#password', DOOR.password);
    await door.click('#login button[type=submit]');
    await door.locator('#setup-view').waitFor({ timeout: STEP });
    await door.fill('#event', event);
    await door.fill('#gate', 'North 1');
    await door.click('#setup button[type=submit]');
    await door.locator('#scan-view').waitFor({ timeout: STEP });

    await door.fill('#ticket', first.reference.toLowerCase());
    await door.click('#manual button[type=submit]');
    await verdictIs(door, 'VALID');
    await door.fill('#ticket', first.reference);
    await door.click('#manual button[type=submit]');
    await verdictIs(door, 'ALREADY USED');
    assert.match(await door.textContent('#detail'), /at North 1/);
    if (SHOTS) await door.screenshot({ path: path.join(SHOTS, 'door-already-used.png') });
    await door.fill('#ticket', 'T-00000-00000');
    await door.click('#manual button[type=submit]');
    await verdictIs(door, 'INVALID');

    // Offline: the saved list decides, the scan is queued, then synced.
    await context.setOffline(true);
    await door.fill('#ticket', second.reference);
    await door.click('#manual button[type=submit]');
    await verdictIs(door, 'VALID');
    assert.match(await door.textContent('#detail'), /offline/);
    await door.fill('#ticket', first.reference);
    await door.click('#manual button[type=submit]');
    await verdictIs(door, 'ALREADY USED');
    await context.setOffline(false);
    await door.click('#sync');
    await door.waitForFunction(() => /Synced 1 scans\./.test(document.querySelector('#sync-report').textContent), null, { timeout: STEP });
    r = await harness.request(server.base, 'GET', `/api/v1/orders/${order}`, undefined, queue);
    assert.deepEqual(r.json.tickets.map((t) => t.status), ['used', 'used']);
    assert.deepEqual(errors, []);
  } finally {
    await harness.closeWithin(context);
  }
});
