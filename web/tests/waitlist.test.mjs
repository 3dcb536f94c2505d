// Browser test of the sold-out waitlist against the real server: a fan in
// the waiting room of a sold-out event sees where they stand on the
// waitlist, gets the seat another fan gives back as an offer, and books it.
//
//   cd web/tests && npm test   (or: node --test waitlist.test.mjs)
//   env: WAITROOM_BIN, CHROMIUM, TEST_LOG=1 (see harness.mjs)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, closeWithin, collectCspViolations, launchBrowser, request, startServer, stopServer } from './harness.mjs';

const EVENT = 'one-seat';
const STEP = 20_000; // timeout for one waited-for page change
const OPERATOR = { Authorization: `Bearer ${ADMIN_TOKEN}` };

let server;
let browser;

const api = (method, urlPath, body, headers) => request(server.base, method, urlPath, body, headers);
const text = (page, sel) => page.locator(sel).textContent();

before(async () => {
  server = await startServer({}, 'waitlist');
  browser = await launchBrowser();
  const created = await api('POST', '/api/v1/admin/events', {
    id: EVENT, name: 'One Seat Night', venue: 'Club', city: 'Lyon',
    starts_at: '2027-07-01T20:00:00Z', currency: 'USD',
    seat_map_csv: 'section,row,seats,tier,price\nStalls,A,1,Front,5000\n',
  }, OPERATOR);
  assert.equal(created.status, 201, `create: ${created.text}`);
  const published = await api('POST', `/api/v1/admin/events/${EVENT}/publish`, undefined, OPERATOR);
  assert.equal(published.status, 200, `publish: ${published.text}`);
  // One admitted session at a time, so the browser fan waits behind the first.
  const queue = await api('PUT', `/api/v1/admin/events/${EVENT}/queue`, {
    state: 'open', admit_per_minute: 600, max_active: 1, session_ttl_seconds: 600,
    departure_grace_seconds: 60, captcha: 'off',
  }, OPERATOR);
  assert.ok(queue.status === 200 || queue.status === 201, `queue: ${queue.text}`);
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(server); }
});

/** A fan over the API who is admitted and holds the only seat: `{ queue, hold }`. */
async function fanTakesTheSeat() {
  const joined = await api('POST', `/api/v1/queue/${EVENT}/join`, {}, { 'x-queue-token-in-body': '1' });
  assert.equal(joined.status, 201, `join: ${joined.text}`);
  const queue = { 'x-queue-token': joined.json.queue_token };
  // Admission happens on the server's tick; from outside there is nothing
  // to await but the status, so poll it a bounded number of times.
  let admission;
  for (let i = 0; i < 100 && !admission; i++) {
    const st = await api('GET', `/api/v1/queue/${EVENT}/status`, undefined, queue);
    admission = st.json && st.json.admission_token;
    if (!admission) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(admission, 'the first fan was admitted');
  const seats = await api('GET', `/api/v1/events/${EVENT}/seats`);
  const seat = seats.json.sections[0].rows[0].seats[0].id;
  const hold = await api('POST', `/api/v1/events/${EVENT}/holds`, { seats: [seat] },
    { ...queue, Authorization: `Bearer ${admission}` });
  assert.equal(hold.status, 201, `hold: ${hold.text}`);
  return { queue, hold: hold.json.hold_id };
}

test('a waitlisted fan sees their place, gets the seat that comes back and books it', { timeout: 180_000 }, async (t) => {
  const first = await fanTakesTheSeat();

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US', timezoneId: 'UTC' });
  t.after(() => closeWithin(context));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  collectCspViolations(page, errors);
  await context.route('https://js.stripe.com/**', (route) => route.abort());
  t.after(() => assert.deepEqual(errors.map(String), [], 'no script errors on the page'));

  // Sold out: the waiting room stays, and says so honestly.
  await page.goto(`${server.base}/queue/${EVENT}`);
  await page.waitForSelector('#waitlist:not([hidden])', { timeout: STEP });
  assert.equal(await text(page, '#title'), "Sold out – you're on the waitlist");
  assert.equal(await text(page, '#waitlist'),
    'Sold out — 0 people ahead of you on the waitlist; seats come back when others cancel.');
  assert.match(await text(page, '#banner'), /^Sold out\./);
  assert.equal(await text(page, '#eta'), 'when a seat comes back');
  assert.equal(await text(page, '#position'), '1');

  // The first fan gives the seat back: it is offered to the waitlisted fan.
  const released = await api('DELETE', `/api/v1/holds/${first.hold}`, undefined, first.queue);
  assert.ok(released.status < 300, `release: ${released.text}`);
  await page.waitForSelector('#turn', { state: 'visible', timeout: STEP });
  assert.equal(await text(page, '#title'), 'A seat came back for you');
  assert.match(await text(page, '#go-note'), /^Hold a seat before \d\d:\d\d( [AP]M)?, or the offer passes to the next person on the waitlist\./);

  // On to the seat map by itself, then hold, check out and pay.
  await page.waitForURL(`**/events/${EVENT}/book`, { timeout: STEP });
  const seat = page.locator('#map .seat[aria-disabled="false"]').first();
  await seat.waitFor({ timeout: STEP });
  await seat.click();
  await page.click('#hold');
  await page.waitForSelector('#held:not([hidden])', { timeout: STEP });
  await page.click('#checkout');
  await page.waitForURL('**/checkout.html?*', { timeout: STEP });
  await page.waitForSelector('#contact:not([hidden])', { timeout: STEP });
  await page.fill('#email', 'waitlisted@example.com');
  await page.click('#to-pay');
  await page.waitForSelector('#pay-dev:not([hidden])', { timeout: STEP });
  await page.fill('#card', '4242 4242 4242 4242');
  await page.click('#pay');
  await page.waitForURL('**/confirmation.html?*', { timeout: STEP });
  await page.waitForSelector('#order:not([hidden])', { timeout: STEP });
  assert.equal(await text(page, '#event'), 'One Seat Night');

  const seats = await api('GET', `/api/v1/events/${EVENT}/seats`);
  assert.equal(seats.json.sections[0].rows[0].seats[0].status, 'sold');
});
