// Shared pieces of the fuzz tests (test/wire/decoder-property.test.ts, test/e2e/fuzz-live.test.ts):
// a seeded PRNG, a Writer that remembers where it wrote every length prefix (so a mutation can
// set a string/bytes/array length or a tagged-field count to 2^31-1, -2, ...), and the byte-level
// mutations themselves. Everything is deterministic for a given seed, so a failing case can be
// replayed from the seed and case number it prints.
import { Writer } from '../../wire/primitives.js';
import { prng } from './util.js';

// The seeded PRNG is test/support/util.ts's (mulberry32), so fuzz cases replay from their seed.
export { prng };

/** Seeded random values for tests (the PRNG is passed in, so a sequence is reproducible). */
export class Random {
  constructor(readonly next: () => number) {}
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
  /** Random bytes biased towards the values that matter to length fields and varints. */
  nastyBytes(n: number): Buffer {
    const special = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0xfe];
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.chance(0.5) ? this.pick(special) : this.int(0, 255);
    return b;
  }
  /** A short string with multi-byte UTF-8 characters. */
  string(): string {
    const alphabet = ['a', 'b', 'Z', '0', '-', '_', '.', ' ', 'é', 'ß', '中', '😀'];
    let s = '';
    const n = this.int(0, 12);
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

/** A `Random` over `prng(seed)`. */
export function seeded(seed: number): Random {
  return new Random(prng(seed));
}

/** Where a length prefix (or null marker, or a tagged-field count/size) was written. */
export interface Prefix {
  /** Absolute byte position in the encoding. */
  pos: number;
  kind: 'int16' | 'int32' | 'uvarint';
  what: string;
}

/** Where a fixed-size integer field was written (a count, a timeout, a partition index, an id, ...). */
export interface IntField {
  pos: number;
  kind: 'int16' | 'int32' | 'int64';
}

/**
 * A Writer that records the position of every length-like prefix it writes: string and bytes
 * lengths, array counts, null markers, tagged-field counts and sizes. The encoding itself is
 * unchanged (positions inside a tagged field of 128+ bytes shift when its size is patched;
 * a mutation there lands a few bytes off, which is still a valid fuzz case).
 */
export class RecordingWriter extends Writer {
  readonly prefixes = new Map<number, Prefix>();
  /** Integer fields that are not length prefixes. */
  readonly ints: IntField[] = [];
  private noteInt(kind: IntField['kind']): void {
    const pos = this.length;
    if (!this.prefixes.has(pos)) this.ints.push({ pos, kind });
  }
  override int16(v: number): void {
    this.noteInt('int16');
    super.int16(v);
  }
  override int32(v: number): void {
    this.noteInt('int32');
    super.int32(v);
  }
  override int64(v: bigint): void {
    this.noteInt('int64');
    super.int64(v);
  }
  private note(kind: Prefix['kind'], what: string): void {
    const pos = this.length;
    if (!this.prefixes.has(pos)) this.prefixes.set(pos, { pos, kind, what });
  }
  override string(s: string): void {
    this.note('int16', 'string');
    super.string(s);
  }
  override nullableString(s: string | null): void {
    this.note('int16', 'nullable string');
    super.nullableString(s);
  }
  override compactString(s: string): void {
    this.note('uvarint', 'compact string');
    super.compactString(s);
  }
  override compactNullableString(s: string | null): void {
    this.note('uvarint', 'compact nullable string');
    super.compactNullableString(s);
  }
  override bytes(b: Uint8Array): void {
    this.note('int32', 'bytes');
    super.bytes(b);
  }
  override nullableBytes(b: Uint8Array | null): void {
    this.note('int32', 'nullable bytes');
    super.nullableBytes(b);
  }
  override compactBytes(b: Uint8Array): void {
    this.note('uvarint', 'compact bytes');
    super.compactBytes(b);
  }
  override compactNullableBytes(b: Uint8Array | null): void {
    this.note('uvarint', 'compact nullable bytes');
    super.compactNullableBytes(b);
  }
  override arrayLength(n: number): void {
    this.note('int32', 'array count');
    super.arrayLength(n);
  }
  override compactArrayLength(n: number): void {
    this.note('uvarint', 'compact array count');
    super.compactArrayLength(n);
  }
  override array<T>(items: readonly T[], item: (w: Writer, v: T) => void): void {
    this.note('int32', 'array count');
    super.array(items, item);
  }
  override nullableArray<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): void {
    this.note('int32', 'array count');
    super.nullableArray(items, item);
  }
  override compactArray<T>(items: readonly T[], item: (w: Writer, v: T) => void): void {
    this.note('uvarint', 'compact array count');
    super.compactArray(items, item);
  }
  override compactNullableArray<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): void {
    this.note('uvarint', 'compact array count');
    super.compactNullableArray(items, item);
  }
  override emptyTaggedFields(): void {
    this.note('uvarint', 'tagged field count');
    super.emptyTaggedFields();
  }
  override startTaggedField(tag: number): number {
    const sizePos = super.startTaggedField(tag);
    this.prefixes.set(sizePos, { pos: sizePos, kind: 'uvarint', what: 'tagged field size' });
    return sizePos;
  }
}

/** Byte length of the unsigned varint at `pos` (at most 5; 1 when it runs off the end). */
export function uvarintLength(buf: Buffer, pos: number): number {
  for (let i = 0; i < 5 && pos + i < buf.length; i++) if ((buf[pos + i]! & 0x80) === 0) return i + 1;
  return 1;
}

