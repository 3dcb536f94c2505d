// Helpers shared by the booking pages (seats, checkout, confirmation),
// loaded after i18n.js and before each page's own script.
'use strict';
window.wr = {
  /** Minor units in the currency's own format (`cur` an ISO code), in the fan's language. */
  money: (minor, cur) => wrI18n.money(minor, cur || 'usd'),
  /** A countdown, `m:ss`, never below zero. */
  clock(ms) {
    const t = Math.max(0, Math.ceil(ms / 1000));
    return Math.floor(t / 60) + ':' + String(t % 60).padStart(2, '0');
  },
  /** "Section, row 3, seat 12" in the fan's language. */
  seatLabel: (section, row, seat) => wrI18n.t('common.seat_label', { section, row, seat: String(seat) }),
};
