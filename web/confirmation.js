// Confirmation page (/confirmation.html?order=…): polls the order until the
// payment is settled, then shows the booking reference, event, tickets and
// total. The order is visible to the browser session that checked it out.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const q = new URLSearchParams(location.search);
  const orderId = q.get('order') || '';
  const FAST_MS = 1000;
  const PATIENCE = 30; // fast polls before saying it takes longer
  let polls = 0;

  const { money } = wr;

  async function get(path) {
    try {
      const res = await fetch('/api/v1/' + path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      return { status: res.status, json: await res.json().catch(() => null) };
    } catch (e) { return { status: 0, json: null }; }
  }

  function title(text) {
    $('title').textContent = text;
    document.title = text;
    $('title').focus();
  }

  function problem(head, text) {
    $('wait').hidden = true;
    $('order').hidden = true;
    $('problem').hidden = false;
    $('problem-text').textContent = text;
    title(head);
  }

  const STATUS = {
    failed: ['Payment not completed', 'The payment did not go through, so nothing was booked and you were not charged.'],
    refund_pending: ['Payment refunded', 'Your payment arrived after the hold ran out and the seats were gone, so we are refunding it in full.'],
    refunded: ['Payment refunded', 'This booking was refunded in full.'],
    cancelled: ['Booking cancelled', 'This booking was cancelled.'],
  };

  function render(o) {
    $('wait').hidden = true;
    $('order').hidden = false;
    $('reference').textContent = o.reference;
    $('event').textContent = o.event_name;
    $('lines').replaceChildren(...o.lines.map((l) => {
      const li = document.createElement('li');
      const what = l.description + (l.quantity > 1 ? ' × ' + l.quantity : '');
      for (const t of [what, money(l.unit_price * l.quantity, o.currency)]) li.append(Object.assign(document.createElement('span'), { textContent: t }));
      return li;
    }));
    $('total').textContent = money(o.total, o.currency);
    wr.renderTickets($('tickets-block'), $('tickets-title'), $('tickets'), o.tickets || []);
    const st = STATUS[o.status];
    if (o.status === 'confirmed') {
      $('status-text').textContent = 'Your order is confirmed. Show this reference at the door.';
      $('email-note').textContent = 'We emailed your tickets to ' + o.email + '.';
      title('You’re going!');
      try { sessionStorage.removeItem('wr_hold_' + o.event_id); } catch (e) { /* storage off */ }
    } else {
      $('status-text').textContent = st ? st[1] : 'Status: ' + o.status + '.';
      title(st ? st[0] : 'Your booking');
    }
    get('events/' + encodeURIComponent(o.event_id)).then((r) => {
      if (r.status !== 200) return;
      $('when').textContent = new Date(r.json.starts_at).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
      $('where').textContent = [r.json.venue_name, r.json.venue_city].filter(Boolean).join(', ');
      $('when-row').hidden = false;
      $('where-row').hidden = !$('where').textContent;
    });
  }

  async function poll() {
    const r = await get('orders/' + encodeURIComponent(orderId));
    polls += 1;
    if (r.status === 404) {
      problem('Booking not found', 'This browser cannot show that booking. If you paid, your confirmation email has the details.');
      return;
    }
    if (r.status === 200 && r.json.status !== 'pending') { render(r.json); return; }
    $('bar').style.width = Math.min(95, polls * 100 / PATIENCE) + '%';
    if (polls === PATIENCE) $('wait-text').textContent = 'The payment is taking longer than usual. You can keep this page open; we also email you once it is confirmed.';
    setTimeout(poll, polls < PATIENCE ? FAST_MS : 10000);
  }

  if (!/^[A-Za-z0-9_-]{1,100}$/.test(orderId)) problem('No booking', 'This link is missing its booking.');
  else poll();
})();
