// Reading answers the way people write them (times, dates, digits in any
// script), settling questions earlier answers decide, and showing answers
// back in the person's language. The report itself keeps the engine's
// forms: "17:30", "2026-03-27", language tags, closed-list words.
import type { Report } from './api';
import { getPath, setPath, type FieldPath, type PathValue } from './form';

const ARABIC_INDIC = /[\u0660-\u0669\u06F0-\u06F9]/g;

/** Digits of any script the desk is used in (Urdu's ۰–۹, Arabic's ٠–٩)
 *  as ASCII digits. */
export function asciiDigits(text: string): string {
  return text.replace(ARABIC_INDIC, (d) => String((d.charCodeAt(0) - 0x0660) % 0x90));
}

/** A time of day as people write it ("17:30", "17.30", "1730", "5.30pm",
 *  "5:30 p.m.", "5pm", "05:30", "noon") as `HH:MM`; `''` for an empty
 *  field; `null` when it cannot be read, or could be morning or evening:
 *  "5" or "5.30" without am or pm is asked, never guessed (an evening
 *  attack recorded as 05:30 would be wrong without anyone noticing); a
 *  leading zero ("05:30") or an hour from 13 says the 24-hour clock. */
export function parseTime(input: string): string | null {
  const text = asciiDigits(input).trim().toLowerCase().replace(/\s+/g, ' ');
  if (text === '') return '';
  if (text === 'noon' || text === 'midday') return '12:00';
  if (text === 'midnight') return '00:00';
  const m = /^(\d{1,2})(?:\s?[:.h]?\s?(\d{2}))?\s?(am|pm|a\.m\.?|p\.m\.?)?$/.exec(text);
  if (!m) return null;
  let hour = Number(m[1]);
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  const half = m[3]?.[0];
  if (minute > 59) return null;
  if (half) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (half === 'p' ? 12 : 0);
  } else {
    if (hour > 23) return null;
    // "5" or "5.30" alone: morning or evening? Ask.
    if (hour >= 1 && hour <= 12 && !m[1].startsWith('0')) return null;
  }
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/** The interface's languages, whose month names are always understood (a
 *  month typed in Polish stays readable after a switch to English). */
const MONTH_LOCALES = ['en-GB', 'pl', 'ur'];

/** The month a person typed, as 1–12: a number, or a month's name or its
 *  first three letters in English, Polish, Urdu or `locale` ("March",
 *  "mar", "marzec", "marca"). */
export function parseMonth(input: string, locale: string): number | null {
  const text = asciiDigits(input).trim().toLowerCase().replace(/\.$/, '');
  if (text === '') return null;
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 12 ? n : null;
  }
  if (text.length < 3) return null;
  for (const loc of new Set([...MONTH_LOCALES, locale])) {
    for (let m = 0; m < 12; m++) {
      const day = new Date(Date.UTC(2026, m, 15));
      for (const style of ['long', 'short'] as const) {
        for (const form of [{ month: style }, { month: style, day: 'numeric' }] as Intl.DateTimeFormatOptions[]) {
          // Polish names a month differently alone and in a date ("marzec",
          // "27 marca"): both are taken.
          const parts = new Intl.DateTimeFormat(loc, { ...form, timeZone: 'UTC' }).formatToParts(day);
          const name = parts.find((p) => p.type === 'month')?.value.toLowerCase().replace(/\.$/, '');
          if (name && (name === text || (text.length >= 3 && name.startsWith(text)))) return m + 1;
        }
      }
    }
  }
  return null;
}

/** A whole date typed or pasted into the day box ("27/3/2026",
 *  "27.03.26", "27 March 2026") as its three parts; null if it is not one. */
export function splitTypedDate(input: string): { day: string; month: string; year: string } | null {
  const m = /^\s*(\d{1,2})\s*[/.\-\s]\s*([^\s/.\-]+)\.?\s*[/.\-\s]\s*(\d{2}|\d{4})\s*$/.exec(asciiDigits(input));
  return m ? { day: m[1], month: m[2], year: m[3] } : null;
}

/** A two-digit year as four: "26" is 2026, "98" is 1998 (a year not yet
 *  reached is taken from the last century). */
export function fullYear(input: string, today = new Date()): string {
  const text = asciiDigits(input).trim();
  if (!/^\d{2}$/.test(text)) return text;
  const y = 2000 + Number(text);
  return String(y > today.getFullYear() ? y - 100 : y);
}

// ---- questions that earlier answers decide --------------------------------

/** Injuries that make "was medical treatment needed?" a question. */
const HURT = ['minor', 'serious'];

/** Whether the police-contact question applies: the report goes to the
 *  police with the person's details, and they are not anonymous. */
export function asksPoliceContact(r: Report): boolean {
  return getPath(r, 'consent.pass_to_police') === 'identified' && r.anonymous !== true;
}

