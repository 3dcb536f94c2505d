// The fan pages' language: English (lang-en.js, loaded before this file,
// the fallback for any missing key) or a shipped catalog (lang-xx.json) chosen from
// `?lang=` (then remembered), an earlier choice, the browser's languages
// (what it sends as Accept-Language), else English. Pages mark static text
// with data-i18n="key" (child elements named data-slot="name" keep their
// place at {name} in the message) and data-i18n-attr="attr=key,…", and wait
// for `wrI18n.ready` before writing text of their own with `wrI18n.t`.
'use strict';
(function (root) {
  const SHIPPED = ['en', 'fr', 'de', 'es', 'ja'];
  // Each language's name in itself, for the picker.
  const NAMES = { en: 'English', fr: 'Français', de: 'Deutsch', es: 'Español', ja: '日本語' };
  const STORE = 'wr_lang';
  const catalogs = root.wrCatalogs || {};
  const primary = (tag) => String(tag || '').trim().toLowerCase().split(/[-_]/)[0];
  const shipped = (tag) => (SHIPPED.includes(primary(tag)) ? primary(tag) : null);
  const browserTags = () => (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en']);

  function choose() {
    let asked = null;
    try { asked = new URLSearchParams(location.search).get('lang'); } catch (e) { /* no URL */ }
    if (shipped(asked)) {
      try { localStorage.setItem(STORE, shipped(asked)); } catch (e) { /* storage off */ }
      return shipped(asked);
    }
    let kept = null;
    try { kept = shipped(localStorage.getItem(STORE)); } catch (e) { /* storage off */ }
    if (kept) return kept;
    for (const tag of browserTags()) if (shipped(tag)) return shipped(tag);
    return 'en';
  }

  const i = {
    shipped: SHIPPED,
    lang: 'en',
    // Formatting keeps the browser's region when it speaks the chosen language (fr-CA, en-GB).
    locale: 'en',
    catalog(lang) { return catalogs[lang]; },

    /** The message `key` with `{name}` filled from `vars` (numbers formatted); `{one, other}` messages follow vars.n. */
    t(key, vars) {
      let m = (catalogs[i.lang] || {})[key];
      if (m == null) m = (catalogs.en || {})[key];
      if (m == null) return key;
      if (typeof m === 'object') {
        let form = 'other';
        try { form = new Intl.PluralRules(i.locale).select(Number((vars || {}).n)); } catch (e) { /* other */ }
        m = m[form] != null ? m[form] : m.other;
      }
      return String(m).replace(/\{(\w+)\}/g, (all, name) => {
        if (!vars || !(name in vars)) return all;
        const v = vars[name];
        return typeof v === 'number' ? root.wrFormat.number(v, i.locale) : String(v);
      });
    },
    num: (n) => root.wrFormat.number(n, i.locale),
    money: (minor, cur) => root.wrFormat.money(minor, cur, i.locale),
    date: (when, opts) => root.wrFormat.date(when, i.locale, opts),

    /** Writes the catalog's text into `scope`'s marked elements. */
    apply(scope) {
      const top = scope || document;
      for (const el of top.querySelectorAll('[data-i18n]')) fill(el, i.t(el.dataset.i18n));
      for (const el of top.querySelectorAll('[data-i18n-attr]')) {
        for (const pair of el.dataset.i18nAttr.split(',')) {
          const [attr, key] = pair.split('=').map((x) => x.trim());
          if (attr && key) el.setAttribute(attr, i.t(key));
        }
      }
      if (!scope) document.documentElement.lang = i.lang;
      for (const sel of top.querySelectorAll('select[data-lang-picker]')) picker(sel);
    },
  };

  // A language picker: the page again with ?lang=, which is then remembered.
  function picker(sel) {
    sel.replaceChildren(...SHIPPED.map((l) => Object.assign(document.createElement('option'), { value: l, lang: l, textContent: NAMES[l] })));
    sel.value = i.lang;
    sel.onchange = () => {
      const url = new URL(location.href);
      url.searchParams.set('lang', sel.value);
      location.assign(url.href);
    };
  }

  // Text with its slot elements (a countdown, a link) moved to their {name}.
  function fill(el, text) {
    const slots = new Map([...el.querySelectorAll(':scope > [data-slot]')].map((s) => [s.dataset.slot, s]));
    if (!slots.size) { el.textContent = text; return; }
    const parts = text.split(/\{(\w+)\}/);
    el.replaceChildren(...parts.map((p, n) => (n % 2 ? slots.get(p) || '{' + p + '}' : p)).filter((p) => p !== ''));
  }

  function localeFor(lang) {
    const same = browserTags().find((tag) => primary(tag) === lang);
    try { return Intl.getCanonicalLocales(same || lang)[0]; } catch (e) { return lang; }
  }

  async function load() {
    const want = choose();
    if (want !== 'en' && !catalogs[want]) {
      try {
        const res = await fetch('/lang-' + want + '.json');
        if (res.ok) catalogs[want] = await res.json();
      } catch (e) { /* offline: English below */ }
    }
    i.lang = catalogs[want] ? want : 'en';
    i.locale = localeFor(i.lang);
    if (typeof document !== 'undefined') i.apply();
    return i;
  }

  root.wrI18n = i;
  // Started at once (this script is deferred, so the page is parsed) and
  // awaited by the page's own script.
  i.ready = typeof document === 'undefined' ? Promise.resolve(i) : load().catch(() => i);
}(typeof window === 'undefined' ? globalThis : window));
