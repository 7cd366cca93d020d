// Text of another direction inside a sentence: a reference, a path.

/** `text` as a first-strong isolate: it keeps its own order (a path's
 *  slashes, a reference's dashes) inside a sentence in any script. */
export function isolated(text: string): string {
  return `${String.fromCodePoint(0x2068)}${text}${String.fromCodePoint(0x2069)}`;
}
