import { describe, expect, it } from 'vitest';
import { linesToServices, servicesToLines } from '../../src/lib/services';

describe('support services as lines', () => {
  const services = [
    { name: 'Stop Hate UK (24-hour helpline)', phone: '0800 138 1625', website: 'stophateuk.org', languages: '' },
    { name: 'Local advocate', phone: '', website: 'example.org', languages: 'English | Polish' },
    { name: 'Samaritans', phone: '116 123', website: '', languages: '' },
  ];

  it('round-trips, leaving empty trailing fields off', () => {
    const lines = servicesToLines(services);
    expect(lines.split('\n')[0]).toBe('Stop Hate UK (24-hour helpline) | 0800 138 1625 | stophateuk.org');
    expect(lines.split('\n')[2]).toBe('Samaritans | 116 123');
    expect(linesToServices(lines)).toEqual(services);
  });

  it('skips blank lines and trims each field', () => {
    expect(linesToServices('\n  Galop |020 7704 2040|  galop.org.uk \n\n')).toEqual([
      { name: 'Galop', phone: '020 7704 2040', website: 'galop.org.uk', languages: '' },
    ]);
  });
});
