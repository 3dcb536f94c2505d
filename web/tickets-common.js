// A fan's tickets as QR codes, for the confirmation and ticket pages.
// Text comes from the translation table (f.tickets.*); callers render
// once `wrI18n.ready` has resolved.
'use strict';
window.wr = window.wr || {};
(() => {
  const t = (key, vars) => wrI18n.t(key, vars);
  const el = (tag, props = {}, ...kids) => {
    const e = Object.assign(document.createElement(tag), props);
    e.append(...kids);
    return e;
  };
  const api = (ticket, file) => '/api/v1/tickets/' + encodeURIComponent(ticket.id) + '/' + file;
  const status = (s) => ({ valid: t('f.tickets.valid'), used: t('f.tickets.used'), revoked: t('f.tickets.revoked') })[s] || s;

  /** One ticket: QR image (unless revoked), seat, reference, status, links. */
  function ticketItem(ticket, withOpen) {
    const li = el('li', { className: 'ticket ticket-' + ticket.status });
    const reference = ticket.reference;
    if (ticket.status !== 'revoked') {
      li.append(el('img', { src: api(ticket, 'qr.svg'), alt: t('f.tickets.alt', { reference }), width: 240, height: 240, className: 'qr' }));
    }
    // The reference stays in its own element (staff read it out at the door).
    const [before, after] = t('f.tickets.ticket', { reference: '\u0000' }).split('\u0000');
    li.append(
      el('p', { className: 'ticket-seat', textContent: ticket.seat }),
      el('p', { className: 'ticket-line' }, before || '', el('strong', { className: 'ticket-ref', textContent: reference }), after || ''),
      el('p', { className: 'ticket-status', textContent: status(ticket.status) }),
    );
    if (ticket.status !== 'revoked') {
      const links = el('p', { className: 'links' });
      if (withOpen) links.append(el('a', { href: '/ticket.html?id=' + encodeURIComponent(ticket.id), textContent: t('f.tickets.open') }), ' · ');
      links.append(
        el('a', { href: api(ticket, 'ticket.pdf'), download: reference + '.pdf', textContent: t('f.tickets.pdf') }), ' · ',
        el('a', { href: api(ticket, 'qr.png'), download: reference + '.png', textContent: t('f.tickets.png') }), ' · ',
        el('a', { href: api(ticket, 'qr.svg'), download: reference + '.svg', textContent: t('f.tickets.svg') }),
      );
      li.append(links);
    }
    return li;
  }

  /** Fills `list` with `tickets` and shows `block` when there are any. */
  window.wr.renderTickets = (block, title, list, tickets, withOpen = true) => {
    title.textContent = t('f.tickets.title');
    list.replaceChildren(...tickets.map((ticket) => ticketItem(ticket, withOpen)));
    if (!block.querySelector('.tickets-hint')) list.before(el('p', { className: 'hint tickets-hint', textContent: t('f.tickets.hint') }));
    block.hidden = tickets.length === 0;
  };
})();
