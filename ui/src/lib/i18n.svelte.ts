// Interface languages. Every string the UI shows comes from a file in
// src/i18n/; the report itself is always recorded in English fields, with
// the language it was taken in noted.
import en from '../i18n/en.json';
import pl from '../i18n/pl.json';
import ur from '../i18n/ur.json';

export type Lang = 'en' | 'pl' | 'ur';
type Strings = Record<string, string>;

export const LANGUAGES: { code: Lang; name: string; dir: 'ltr' | 'rtl' }[] = [
  { code: 'en', name: 'English', dir: 'ltr' },
  { code: 'pl', name: 'Polski', dir: 'ltr' },
  { code: 'ur', name: 'اردو', dir: 'rtl' },
];

const tables: Record<Lang, Strings> = { en, pl, ur };

export const i18n = $state({ lang: 'en' as Lang });

/** Switches the interface language and the page's direction. */
export function setLang(lang: Lang): void {
  i18n.lang = lang;
  const entry = LANGUAGES.find((l) => l.code === lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = entry?.dir ?? 'ltr';
}

/** The string for `key` in the current language (English if missing),
 *  with `{name}` placeholders filled in. */
export function t(key: string, params: Record<string, string | number> = {}): string {
  // A numeric `count` picks the language's plural form where the table has
  // one (`key.one`, `key.few`, `key.many`, `key.other`: Polish needs all
  // four), else the plain key.
  const count = params.count;
  const form = typeof count === 'number' ? `${key}.${new Intl.PluralRules(i18n.lang).select(count)}` : null;
  const table = tables[i18n.lang];
  const english = en as Strings;
  const text = (form && table[form]) ?? table[key] ?? (form && english[form]) ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** A closed-list value's label: translated where a translation exists,
 *  else the engine's English label. */
export function vocabLabel(list: string, value: string, english: string): string {
  return tables[i18n.lang][`vocab.${list}.${value}`] ?? english;
}

/** Every key of a language table (for the completeness test). */
export function keysOf(lang: Lang): string[] {
  return Object.keys(tables[lang]);
}

export const locale = (): string => (i18n.lang === 'en' ? 'en-GB' : i18n.lang);

/** A calendar day (YYYY-MM-DD) in the interface language: "1 October 2026". */
export function day(isoDate: string): string {
  const d = new Date(`${isoDate}T12:00:00`);
  if (Number.isNaN(d.getTime())) return isoDate;
  return d.toLocaleDateString(locale(), { day: 'numeric', month: 'long', year: 'numeric' });
}

/** A month in the interface language: "October 2026", or with `short`, "Oct". */
export function monthName(year: number, month: number, short = false): string {
  const d = new Date(year, month, 1, 12);
  return d.toLocaleDateString(locale(), short ? { month: 'short' } : { month: 'long', year: 'numeric' });
}

/** A date and time in the interface language. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale(), {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    // The 24-hour clock in every language: no Latin "PM" for the bidi
    // algorithm to move about on the Urdu screens.
    hourCycle: 'h23',
  });
}
