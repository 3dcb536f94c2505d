// Numbers, money and dates through Intl, shared by the fan pages (in the
// fan's language) and the dashboard. Money arrives in minor units; how many
// of them make a unit is the currency's own (JPY has none, EUR two), so one
// helper decides it for every page.
'use strict';
(function (root) {
  const fmts = new Map(); // Intl formatters are costly to build; pages format often
  const cached = (kind, locale, opts) => {
    const key = kind + '|' + locale + '|' + JSON.stringify(opts);
    let f = fmts.get(key);
    if (!f) {
      f = new Intl[kind](locale, opts);
      fmts.set(key, f);
    }
    return f;
  };
  // An unknown or malformed locale must not break a page: fall back to the browser's.
  const make = (kind, locale, opts) => {
    try { return cached(kind, locale || undefined, opts); } catch (e) { return cached(kind, undefined, opts); }
  };
  const code = (cur) => String(cur || 'usd').toUpperCase();

  /** Decimal places of `cur` (ISO 4217): 0 for JPY, 2 for EUR, 2 when unknown. */
  function digits(cur) {
    try {
      return cached('NumberFormat', 'en', { style: 'currency', currency: code(cur) }).resolvedOptions().maximumFractionDigits;
    } catch (e) { return 2; }
  }

  const major = (minor, cur) => Number(minor) / 10 ** digits(cur);

  root.wrFormat = {
    digits,
    /** Minor units with the currency's symbol, as `locale` writes it: `€90.00`, `90,00 €`, `￥1,500`. */
    money(minor, cur, locale) {
      try {
        return make('NumberFormat', locale, { style: 'currency', currency: code(cur) }).format(major(minor, cur));
      } catch (e) { return major(minor, cur).toFixed(digits(cur)) + ' ' + code(cur); }
    },
    /** Minor units as a plain amount with the currency's decimals: `90.00` (EUR), `1,500` (JPY). */
    amount(minor, cur, locale) {
      const d = digits(cur);
      return make('NumberFormat', locale, { minimumFractionDigits: d, maximumFractionDigits: d }).format(major(minor, cur));
    },
    number(n, locale) { return make('NumberFormat', locale, {}).format(n); },
    /** `when` (ms, Date or an ISO string) with Intl.DateTimeFormat options. */
    date(when, locale, opts) {
      const d = when instanceof Date ? when : new Date(when);
      if (isNaN(d.getTime())) return '';
      return make('DateTimeFormat', locale, opts || { dateStyle: 'medium', timeStyle: 'short' }).format(d);
    },
  };
}(typeof window === 'undefined' ? globalThis : window));
