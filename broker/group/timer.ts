// Keyed one-shot timers for the group coordinator (session timeouts, join/sync deadlines, the
// initial rebalance delay). Scheduling a key again replaces its pending timer, as Kafka's
// CoordinatorTimer does. The coordinator only sees the interface: the broker runs it on
// setTimeout (SystemTimer), tests drive a ManualTimer with a fake clock.

export interface CoordinatorTimer {
  /** Runs `fn` after `delayMs` unless cancelled or rescheduled first. */
  schedule(key: string, delayMs: number, fn: () => void): void;
  cancel(key: string): void;
  /** Cancels every timer whose key starts with `prefix`. */
  cancelAll(prefix: string): void;
  isScheduled(key: string): boolean;
}

export class SystemTimer implements CoordinatorTimer {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onError: (err: unknown, key: string) => void) {}

  schedule(key: string, delayMs: number, fn: () => void): void {
    this.cancel(key);
    const t = setTimeout(() => {
      if (this.timers.get(key) !== t) return;
      this.timers.delete(key);
      try {
        fn();
      } catch (err) {
        this.onError(err, key);
      }
    }, Math.max(0, delayMs));
    t.unref?.();
    this.timers.set(key, t);
  }

  cancel(key: string): void {
    const t = this.timers.get(key);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(key);
    }
  }

  cancelAll(prefix: string): void {
    for (const key of [...this.timers.keys()]) if (key.startsWith(prefix)) this.cancel(key);
  }

  isScheduled(key: string): boolean {
    return this.timers.has(key);
  }

  /** Cancels everything (broker shutdown). */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  get size(): number {
    return this.timers.size;
  }
}

/** A timer driven by `advance(ms)`: deadlines fire in order, each at its own clock time. */
export class ManualTimer implements CoordinatorTimer {
  private nowMsValue: number;
  private seq = 0;
  private readonly timers = new Map<string, { at: number; seq: number; fn: () => void }>();

  constructor(startMs = 0) {
    this.nowMsValue = startMs;
  }

  nowMs(): number {
    return this.nowMsValue;
  }

  schedule(key: string, delayMs: number, fn: () => void): void {
    this.timers.set(key, { at: this.nowMsValue + Math.max(0, delayMs), seq: this.seq++, fn });
  }

  cancel(key: string): void {
    this.timers.delete(key);
  }

  cancelAll(prefix: string): void {
    for (const key of [...this.timers.keys()]) if (key.startsWith(prefix)) this.timers.delete(key);
  }

  isScheduled(key: string): boolean {
    return this.timers.has(key);
  }

  deadline(key: string): number | undefined {
    return this.timers.get(key)?.at;
  }

  /** Moves the clock forward by `ms`, firing every timer that falls due (also ones scheduled meanwhile). */
  advance(ms: number): void {
    const target = this.nowMsValue + ms;
    for (;;) {
      let nextKey: string | null = null;
      let next: { at: number; seq: number; fn: () => void } | null = null;
      for (const [k, t] of this.timers) {
        if (t.at > target) continue;
        if (next === null || t.at < next.at || (t.at === next.at && t.seq < next.seq)) {
          next = t;
          nextKey = k;
        }
      }
      if (next === null || nextKey === null) break;
      this.timers.delete(nextKey);
      this.nowMsValue = Math.max(this.nowMsValue, next.at);
      next.fn();
    }
    this.nowMsValue = target;
  }

  get pendingKeys(): string[] {
    return [...this.timers.keys()];
  }
}
