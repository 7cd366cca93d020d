// What the form components share: a choice in a list, and the GOV.UK way of
// tying a field's hint and error to it for screen readers.

/** One choice offered by a list field. */
export interface Option<V = string> {
  value: V;
  label: string;
}

/** The ids a field's `aria-describedby` names: its hint and its error,
 *  whichever are shown (`undefined` when neither is). */
export function describedBy(id: string, hint: string, error: string): string | undefined {
  return [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
}
