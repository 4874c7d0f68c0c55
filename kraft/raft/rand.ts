/**
 * A small seeded PRNG (mulberry32) for the Raft core's election timeouts and for tests.
 * Drivers may seed it from `crypto.randomInt` at start-up; the core itself never reads a
 * global source of randomness.
 */
import type { RandomInt } from './types.js';

export function seededRandom(seed: number): RandomInt {
  let state = seed >>> 0;
  return (bound: number): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(u * bound);
  };
}
