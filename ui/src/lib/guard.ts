// The two ways the desk protects itself when the ambassador looks away:
// an auto-lock that warns first, and a quick-hide key (Escape twice) that
// blanks the screen at once.

/** What the idle watch tells the app. */
export interface IdleEvents {
  /** Tell the Rust side someone is here (it keeps the real clock). */
  report: () => void;
  /** The desk locks in `ms` unless a key is pressed. */
  warn: (ms: number) => void;
  /** Someone pressed a key or moved the mouse during the warning. */
  dismiss: () => void;
  /** The desk should have locked by now and has not said so: lock here. */
  overdue: () => void;
}

/** The window's side of the auto-lock. The Rust side locks (it keeps the
 *  clock, from the activity reported to it); this reports activity, at
 *  most every `minute / 12` and at once when the warning is showing, and
 *  warns for the last minute (or the last half of a shorter time). Its
 *  clock starts at each report, so it never warns later than the real
 *  lock. */
export class IdleWatch {
  private lastReport = -Infinity;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private warning = false;
  private limitMs = 5 * 60_000;
  private running = false;
  constructor(
    private minuteMs: number,
    private events: IdleEvents,
    // Monotonic: setting the computer's clock must not bring the warning
    // up mid-typing or keep it away.
    private now: () => number = () => performance.now(),
  ) {}

  /** The idle time now in force (changes when a report opens or closes). */
  setLimit(minutes: number, minuteMs = this.minuteMs): void {
    this.minuteMs = minuteMs;
    this.limitMs = Math.max(1, minutes) * minuteMs;
    if (this.running) this.report();
  }
  start(): void {
    this.running = true;
    this.report();
  }
  stop(): void {
    this.running = false;
    this.clear();
    if (this.warning) {
      this.warning = false;
      this.events.dismiss();
    }
  }
  /** A key, a click, a scroll. */
  activity(): void {
    if (!this.running) return;
    if (this.warning || this.now() - this.lastReport >= this.minuteMs / 12) this.report();
  }
  private clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
  private report(): void {
    this.lastReport = this.now();
    this.events.report();
    if (this.warning) {
      this.warning = false;
      this.events.dismiss();
    }
    this.clear();
    const lead = Math.min(this.minuteMs, this.limitMs / 2);
    this.timers.push(
      setTimeout(() => {
        this.warning = true;
        this.events.warn(lead);
      }, this.limitMs - lead),
      // The Rust side looks twice a second; past a few seconds more, it
      // has not managed to say so, and the window locks itself.
      setTimeout(() => this.events.overdue(), this.limitMs + Math.max(3000, this.minuteMs / 10)),
    );
  }
}

/** True on the second Escape within `windowMs` of the first. */
export class DoubleEscape {
  private last = -Infinity;
  constructor(private windowMs = 800) {}
  press(key: string, now: number): boolean {
    if (key !== 'Escape') return false;
    const hit = now - this.last <= this.windowMs;
    this.last = hit ? -Infinity : now;
    return hit;
  }
}

/** Saves the latest value, one save at a time: a change made while a save
 *  is running is saved right after it, and none is lost or reordered. */
export class Autosaver<T> {
  private pending: T | undefined;
  private running: Promise<void> | undefined;
  constructor(private save: (value: T) => Promise<void>) {}
  push(value: T): Promise<void> {
    this.pending = value;
    if (!this.running) this.running = this.drain();
    return this.running;
  }
  /** Resolves when everything pushed so far is saved. */
  flush(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
  private async drain(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const value = this.pending;
        this.pending = undefined;
        await this.save(value);
      }
    } finally {
      this.running = undefined;
    }
  }
}

/** Saves still running when their screen has gone (the form closed by a
 *  lock or quick-hide): the lock waits for them, for a moment, so that
 *  what was typed last is saved before the keys are dropped. */
export class PendingSaves {
  private running = new Set<Promise<void>>();
  /** Keeps `save` until it settles. */
  keep(save: Promise<void>): void {
    const p = save.catch(() => {}).finally(() => this.running.delete(p));
    this.running.add(p);
  }
  /** Resolves when every kept save has settled, or after `ms`. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((ok) => (timer = setTimeout(ok, ms)));
    await Promise.race([Promise.all([...this.running]), timeout]);
    clearTimeout(timer);
  }
}

/** The app's one list of saves in flight. */
export const pendingSaves = new PendingSaves();
