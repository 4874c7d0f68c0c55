/**
 * Zigzag varints for the record format (magic 2), on plain JS numbers.
 *
 * - varint: zigzag-encoded int32, at most 5 bytes.
 * - varlong: zigzag-encoded int64, at most 10 bytes; exact for |v| <= 2^52 (2^52 ms is
 *   ~142,000 years, plenty for timestamp deltas).
 *
 * Readers work on a `Cursor` and throw `VarintError` on truncation or over-long encodings;
 * callers wrap that in their own error type. Kept separate from `wire/primitives.ts` on
 * purpose: the record-batch code needs only these few helpers on its hot-ish path.
 */

export class VarintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VarintError';
  }
}

/** A read position in a buffer; readers advance `pos` and never read at or past `end`. */
export interface Cursor {
  buf: Buffer;
  pos: number;
  end: number;
}

const TWO_32 = 4294967296;

function zigzagEncode(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function zigzagDecode(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** Bytes needed for an unsigned varint of `n` (0 <= n < 2^64, exact below 2^53). */
export function sizeOfUnsignedVarint(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes needed for a zigzag varint (int32). */
export function sizeOfVarint(v: number): number {
  return sizeOfUnsignedVarint(zigzagEncode(v));
}

/** Bytes needed for a zigzag varlong (int64 as number). */
export function sizeOfVarlong(v: number): number {
  return sizeOfUnsignedVarint(zigzagEncode(v));
}

/** Writes an unsigned varint at `pos`; returns the position after it. */
export function writeUnsignedVarint(buf: Buffer, pos: number, n: number): number {
  if (n < TWO_32) {
    n = n >>> 0;
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    return pos;
  }
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Writes a zigzag varint (int32); returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, v: number): number {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new RangeError(`varint out of int32 range: ${v}`);
  }
  return writeUnsignedVarint(buf, pos, zigzagEncode(v));
}

const MAX_EXACT_VARLONG = 2 ** 52;

/** Writes a zigzag varlong (int64 as number, |v| <= 2^52); returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, v: number): number {
  if (!Number.isInteger(v) || v > MAX_EXACT_VARLONG || v < -MAX_EXACT_VARLONG) {
    throw new RangeError(`varlong outside the exactly representable range ±2^52: ${v}`);
  }
  return writeUnsignedVarint(buf, pos, zigzagEncode(v));
}

function readUnsigned(c: Cursor, maxBytes: number, what: string): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (c.pos >= c.end) throw new VarintError(`truncated ${what}`);
    const b = c.buf[c.pos++]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new VarintError(`${what} longer than ${maxBytes} bytes`);
}

/** Reads an unsigned varint of at most 5 bytes (uint32). */
export function readUnsignedVarint(c: Cursor): number {
  const n = readUnsigned(c, 5, 'unsigned varint');
  if (n > 0xffffffff) throw new VarintError('unsigned varint exceeds 32 bits');
  return n;
}

/** Reads a zigzag varint (int32). */
export function readVarint(c: Cursor): number {
  const n = readUnsigned(c, 5, 'varint');
  if (n > 0xffffffff) throw new VarintError('varint exceeds 32 bits');
  return zigzagDecode(n);
}

/** Reads a zigzag varlong (int64); exact for |v| <= 2^52, rounded beyond (never throws for range). */
export function readVarlong(c: Cursor): number {
  return zigzagDecode(readUnsigned(c, 10, 'varlong'));
}
