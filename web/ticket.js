// Ticket page (/ticket.html?id=…): one ticket's QR code, seat and
// reference, with downloads. The ticket id in the link is the key to it.
'use strict';
(() => {
  const TEXT = {
    missing: 'This link is missing its ticket.',
    notFound: 'This ticket does not exist. Your confirmation email has the right link.',
    offline: 'Cannot reach the server; try again in a moment.',
  };
  const $ = (id) => document.getElementById(id);
  const id = new URLSearchParams(location.search).get('id') || '';
  const problem = (text) => { $('problem').textContent = text; $('problem').hidden = false; };

  async function load() {
    let res;
    try {
      res = await fetch('/api/v1/tickets/' + encodeURIComponent(id), { headers: { Accept: 'application/json' } });
    } catch (e) { problem(TEXT.offline); return; }
    if (res.status !== 200) { problem(TEXT.notFound); return; }
    const t = await res.json();
    wr.renderTickets($('tickets-block'), $('tickets-title'), $('tickets'), [t], false);
    $('tickets-title').focus();
  }

  if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) problem(TEXT.missing);
  else load();
})();
