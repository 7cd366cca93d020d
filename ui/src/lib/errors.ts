// Turns a command's rejection into words for the person at the desk.
import { isCommandError } from './api';
import { t } from './i18n.svelte';

/** The translated sentence for an error, falling back to the engine's own
 *  (English) message where no translation exists for its kind. */
export function errorText(e: unknown): string {
  if (isCommandError(e)) {
    const key = `error.${e.kind}`;
    const text = t(key);
    if (text !== key) {
      // Details matter for these; the engine's message says what to fix.
      return ['invalid_input', 'store', 'hub_refused', 'hub_unreachable'].includes(e.kind)
        ? `${text} (${e.message})`
        : text;
    }
    return e.message;
  }
  return t('error.other');
}