export function encodeUvarint(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/**
 * The encoding with the prefix at `p` replaced by a hostile value: the largest int16/int32,
 * -2 and the smallest negative, a little more than is left, or for varints 2^32-1, 2^31, a
 * 6-byte over-long varint. Returns the new buffer and a short description.
 */
export function mutatePrefix(buf: Buffer, p: Prefix, rnd: Random): { bytes: Buffer; desc: string } {
  const out = Buffer.from(buf);
  if (p.pos >= buf.length) return { bytes: out, desc: `${p.what}@${p.pos}: past the end` };
  const left = buf.length - p.pos;
  if (p.kind === 'int16') {
    if (p.pos + 2 > buf.length) return { bytes: out, desc: `${p.what}@${p.pos}: no room` };
    const v = rnd.pick([0x7fff, -2, -32768, -1, Math.min(0x7fff, left + rnd.int(0, 3))]);
    out.writeInt16BE(v, p.pos);
    return { bytes: out, desc: `${p.what}@${p.pos} := ${v}` };
  }
  if (p.kind === 'int32') {
    if (p.pos + 4 > buf.length) return { bytes: out, desc: `${p.what}@${p.pos}: no room` };
    const v = rnd.pick([0x7fffffff, -2, -0x80000000, -1, 0x40000000, left + rnd.int(0, 3)]);
    out.writeInt32BE(v, p.pos);
    return { bytes: out, desc: `${p.what}@${p.pos} := ${v}` };
  }
  const len = uvarintLength(buf, p.pos);
  const choice = rnd.int(0, 5);
  const repl =
    choice === 0 ? encodeUvarint(0xffffffff)
    : choice === 1 ? encodeUvarint(0x80000000)
    : choice === 2 ? encodeUvarint(0x7fffffff)
    : choice === 3 ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) // over-long
    : choice === 4 ? encodeUvarint(left + rnd.int(0, 3))
    : Buffer.from([0]); // null / empty
  return {
    bytes: Buffer.concat([buf.subarray(0, p.pos), repl, buf.subarray(p.pos + len)]),
    desc: `${p.what}@${p.pos} := varint ${repl.toString('hex')}`,
  };
}

/** The encoding with the integer field at `f` set to an extreme value (max, min, -1, 0, a large power of two). */
export function mutateInt(buf: Buffer, f: IntField, rnd: Random): { bytes: Buffer; desc: string } {
  const out = Buffer.from(buf);
  if (f.kind === 'int16') {
    if (f.pos + 2 > out.length) return { bytes: out, desc: `int16@${f.pos}: no room` };
    const v = rnd.pick([0x7fff, -0x8000, -1, 0, 0x4000, 1000]);
    out.writeInt16BE(v, f.pos);
    return { bytes: out, desc: `int16@${f.pos} := ${v}` };
  }
  if (f.kind === 'int32') {
    if (f.pos + 4 > out.length) return { bytes: out, desc: `int32@${f.pos}: no room` };
    const v = rnd.pick([0x7fffffff, -0x80000000, -1, 0, 1 << rnd.int(10, 30), 1_000_000]);
    out.writeInt32BE(v, f.pos);
    return { bytes: out, desc: `int32@${f.pos} := ${v}` };
  }
  if (f.pos + 8 > out.length) return { bytes: out, desc: `int64@${f.pos}: no room` };
  const v = rnd.pick([0x7fffffffffffffffn, -0x8000000000000000n, -1n, 0n, 1n << BigInt(rnd.int(31, 62)), 0x7fffffffn]);
  out.writeBigInt64BE(v, f.pos);
  return { bytes: out, desc: `int64@${f.pos} := ${v}` };
}

/** Random tagged fields: a count, then tags (known small ones and unknown large ones) with sizes that may lie. */
export function randomTaggedFields(rnd: Random): Buffer {
  const n = rnd.int(1, 3);
  const parts: Buffer[] = [encodeUvarint(rnd.chance(0.1) ? rnd.int(4, 1000) : n)];
  for (let i = 0; i < n; i++) {
    parts.push(encodeUvarint(rnd.chance(0.6) ? rnd.int(0, 5) : rnd.int(6, 0xffff)));
    const data = rnd.nastyBytes(rnd.int(0, 24));
    const size = rnd.chance(0.8) ? data.length : rnd.pick([data.length + 1, Math.max(0, data.length - 1), 0x7fffffff, 0xffffffff]);
    parts.push(encodeUvarint(size), data);
  }
  return Buffer.concat(parts);
}

/** Flips `n` random bits of `buf` in [from, buf.length). */
export function flipBits(buf: Buffer, n: number, rnd: Random, from = 0): { bytes: Buffer; desc: string } {
  const out = Buffer.from(buf);
  const at: string[] = [];
  if (out.length <= from) return { bytes: out, desc: 'nothing to flip' };
  for (let i = 0; i < n; i++) {
    const pos = rnd.int(from, out.length - 1);
    const bit = rnd.int(0, 7);
    out[pos] = out[pos]! ^ (1 << bit);
    at.push(`${pos}.${bit}`);
  }
  return { bytes: out, desc: `bits ${at.join(',')}` };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A positive integer from the environment, or the default. */
export function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
}
