// A fan's tickets as QR codes, for the confirmation and ticket pages.
// Every string the fan reads is in TEXT, ready for a translation table.
'use strict';
window.wr = window.wr || {};
(() => {
  const TEXT = {
    title: 'Your tickets',
    hint: 'Show the QR code at the door; the reference works too.',
    reference: 'Ticket',
    open: 'Open ticket',
    png: 'Download PNG',
    svg: 'Download SVG',
    alt: 'QR code of ticket',
    status: { valid: 'Valid', used: 'Used', revoked: 'No longer valid' },
  };
  const el = (tag, props = {}, ...kids) => {
    const e = Object.assign(document.createElement(tag), props);
    e.append(...kids);
    return e;
  };
  const api = (t, file) => '/api/v1/tickets/' + encodeURIComponent(t.id) + '/' + file;

  /** One ticket: QR image (unless revoked), seat, reference, status, links. */
  function ticketItem(t, withOpen) {
    const li = el('li', { className: 'ticket ticket-' + t.status });
    if (t.status !== 'revoked') {
      li.append(el('img', { src: api(t, 'qr.svg'), alt: TEXT.alt + ' ' + t.reference, width: 240, height: 240, className: 'qr' }));
    }
    li.append(
      el('p', { className: 'ticket-seat', textContent: t.seat }),
      el('p', { className: 'ticket-line' }, TEXT.reference + ' ', el('strong', { className: 'ticket-ref', textContent: t.reference })),
      el('p', { className: 'ticket-status', textContent: TEXT.status[t.status] || t.status }),
    );
    if (t.status !== 'revoked') {
      const links = el('p', { className: 'links' });
      if (withOpen) links.append(el('a', { href: '/ticket.html?id=' + encodeURIComponent(t.id), textContent: TEXT.open }), ' · ');
      links.append(
        el('a', { href: api(t, 'qr.png'), download: t.reference + '.png', textContent: TEXT.png }), ' · ',
        el('a', { href: api(t, 'qr.svg'), download: t.reference + '.svg', textContent: TEXT.svg }),
      );
      li.append(links);
    }
    return li;
  }

  /** Fills `list` with `tickets` and shows `block` when there are any. */
  window.wr.renderTickets = (block, title, list, tickets, withOpen = true) => {
    title.textContent = TEXT.title;
    list.replaceChildren(...tickets.map((t) => ticketItem(t, withOpen)));
    if (!block.querySelector('.tickets-hint')) list.before(el('p', { className: 'hint tickets-hint', textContent: TEXT.hint }));
    block.hidden = tickets.length === 0;
  };
})();