/** Whether the medical-treatment question applies (someone was hurt). */
export function asksMedicalTreatment(r: Report): boolean {
  return HURT.includes(String(r.injury));
}

/** Whether the person's name and contact details are asked (they are not
 *  recorded for someone who stays anonymous). */
export const asksContact = (r: Report): boolean => r.anonymous !== true;

const includes = (list: readonly string[] | undefined, value: string) => !!list?.includes(value);

/** Answers that only belong while an earlier answer makes them a question:
 *  taken out of play, they leave the report (never hidden yet sent);
 *  the police-contact answer is instead settled to "No" (see `settle`). */
const DEPENDENT: [FieldPath, (r: Report) => boolean][] = [
  ['medical_treatment', asksMedicalTreatment],
  ['witness_details', (r) => r.witnesses_present === 'yes'],
  ['incident_type_other', (r) => includes(r.incident_types, 'other')],
  ['strand_other', (r) => includes(r.strands, 'other')],
  ['crime_reference', (r) => r.already_reported === true],
  ...(['name', 'phone', 'email', 'address', 'safe_contact_method', 'safe_contact_times'] as const).map(
    (f): [FieldPath, (r: Report) => boolean] => [`person.${f}`, asksContact],
  ),
];

/** Settles a report as it changes (see `settle`), and keeps what the
 *  volunteer gave to a question taken out of play, in this page only, so
 *  that the answer comes back with its question: an arrow key moving
 *  through "None" must not lose "Yes, treated", and a slip onto
 *  "anonymous" must not lose a phone number typed a minute ago. */
export class Settler {
  private kept = new Map<FieldPath, PathValue<FieldPath>>();

  /** `after` settled, with kept answers restored. */
  apply(before: Report, after: Report): Report {
    let r = settle(before, after);
    for (const [path, asked] of DEPENDENT) {
      const value = getPath(r, path);
      // Only when the answer that rules it changes: an older draft's
      // contradiction stays on screen for the volunteer to see and settle.
      if (asked(before) && !asked(r) && value !== undefined) {
        this.kept.set(path, value);
        r = setPath(r, path, undefined);
      } else if (asked(r) && value === undefined && this.kept.has(path)) {
        r = setPath(r, path, this.kept.get(path));
        this.kept.delete(path);
      }
    }
    const police = 'consent.police_may_contact' as const;
    const was = getPath(before, police);
    if (asksPoliceContact(before) && !asksPoliceContact(r) && was !== undefined) this.kept.set(police, was);
    if (asksPoliceContact(r) && !asksPoliceContact(before) && getPath(r, police) === undefined && this.kept.has(police)) {
      // Kept under this path, so it is this path's value.
      r = setPath(r, police, this.kept.get(police) as PathValue<typeof police>);
      this.kept.delete(police);
    }
    return r;
  }
}

/** The police-contact answer settled by earlier answers: the police cannot
 *  contact a person whose details they will not have, so the answer is
 *  "No" and the question is not asked; when it comes back into play it is
 *  asked afresh, never pre-answered. (Other answers out of play leave the
 *  report: see `Settler`.) */
export function settle(before: Report, after: Report): Report {
  let r = after;
  if (!asksPoliceContact(r)) {
    if (getPath(r, 'consent.police_may_contact') !== false) r = setPath(r, 'consent.police_may_contact', false);
  } else if (!asksPoliceContact(before)) {
    r = setPath(r, 'consent.police_may_contact', undefined);
  }
  return r;
}

// ---- languages --------------------------------------------------------------

/** Languages offered for "the language the report was taken in" and the
 *  person's preferred language: the desk's three, then those most spoken
 *  in England after English (Census 2021), and British Sign Language. */
export const LANGUAGE_TAGS = [
  'en', 'pl', 'ur',
  'pa', 'bn', 'gu', 'ro', 'pt', 'es', 'ar', 'lt', 'it', 'fr', 'ta', 'zh', 'tr', 'so', 'fa', 'ku', 'ps',
  'uk', 'ru', 'bg', 'hu', 'sq', 'ti', 'am', 'cy', 'bfi',
];

/** A language's name in `locale` (and in itself, where different):
 *  "Polish (polski)". Where the platform knows no name (British Sign
 *  Language's `bfi`), `fallback`'s; else the tag itself. */
export function languageName(tag: string, locale: string, fallback: (tag: string) => string | null = () => null): string {
  const name = (loc: string) => {
    try {
      const n = new Intl.DisplayNames([loc], { type: 'language', fallback: 'none' }).of(tag);
      return n && n !== tag ? n : null;
    } catch {
      return null;
    }
  };
  const here = name(locale) ?? fallback(tag) ?? name('en') ?? tag;
  const own = tag === 'bfi' ? null : name(tag);
  return own && own.toLowerCase() !== here.toLowerCase() ? `${here} (${own})` : here;
}
