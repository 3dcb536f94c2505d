// Home page: the published events that have not started and whose sale has
// not ended, each with its waiting room's state, from the public APIs
// (GET /api/v1/events, GET /api/v1/queue/{event}), narrowed by the filter
// form (category, city, dates, prices, text) and sorted as the fan asks.
// The filters live in the address (?q=…&category=…) so a search can be
// shared and survives a reload. Names are operator text: always
// textContent, never markup.
'use strict';
(() => {
  const { $ } = window.wrDom;
  const { t } = wrI18n;
  const MAX = 50;
  const soon = (when) => wrI18n.date(when, { dateStyle: 'medium', timeStyle: 'short' });

  const el = (tag, className, text) => {
    const n = document.createElement(tag);
    if (className) n.className = className;
    if (text != null) n.textContent = text;
    return n;
  };

  const json = async (path) => {
    const r = await wrApi.get(path);
    return { status: r.status, body: r.json };
  };

  // The room's state in words (`room` is null when the event has no waiting room).
  function roomText(room) {
    if (!room) return t('h.room.none');
    switch (room.state) {
      case 'open': return t('h.room.open', { n: room.waiting });
      case 'prequeue': return room.opens_at ? t('h.room.prequeue_at', { time: soon(room.opens_at) }) : t('h.room.prequeue');
      case 'scheduled': return room.prequeue_at || room.opens_at
        ? t('h.room.scheduled_at', { time: soon(room.prequeue_at || room.opens_at) }) : t('h.room.scheduled');
      case 'paused': return t('h.room.paused', { n: room.waiting });
      case 'draining': return t('h.room.draining');
      default: return t('h.room.closed');
    }
  }

  function saleText(ev, now) {
    const opens = Date.parse(ev.sale_starts_at || '');
    if (opens > now) return t('h.sale.opens', { time: soon(opens) });
    return t('h.sale.on');
  }

  function item(ev, room, now) {
    const li = el('li', 'event');
    const link = el('a', 'event-name', ev.name);
    link.href = '/queue/' + encodeURIComponent(ev.id);
    const where = [ev.venue_name, ev.city || ev.venue_city].filter(Boolean).join(', ');
    const kind = ev.category && ev.category !== 'other' ? t('h.cat.' + ev.category) : '';
    const price = ev.price_from > 0 ? t('h.price_from', { price: wrI18n.money(ev.price_from, ev.currency) }) : '';
    const head = el('h3');
    head.append(link);
    li.append(head, el('p', 'meta', [wrI18n.date(ev.starts_at, { dateStyle: 'full', timeStyle: 'short' }), where].filter(Boolean).join(' · ')),
      el('p', 'meta', [kind, price].filter(Boolean).join(' · ')),
      el('p', 'state', saleText(ev, now) + ' · ' + roomText(room)));
    li.dataset.event = ev.id;
    li.dataset.state = room ? room.state : 'none';
    return li;
  }

  // Prices are typed in major units of the listed events' currency and
  // sent in minor units, as the API takes them.
  let currency = 'usd';
  const FIELDS = ['q', 'category', 'city', 'from', 'to', 'min', 'max', 'sort'];
  const form = () => $('filters');

  function toMinor(raw) {
    if (raw === '') return null;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) return NaN;
    return Math.round(n * 10 ** wrFormat.digits(currency));
  }

  // The API query of the form's values, or null (and the reason shown)
  // when a value cannot be sent.
  function query(now) {
    const f = form().elements;
    const p = new URLSearchParams({ limit: String(MAX) });
    for (const k of ['q', 'category', 'city']) if (f[k].value.trim()) p.set(k, f[k].value.trim());
    if (f.sort.value !== 'date') p.set('sort', f.sort.value);
    // Past events are never listed: a start date before today means today.
    const from = f.from.value ? Math.max(Date.parse(f.from.value + 'T00:00:00'), now) : now;
    p.set('from', new Date(from).toISOString());
    if (f.to.value) {
      const end = new Date(f.to.value + 'T00:00:00');
      end.setDate(end.getDate() + 1); // the whole "to" day
      if (end.getTime() <= from) return { error: t('h.f.bad_dates') };
      p.set('to', end.toISOString());
    }
    const min = toMinor(f.min.value), max = toMinor(f.max.value);
    if (Number.isNaN(min) || Number.isNaN(max)) return { error: t('h.f.bad_price') };
    if (min != null && max != null && min > max) return { error: t('h.f.bad_prices') };
    if (min != null) p.set('min_price', String(min));
    if (max != null) p.set('max_price', String(max));
    return { params: p };
  }

  function fillForm() {
    const url = new URLSearchParams(location.search);
    const f = form().elements;
    for (const k of FIELDS) if (url.has(k) && f[k]) f[k].value = url.get(k);
  }

  function remember() {
    const f = form().elements;
    const url = new URLSearchParams(location.search);
    for (const k of FIELDS) {
      const v = f[k].value.trim();
      if (v && !(k === 'sort' && v === 'date')) url.set(k, v); else url.delete(k);
    }
    const qs = url.toString();
    history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
  }

  const filtered = () => FIELDS.some((k) => k !== 'sort' && form().elements[k].value.trim());

  let shown = 0;
  let next = null;
  let generation = 0;

  async function load(more) {
    const mine = ++generation;
    const now = Date.now();
    const q = query(now);
    const err = $('filters-error');
    err.hidden = !q.error;
    err.textContent = q.error || '';
    if (q.error) return;
    if (more && next) q.params.set('cursor', next);
    if (!more) { shown = 0; $('events-status').textContent = t('h.loading'); }
    $('events').setAttribute('aria-busy', 'true');
    const list = await json('/api/v1/events?' + q.params.toString());
    if (mine !== generation) return; // a newer search replaced this one
    $('events').removeAttribute('aria-busy');
    if (list.status !== 200 || !list.body) { $('events-status').textContent = t('h.failed'); return; }
    next = list.body.next_cursor;
    $('more').hidden = !next;
    const events = list.body.events.filter((ev) => !(Date.parse(ev.sale_ends_at || '') <= now));
    if (events.length) currency = events[0].currency || currency;
    const rooms = await Promise.all(events.map((ev) => json('/api/v1/queue/' + encodeURIComponent(ev.id))));
    if (mine !== generation) return;
    const items = events.map((ev, n) => item(ev, rooms[n].status === 200 ? rooms[n].body : null, now));
    if (more) $('events').append(...items); else $('events').replaceChildren(...items);
    shown += events.length;
    $('events-status').textContent = shown ? t('h.count', { n: shown })
      : t(filtered() ? 'h.none_match' : 'h.none');
  }

  wrI18n.ready.then(() => {
    fillForm();
    form().addEventListener('submit', (e) => { e.preventDefault(); remember(); load(false); });
    // After the browser has cleared the fields.
    form().addEventListener('reset', () => setTimeout(() => { remember(); load(false); }));
    $('more').addEventListener('click', () => load(true));
    load(false);
  });
})();
