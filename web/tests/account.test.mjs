// Browser test of the account page against the real server: a guest buys,
// then signs up with the same email; the orders show only after the emailed
// link is opened and the sign-up password entered.
//
//   cd web/tests && npm install && node --test account.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ADMIN_TOKEN, closeWithin, launchBrowser, request, startServer, stopServer } from './harness.mjs';

const EVENT = 'demo';
const STEP = 20_000;
const EMAIL = 'owner@example.com';
const PASSWORD = 'owner password 1';

let server;
let browser;
const api = (method, urlPath, body, headers) => request(server.base, method, urlPath, body, headers);

async function eventually(what, fn, timeout = STEP) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A guest checkout over the API for `email`; returns the booking reference. */
async function guestOrder(email) {
  const j = await api('POST', `/api/v1/queue/${EVENT}/join`, {}, { 'x-queue-token-in-body': '1' });
  assert.equal(j.status, 201, `join: ${j.text}`);
  const creds = { 'X-Queue-Token': j.json.queue_token };
  const st = await eventually('admitted', async () => {
    const r = await api('GET', `/api/v1/queue/${EVENT}/status`, undefined, creds);
    return r.json && r.json.admission_token ? r.json : null;
  });
  const map = await api('GET', `/api/v1/events/${EVENT}/seats`);
  const seat = map.json.sections[0].rows[0].seats.find((s) => s.status === 'available');
  const hold = await api('POST', `/api/v1/events/${EVENT}/holds`, { seats: [seat.id] },
    { ...creds, Authorization: `Bearer ${st.admission_token}` });
  assert.equal(hold.status, 201, hold.text);
  const order = await api('POST', `/api/v1/holds/${hold.json.hold_id}/checkout`, { email }, creds);
  assert.equal(order.status, 200, order.text);
  return order.json.reference;
}

/** The token of the verification link the outbox wrote to the mail folder. */
async function linkToken() {
  const mailDir = path.join(server.dataDir, 'mail');
  return eventually('the verification email', async () => {
    for (const n of await readdir(mailDir).catch(() => [])) {
      // Undo quoted-printable: soft line breaks and the escaped '='.
      const body = (await readFile(path.join(mailDir, n), 'utf8').catch(() => ''))
        .replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      const m = body.match(/#verify=([A-Za-z0-9_-]+)/);
      if (m) return m[1];
    }
    return null;
  });
}

before(async () => {
  server = await startServer({}, 'account');
  browser = await launchBrowser();
  const patch = await api('PATCH', `/api/v1/admin/events/${EVENT}/queue`, { admit_per_minute: 600, captcha: 'off' },
    { Authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.equal(patch.status, 200, `PATCH queue settings: ${patch.text}`);
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(server); }
});

test('a guest signs up, confirms the emailed link and sees their order', { timeout: 120_000 }, async (t) => {
  const reference = await guestOrder(EMAIL);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
  t.after(() => closeWithin(context));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.goto(`${server.base}/account.html`);
  await page.waitForSelector('#register-form:not([hidden])', { timeout: STEP });
  await page.fill('#register-email', EMAIL);
  await page.fill('#register-password', PASSWORD);
  await page.click('#register-form button');
  await page.waitForFunction(() => /check your inbox/.test(document.getElementById('message').textContent), null, { timeout: STEP });

  // Signing in before confirming shows no orders, only the reason.
  await page.fill('#login-email', EMAIL);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-form button');
  await page.waitForFunction(() => /confirm your email/.test(document.getElementById('message').textContent), null, { timeout: STEP });
  assert.equal(await page.isHidden('#orders'), true);

  const token = await linkToken();
  await page.goto(`${server.base}/account.html#verify=${token}`);
  await page.waitForSelector('#verify-form:not([hidden])', { timeout: STEP });
  await page.fill('#verify-password', 'not my password');
  await page.click('#verify-form button');
  await page.waitForFunction(() => /wrong password/.test(document.getElementById('message').textContent), null, { timeout: STEP });
  await page.fill('#verify-password', PASSWORD);
  await page.click('#verify-form button');
  await page.waitForSelector('#orders:not([hidden])', { timeout: STEP });
  assert.match(await page.textContent('#order-list'), new RegExp(reference));
  assert.match(await page.textContent('#signed-in'), /owner@example\.com/);
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');

  await page.reload();
  await page.waitForSelector('#orders:not([hidden])', { timeout: STEP });
  await page.click('#sign-out');
  await page.waitForSelector('#login-form:not([hidden])', { timeout: STEP });
  assert.deepEqual(errors, [], 'no script errors on the page');
});
