import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import ErrorSummary from '../../src/lib/components/ErrorSummary.svelte';
import Radios from '../../src/lib/components/Radios.svelte';

afterEach(cleanup);
// jsdom lays nothing out, so it has no scrolling.
Element.prototype.scrollIntoView = vi.fn();

describe('ErrorSummary', () => {
  it('takes focus and links each problem to its field', async () => {
    const field = document.createElement('input');
    field.id = 'f-area';
    document.body.append(field);
    const { getByRole } = render(ErrorSummary, { items: [{ href: '#f-area', text: 'Use only the postcode district' }] });
    const box = getByRole('alert');
    await vi.waitFor(() => expect(document.activeElement).toBe(box));
    const link = getByRole('link', { name: 'Use only the postcode district' });
    await fireEvent.click(link);
    expect(document.activeElement).toBe(field);
    field.remove();
  });

  it('renders nothing when there is no problem', () => {
    const { queryByRole } = render(ErrorSummary, { items: [] });
    expect(queryByRole('alert')).toBeNull();
  });
});

describe('Radios', () => {
  it('is a labelled group whose error is read with it, and reports the choice', async () => {
    const onchange = vi.fn();
    const { getByRole, getByLabelText } = render(Radios, {
      id: 'f-anonymous',
      label: 'Does the person want to stay anonymous?',
      error: 'Ask whether the person wants to stay anonymous.',
      value: undefined,
      options: [
        { value: true, label: 'Yes' },
        { value: false, label: 'No' },
      ],
      onchange,
    });
    const group = getByRole('group', { name: 'Does the person want to stay anonymous?' });
    expect(group.getAttribute('aria-describedby')).toContain('f-anonymous-error');
    await fireEvent.click(getByLabelText('No'));
    expect(onchange).toHaveBeenCalledWith(false);
    expect((getByLabelText('Yes') as HTMLInputElement).id).toBe('f-anonymous');
  });
});

describe('describedBy', () => {
  it('names the hint and the error that are shown, and nothing when neither is', async () => {
    const { describedBy } = await import('../../src/lib/components/field');
    expect(describedBy('f-area', 'a hint', 'an error')).toBe('f-area-hint f-area-error');
    expect(describedBy('f-area', '', 'an error')).toBe('f-area-error');
    expect(describedBy('f-area', '', '')).toBeUndefined();
  });
});
