// Latency recording for the load generator: HdrHistogram (hdr-histogram-js) in microseconds,
// 1 µs .. 60 s at 3 significant digits (every value is kept to within 0.1 %), constant memory
// and O(1) recording however many samples. Histograms cross process boundaries in HdrHistogram's
// compressed base64 form and are merged with `add`.
import hdr from 'hdr-histogram-js';

export const LOWEST_US = 1;
export const HIGHEST_US = 60_000_000;

export interface LatencySummary {
  count: number;
  /** Microseconds. */
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor(from?: hdr.Histogram) {
    this.h =
      from ??
      hdr.build({
        lowestDiscernibleValue: LOWEST_US,
        highestTrackableValue: HIGHEST_US,
        numberOfSignificantValueDigits: 3,
        bitBucketSize: 64,
        autoResize: false,
        useWebAssembly: false,
      });
  }

  /** Records one latency in microseconds (clamped into the trackable range). */
  recordMicros(us: number): void {
    let v = Math.round(us);
    if (!(v >= LOWEST_US)) v = LOWEST_US; // also NaN
    else if (v > HIGHEST_US) v = HIGHEST_US;
    this.h.recordValue(v);
  }

  /** Records one latency given in milliseconds (performance.now() differences). */
  recordMillis(ms: number): void {
    this.recordMicros(ms * 1000);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** The value at a percentile (0..100), in microseconds; 0 when empty. */
  percentile(p: number): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(p);
  }

  reset(): void {
    this.h.reset();
  }

  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  summary(): LatencySummary {
    const n = this.h.totalCount;
    if (n === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    return {
      count: n,
      min: this.h.minNonZeroValue,
      mean: Math.round(this.h.mean * 10) / 10,
      p50: this.h.getValueAtPercentile(50),
      p90: this.h.getValueAtPercentile(90),
      p99: this.h.getValueAtPercentile(99),
      p999: this.h.getValueAtPercentile(99.9),
      max: this.h.getValueAtPercentile(100),
    };
  }

  /** HdrHistogram's compressed base64 encoding (V2 format), for IPC and the results file. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(s: string): LatencyHistogram {
    const decoded = hdr.decodeFromCompressedBase64(s, 64, false);
    const out = new LatencyHistogram();
    out.h.add(decoded);
    return out;
  }
}
