// Browser test of the whole booking journey against the real server:
// waiting room → seat map → hold (with its countdown) → checkout → dev
// payment → confirmation page, and the confirmation email in the mail folder.
// A declined test card keeps the seats and a second card pays.
// Also: a seat taken by someone else between picking and holding, and a
// visitor without a turn trying to hold.
//
//   cd web/tests && npm install && npm test
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output,
//   JOURNEY_SCREENSHOTS=<dir> to save phone-sized screenshots of the pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ADMIN_TOKEN, closeWithin, collectCspViolations, launchBrowser, request, startServer, stopServer } from './harness.mjs';

const EVENT = 'demo'; // seeded with a real seat map on embedded defaults
const STEP = 20_000; // timeout for one waited-for page change
const SHOTS = process.env.JOURNEY_SCREENSHOTS;

let server; // { child, base, dataDir, log }
let browser;

const api = (method, urlPath, body, headers) => request(server.base, method, urlPath, body, headers);

/** Polls `fn` until it returns a truthy value (for things outside the page). */
async function eventually(what, fn, timeout = STEP) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A cookie-less fan admitted over the API: its credential and admission token. */
async function admittedFan() {
  const j = await api('POST', `/api/v1/queue/${EVENT}/join`, {}, { 'x-queue-token-in-body': '1' });
  assert.equal(j.status, 201, `join: ${j.text}`);
  const creds = { 'X-Queue-Token': j.json.queue_token };
  const st = await eventually('API fan admitted', async () => {
    const r = await api('GET', `/api/v1/queue/${EVENT}/status`, undefined, creds);
    return r.json && r.json.admission_token ? r.json : null;
  });
  return { ...creds, Authorization: `Bearer ${st.admission_token}` };
}

const text = (page, sel) => page.locator(sel).textContent();

async function newPage(t) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC' });
  t.after(() => closeWithin(context));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  collectCspViolations(page, errors);
  // Stripe's script must never load on the dev provider (nor in tests at all).
  const stripe = [];
  await context.route('https://js.stripe.com/**', (route) => { stripe.push(route.request().url()); route.abort(); });
  t.after(() => {
    assert.deepEqual(errors.map(String), [], 'no script errors on the page');
    assert.deepEqual(stripe, [], 'Stripe.js is not loaded');
  });
  return page;
}

/** From the waiting room to the seat map, as a fan would get there. */
async function throughQueue(page) {
  await page.goto(`${server.base}/queue/${EVENT}`);
  await page.waitForSelector('#turn', { state: 'visible', timeout: STEP });
  await page.waitForURL(`**/events/${EVENT}/book`, { timeout: STEP }); // the page moves on by itself
  await page.waitForSelector('#pick:not([hidden]) .seat', { timeout: STEP });
}

