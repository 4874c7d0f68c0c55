/**
 * CRC32C (Castagnoli), the checksum of magic-2 record batches.
 *
 * One function, one place: `crc32c()` dispatches to whichever implementation was chosen at
 * load time. The default is the pure-JS `crc-32/crc32c` (~1.5 GB/s). If the native
 * `@node-rs/crc32` package is installed it is used instead (~5 GB/s), after a known-answer
 * self-check. `setCrc32cImplementation()` lets a caller (or a benchmark) swap it explicitly.
 */
import { createRequire } from 'node:module';
import CRC32C from 'crc-32/crc32c.js';

/** Computes the unsigned CRC32C of `data`. */
export type Crc32cImpl = (data: Uint8Array) => number;

const KNOWN_INPUT = Buffer.from('123456789', 'latin1');
const KNOWN_ANSWER = 0xe3069283;

const jsImpl: Crc32cImpl = (data) => CRC32C.buf(data) >>> 0;

function loadNative(): Crc32cImpl | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@node-rs/crc32') as { crc32c?: (input: Uint8Array, initial?: number) => number };
    const fn = mod.crc32c;
    if (typeof fn !== 'function') return null;
    const impl: Crc32cImpl = (data) => fn(data) >>> 0;
    return impl(KNOWN_INPUT) === KNOWN_ANSWER ? impl : null;
  } catch {
    return null;
  }
}

let impl: Crc32cImpl = loadNative() ?? jsImpl;
let implName = impl === jsImpl ? 'crc-32/crc32c' : '@node-rs/crc32';

/** Unsigned 32-bit CRC32C of `buf[start, end)`. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return impl(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
}

/** Name of the implementation in use (for logs and benchmarks). */
export function crc32cImplementation(): string {
  return implName;
}

/**
 * Replaces the implementation (e.g. with a faster native one). It must pass the known-answer
 * test ("123456789" → 0xE3069283) or this throws and nothing changes.
 */
export function setCrc32cImplementation(next: Crc32cImpl, name = 'custom'): void {
  if (next(KNOWN_INPUT) >>> 0 !== KNOWN_ANSWER) {
    throw new Error(`CRC32C implementation ${name} failed the known-answer test`);
  }
  impl = next;
  implName = name;
}
