// Browser test of the queue settings form against the real server
// (embedded backends), in Chromium with the operator in New York: every
// setting is edited in one save (after a refused value is shown beside its
// field), the schedule is entered in local time with its UTC value shown,
// and a version conflict with another operator is resolved by choosing,
// setting by setting, whose value stays.
//
//   cd web/tests && npm ci && node --test admin_settings.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, request } = harness;
const OWNER = { email: 'admin@localhost', password: 'settings-test-pw' };
const STEP = 25_000;

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await harness.startServer({
    WAITROOM_ADMIN_PASSWORD: OWNER.password,
    WAITROOM_DEMO_EVENT: 'false',
  }, 'settings');
});

after(async () => {
  await harness.stopServer(server);
  await browser?.close();
});

const admin = (method, p, body, headers = {}) =>
  request(server.base, method, p, body, { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers });

test('an operator edits every queue setting and resolves a conflict', { timeout: 120_000 }, async (t) => {
  const event = `settings-${Date.now().toString(36)}`;
  let r = await admin('PUT', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 100, max_active: 50, captcha: 'off' });
  assert.equal(r.status, 201, r.text);

  const page = await harness.operatorPage(browser, t, server.base, OWNER, { timezoneId: 'America/New_York' });
  await page.click('a[href="/admin-settings.html"]');
  await page.selectOption('#event', event);
  await page.waitForFunction(() => document.querySelector('#version').textContent === '1', null, { timeout: STEP });
  assert.equal((await page.locator('.tz').first().textContent()).trim(), 'America/New_York');

  const f = (name) => `#settings [name="${name}"]`;
  await page.selectOption(f('state'), 'paused');
  await page.fill(f('admit_per_minute'), '240');
  await page.fill(f('max_active'), '75');
  await page.fill(f('session_ttl_seconds'), '10'); // below the 30 s minimum
  await page.fill(f('departure_grace_seconds'), '45');
  await page.selectOption(f('captcha'), 'on_suspicion');
  await page.selectOption(f('captcha_failure'), 'infinite_queue');
  await page.fill(f('max_places_per_ip'), '3');
  await page.fill(f('max_seats_per_visitor'), '4');
  await page.fill(f('prequeue_at'), '2027-03-01T09:30');
  await page.fill(f('opens_at'), '2027-03-01T10:00');
  await page.fill(f('closes_at'), '2027-03-01T22:00');
  // New York is UTC-5 in March before daylight saving.
  const utcNote = page.locator(`${f('opens_at')} + .utc`);
  assert.equal(await utcNote.textContent(), '2027-03-01 15:00 UTC');

  await page.click('#settings button[type=submit]');
  const err = page.locator('#err-session_ttl_seconds');
  await err.waitFor({ timeout: STEP });
  assert.match(await err.textContent(), /between 30 and 86400/);
  assert.equal(await page.getAttribute(f('session_ttl_seconds'), 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'session_ttl_seconds');
  r = await admin('GET', `/api/v1/admin/events/${event}/queue`);
  assert.equal(r.json.version, 1, 'nothing was saved');

  await page.fill(f('session_ttl_seconds'), '600');
  await page.click('#settings button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#version').textContent === '2', null, { timeout: STEP });
  assert.equal(await page.locator('#err-session_ttl_seconds').count(), 0);
  r = await admin('GET', `/api/v1/admin/events/${event}/queue`);
  const s = r.json;
  assert.deepEqual(
    [s.state, s.admit_per_minute, s.max_active, s.session_ttl_seconds, s.departure_grace_seconds, s.captcha,
      s.captcha_failure, s.max_places_per_ip, s.max_seats_per_visitor, s.prequeue_at, s.opens_at, s.closes_at],
    ['paused', 240, 75, 600, 45, 'on_suspicion', 'infinite_queue', 3, 4,
      Date.UTC(2027, 2, 1, 14, 30), Date.UTC(2027, 2, 1, 15), Date.UTC(2027, 2, 2, 3)],
  );

  // Another operator raises the rate and the cap meanwhile.
  r = await admin('PATCH', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 900, max_active: 80 }, { 'if-match': '"2"' });
  assert.equal(r.status, 200, r.text);
  await page.fill(f('admit_per_minute'), '300');
  await page.fill(f('max_active'), '90');
  await page.fill(f('max_seats_per_visitor'), '2');
  await page.click('#settings button[type=submit]');
  await page.locator('#conflict').waitFor({ timeout: STEP });
  const rows = page.locator('#conflict-rows tr');
  assert.equal(await rows.count(), 2, 'only the settings both changed');
  assert.match(await rows.nth(0).textContent(), /admit_per_minute\s*300\s*900/);
  assert.match(await rows.nth(1).textContent(), /max_active\s*90\s*80/);
  // Keep their rate, my cap.
  await page.check('input[name="pick-admit_per_minute"][value="theirs"]');
  await page.click('#conflict-apply');
  await page.waitForFunction(() => document.querySelector('#version').textContent === '4', null, { timeout: STEP });
  assert.equal(await page.locator('#conflict').isVisible(), false);
  r = await admin('GET', `/api/v1/admin/events/${event}/queue`);
  assert.deepEqual([r.json.admit_per_minute, r.json.max_active, r.json.max_seats_per_visitor], [900, 90, 2]);
  assert.equal(await page.inputValue(f('admit_per_minute')), '900');
});
