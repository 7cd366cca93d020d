// The engine's rule for a new passphrase, checked here too so the first-run
// form can say so before the slow key derivation starts. The engine's
// constant is hirc_core::vault::MIN_PASSPHRASE_CHARS; a test in src-tauri
// keeps the two equal. Counted in characters (code points), as the engine
// counts them, not in UTF-16 units.
export const MIN_PASSPHRASE_CHARS = 10;

export const longEnough = (passphrase: string): boolean => [...passphrase].length >= MIN_PASSPHRASE_CHARS;
