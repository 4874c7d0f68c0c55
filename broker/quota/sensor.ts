// A rate over a sliding window of samples, with Kafka's arithmetic (org.apache.kafka.common
// .metrics: SampledStat + Rate, as a quota Sensor uses them):
// - `samples` samples (quota.window.num, 11) of `windowMs` each (quota.window.size.seconds, 1 s);
//   a value goes into the current sample, and a sample older than `windowMs` starts a new one
//   (reusing the oldest once there are `samples`);
// - samples whose start is `samples × windowMs` or more ago are reset (they no longer count);
// - the rate is the sum of the samples over the window size, where the window is the time since
//   the oldest sample began but at least `samples − 1` full windows (so a new client is measured
//   over 10 s, not over its first millisecond), and at least 1 ms;
// - a recorded value that takes the rate over the bound gives Kafka's throttle time
//   X = (O − T) / T × W: how long the client must stay silent for the rate O, measured over W,
//   to fall back to the bound T.

export interface SensorConfig {
  /** quota.window.num */
  readonly samples: number;
  /** quota.window.size.seconds × 1000 */
  readonly windowMs: number;
}

interface Sample {
  start: number;
  value: number;
}

export class RateSensor {
  private readonly samples: Sample[] = [];
  private current = 0;
  /** Last time a value was recorded (sensors of idle clients are dropped). */
  lastRecordMs = 0;

  constructor(private readonly config: SensorConfig) {}

  /** Adds `value` (may be negative: Kafka's "unrecord" of a throttled fetch) at `nowMs`. */
  record(value: number, nowMs: number): void {
    this.lastRecordMs = nowMs;
    let sample = this.currentSample(nowMs);
    if (nowMs - sample.start >= this.config.windowMs) sample = this.advance(nowMs);
    sample.value += value;
  }

  /** The rate in units per second at `nowMs`. */
  rate(nowMs: number): number {
    this.purgeObsolete(nowMs);
    let total = 0;
    for (const s of this.samples) total += s.value;
    return total / (this.windowSizeMs(nowMs) / 1000);
  }

  /** Kafka's `Rate.windowSize`: the span the rate is measured over. */
  windowSizeMs(nowMs: number): number {
    this.purgeObsolete(nowMs);
    let elapsed = nowMs - this.oldest(nowMs).start;
    const fullWindows = Math.floor(elapsed / this.config.windowMs);
    const minFullWindows = this.config.samples - 1;
    if (fullWindows < minFullWindows) elapsed += (minFullWindows - fullWindows) * this.config.windowMs;
    return Math.max(elapsed, 1);
  }

  private currentSample(nowMs: number): Sample {
    if (this.samples.length === 0) this.samples.push({ start: nowMs, value: 0 });
    return this.samples[this.current]!;
  }

  private advance(nowMs: number): Sample {
    this.current = (this.current + 1) % this.config.samples;
    if (this.current >= this.samples.length) {
      const s = { start: nowMs, value: 0 };
      this.samples.push(s);
      return s;
    }
    const s = this.samples[this.current]!;
    s.start = nowMs;
    s.value = 0;
    return s;
  }

  private purgeObsolete(nowMs: number): void {
    const expireAge = this.config.samples * this.config.windowMs;
    for (const s of this.samples) {
      if (nowMs - s.start >= expireAge) {
        s.start = nowMs;
        s.value = 0;
      }
    }
  }

  private oldest(nowMs: number): Sample {
    if (this.samples.length === 0) this.samples.push({ start: nowMs, value: 0 });
    let oldest = this.samples[0]!;
    for (const s of this.samples) if (s.start < oldest.start) oldest = s;
    return oldest;
  }
}

/**
 * Records `value` and returns the throttle time in ms when the rate now exceeds `bound` (per
 * second), else 0 (Kafka's `ClientQuotaManager.recordAndGetThrottleTimeMs` +
 * `QuotaUtils.throttleTime`).
 */
export function recordAndGetThrottleTimeMs(sensor: RateSensor, value: number, bound: number, nowMs: number): number {
  sensor.record(value, nowMs);
  const rate = sensor.rate(nowMs);
  if (!(rate > bound)) return 0;
  return Math.round(((rate - bound) / bound) * sensor.windowSizeMs(nowMs));
}
