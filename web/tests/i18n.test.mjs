// The fan pages' translations, checked without a browser: every shipped
// language has every English key (same placeholders, the plural forms its
// language needs), every key the pages use exists, none is left unused, and
// the language choice, the English fallback and Intl formatting behave.
//
//   node --test web/tests/i18n.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

// No harness (and so no playwright-core): this test runs with a bare Node.
const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (name) => readFile(path.join(web, name), 'utf8');
// Keys the pages build from a prefix and a server value.
const DYNAMIC = {
  'q.banner.': ['paused', 'closed', 'draining', 'prequeue', 'scheduled', 'waitlisted'].flatMap((s) => [`${s}.head`, `${s}.text`]),
  'b.token.': ['admission_required', 'token_expired', 'token_wrong_session', 'token_used', 'offer_expired'],
  'f.status.': ['failed', 'refund_pending', 'refunded', 'cancelled'].flatMap((s) => [`${s}.head`, `${s}.text`]),
  'a.status.': ['pending', 'confirmed', 'failed', 'cancelled', 'refund_pending', 'refunded'],
  'h.cat.': ['music', 'sports', 'theatre', 'comedy', 'family', 'conference', 'other'],
};
const KEY = /^(?:q|b|c|f|h|e|a|common)\.[a-z_.]+$/;

/** Runs the pages' scripts in a sandbox standing in for a browser. */
async function sandbox({ languages = ['en-US'], search = '', stored = null, catalogs = {} } = {}) {
  const storage = new Map(stored ? [['wr_lang', stored]] : []);
  const win = {
    navigator: { languages, language: languages[0] },
    location: { search },
    localStorage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, String(v)) },
    document: { documentElement: {}, querySelectorAll: () => [] },
    fetch: async (url) => {
      const lang = /lang-(\w+)\.json$/.exec(url)[1];
      const body = catalogs[lang] || JSON.parse(await read(`lang-${lang}.json`));
      return { ok: true, json: async () => body };
    },
    URLSearchParams,
    Intl,
  };
  win.window = win;
  const ctx = vm.createContext(win);
  for (const f of ['format.js', 'lang-en.js', 'i18n.js']) vm.runInContext(await read(f), ctx, { filename: f });
  await win.wrI18n.ready;
  return { i18n: win.wrI18n, format: win.wrFormat, storage, doc: win.document };
}

