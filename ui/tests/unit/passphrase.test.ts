import { describe, expect, it } from 'vitest';
import { longEnough, MIN_PASSPHRASE_CHARS } from '../../src/lib/passphrase';

describe('longEnough', () => {
  it('counts characters as the engine does, not UTF-16 units', () => {
    expect(MIN_PASSPHRASE_CHARS).toBe(10);
    expect(longEnough('a'.repeat(9))).toBe(false);
    expect(longEnough('a'.repeat(10))).toBe(true);
    // Nine emoji are 18 UTF-16 units but nine characters.
    expect(longEnough('🙂'.repeat(9))).toBe(false);
    expect(longEnough('zażółć gęś')).toBe(true);
  });
});