before(async () => {
  server = await startServer({}, 'journey');
  browser = await launchBrowser();
  // Fast admission and no CAPTCHA, so the journey is quick.
  const patch = await api('PATCH', `/api/v1/admin/events/${EVENT}/queue`, { admit_per_minute: 600, captcha: 'off' },
    { Authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.equal(patch.status, 200, `PATCH queue settings: ${patch.text}`);
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(server); }
});

test('a fan goes from the waiting room to a confirmed booking and gets the email', { timeout: 180_000 }, async (t) => {
  const page = await newPage(t);
  await throughQueue(page);
  assert.equal(await text(page, '#title'), 'Demo Night');
  assert.match(await text(page, '#legend'), /Premium \$89\.00/);
  assert.match(await text(page, '#turn-left'), /hold seats within \d+:\d\d/);

  // Keyboard: the first seat of the stalls is the block's tab stop; arrows move, Space selects.
  const first = page.locator('#map .grid').first().locator('.seat[tabindex="0"]');
  assert.equal(await first.getAttribute('aria-label'), 'Stalls, row A, seat 1, Premium, $89.00');
  await first.focus();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  const picked = page.locator('#map .seat[aria-pressed="true"]');
  assert.equal(await picked.count(), 2);
  assert.equal(await picked.nth(1).evaluate((b) => b === document.activeElement), true, 'focus followed the arrow key');
  assert.equal(await text(page, '#sel-text'), '2 seats selected · $178.00');
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'seat-map.png') });

  await page.click('#hold');
  await page.waitForSelector('#held:not([hidden])', { timeout: STEP });
  assert.equal(await text(page, '#title'), 'Your seats are held');
  assert.equal(await page.locator('#held-list li').count(), 2);
  assert.match(await text(page, '#held-list'), /Stalls, row A, seat 1/);
  const countdown = await text(page, '#countdown');
  assert.match(countdown, /^(9|10):\d\d$/, 'a ten-minute hold');
  await page.waitForFunction((c) => document.getElementById('countdown').textContent !== c, countdown, { timeout: STEP });
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'held.png') });

  await page.click('#checkout');
  await page.waitForURL('**/checkout.html?*', { timeout: STEP });
  await page.waitForSelector('#contact:not([hidden])', { timeout: STEP });
  assert.equal(await text(page, '#total'), '$178.00');
  assert.match(await text(page, '#countdown'), /^\d+:\d\d$/);
  await page.fill('#email', 'not-an-email');
  await page.click('#to-pay');
  assert.equal(await page.getAttribute('#email', 'aria-invalid'), 'true');
  assert.match(await text(page, '#email-err'), /email address/);
  await page.fill('#email', 'fan@example.com');
  await page.click('#to-pay');
  await page.waitForSelector('#pay-dev:not([hidden])', { timeout: STEP });
  assert.equal(await text(page, '#pay'), 'Pay $178.00');
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'checkout.png') });
  await page.fill('#card', '4242 4242 4242 4241');
  await page.click('#pay');
  assert.match(await text(page, '#card-err'), /valid card number/);
  await page.fill('#card', '4242 4242 4242 4242');
  await page.click('#pay');

  await page.waitForURL('**/confirmation.html?*', { timeout: STEP });
  await page.waitForSelector('#order:not([hidden])', { timeout: STEP });
  const reference = (await text(page, '#reference')).trim();
  assert.match(reference, /^WR-[A-Z0-9]+$/);
  assert.equal(await text(page, '#event'), 'Demo Night');
  assert.equal(await text(page, '#total'), '$178.00');
  assert.equal(await page.locator('#lines li').count(), 2);
  assert.match(await text(page, '#email-note'), /fan@example\.com/);
  await page.waitForSelector('#where-row:not([hidden])', { timeout: STEP });
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'confirmation.png') });

  // The outbox worker writes the confirmation into data_dir/mail (lettre's file transport).
  const mailDir = path.join(server.dataDir, 'mail');
  const mail = await eventually('the confirmation email', async () => {
    const names = await readdir(mailDir).catch(() => []);
    for (const n of names) {
      const body = await readFile(path.join(mailDir, n), 'utf8').catch(() => '');
      if (body.includes(reference)) return body;
    }
    return null;
  });
  assert.match(mail, /^To: fan@example\.com/m);

  // The sold seats show as taken on the map.
  const seats = await api('GET', `/api/v1/events/${EVENT}/seats`);
  const rowA = seats.json.sections[0].rows[0].seats;
  assert.deepEqual(rowA.slice(0, 2).map((s) => s.status), ['sold', 'sold']);
});

