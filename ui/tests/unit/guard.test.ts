import { afterEach, describe, expect, it, vi } from 'vitest';
import { Autosaver, DoubleEscape, IdleTimer } from '../../src/lib/guard';

afterEach(() => vi.useRealTimers());

describe('IdleTimer', () => {
  it('fires after the idle time, and activity puts it off', () => {
    vi.useFakeTimers();
    const onIdle = vi.fn();
    const timer = new IdleTimer(5, onIdle);
    timer.start();
    vi.advanceTimersByTime(4 * 60_000);
    timer.poke();
    vi.advanceTimersByTime(4 * 60_000);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(60_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('takes a new idle time at once, and stops', () => {
    vi.useFakeTimers();
    const onIdle = vi.fn();
    const timer = new IdleTimer(5, onIdle);
    timer.start();
    timer.setMinutes(1);
    vi.advanceTimersByTime(60_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
    timer.start();
    timer.stop();
    vi.advanceTimersByTime(10 * 60_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
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
