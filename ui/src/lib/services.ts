// The support services as a coordinator edits them: one per line,
// "name | phone | website | languages". The engine checks what comes back.
import type { SupportService } from './api';

/** The list as lines; empty trailing fields are left off. */
export function servicesToLines(services: SupportService[]): string {
  return services
    .map((s) => {
      const fields = [s.name, s.phone, s.website, s.languages].map((x) => (x ?? '').trim());
      while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
      return fields.join(' | ');
    })
    .join('\n');
}

/** Lines back into services: blank lines skipped; a `|` inside the last
 *  field (languages) stays part of it. */
export function linesToServices(lines: string): SupportService[] {
  return lines
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name = '', phone = '', website = '', ...rest] = l.split('|').map((x) => (x ?? '').trim());
      return { name, phone, website, languages: rest.join(' | ') };
    });
}
