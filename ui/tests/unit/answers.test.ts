import { describe, expect, it } from 'vitest';
import { Settler, asciiDigits, fullYear, languageName, parseMonth, parseTime, settle, splitTypedDate } from '../../src/lib/answers';
import { emptyReport, setPath, type FieldPath, type PathValue } from '../../src/lib/form';
import type { Report } from '../../src/lib/api';

describe('times as people write them', () => {
  it.each([
    ['17:30', '17:30'],
    ['17.30', '17:30'],
    ['1730', '17:30'],
    ['5.30pm', '17:30'],
    ['5:30 p.m.', '17:30'],
    ['5 PM', '17:00'],
    ['12.15am', '00:15'],
    ['12pm', '12:00'],
    ['09.05', '09:05'],
    ['05:30', '05:30'],
    ['0930', '09:30'],
    ['9.05am', '09:05'],
    ['17h30', '17:30'],
    ['noon', '12:00'],
    ['۱۷:۳۰', '17:30'],
    ['', ''],
  ])('%s is %s', (typed, time) => expect(parseTime(typed)).toBe(time));

  it.each(['5', '5.30', '530', '5 30', '123', '9.05', '17:3', '25:00', '13pm', '17:75', 'teatime'])('%s cannot be read', (typed) => expect(parseTime(typed)).toBeNull());
});

describe('dates as people write them', () => {
  it('reads months by number or name, in English and in the interface language', () => {
    expect(parseMonth('3', 'en-GB')).toBe(3);
    expect(parseMonth('March', 'en-GB')).toBe(3);
    expect(parseMonth('mar', 'en-GB')).toBe(3);
    expect(parseMonth('marzec', 'pl')).toBe(3);
    expect(parseMonth('marca', 'pl')).toBe(3);
    expect(parseMonth('13', 'en-GB')).toBeNull();
    expect(parseMonth('ma', 'en-GB')).toBeNull();
  });

  it('splits a whole date typed into the day box', () => {
    expect(splitTypedDate('27/3/2026')).toEqual({ day: '27', month: '3', year: '2026' });
    expect(splitTypedDate('27.03.26')).toEqual({ day: '27', month: '03', year: '26' });
    expect(splitTypedDate('27 March 2026')).toEqual({ day: '27', month: 'March', year: '2026' });
    expect(splitTypedDate('27')).toBeNull();
  });

  it('makes a two-digit year whole, never in the future', () => {
    const today = new Date(2026, 11, 3);
    expect(fullYear('26', today)).toBe('2026');
    expect(fullYear('98', today)).toBe('1998');
    expect(fullYear('2025', today)).toBe('2025');
  });

  it('reads Urdu and Arabic digits', () => expect(asciiDigits('۲۷/٣/۲۰۲۶')).toBe('27/3/2026'));
});

describe('questions earlier answers decide', () => {
  it('answers "may the police contact them" No when they will not have the details, and asks afresh when they will', () => {
    const base = setPath(emptyReport('en'), 'anonymous', false);
    const no = settle(base, setPath(base, 'consent.pass_to_police', 'no'));
    expect(no.consent).toEqual({ pass_to_police: 'no', police_may_contact: false });
    const identified = settle(no, setPath(no, 'consent.pass_to_police', 'identified'));
    expect(identified.consent).toEqual({ pass_to_police: 'identified' });
    const answered = setPath(identified, 'consent.police_may_contact', true);
    const anonymous = settle(answered, setPath(answered, 'anonymous', true));
    expect((anonymous.consent as Record<string, unknown>).police_may_contact).toBe(false);
  });

  it('drops "was treatment needed" when nobody was hurt', () => {
    const settler = new Settler();
    const hurt = setPath(setPath(emptyReport('en'), 'injury', 'minor'), 'medical_treatment', true);
    expect(settler.apply(hurt, hurt).medical_treatment).toBe(true);
    expect('medical_treatment' in settler.apply(hurt, setPath(hurt, 'injury', 'none'))).toBe(false);
  });

  it('takes contact details out while the person is anonymous, and brings them back', () => {
    const settler = new Settler();
    const change = <P extends FieldPath>(r: Report, path: P, value: PathValue<P>) => settler.apply(r, setPath(r, path, value));
    let r = change(emptyReport('en'), 'anonymous', false);
    r = change(r, 'person.phone', '07700 900123');
    r = change(r, 'person.age_band', '25-34');
    r = change(r, 'anonymous', true);
    expect(r.person).toEqual({ age_band: '25-34' });
    r = change(r, 'anonymous', false);
    expect(r.person).toEqual({ age_band: '25-34', phone: '07700 900123' });
  });

  it("leaves an older draft's contradiction alone until the answer that rules it changes", () => {
    const settler = new Settler();
    const old: Report = { ...emptyReport('en'), witnesses_present: 'no', witness_details: 'a neighbour' };
    const r = settler.apply(old, setPath(old, 'area', 'SS8'));
    expect(r.witness_details).toBe('a neighbour');
    const yes = settler.apply(r, setPath(r, 'witnesses_present', 'yes'));
    expect(settler.apply(yes, setPath(yes, 'witnesses_present', 'no')).witness_details).toBeUndefined();
  });
});

describe('answers kept while their question is out of play', () => {
  it('brings "treated: yes" back when the injury comes back, as an arrow key passing "None" would', () => {
    const settler = new Settler();
    const change = <P extends FieldPath>(r: Report, path: P, value: PathValue<P>) => settler.apply(r, setPath(r, path, value));
    let r = change(emptyReport('en'), 'injury', 'minor');
    r = change(r, 'medical_treatment', true);
    r = change(r, 'injury', 'none');
    expect('medical_treatment' in r).toBe(false);
    r = change(r, 'injury', 'serious');
    expect(r.medical_treatment).toBe(true);
  });

  it('brings the police-contact answer back, and otherwise asks it afresh', () => {
    const settler = new Settler();
    const change = <P extends FieldPath>(r: Report, path: P, value: PathValue<P>) => settler.apply(r, setPath(r, path, value));
    let r = change(setPath(emptyReport('en'), 'anonymous', false), 'consent.pass_to_police', 'identified');
    expect((r.consent as Record<string, unknown>).police_may_contact).toBeUndefined();
    r = change(r, 'consent.police_may_contact', true);
    r = change(r, 'consent.pass_to_police', 'no');
    expect((r.consent as Record<string, unknown>).police_may_contact).toBe(false);
    r = change(r, 'consent.pass_to_police', 'identified');
    expect((r.consent as Record<string, unknown>).police_may_contact).toBe(true);
  });
});

describe('language names', () => {
  it('names a language in the interface language and in itself', () => {
    expect(languageName('pl', 'en')).toBe('Polish (polski)');
    expect(languageName('en', 'en')).toBe('English');
    expect(languageName('xx-nonsense', 'en')).toBe('xx-nonsense');
  });
});
