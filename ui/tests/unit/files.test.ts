import { afterEach, describe, expect, it } from 'vitest';
import { fileSize } from '../../src/lib/files';
import { setLang } from '../../src/lib/i18n.svelte';

afterEach(() => setLang('en'));

describe('fileSize', () => {
  it('reads as a person writes it, in English', () => {
    expect(fileSize(640)).toBe('640 bytes');
    expect(fileSize(820_400)).toBe('820 kB');
    // Rounded up to a megabyte rather than shown as "1000 kB".
    expect(fileSize(999_600)).toBe('1.0 MB');
    expect(fileSize(3_400_000)).toBe('3.4 MB');
  });

  it('writes a decimal comma in Polish', () => {
    setLang('pl');
    expect(fileSize(3_400_000)).toBe('3,4 MB');
    expect(fileSize(640)).toBe('640 B');
  });

  it('names the unit in Urdu script in Urdu', () => {
    setLang('ur');
    expect(fileSize(3_400_000)).toBe('3.4 میگا بائٹ');
    expect(fileSize(820_400)).toBe('820 کلو بائٹ');
    expect(fileSize(3_400_000)).not.toMatch(/[A-Za-z]/);
  });
});
