// Turns a command's rejection into words for the person at the desk.
import { isCommandError, type FieldProblem } from './api';
import { t } from './i18n.svelte';
import { MIN_PASSPHRASE_CHARS } from './passphrase';

/** The translated sentence for an error, falling back to the engine's own
 *  (English) message where no translation exists for its kind. */
export function errorText(e: unknown): string {
  if (isCommandError(e)) {
    const key = `error.${e.kind}`;
    const text = t(key, { min: MIN_PASSPHRASE_CHARS });
    // Why a place will not do, worded here: the engine's words are English
    // and name the place, which the person has just chosen.
    const rule = e.kind === 'unsuitable_folder' ? e.fields?.find((f) => f.field === 'folder')?.rule : undefined;
    const why = rule ? t(`problem.${rule}`) : '';
    if (text !== key && rule && why !== `problem.${rule}`) return `${text} ${why}`;
    if (text !== key) {
      // Details matter for these; the engine's message says what to fix.
      return ['invalid_input', 'store', 'hub_refused', 'hub_unreachable', 'hub_config', 'erased', 'export', 'unsuitable_folder'].includes(e.kind)
        ? `${text} (${e.message})`
        : text;
    }
    return e.message;
  }
  return t('error.other');
}

/** A field's problem in the person's language: the engine names the rule,
 *  the UI words it (the engine's own wording is for the command line). */
export function problemText(p: FieldProblem): string {
  const key = `problem.${p.rule}`;
  const text = t(key);
  return text !== key ? text : p.message;
}

/** Errors kept as functions of the language (so a switch rewords them),
 *  by the id of the field each belongs to. */
export type FieldErrors = Record<string, () => string>;

/** The error summary's links for `errors`, worded now. */
export function summaryItems(errors: FieldErrors): { href: string; text: string }[] {
  return Object.entries(errors).map(([id, text]) => ({ href: `#${id}`, text: text() }));
}