const placeholders = (msg) => new Set([...String(msg).matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
const forms = (v) => (typeof v === 'object' ? Object.entries(v) : [['other', v]]);

test('every shipped language has every English key, with the same placeholders and its plural forms', async () => {
  const { i18n } = await sandbox();
  const en = i18n.catalog('en');
  const files = (await readdir(web)).filter((f) => /^lang-\w+\.json$/.test(f)).sort();
  assert.deepEqual(files.map((f) => f.slice(5, 7)), [...i18n.shipped].filter((l) => l !== 'en').sort(), 'one catalog per shipped language');
  for (const file of files) {
    const lang = file.slice(5, 7);
    const cat = JSON.parse(await read(file));
    const missing = Object.keys(en).filter((k) => !(k in cat));
    assert.deepEqual(missing, [], `${file} lacks keys`);
    assert.deepEqual(Object.keys(cat).filter((k) => !(k in en)), [], `${file} has keys English does not`);
    const needs = new Intl.PluralRules(lang).resolvedOptions().pluralCategories.filter((c) => c === 'one' || c === 'other');
    for (const [k, v] of Object.entries(en)) {
      const want = new Set(forms(v).flatMap(([, m]) => [...placeholders(m)]));
      assert.equal(typeof cat[k], typeof v, `${file} ${k}: plural in one language only`);
      if (typeof v === 'object') for (const c of needs) assert.ok(cat[k][c], `${file} ${k} lacks its "${c}" form`);
      for (const [form, m] of forms(cat[k])) {
        assert.ok(String(m).trim(), `${file} ${k}.${form} is empty`);
        assert.deepEqual([...placeholders(m)].filter((p) => !want.has(p)), [], `${file} ${k}.${form}: unknown placeholder`);
        // A message dropping a placeholder loses what the fan must see (a count may be implied by the words).
        for (const p of want) if (p !== 'n' || form === 'other') assert.ok(placeholders(m).has(p), `${file} ${k}.${form} drops {${p}}`);
      }
    }
  }
});

test('every key the pages use exists in English, and every English key is used', async () => {
  const { i18n } = await sandbox();
  const en = i18n.catalog('en');
  const used = new Set();
  for (const f of (await readdir(web)).filter((n) => /\.(html|js)$/.test(n) && !n.startsWith('lang-'))) {
    const src = await read(f);
    const found = [...src.matchAll(/data-i18n="([^"]+)"/g)].map((m) => m[1])
      .concat([...src.matchAll(/data-i18n-attr="([^"]+)"/g)].flatMap((m) => m[1].split(',').map((p) => p.split('=')[1])))
      .concat([...src.matchAll(/'([a-z_.]+)'/g)].map((m) => m[1]));
    for (const k of found) if (KEY.test(k)) used.add(k);
  }
  for (const [prefix, rest] of Object.entries(DYNAMIC)) {
    assert.ok(used.has(prefix), `the pages build keys from ${prefix}`);
    used.delete(prefix);
    for (const r of rest) used.add(prefix + r);
  }
  assert.deepEqual([...used].filter((k) => !(k in en)).sort(), [], 'keys used but missing from lang-en.js');
  assert.deepEqual(Object.keys(en).filter((k) => !used.has(k)).sort(), [], 'keys in lang-en.js no page uses');
});

test('the language comes from ?lang= (remembered), then an earlier choice, then the browser, else English', async () => {
  let s = await sandbox({ languages: ['ja-JP', 'en'] });
  assert.equal(s.i18n.lang, 'ja');
  assert.equal(s.i18n.locale, 'ja-JP', 'formatting keeps the browser region');
  assert.equal(s.doc.documentElement.lang, 'ja');
  s = await sandbox({ languages: ['pt-BR', 'de-AT', 'fr'] });
  assert.equal(s.i18n.lang, 'de', 'the first shipped one of the browser languages');
  assert.equal(s.i18n.locale, 'de-AT');
  s = await sandbox({ languages: ['pt-BR', 'zz'] });
  assert.equal(s.i18n.lang, 'en', 'nothing shipped: English');
  s = await sandbox({ languages: ['fr-FR'], search: '?lang=es' });
  assert.equal(s.i18n.lang, 'es');
  assert.equal(s.storage.get('wr_lang'), 'es', '?lang= is remembered');
  s = await sandbox({ languages: ['fr-FR'], stored: 'es' });
  assert.equal(s.i18n.lang, 'es', 'the remembered choice beats the browser');
  s = await sandbox({ languages: ['fr-FR'], search: '?lang=xx-<b>' });
  assert.equal(s.i18n.lang, 'fr', 'an unknown ?lang= is ignored');
  assert.equal(s.storage.size, 0);
});

test('messages fill placeholders, follow plural rules and fall back to English per key', async () => {
  const fr = JSON.parse(await read('lang-fr.json'));
  delete fr['q.in_line'];
  const { i18n } = await sandbox({ languages: ['fr-FR'], catalogs: { fr } });
  assert.equal(i18n.t('q.in_line'), "You're in line", 'a key missing in French shows in English');
  assert.equal(i18n.t('q.your_turn'), "C'est votre tour");
  assert.equal(i18n.t('q.seconds', { n: 1 }), '1 seconde');
  assert.equal(i18n.t('q.seconds', { n: 0 }), '0 seconde', 'French counts zero as one');
  assert.equal(i18n.t('q.seconds', { n: 2 }), '2 secondes');
  assert.equal(i18n.t('q.say_position', { pos: 12345, eta: 'x' }), 'Vous êtes numéro 12\u202f345 dans la file. Attente estimée : x.');
  assert.equal(i18n.t('no.such.key'), 'no.such.key');
  const ja = await sandbox({ languages: ['ja'] });
  assert.equal(ja.i18n.t('q.seconds', { n: 1 }), '1秒');
});

test('money uses the currency\'s own decimals and the fan\'s locale', async () => {
  const { format } = await sandbox();
  assert.equal(format.digits('jpy'), 0);
  assert.equal(format.digits('eur'), 2);
  assert.equal(format.money(1500, 'jpy', 'ja-JP'), '￥1,500');
  assert.equal(format.money(1500, 'jpy', 'en-US'), '¥1,500');
  assert.equal(format.money(9050, 'eur', 'fr-FR'), '90,50\u00a0€');
  assert.equal(format.money(9050, 'eur', 'de-DE'), '90,50\u00a0€');
  assert.equal(format.money(9050, 'usd', 'en-US'), '$90.50');
  assert.equal(format.amount(9000, 'eur', 'en'), '90.00');
  assert.equal(format.amount(150000, 'jpy', 'en'), '150,000');
  assert.equal(format.money(100, 'eur', 'not a locale!'), format.money(100, 'eur'), 'a bad locale falls back');
  assert.equal(format.date('not a date', 'en'), '');
  assert.equal(format.date(Date.UTC(2026, 5, 1, 18, 30), 'de-DE', { dateStyle: 'long', timeZone: 'UTC' }), '1. Juni 2026');
});
