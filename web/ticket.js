// Ticket page (/ticket.html?id=…): one ticket's QR code, seat and
// reference, with downloads. The ticket id in the link is the key to it.
'use strict';
(() => {
  const { t } = wrI18n;
  const { $ } = window.wrDom;
  const id = new URLSearchParams(location.search).get('id') || '';
  const problem = (text) => { $('problem').textContent = text; $('problem').hidden = false; };

  async function load() {
    const r = await wrApi.get('/api/v1/tickets/' + encodeURIComponent(id));
    if (r.status === 0) { problem(t('f.ticket.offline')); return; }
    if (r.status !== 200 || !r.json) { problem(t('f.ticket.not_found')); return; }
    const ticket = r.json;
    wr.renderTickets($('tickets-block'), $('tickets-title'), $('tickets'), [ticket], false);
    $('tickets-title').focus();
  }

  wrI18n.ready.then(() => {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) problem(t('f.ticket.missing'));
    else load();
  });
})();
