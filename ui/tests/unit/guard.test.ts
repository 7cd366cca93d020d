import { afterEach, describe, expect, it, vi } from 'vitest';
import { Autosaver, DoubleEscape, IdleWatch, PendingSaves } from '../../src/lib/guard';

afterEach(() => vi.useRealTimers());

function watch(minuteMs = 60_000) {
  const calls: string[] = [];
  const w = new IdleWatch(
    minuteMs,
    {
      report: () => calls.push('report'),
      warn: (ms) => calls.push(`warn ${ms}`),
      dismiss: () => calls.push('dismiss'),
      overdue: () => calls.push('overdue'),
    },
    () => Date.now(),
  );
  return { w, calls };
}

describe('IdleWatch', () => {
  it('warns for the last minute, and a key during the warning reports at once', () => {
    vi.useFakeTimers();
    const { w, calls } = watch();
    w.setLimit(5);
    w.start();
    vi.advanceTimersByTime(4 * 60_000 - 1);
    expect(calls).toEqual(['report']);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['report', 'warn 60000']);
    w.activity();
    expect(calls).toEqual(['report', 'warn 60000', 'report', 'dismiss']);
    vi.advanceTimersByTime(4 * 60_000);
    expect(calls.at(-1)).toBe('warn 60000');
  });

  it('reports activity at most every five seconds outside the warning', () => {
    vi.useFakeTimers();
    const { w, calls } = watch();
    w.start();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1000);
      w.activity();
    }
    expect(calls.filter((c) => c === 'report')).toHaveLength(3);
  });

  it('locks by itself only when the Rust side has not, and a longer time applies in a report', () => {
    vi.useFakeTimers();
    const { w, calls } = watch();
    w.start();
    w.setLimit(15);
    vi.advanceTimersByTime(15 * 60_000 + 5_999);
    expect(calls.includes('overdue')).toBe(false);
    expect(calls.filter((c) => c.startsWith('warn'))).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls.at(-1)).toBe('overdue');
  });

  it('warns for the last half of a time shorter than two minutes, and stops', () => {
    vi.useFakeTimers();
    const { w, calls } = watch(1000);
    w.setLimit(1);
    w.start();
    vi.advanceTimersByTime(500);
    expect(calls).toEqual(['report', 'warn 500']);
    w.stop();
    vi.advanceTimersByTime(60_000);
    expect(calls).toEqual(['report', 'warn 500', 'dismiss']);
  });
});

describe('DoubleEscape', () => {
  it('hides on two presses close together, not one, not slow ones, not other keys', () => {
    const d = new DoubleEscape(800);
    expect(d.press('Escape', 0)).toBe(false);
    expect(d.press('Escape', 500)).toBe(true);
    expect(d.press('Escape', 600)).toBe(false); // a third press starts again
    expect(d.press('Escape', 2000)).toBe(false); // too slow
    expect(d.press('a', 2100)).toBe(false);
    expect(d.press('Escape', 2200)).toBe(true);
  });
});

describe('Autosaver', () => {
  it('saves one at a time, always ending with the latest value', async () => {
    const saved: number[] = [];
    let running = 0;
    const saver = new Autosaver<number>(async (v) => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, 5));
      saved.push(v);
      running--;
    });
    void saver.push(1);
    void saver.push(2);
    void saver.push(3);
    await saver.flush();
    expect(saved.at(-1)).toBe(3);
    expect(saved[0]).toBe(1);
    expect(saved).not.toContain(2); // superseded while 1 was saving
  });

  it('keeps saving after a failed save', async () => {
    const saved: number[] = [];
    const saver = new Autosaver<number>(async (v) => {
      if (v === 1) throw new Error('disk full');
      saved.push(v);
    });
    await expect(saver.push(1)).rejects.toThrow('disk full');
    await saver.push(2);
    expect(saved).toEqual([2]);
  });
});

describe('PendingSaves', () => {
  it('waits for a save in flight, and no longer than asked', async () => {
    const saves = new PendingSaves();
    let done = false;
    saves.keep(new Promise<void>((ok) => setTimeout(() => ((done = true), ok()), 20)));
    await saves.settle(5_000);
    expect(done).toBe(true);
    saves.keep(new Promise<void>(() => {}));
    const started = performance.now();
    await saves.settle(30);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
