// Home page: the published events that have not started and whose sale has
// not ended, each with its waiting room's state, from the public APIs
// (GET /api/v1/events, GET /api/v1/queue/{event}). Names are operator text:
// always textContent, never markup.
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
    const where = [ev.venue_name, ev.venue_city].filter(Boolean).join(', ');
    const head = el('h3');
    head.append(link);
    li.append(head, el('p', 'meta', [wrI18n.date(ev.starts_at, { dateStyle: 'full', timeStyle: 'short' }), where].filter(Boolean).join(' · ')),
      el('p', 'state', saleText(ev, now) + ' · ' + roomText(room)));
    li.dataset.event = ev.id;
    li.dataset.state = room ? room.state : 'none';
    return li;
  }

  wrI18n.ready.then(async () => {
    const now = Date.now();
    const list = await json('/api/v1/events?limit=' + MAX + '&from=' + encodeURIComponent(new Date(now).toISOString()));
    if (list.status !== 200 || !list.body) { $('events-status').textContent = t('h.failed'); return; }
    const events = list.body.events.filter((ev) => !(Date.parse(ev.sale_ends_at || '') <= now));
    if (!events.length) { $('events-status').textContent = t('h.none'); return; }
    const rooms = await Promise.all(events.map((ev) => json('/api/v1/queue/' + encodeURIComponent(ev.id))));
    $('events').replaceChildren(...events.map((ev, n) => item(ev, rooms[n].status === 200 ? rooms[n].body : null, now)));
    $('events-status').textContent = t('h.count', { n: events.length });
  });
})();
