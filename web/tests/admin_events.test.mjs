// Browser test of the operators' event and account pages against the real
// server (embedded backends), in Chromium: an owner creates an event whose
// pasted seat map has a bad line (shown by its number), fixes it, creates
// the draft and publishes it; then adds an operator, changes their role,
// creates an API key (shown once, and it works), and revokes it.
//
//   cd web/tests && npm ci && node --test admin_events.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, request } = harness;
const OWNER = { email: 'admin@localhost', password: 'events-test-pw' };
const STEP = 25_000;

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await harness.startServer({ WAITROOM_ADMIN_PASSWORD: OWNER.password, WAITROOM_DEMO_EVENT: 'false' }, 'events');
});

after(async () => {
  await harness.stopServer(server);
  await browser?.close();
});

const admin = (method, p, body) => request(server.base, method, p, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

const signedIn = (t) => harness.operatorPage(browser, t, server.base, OWNER, { timezoneId: 'Europe/Paris' });

test('an owner creates an event, fixes a bad seat-map line and publishes', { timeout: 120_000 }, async (t) => {
  const page = await signedIn(t);
  await page.click('a[href="/admin-events.html"]');
  const id = `gala-${Date.now().toString(36)}`;
  const f = (name) => `#create [name="${name}"]`;
  await page.fill(f('id'), id);
  await page.fill(f('name'), 'Gala <img src=x id=injected>');
  await page.fill(f('venue'), 'Opéra');
  await page.fill(f('city'), 'Paris');
  await page.fill(f('starts_at'), '2027-06-21T20:30');
  await page.fill(f('currency'), 'EUR');
  await page.fill(f('seat_map'), 'section,row,seats,tier,price\nFloor,,200,GA,4500\nBalcony,A,twelve,Front,9000\n');
  await page.click('#create button[type=submit]');
  const lines = page.locator('#seatmap-lines li');
  await lines.first().waitFor({ timeout: STEP });
  assert.equal(await lines.count(), 1);
  assert.match(await lines.first().textContent(), /^line 3: /);
  assert.equal(await page.getAttribute(f('seat_map'), 'aria-invalid'), 'true');
  assert.equal((await admin('GET', `/api/v1/admin/events/${id}`)).status, 404, 'nothing created');

  await page.fill(f('seat_map'), 'section,row,seats,tier,price\nFloor,,200,GA,4500\nBalcony,A,12,Front,9000\n');
  await page.click('#create button[type=submit]');
  await page.locator('#created').waitFor({ timeout: STEP });
  assert.equal(await page.locator('#seatmap-errors').isVisible(), false);
  assert.equal(await page.textContent('#created-places'), '212');
  assert.equal(await page.textContent('#created-name'), 'Gala <img src=x id=injected>');
  assert.equal(await page.locator('#injected').count(), 0, 'the name is text, not markup');
  let r = await admin('GET', `/api/v1/admin/events/${id}`);
  assert.equal(r.json.event.status, 'draft');
  // 20:30 in Paris in June is 18:30 UTC.
  assert.equal(new Date(r.json.event.starts_at).toISOString(), '2027-06-21T18:30:00.000Z');

  await page.click('#publish');
  await page.waitForFunction(() => /Published/.test(document.querySelector('#msg').textContent), null, { timeout: STEP });
  r = await admin('GET', `/api/v1/admin/events/${id}`);
  assert.equal(r.json.event.status, 'published');
});

test('an owner manages operators and API keys; a key is shown once', { timeout: 120_000 }, async (t) => {
  const page = await signedIn(t);
  await page.click('a[href="/admin-team.html"]');
  await page.locator('#team').waitFor({ timeout: STEP });
  await page.fill('#add-operator [name="email"]', 'door@example.com');
  await page.fill('#add-operator [name="password"]', 'door-staff-pw');
  await page.selectOption('#add-operator [name="role"]', 'viewer');
  await page.click('#add-operator button[type=submit]');
  const select = page.locator('select[aria-label="role of door@example.com"]');
  await select.waitFor({ timeout: STEP });
  await select.selectOption('operator');
  await page.waitForFunction(() => /is now operator/.test(document.querySelector('#msg').textContent), null, { timeout: STEP });
  let r = await admin('GET', '/api/v1/admin/operators');
  assert.equal(r.json.find((o) => o.email === 'door@example.com').role, 'operator');

  await page.fill('#add-key [name="name"]', 'ticketing <script>');
  await page.selectOption('#add-key [name="role"]', 'viewer');
  await page.click('#add-key button[type=submit]');
  await page.locator('#new-key').waitFor({ timeout: STEP });
  const key = (await page.textContent('#new-key-value')).trim();
  assert.ok(key.length >= 20, key);
  r = await request(server.base, 'GET', '/api/v1/admin/me', undefined, { authorization: `Bearer ${key}` });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.role, 'viewer');
  await page.click('#new-key-done');
  assert.equal(await page.textContent('#new-key-value'), '');
  assert.equal(await page.locator('#keys th', { hasText: 'ticketing <script>' }).count(), 1);

  await page.click('#keys button:has-text("Revoke")');
  await page.waitForFunction(() => /Revoked/.test(document.querySelector('#msg').textContent), null, { timeout: STEP });
  r = await request(server.base, 'GET', '/api/v1/admin/me', undefined, { authorization: `Bearer ${key}` });
  assert.equal(r.status, 401);
  assert.match(await page.textContent('#keys'), /revoked/);
});
