// Confirmation page (/confirmation.html?order=…): polls the order until the
// payment is settled, then shows the booking reference, event, tickets and
// total. The order is visible to the browser session that checked it out.
'use strict';
(() => {
  const { $ } = window.wrDom;
  const q = new URLSearchParams(location.search);
  const orderId = q.get('order') || '';
  const FAST_MS = 1000;
  const PATIENCE = 30; // fast polls before saying it takes longer
  let polls = 0;

  const { money } = wr;
  const { t } = wrI18n;

  const get = (path) => wrApi.get('/api/v1/' + path);

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

  const STATUS = ['failed', 'refund_pending', 'refunded', 'cancelled']; // f.status.<status>.head and .text

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
    const st = STATUS.includes(o.status) ? 'f.status.' + o.status : null;
    if (o.status === 'confirmed') {
      $('status-text').textContent = t('f.confirmed');
      $('email-note').textContent = t('f.emailed', { email: o.email });
      title(t('f.going'));
      try { sessionStorage.removeItem('wr_hold_' + o.event_id); } catch (e) { /* storage off */ }
    } else {
      $('status-text').textContent = st ? t(st + '.text') : t('f.status_other', { status: o.status });
      title(st ? t(st + '.head') : t('f.your_booking'));
    }
    get('events/' + encodeURIComponent(o.event_id)).then((r) => {
      if (r.status !== 200) return;
      $('when').textContent = wrI18n.date(r.json.starts_at, { dateStyle: 'full', timeStyle: 'short' });
      $('where').textContent = [r.json.venue_name, r.json.venue_city].filter(Boolean).join(', ');
      $('when-row').hidden = false;
      $('where-row').hidden = !$('where').textContent;
    });
  }

  async function poll() {
    const r = await get('orders/' + encodeURIComponent(orderId));
    polls += 1;
    if (r.status === 404) {
      problem(t('f.not_found.head'), t('f.not_found.text'));
      return;
    }
    if (r.status === 200 && r.json.status !== 'pending') { render(r.json); return; }
    $('bar').style.width = Math.min(95, polls * 100 / PATIENCE) + '%';
    if (polls === PATIENCE) $('wait-text').textContent = t('f.slow');
    setTimeout(poll, polls < PATIENCE ? FAST_MS : 10000);
  }

  wrI18n.ready.then(() => {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(orderId)) problem(t('f.none.head'), t('f.none.text'));
    else poll();
  });
})();
