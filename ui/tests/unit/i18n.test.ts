import { afterEach, describe, expect, it } from 'vitest';
import en from '../../src/i18n/en.json';
import pl from '../../src/i18n/pl.json';
import ur from '../../src/i18n/ur.json';
import { i18n, setLang, t, vocabLabel } from '../../src/lib/i18n.svelte';

type Strings = Record<string, string>;
// A plural string is a family `key.one`, `key.other` (and `key.few`… in
// Polish); `error.other` alone is an ordinary key.
const PLURAL_BASES = new Set(Object.keys(en).filter((k) => k.endsWith('.one')).map((k) => k.slice(0, -4)));
const base = (key: string) => {
  const m = /^(.*)\.(zero|one|two|few|many|other)$/.exec(key);
  return m && PLURAL_BASES.has(m[1]) ? m[1] : key;
};
const placeholders = (s: string) => new Set(s.match(/\{\w+\}/g) ?? []);

afterEach(() => setLang('en'));

describe.each([
  ['pl', pl as Strings, ['one', 'few', 'many', 'other']],
  ['ur', ur as Strings, ['one', 'other']],
] as const)('the %s table', (lang, table, forms) => {
  it('has every English string', () => {
    const have = new Set(Object.keys(table).map(base));
    const missing = Object.keys(en).filter((k) => !have.has(base(k)));
    expect(missing).toEqual([]);
  });

  it('has every plural form its language needs', () => {
    expect(PLURAL_BASES.size).toBeGreaterThan(0);
    for (const key of PLURAL_BASES) {
      for (const form of forms) expect(table, `${key}.${form}`).toHaveProperty(`${key}.${form}`);
    }
    // Intl agrees on the forms.
    expect(new Intl.PluralRules(lang).resolvedOptions().pluralCategories.sort()).toEqual([...forms].sort());
  });

  it('keeps no string the English does not have, and only its placeholders', () => {
    for (const [key, text] of Object.entries(table)) {
      if (key.startsWith('vocab.')) continue; // checked against the engine's lists by the shell's tests
      const english = (en as Strings)[key] ?? (en as Strings)[`${base(key)}.other`];
      expect(english, `${key} is not an English key`).toBeDefined();
      for (const p of placeholders(text)) expect(placeholders(english), `${key} uses ${p}`).toContain(p);
      expect(text.trim(), key).not.toBe('');
    }
  });
});

describe('t', () => {
  it('fills placeholders and falls back to English, then to the key', () => {
    expect(t('app.signed_in_as', { name: 'Chris' })).toBe('Signed in as Chris');
    setLang('pl');
    expect(t('app.signed_in_as', { name: 'Chris' })).toBe('Zalogowano: Chris');
    expect(t('no.such.key')).toBe('no.such.key');
  });

  it('picks the plural form of the language', () => {
    expect(t('settings.enrolled', { count: 1 })).toMatch(/1 waiting report is/);
    expect(t('settings.enrolled', { count: 3 })).toMatch(/3 waiting reports are/);
    setLang('pl');
    expect(t('settings.enrolled', { count: 1 })).toMatch(/1 oczekujące zgłoszenie jest/);
    expect(t('settings.enrolled', { count: 3 })).toMatch(/3 oczekujące zgłoszenia są/);
    expect(t('settings.enrolled', { count: 5 })).toMatch(/5 oczekujących zgłoszeń jest/);
    expect(t('settings.enrolled', { count: 22 })).toMatch(/22 oczekujące zgłoszenia/);
  });

  it('sets the page direction: right to left for Urdu', () => {
    setLang('ur');
    expect(i18n.lang).toBe('ur');
    expect(document.documentElement.dir).toBe('rtl');
    expect(document.documentElement.lang).toBe('ur');
    setLang('pl');
    expect(document.documentElement.dir).toBe('ltr');
  });

  it('labels closed-list values in the language, else with the engine’s English', () => {
    expect(vocabLabel('strands', 'disability', 'Disability')).toBe('Disability');
    setLang('ur');
    expect(vocabLabel('strands', 'disability', 'Disability')).toBe('معذوری');
    expect(vocabLabel('strands', 'not_a_value', 'Fallback')).toBe('Fallback');
  });
});
