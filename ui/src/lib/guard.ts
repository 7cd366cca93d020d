// The two ways the desk protects itself when the ambassador looks away:
// an idle timer that locks, and a quick-hide key (Escape twice) that
// blanks the screen at once.

/** Calls `onIdle` after `minutes` without activity; `poke` on activity. */
export class IdleTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private minutes: number,
    private onIdle: () => void,
  ) {}
  start(): void {
    this.poke();
  }
  poke(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onIdle();
    }, this.minutes * 60_000);
  }
  setMinutes(minutes: number): void {
    this.minutes = minutes;
    if (this.timer !== undefined) this.poke();
  }
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
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
