// Files handed to the desk from the window: their pieces as base64 (the
// commands' JSON), and their sizes for people.
import { i18n, t } from './i18n.svelte';

/** Bytes as base64, built in slices (a whole piece at once would overflow
 *  the argument list of `String.fromCharCode`). */
export function toBase64(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  const SLICE = 0x8000;
  for (let i = 0; i < bytes.length; i += SLICE) {
    binary += String.fromCharCode(...bytes.subarray(i, i + SLICE));
  }
  return btoa(binary);
}

/** A size in bytes as a person reads it ("820 kB", "3,4 MB"), in the
 *  interface's language and script, as the person's copy writes it. */
export function fileSize(bytes: number): string {
  if (bytes < 1000) return t('access.size_bytes', { n: String(bytes) });
  if (bytes < 999_500) return t('access.size_kb', { n: String(Math.floor((bytes + 500) / 1000)) });
  const n = (bytes / 1_000_000).toFixed(1);
  // Polish writes a decimal comma.
  return t('access.size_mb', { n: i18n.lang === 'pl' ? n.replace('.', ',') : n });
}
