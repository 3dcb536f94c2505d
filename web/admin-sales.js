// The dashboard's sales side: the selected event's details (edit, publish,
// cancel with its refund report), the sales tiles and the report table fed
// by the live feed, and the orders' CSV export. Loaded before admin.js,
// which calls `sales.setRole`, `sales.select` and `sales.feed`.
'use strict';

const sales = (() => {
  const { $: byId } = window.wrDom;
  const set = (id, text) => { byId(id).textContent = String(text); };

  /** The signed-in operator's role; viewers get no write controls. */
  let role = 'viewer';
  /** The selected event's id ('' when the list is empty). */
  let eventId = '';
  /** 'loading', 'found', 'missing' (a queue with no catalog entry) or 'error'. */
  let lookup = 'loading';
  /** The event record from the API, once found. */
  let record = null;
  /** The latest SalesSummary: undefined until known, null when there is none. */
  let summary;
  /** The last cancellation reason typed here, offered again for a retry. */
  let lastReason = '';

  const base = (id = eventId) => `/api/v1/admin/events/${encodeURIComponent(id)}`;
  const canWrite = () => role === 'owner' || role === 'operator';
  const { errorText } = wrApi;

  /**
   * A JSON call about the selected event (api.js: `{ok, status, json,
   * error}`), or null when another event was selected meanwhile (the
   * answer no longer applies).
   */
  async function call(path, method = 'GET', body) {
    const id = eventId;
    const r = await wrApi.call(method, base(id) + path, body);
    return id === eventId ? r : null;
  }

  /** Minor units as `1,234.50 EUR` or `1,500 JPY`: the currency's own decimals (format.js). */
  function money(minor, currency) {
    return `${wrFormat.amount(minor, currency, 'en')} ${currency.toUpperCase()}`;
  }

  /** `date` as a datetime-local input value, in the browser's time zone. */
  function localInput(date) {
    const p = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}`
      + `T${p(date.getHours())}:${p(date.getMinutes())}`;
  }

  function say(text, bad = false) {
    set('event-msg', text);
    byId('event-msg').classList.toggle('bad', bad);
  }

  /** Paid orders not yet refunded on a cancelled event: a refund failed. */
  const refundsOwed = () => summary && summary.orders.confirmed + summary.orders.refund_pending > 0;

  function renderEvent() {
    byId('event-missing').hidden = lookup !== 'missing';
    byId('event-details').hidden = !record;
    if (!record) return;
    set('ev-name', record.name);
    set('ev-status', record.status);
    const date = byId('ev-date');
    date.dateTime = record.starts_at;
    date.textContent = new Date(record.starts_at).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
    set('ev-venue', [record.venue_name, record.venue_city].filter(Boolean).join(', '));
    const write = canWrite();
    const cancelled = record.status === 'cancelled';
    byId('event-edit').hidden = !write || cancelled;
    byId('publish').hidden = !write || record.status !== 'draft';
    byId('cancel-sale').hidden = !write || cancelled;
    byId('retry-refunds').hidden = !write || !cancelled || !refundsOwed();
  }

  function renderSales() {
    const s = summary;
    byId('sales-none').hidden = s !== null;
    // The feed also sends null while the database does not answer.
    set('sales-none', lookup === 'found'
      ? 'Sales figures are unavailable right now.'
      : 'This queue has no catalog entry: no holds, orders or revenue.');
    byId('sales-tiles').hidden = s === null;
    byId('report-none').hidden = s !== null;
    byId('report-body').hidden = !s;
    if (!s) {
      for (const id of ['holds', 'held', 'orders', 'pending', 'revenue', 'refunded', 'sold', 'available', 'arrived', 'arrived-minute']) set(id, '–');
      set('gates', '');
      return;
    }
    const m = (v) => money(v, s.currency);
    set('holds', s.active_holds);
    set('held', s.held);
    set('orders', s.orders.confirmed);
    set('pending', s.orders.pending);
    set('revenue', m(s.revenue));
    set('refunded', m(s.refunded));
    set('sold', `${s.sold} / ${s.capacity}`);
    set('available', s.available);
    for (const k of ['capacity', 'sold', 'held', 'available']) set(`r-${k}`, s[k]);
    for (const k of ['confirmed', 'pending', 'failed', 'cancelled', 'refund_pending']) set(`r-${k}`, s.orders[k]);
    set('r-refunded-orders', s.orders.refunded);
    for (const k of ['refunds_refused', 'disputed']) set(`r-${k}`, s[k] ?? 0);
    renderCheckins(s.checkins);
    set('r-revenue', m(s.revenue));
    set('r-refunded', m(s.refunded));
    const now = new Date();
    byId('report-at').dateTime = now.toISOString();
    set('report-at', now.toLocaleTimeString());
  }

  /** Arrivals at the door: tile, gates line and report rows. */
  function renderCheckins(c) {
    const counts = c || { sold: 0, arrived: 0, by_gate: [], per_minute: [] };
    set('arrived', `${counts.arrived} / ${counts.sold}`);
    const minute = Math.floor(Date.now() / 60000) * 60000;
    const last = counts.per_minute.find((p) => Date.parse(p.minute) === minute);
    set('arrived-minute', last ? last.arrived : 0);
    set('gates', counts.by_gate.map((g) => `${g.gate}: ${g.arrived}`).join(' · '));
    set('r-tickets', counts.sold);
    set('r-arrived', counts.arrived);
    drawCheckins(counts.per_minute, minute);
  }

  /** The last hour's arrivals, one point a minute (minutes without any are 0). */
  function drawCheckins(perMinute, now) {
    const svg = byId('chart-checkins');
    if (!svg || !window.wrCharts) return;
    const byMinute = new Map(perMinute.map((p) => [Date.parse(p.minute), p.arrived]));
    const times = [];
    for (let t = now - 59 * 60_000; t <= now; t += 60_000) times.push(t);
    const values = times.map((t) => byMinute.get(t) || 0);
    wrCharts.draw(svg, times, [{ name: 'check-ins', values }], 'check-ins / min');
    svg.dataset.total = String(values.reduce((a, b) => a + b, 0));
  }

  function render() { renderEvent(); renderSales(); }

  /** Puts the event's current name and date into the edit form. */
  function fillForm() {
    byId('edit-name').value = record.name;
    byId('edit-starts').value = localInput(new Date(record.starts_at));
    byId('edit-category').value = record.category || 'other';
    byId('edit-city').value = record.city || '';
  }

  /** Loads the event record; `withSales` also takes the summary if the feed has not sent one. */
  async function load(withSales) {
    const res = await call('');
    if (!res) return;
    if (res.ok) {
      lookup = 'found';
      record = res.json.event;
      if (withSales && summary === undefined) summary = res.json.sales;
      fillForm();
    } else if (res.status === 404) {
      lookup = 'missing';
      record = null;
    } else {
      lookup = 'error';
      say(`Loading the event failed: ${errorText(res)}`, true);
    }
    render();
  }

  /** Shows what a cancellation (or a retry of its refunds) did. */
  function showReport(report) {
    set('cancel-report-title', report.newly_cancelled ? 'Sale cancelled' : 'Refunds retried');
    set('rep-refunded', report.refunded);
    set('rep-holds', report.holds_released);
    set('rep-pending', report.pending_cancelled);
    const failed = report.refund_failed;
    set('rep-failed', failed.length
      ? `${failed.length} refund(s) failed: ${failed.join(', ')}. Use “Retry refunds” to try them again.`
      : '');
    byId('cancel-report').hidden = false;
    byId('cancel-report-title').focus();
  }

  function openCancel() {
    const retry = record.status === 'cancelled';
    set('cancel-title', retry ? 'Retry the refunds?' : 'Cancel this sale?');
    set('cancel-name', record.name);
    set('cancel-id', record.id);
    byId('cancel-confirm').value = '';
    byId('cancel-reason').value = lastReason;
    set('cancel-error', '');
    byId('cancel-go').disabled = true;
    byId('cancel-dialog').showModal();
  }

  async function submitCancel(e) {
    // "Keep the sale" (and Enter, whose default button it is) just closes.
    if (!e.submitter || e.submitter.value !== 'cancel') return;
    e.preventDefault();
    const go = byId('cancel-go');
    go.disabled = true;
    set('cancel-error', '');
    lastReason = byId('cancel-reason').value.trim();
    const res = await call('/cancel', 'POST', { confirm: byId('cancel-confirm').value.trim(), reason: lastReason });
    go.disabled = false;
    if (!res) return;
    if (!res.ok) { set('cancel-error', errorText(res)); return; }
    byId('cancel-dialog').close();
    say('');
    showReport(res.json.report);
    await load(false);
  }

  function wire() {
    byId('event-edit').onsubmit = async (e) => {
      e.preventDefault();
      const body = {};
      const name = byId('edit-name').value.trim();
      if (name !== record.name) body.name = name;
      const starts = byId('edit-starts').value;
      if (starts && starts !== localInput(new Date(record.starts_at))) body.starts_at = new Date(starts).toISOString();
      const category = byId('edit-category').value;
      if (category !== record.category) body.category = category;
      const city = byId('edit-city').value.trim();
      if (city !== (record.city || '')) body.city = city;
      if (Object.keys(body).length === 0) { say('Nothing changed.'); return; }
      const res = await call('', 'PATCH', body);
      if (!res) return;
      if (!res.ok) { say(`Saving failed: ${errorText(res)}`, true); return; }
      record = res.json;
      fillForm();
      say('Saved.');
      render();
    };
    byId('publish').onclick = async () => {
      const res = await call('/publish', 'POST');
      if (!res) return;
      if (!res.ok) { say(`Publishing failed: ${errorText(res)}`, true); return; }
      record = res.json;
      say('Published: the event is on sale.');
      render();
    };
    byId('cancel-sale').onclick = openCancel;
    byId('retry-refunds').onclick = openCancel;
    byId('cancel-confirm').oninput = () => {
      byId('cancel-go').disabled = !record || byId('cancel-confirm').value.trim() !== record.id;
    };
    byId('cancel-form').onsubmit = submitCancel;
  }

  wire();
  return {
    /** Called once /me answers. */
    setRole(r) { role = r; render(); },
    /** Called when the operator picks an event (not on feed reconnects). */
    select(event) {
      eventId = event;
      lookup = 'loading';
      record = null;
      summary = undefined;
      say('');
      byId('cancel-report').hidden = true;
      byId('csv').href = `${base()}/orders.csv`;
      byId('checkins-csv').href = `${base()}/checkins.csv`;
      render();
      if (event) load(true);
    },
    /** The `sales` field of a live-feed message (null: no catalog entry). */
    feed(s) {
      summary = s;
      render();
    },
  };
})();
