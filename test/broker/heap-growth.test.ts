import { describe, expect, it } from 'vitest';
import { heapGrowingPercent, MIN_HEAP_SLACK_BYTES } from '../../broker/heap-growth.js';

const MB = 1024 * 1024;

describe('heap growth policy', () => {
  it('gives a small heap at least MIN_HEAP_SLACK_BYTES of room, with a factor of at most 4', () => {
    expect(heapGrowingPercent(12 * MB)).toBe(300);
    expect(heapGrowingPercent(0)).toBe(300);
    for (const used of [16, 24, 32, 48, 64, 128, 256].map((m) => m * MB)) {
      const pct = heapGrowingPercent(used);
      expect((used * pct) / 100).toBeGreaterThanOrEqual(Math.min(MIN_HEAP_SLACK_BYTES, 3 * used));
    }
  });

  it('lets a large heap grow by a quarter, and never gives a bigger heap a bigger factor', () => {
    expect(heapGrowingPercent(1024 * MB)).toBe(25);
    expect(heapGrowingPercent(Number.MAX_SAFE_INTEGER)).toBe(25);
    let prev = Infinity;
    for (let m = 1; m <= 2048; m *= 2) {
      const pct = heapGrowingPercent(m * MB);
      expect(pct).toBeLessThanOrEqual(prev);
      prev = pct;
    }
  });
});
