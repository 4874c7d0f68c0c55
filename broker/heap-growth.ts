// Keeps V8 from running back-to-back full GCs while the JS heap is small.
//
// The broker's JS heap is small (~12 MB live) while it moves hundreds of MB/s of request
// buffers. V8 sets the old generation's next limit from the live size (×1.1–4); when that slack
// is not larger than the young generation (16 MB at full size), incremental marking starts again
// right after every mark-compact: measured 60–116 mark-compacts in 5 s of 1 MiB produce, about a
// third of the broker's CPU with the concurrent marking threads. Growing the limit by at least
// 64 MiB (a factor of up to 4, V8's own upper bound) leaves enough slack: 2–13 mark-compacts in
// 5 s, 2.7–3.1 → 2.0 CPU-s/GB. For large heaps the factor shrinks (down to 1.25), so a big heap
// never grows 4× unchecked.
//
// `--heap-growing-percent` is read each time V8 recomputes its limits, so it can be changed at
// runtime with v8.setFlagsFromString (the start-up-only `--initial-old-space-size` would do the
// same but cannot be set from inside the process or in NODE_OPTIONS).
import v8 from 'node:v8';

/** The least growth of the old generation's limit past the live heap that we aim for. */
export const MIN_HEAP_SLACK_BYTES = 64 * 1024 * 1024;
const MAX_GROWING_PERCENT = 300;
const MIN_GROWING_PERCENT = 25;
const CHECK_INTERVAL_MS = 2_000;

/** The `--heap-growing-percent` for a heap of `usedBytes`. */
export function heapGrowingPercent(usedBytes: number): number {
  const wanted = Math.ceil((MIN_HEAP_SLACK_BYTES * 100) / Math.max(1, usedBytes));
  return Math.min(MAX_GROWING_PERCENT, Math.max(MIN_GROWING_PERCENT, wanted));
}

/** Applies the growth policy now and every few seconds; returns a function that stops it. */
export function startHeapGrowthPolicy(): () => void {
  let current = -1;
  const apply = () => {
    const next = heapGrowingPercent(v8.getHeapStatistics().used_heap_size);
    // Small moves are not worth a flag change.
    if (current > 0 && Math.abs(next - current) < current / 4) return;
    current = next;
    v8.setFlagsFromString(`--heap-growing-percent=${next}`);
  };
  apply();
  const timer = setInterval(apply, CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
