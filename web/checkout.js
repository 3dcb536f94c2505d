// Checkout page (/checkout.html?hold=…&event=…): shows the held seats with
// their countdown, takes the email, starts payment and runs the provider's
// form: the dev provider's simulated card, or Stripe Elements (loaded from
// js.stripe.com only when the server hands out a publishable key).
'use strict';
(() => {
  const { $ } = window.wrDom;
  const q = new URLSearchParams(location.search);
  const holdId = q.get('hold') || '';
  let event = q.get('event') || '';
  const s = { hold: null, skew: 0, tick: 0, order: null, busy: false, checking: false };
  const store = {
    get: (k) => { try { return sessionStorage.getItem(k); } catch (e) { return null; } },
    set: (k, v) => { try { sessionStorage.setItem(k, v); } catch (e) { /* storage off */ } },
  };

  const { money, clock } = wr;
  const { t } = wrI18n;
  const li = (a, b) => {
    const n = document.createElement('li');
    for (const t of [a, b]) n.append(Object.assign(document.createElement('span'), { textContent: t }));
    return n;
  };

  /** An API call (api.js): `path` from the root, or under /api/v1; counts down on the server's clock. */
  async function call(method, path, body) {
    const r = await wrApi.call(method, path.startsWith('/') ? path : '/api/v1/' + path, body);
    const skew = wrApi.skew(r);
    if (skew !== null) s.skew = skew;
    return r;
  }

  function alertMsg(text) {
    $('alert').hidden = !text;
    $('alert').textContent = text || '';
    if (text) $('alert').focus();
  }

  function show(ids, title) {
    for (const id of ['summary', 'contact', 'pay-dev', 'pay-stripe', 'done']) $(id).hidden = !ids.includes(id);
    if (title) {
      $('title').textContent = title;
      document.title = title;
      $('title').focus();
    }
  }

  function finish(title, text, link) {
    clearInterval(s.tick);
    $('alert').hidden = true;
    show(['done'], title);
    $('done-text').textContent = text;
    $('done-link').href = link[0];
    $('done-link').textContent = link[1];
  }

  const queueLink = () => ['/queue/' + encodeURIComponent(event), t('common.back_to_queue')];
  const toConfirmation = (order) => location.assign('/confirmation.html?order=' + encodeURIComponent(order) + '&event=' + encodeURIComponent(event));

  function holdGone(h) {
    if (h && h.status === 'completed' && store.get('wr_order_' + event)) return toConfirmation(store.get('wr_order_' + event));
    const paid = h && h.status === 'completed';
    finish(t(paid ? 'c.paid.head' : 'c.ended.head'), t(paid ? 'c.paid.text' : 'c.ended.text'), queueLink());
  }

  function ticker() {
    clearInterval(s.tick);
    const step = async () => {
      const left = Date.parse(s.hold.expires_at) - (Date.now() + s.skew);
      $('countdown').textContent = clock(left);
      if (left > 0 || s.checking) return;
      s.checking = true; // time is up here: ask the server before giving up
      const r = await call('GET', 'holds/' + encodeURIComponent(holdId));
      s.checking = false;
      if (r.status === 200 && r.json.status === 'active' && Date.parse(r.json.expires_at) > Date.now() + s.skew) s.hold = r.json;
      else if (r.status !== 0) holdGone(r.json);
    };
    step();
    s.tick = setInterval(step, 1000);
  }

  // ---- email, then the payment form ---------------------------------------
  const EMAIL = /^[^\s@]+@[^\s@.][^\s@]*\.[^\s@]*[^\s@.]$/;
  function fieldError(input, errId, text) {
    input.setAttribute('aria-invalid', text ? 'true' : 'false');
    $(errId).hidden = !text;
    $(errId).textContent = text || '';
    if (text) input.focus();
  }

  async function startCheckout(e) {
    e.preventDefault();
    if (s.busy) return;
    const email = $('email').value.trim();
    if (!EMAIL.test(email)) { fieldError($('email'), 'email-err', t('c.email_bad')); return; }
    fieldError($('email'), 'email-err', '');
    s.busy = true;
    $('to-pay').disabled = true;
    const r = await call('POST', 'holds/' + encodeURIComponent(holdId) + '/checkout', { email, lang: wrI18n.lang }); // the order's emails in the page's language
    s.busy = false;
    $('to-pay').disabled = false;
    if (r.status === 200 || r.status === 201) {
      payWith(r.json, email);
      if (r.json.last_decline) declined(r.json.last_decline);
      return;
    }
    if (r.error.code === 'payment_declined') { declined(r.error); return; }
    if (r.error.field === 'email') fieldError($('email'), 'email-err', t('c.email_wrong', { why: r.error.message }));
    else if (r.error.code === 'hold_not_active' || r.status === 404) holdGone(null);
    else alertMsg(r.error.message);
  }

  function payWith(c, email) {
    s.order = c.order_id;
    store.set('wr_order_' + event, c.order_id);
    alertMsg('');
    const price = t('c.pay_amount', { amount: money(c.total, c.currency) });
    if (c.provider === 'dev' && c.confirm_url) {
      // Same origin as this page: the server's idea of its own address
      // (public_base_url) may differ from how the fan reached it.
      let u;
      try { u = new URL(c.confirm_url, location.href); } catch (x) { u = null; }
      s.confirm = u ? u.pathname + u.search : c.confirm_url;
      $('pay').textContent = price;
      show(['summary', 'pay-dev'], t('c.payment'));
      return;
    }
    show(['summary', 'pay-stripe'], t('c.payment'));
    const pay = $('stripe-pay');
    pay.textContent = price;
    if (!(c.publishable_key && c.client_secret)) {
      $('stripe-note').textContent = t('c.stripe_missing');
      pay.hidden = true;
      return;
    }
    $('stripe-note').textContent = t('c.stripe_note');
    pay.disabled = true;
    const sc = document.createElement('script');
    sc.src = 'https://js.stripe.com/v3';
    sc.onerror = () => alertMsg(t('c.stripe_failed'));
    sc.onload = () => {
      const stripe = window.Stripe(c.publishable_key);
      const card = stripe.elements().create('card');
      card.mount('#stripe-card');
      pay.disabled = false;
      $('pay-stripe').onsubmit = async (e) => {
        e.preventDefault();
        pay.disabled = true;
        const r = await stripe.confirmCardPayment(c.client_secret, { payment_method: { card, billing_details: { email } } });
        pay.disabled = false;
        if (r.error && r.error.type === 'card_error') declined(r.error);
        else if (r.error) alertMsg(r.error.message || t('c.not_through'));
        else toConfirmation(c.order_id);
      };
    };
    document.head.append(sc);
  }

  function luhn(d) {
    let sum = 0;
    for (let i = 0; i < d.length; i += 1) {
      let n = Number(d[d.length - 1 - i]);
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return sum % 10 === 0;
  }

  // A decline is one failed attempt, as on Stripe: the order stays payable
  // and the seats stay held until the countdown ends, so the fan can try
  // another card.
  function declined(err) {
    const why = err.message || t('c.declined');
    alertMsg(t('c.declined_retry', { why }));
    $('announce').textContent = t('c.say_declined', { why });
  }

  async function payDev(e) {
    e.preventDefault();
    if (s.busy) return;
    const digits = $('card').value.replace(/[\s-]/g, '');
    if (!/^\d{12,19}$/.test(digits) || !luhn(digits)) { fieldError($('card'), 'card-err', t('c.card_bad')); return; }
    fieldError($('card'), 'card-err', '');
    s.busy = true;
    $('pay').disabled = true;
    const label = $('pay').textContent;
    $('pay').textContent = t('c.paying');
    // The server decides, as Stripe does with its test cards.
    const r = await call('POST', s.confirm, { card: digits });
    s.busy = false;
    $('pay').disabled = false;
    $('pay').textContent = label;
    if (r.status === 200 && r.json.status === 'confirmed') {
      toConfirmation(r.json.order_id || s.order);
    } else if (r.status === 200) {
      finish(t('c.incomplete.head'), t('c.incomplete.text', { status: r.json.status }), queueLink());
    } else if (r.error.code === 'payment_declined') {
      $('card').value = '';
      declined(r.error);
      $('card').focus();
    } else {
      alertMsg(r.error.message);
    }
  }

  $('contact').onsubmit = startCheckout;
  $('pay-dev').onsubmit = payDev;
  $('email').value = store.get('wr_email') || '';
  $('email').addEventListener('change', () => store.set('wr_email', $('email').value.trim()));

  // ---- start ---------------------------------------------------------------
  wrI18n.ready.then(async () => {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(holdId)) { finish(t('c.nothing.head'), t('c.nothing.text'), ['/', t('common.home')]); return; }
    const r = await call('GET', 'holds/' + encodeURIComponent(holdId));
    if (r.status === 200) event = r.json.event || event;
    if (r.status === 403 || r.status === 404) {
      finish(t('c.not_found.head'), t('c.not_found.text'), event ? queueLink() : ['/', t('common.home')]);
      return;
    }
    if (r.status !== 200) { finish(t('c.load_failed'), r.error.message, [location.href, t('q.try_again')]); return; }
    const h = r.json;
    if (h.status !== 'active') { holdGone(h); return; }
    s.hold = h;
    const E = encodeURIComponent(event);
    const [ev, map] = await Promise.all([call('GET', 'events/' + E), call('GET', 'events/' + E + '/seats')]);
    const labels = new Map();
    if (map.status === 200) {
      for (const sec of map.json.sections) for (const row of sec.rows || []) for (const seat of row.seats) labels.set(seat.id, wr.seatLabel(sec.name, row.label, seat.number));
    }
    const lines = h.seats.map((x) => li(labels.get(x.id) || t('common.seat_id', { id: String(x.id) }), money(x.price, h.currency)));
    if (h.quantity) lines.push(li(t('common.standing', { n: h.quantity }), money(h.total, h.currency)));
    $('lines').replaceChildren(...lines);
    $('total').textContent = money(h.total, h.currency);
    if (ev.status === 200) $('meta').textContent = ev.json.name + ' · ' + wrI18n.date(ev.json.starts_at, { dateStyle: 'medium', timeStyle: 'short' });
    $('back').href = '/events/' + E + '/book';
    show(['summary', 'contact'], t('c.checkout'));
    ticker();
  });
})();