test('a declined card shows the decline, keeps the seats, and a second card pays', { timeout: 180_000 }, async (t) => {
  const page = await newPage(t);
  await throughQueue(page);
  const seat = page.locator('#map .seat[aria-disabled="false"]').first();
  const id = Number(await seat.getAttribute('data-seat'));
  await seat.click();
  await page.click('#hold');
  await page.waitForSelector('#held:not([hidden])', { timeout: STEP });
  await page.click('#checkout');
  await page.waitForURL('**/checkout.html?*', { timeout: STEP });
  await page.waitForSelector('#contact:not([hidden])', { timeout: STEP });
  await page.fill('#email', 'declined@example.com');
  await page.click('#to-pay');
  await page.waitForSelector('#pay-dev:not([hidden])', { timeout: STEP });

  // Stripe's generic-decline test card: the server declines it.
  await page.fill('#card', '4000 0000 0000 0002');
  await page.click('#pay');
  await page.waitForSelector('#alert:not([hidden])', { timeout: STEP });
  assert.match(await text(page, '#alert'), /Your card was declined\. Your seats are still held/);
  assert.equal(await page.locator('#pay-dev').isVisible(), true, 'the card form stays');
  assert.equal(await page.inputValue('#card'), '', 'ready for another card');
  const seatStatus = async () => {
    const map = await api('GET', `/api/v1/events/${EVENT}/seats`);
    for (const sec of map.json.sections) for (const row of sec.rows || []) for (const s of row.seats) if (s.id === id) return s.status;
    return null;
  };
  assert.equal(await seatStatus(), 'held', 'a decline does not release the seat');

  await page.fill('#card', '4242 4242 4242 4242');
  await page.click('#pay');
  await page.waitForURL('**/confirmation.html?*', { timeout: STEP });
  await page.waitForSelector('#order:not([hidden])', { timeout: STEP });
  assert.match((await text(page, '#reference')).trim(), /^WR-[A-Z0-9]+$/);
  assert.equal(await page.locator('#lines li').count(), 1);
  assert.equal(await seatStatus(), 'sold', 'the same seat, now sold');
});

test('a seat taken between picking and holding is marked, and the fan holds others', { timeout: 120_000 }, async (t) => {
  const page = await newPage(t);
  await throughQueue(page);
  const free = page.locator('#map .seat[aria-disabled="false"]');
  const a = free.nth(0);
  const b = free.nth(1);
  const idB = Number(await b.getAttribute('data-seat'));
  await a.click();
  await b.click();
  const other = await admittedFan(); // someone else is quicker for seat b
  const theirs = await api('POST', `/api/v1/events/${EVENT}/holds`, { seats: [idB] }, other);
  assert.equal(theirs.status, 201, theirs.text);

  await page.click('#hold');
  await page.waitForSelector('#alert:not([hidden])', { timeout: STEP });
  assert.match(await text(page, '#alert'), /just taken/);
  const seatB = page.locator(`.seat[data-seat="${idB}"]`);
  assert.equal(await seatB.getAttribute('aria-disabled'), 'true');
  assert.equal(await seatB.getAttribute('aria-pressed'), 'false');
  assert.match(await seatB.getAttribute('aria-label'), /taken$/);
  assert.equal(await text(page, '#sel-text'), '1 seat selected · $89.00');

  // Nothing was held, so the admission is still good for the remaining seat.
  await page.click('#hold');
  await page.waitForSelector('#held:not([hidden])', { timeout: STEP });
  assert.equal(await page.locator('#held-list li').count(), 1);
  // A reload finds the hold again (its id is kept in sessionStorage; the cookie proves the session).
  await page.reload();
  await page.waitForSelector('#held:not([hidden])', { timeout: STEP });
  assert.match(await text(page, '#countdown'), /^\d+:\d\d$/);

  // Releasing asks first, then frees the seat and ends the turn.
  await page.click('#release');
  await page.click('#release-yes');
  await page.waitForSelector('#done:not([hidden])', { timeout: STEP });
  assert.equal(await text(page, '#title'), 'Seats released');
  assert.equal(await page.getAttribute('#done-link', 'href'), `/queue/${EVENT}`);
});

test('without a turn from the waiting room, holding links back to it', { timeout: 60_000 }, async (t) => {
  const page = await newPage(t);
  await page.goto(`${server.base}/events/${EVENT}/book`);
  await page.waitForSelector('#pick:not([hidden]) .seat', { timeout: STEP });
  assert.match(await text(page, '#banner'), /waiting room/);
  await page.locator('#map .seat[aria-disabled="false"]').first().click();
  await page.click('#hold');
  await page.waitForSelector('#alert:not([hidden])', { timeout: STEP });
  assert.equal(await page.getAttribute('#alert a', 'href'), `/queue/${EVENT}`);

  // Standing places: choosing a quantity clears the seat selection (a hold is one or the other).
  await page.click('.ga .step:last-of-type');
  assert.equal(await page.inputValue('#qty'), '1');
  assert.equal(await page.locator('#map .seat[aria-pressed="true"]').count(), 0);
  assert.equal(await text(page, '#sel-text'), '1 standing place · $49.00');
});
