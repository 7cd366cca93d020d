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

  it('words why a place will not do in the language, without the engine’s English', () => {
    const taken = { kind: 'unsuitable_folder', message: '/media/stick/files-for-the-person-CP-1 is there already: choose another place', fields: [{ field: 'folder', rule: 'folder_taken', message: 'm' }] };
    expect(errorText(taken)).toBe("That place will not do for the person's files. A folder or file of that name is there already: choose another place, or move it away. Nothing was written.");
    setLang('ur');
    expect(errorText(taken)).toMatch(/^یہ جگہ .*پہلے سے وہاں موجود ہے/);
    expect(errorText(taken)).not.toMatch(/there already|media/);
    // A rule this window does not know yet: the engine's words, as before.
    setLang('en');
    const unknown = { ...taken, fields: [{ field: 'folder', rule: 'folder_new_rule', message: 'm' }] };
    expect(errorText(unknown)).toMatch(/will not do .*\(\/media\/stick.*there already/);
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
