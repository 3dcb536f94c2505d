// Helpers shared by the booking pages (seats, checkout, confirmation),
// loaded before each page's own script.
'use strict';
window.wr = {
  /** Minor units in the currency's own format (`cur` an ISO code). */
  money(minor, cur) {
    const c = String(cur || 'usd').toUpperCase();
    try {
      const f = new Intl.NumberFormat(undefined, { style: 'currency', currency: c });
      return f.format(minor / 10 ** f.resolvedOptions().maximumFractionDigits);
    } catch (e) { return (minor / 100).toFixed(2) + ' ' + c; }
  },
  /** A countdown, `m:ss`, never below zero. */
  clock(ms) {
    const t = Math.max(0, Math.ceil(ms / 1000));
    return Math.floor(t / 60) + ':' + String(t % 60).padStart(2, '0');
  },
};
