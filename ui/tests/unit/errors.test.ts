import { afterEach, describe, expect, it } from 'vitest';
import { errorText, problemText } from '../../src/lib/errors';
import { setLang } from '../../src/lib/i18n.svelte';

afterEach(() => setLang('en'));

describe('errorText', () => {
  it('words a command error by its kind, in the language', () => {
    expect(errorText({ kind: 'wrong_passphrase', message: 'wrong passphrase for Chris' })).toMatch(/not right/);
    setLang('pl');
    expect(errorText({ kind: 'wrong_passphrase', message: 'x' })).toMatch(/nieprawidłowe/);
  });

  it('says the engine’s passphrase minimum, in every language', () => {
    expect(errorText({ kind: 'weak_passphrase', message: 'too short' })).toBe('Choose a longer passphrase: at least 10 characters.');
    setLang('pl');
    expect(errorText({ kind: 'weak_passphrase', message: 'too short' })).toMatch(/co najmniej 10 znaków/);
  });

  it('keeps the engine’s detail where it says what to fix', () => {
    expect(errorText({ kind: 'hub_unreachable', message: 'connection refused' })).toMatch(/could not be reached.*\(connection refused\)/);
  });

  it('falls back to the message for a kind it does not know, and never shows a raw exception', () => {
    expect(errorText({ kind: 'brand_new', message: 'the engine says so' })).toBe('the engine says so');
    expect(errorText(new TypeError('x is undefined'))).toBe('Something went wrong.');
  });
});

describe('problemText', () => {
  it('words each engine rule for the desk, and falls back to its message', () => {
    expect(problemText({ field: 'consent.police_may_contact', rule: 'contact_anonymous', message: 'm' })).toMatch(/cannot contact someone who stays anonymous/);
    setLang('ur');
    expect(problemText({ field: 'strands', rule: 'strands_missing', message: 'm' })).toMatch(/نشانہ/);
    expect(problemText({ field: 'x', rule: 'new_rule', message: 'engine words' })).toBe('engine words');
  });
});
