// The sale report: the persisted per-minute figures of any range of a sale
// (GET /api/v1/admin/events/{event}/analytics), its summary and charts, and
// the same range as CSV. Ranges are entered in the operator's time zone;
// the UTC range is shown beside them. Uses the dashboard's session cookie.
'use strict';
(function () {
  const { $ } = window.wrDom;
  const { say, localInput, utc } = wrAdmin;
  const set = (id, text) => { $(id).textContent = text; };
  const num = (v) => new Intl.NumberFormat().format(v);
  const pct = (r) => (r === null || r === undefined ? '–'
    : new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 }).format(r));
  const secs = (s) => {
    if (s === null || s === undefined) return '–';
    if (s < 90) return `${s} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  };

  /** A datetime-local value (the browser's time zone) as ms, or null. */
  function fromInput(value) {
    if (!value) return null;
    const t = new Date(value).getTime();
    return Number.isFinite(t) ? t : null;
  }

  /** The answer's JSON; throws with the error's message (admin-common.js, api.js). */
  async function get(path) {
    const r = await wrAdmin.call('GET', path);
    if (r.status === 401) throw new Error('signed out');
    if (!r.ok) throw new Error(wrApi.errorText(r));
    return r.json;
  }

  function query(from, to) {
    const q = new URLSearchParams();
    if (from !== null) q.set('from', String(from));
    if (to !== null) q.set('to', String(to));
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  function showSummary(a) {
    const s = a.summary;
    const w = a.waits;
    set('s-joins', num(s.joins));
    set('s-admitted', num(s.admitted));
    set('s-abandoned', num(s.abandoned));
    set('s-abandonment', pct(s.abandonment_rate));
    set('s-p50', secs(w.p50));
    set('s-p90', secs(w.p90));
    set('s-p99', secs(w.p99));
    set('s-holders', num(s.holders));
    set('s-hold-rate', pct(s.hold_rate));
    set('s-buyers', num(s.buyers));
    set('s-pay-rate', pct(s.pay_rate));
    set('s-conversion', pct(s.conversion));
    set('s-revenue', a.currency ? wrFormat.money(s.revenue, a.currency) : '–');
    set('s-peak', num(s.peak_waiting));
    for (const k of ['departed', 'returned', 'rate_limited', 'captcha_failed', 'holds', 'orders']) {
      set(`t-${k}`, num(s[k]));
    }
    set('t-waits', w.unknown ? `${num(w.count)} (${num(w.unknown)} joined before this service watched)` : num(w.count));
  }

  function showCharts(a) {
    const m = a.minutes;
    const t = m.map((x) => x.t);
    const col = (k) => m.map((x) => (x[k] === undefined ? null : x[k]));
    const draw = wrCharts.draw;
    draw($('c-flow'), t, [
      { name: 'joins', values: col('joins') },
      { name: 'admitted', values: col('admitted') },
      { name: 'departed', values: col('departed') },
    ], 'fans per minute');
    draw($('c-length'), t, [
      { name: 'waiting', values: col('waiting') },
      { name: 'active sessions', values: col('active') },
    ], 'fans');
    draw($('c-wait'), t, [
      { name: 'median', values: col('wait_p50') },
      { name: '90th percentile', values: col('wait_p90') },
    ], 'seconds');
    draw($('c-rejections'), t, [
      { name: 'rate-limited', values: col('rate_limited') },
      { name: 'failed CAPTCHA', values: col('captcha_failed') },
    ], 'requests per minute');
    draw($('c-sales'), t, [
      { name: 'holds', values: col('holds') },
      { name: 'orders', values: col('orders') },
    ], 'per minute');
    const cur = a.currency || 'usd';
    const major = (v) => v / 10 ** wrFormat.digits(cur);
    draw($('c-revenue'), t, [{ name: 'revenue', values: m.map((x) => major(x.revenue)) }],
      `${cur.toUpperCase()} per minute`, { fractional: true });
  }

  async function show(event, from, to) {
    if (!event) return;
    say('Loading…');
    let a;
    try {
      a = await get(`/api/v1/admin/events/${encodeURIComponent(event)}/analytics${query(from, to)}`);
    } catch (e) {
      say(e.message, true);
      return;
    }
    if (a.minutes.length === 0) {
      say('No figures recorded for this range yet.');
    } else {
      say(`${num(a.minutes.length)} minutes with figures.`);
    }
    if (a.from || a.to) {
      $('from').value = localInput(a.from);
      $('to').value = localInput(a.to);
      set('range-utc', `${utc(a.from)} – ${utc(a.to)}`);
    }
    $('csv').href = `/api/v1/admin/events/${encodeURIComponent(event)}/analytics.csv${query(from, to)}`;
    $('report').hidden = false;
    showSummary(a);
    showCharts(a);
    const url = new URL(location.href);
    url.searchParams.set('event', event);
    history.replaceState(null, '', url);
  }

  async function start() {
    wrAdmin.showZone();
    let events;
    try {
      events = await get('/api/v1/admin/events');
    } catch (e) {
      say(e.message, true);
      return;
    }
    const select = $('event');
    wrAdmin.pickEvent(select, events);
    $('range').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const from = fromInput($('from').value);
      const to = fromInput($('to').value);
      if (from !== null && to !== null && to < from) {
        say('"To" must not be before "From".', true);
        return;
      }
      show(select.value, from, to);
    });
    $('whole').addEventListener('click', () => show(select.value, null, null));
    select.addEventListener('change', () => show(select.value, null, null));
    show(select.value, null, null);
  }

  start();
}());
