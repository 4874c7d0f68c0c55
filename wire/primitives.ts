/**
 * Kafka protocol primitive types: a bounds-checked `Reader` and a growable `Writer`.
 *
 * Reader: every read checks the bytes left before touching the buffer, and every declared
 * length or count is checked against the bytes left *before* anything is allocated, so a
 * length of 2^31 throws `DecodeError` instead of allocating. Malformed input of any kind
 * throws `DecodeError`, never anything else. `bytes` values are zero-copy slices of the input.
 *
 * Writer: writes straight into a Buffer that doubles when full; `toBuffer()` returns a view
 * of the bytes written, without copying. Byte fields of at least `ZERO_COPY_MIN_BYTES` (record
 * batches on the fetch path) are not copied either: they are kept by reference as a separate
 * chunk, and `toChunks()` hands them out for a vectored socket write (`toBuffer()` joins the
 * chunks, the only copy).
 *
 * Encodings (https://kafka.apache.org/protocol.html#protocol_types):
 * - string: int16 length + UTF-8; nullable: length -1 = null.
 * - bytes: int32 length + bytes; nullable: length -1 = null.
 * - compact string/bytes: unsigned varint (length + 1); compact nullable: 0 = null.
 * - array: int32 count (-1 = null); compact array: unsigned varint (count + 1), 0 = null.
 * - tagged fields: uvarint count, then per field uvarint tag, uvarint size, size bytes.
 * - uuid: 16 bytes, shown as Kafka shows it: URL-safe base64 without padding (22 chars).
 */
import { randomBytes } from 'node:crypto';

/** Malformed input: truncated, a bad length, an over-long varint, a null where none is allowed. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** The all-zero uuid, Kafka's "no topic id". */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** Topic id of `__cluster_metadata` (the uuid 0x...01). */
export const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
/** A shared empty buffer: the default of non-nullable bytes fields. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
/** Byte fields at least this long are written by reference, not copied (see `Writer`). */
export const ZERO_COPY_MIN_BYTES = 16 * 1024;

/**
 * The value of a `records` field made of several stored pieces (e.g. batches from a segment's
 * tail cache), written one after another without joining them first. Only encoders take it:
 * decoders always produce one Buffer.
 */
export class RecordParts {
  readonly length: number;
  constructor(readonly parts: readonly Buffer[]) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }
}

/** A `records` value as one Buffer: decoded values as they are, parts joined (a copy). */
export function recordsBuffer(v: Buffer | RecordParts): Buffer;
export function recordsBuffer(v: Buffer | RecordParts | null): Buffer | null;
export function recordsBuffer(v: Buffer | RecordParts | null): Buffer | null {
  if (v === null || Buffer.isBuffer(v)) return v;
  return v.parts.length === 1 ? v.parts[0]! : Buffer.concat(v.parts as Buffer[], v.length);
}

const MAX_STRING_BYTES = 0x7fff;
const TWO_POW_28 = 0x10000000;
const UUID_RE = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** The 16 bytes of a uuid given as a 22-character URL-safe base64 string. */
export function uuidToBytes(uuid: string): Buffer {
  const out = Buffer.allocUnsafe(16);
  writeUuidAt(out, 0, uuid);
  return out;
}

/** The 22-character URL-safe base64 form of the 16 bytes at `offset`. */
export function uuidFromBytes(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 16 > bytes.length) throw new RangeError('uuidFromBytes: need 16 bytes');
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, 16).toString('base64url');
}

/** A random (version 4) uuid, never zero, never the metadata topic id, never starting with '-'. */
export function randomUuid(): string {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const s = b.toString('base64url');
    if (s !== ZERO_UUID && s !== METADATA_TOPIC_ID && s[0] !== '-') return s;
  }
}

function writeUuidAt(buf: Buffer, pos: number, uuid: string): void {
  if (typeof uuid !== 'string' || !UUID_RE.test(uuid)) {
    throw new Error(`invalid uuid ${JSON.stringify(uuid)}: expected 22 base64url characters`);
  }
  buf.write(uuid, pos, 16, 'base64url');
}

export class Reader {
  buf: Buffer;
  offset: number;
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (!(offset >= 0 && offset <= end && end <= buf.length)) {
      throw new RangeError(`Reader: bad range [${offset}, ${end}) of a ${buf.length}-byte buffer`);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  private truncated(n: number, what: string): DecodeError {
    return new DecodeError(`truncated input: ${what} needs ${n} bytes, ${this.end - this.offset} left at offset ${this.offset}`);
  }

  skip(n: number): void {
    if (!(n >= 0 && n <= this.end - this.offset)) throw this.truncated(n, 'skip');
    this.offset += n;
  }

  int8(): number {
    if (this.offset >= this.end) throw this.truncated(1, 'int8');
    return this.buf.readInt8(this.offset++);
  }

  int16(): number {
    const o = this.offset;
    if (o + 2 > this.end) throw this.truncated(2, 'int16');
    this.offset = o + 2;
    return this.buf.readInt16BE(o);
  }

  int32(): number {
    const o = this.offset;
    if (o + 4 > this.end) throw this.truncated(4, 'int32');
    this.offset = o + 4;
    return this.buf.readInt32BE(o);
  }

  int64(): bigint {
    const o = this.offset;
    if (o + 8 > this.end) throw this.truncated(8, 'int64');
    this.offset = o + 8;
    return this.buf.readBigInt64BE(o);
  }

  uint16(): number {
    const o = this.offset;
    if (o + 2 > this.end) throw this.truncated(2, 'uint16');
    this.offset = o + 2;
    return this.buf.readUInt16BE(o);
  }

  uint32(): number {
    const o = this.offset;
    if (o + 4 > this.end) throw this.truncated(4, 'uint32');
    this.offset = o + 4;
    return this.buf.readUInt32BE(o);
  }

  float64(): number {
    const o = this.offset;
    if (o + 8 > this.end) throw this.truncated(8, 'float64');
    this.offset = o + 8;
    return this.buf.readDoubleBE(o);
  }

  /** Kafka reads any non-zero byte as true. */
  bool(): boolean {
    if (this.offset >= this.end) throw this.truncated(1, 'bool');
    return this.buf[this.offset++] !== 0;
  }

  /** Unsigned varint, at most 5 bytes, value < 2^32. */
  uvarint(): number {
    const buf = this.buf;
    const end = this.end;
    let o = this.offset;
    if (o >= end) throw this.truncated(1, 'varint');
    let b = buf[o++]!;
    if (b < 0x80) {
      this.offset = o;
      return b;
    }
    let value = b & 0x7f;
    for (let shift = 7; ; shift += 7) {
      if (o >= end) throw this.truncated(1, 'varint');
      b = buf[o++]!;
      if (shift === 28) {
        if (b > 0x0f) throw new DecodeError(`varint at offset ${this.offset} is longer than 5 bytes or exceeds 32 bits`);
        value += b * TWO_POW_28;
        break;
      }
      value |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    this.offset = o;
    return value;
  }

  /** Zigzag varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag varlong (int64), at most 10 bytes. */
  varlong(): bigint {
    const buf = this.buf;
    const end = this.end;
    const start = this.offset;
    let o = start;
    // Up to 7 bytes (49 bits) fit exactly in a double.
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (o >= end) throw this.truncated(1, 'varlong');
      const b = buf[o++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.offset = o;
        return value % 2 === 0 ? BigInt(value / 2) : -BigInt((value + 1) / 2);
      }
      scale *= 128;
    }
    let big = BigInt(value);
    for (let shift = 49n; ; shift += 7n) {
      if (o >= end) throw this.truncated(1, 'varlong');
      const b = buf[o++]!;
      if (shift === 63n) {
        if (b > 0x01) throw new DecodeError(`varlong at offset ${start} is longer than 10 bytes or exceeds 64 bits`);
        big |= BigInt(b) << shift;
        break;
      }
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    this.offset = o;
    return (big >> 1n) ^ -(big & 1n);
  }

  uuid(): string {
    const o = this.offset;
    if (o + 16 > this.end) throw this.truncated(16, 'uuid');
    this.offset = o + 16;
    return this.buf.toString('base64url', o, o + 16);
  }

  private utf8(len: number, what: string): string {
    if (len > MAX_STRING_BYTES) throw new DecodeError(`${what} length ${len} exceeds ${MAX_STRING_BYTES}`);
    const o = this.offset;
    if (len > this.end - o) throw this.truncated(len, what);
    this.offset = o + len;
    return this.buf.toString('utf8', o, o + len);
  }

  private slice(len: number, what: string): Buffer {
    const o = this.offset;
    if (len > this.end - o) throw this.truncated(len, what);
    this.offset = o + len;
    return this.buf.subarray(o, o + len);
  }

  string(): string {
    const len = this.int16();
    if (len < 0) throw new DecodeError(len === -1 ? 'null in a non-nullable string' : `negative string length ${len}`);
    return this.utf8(len, 'string');
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(`negative string length ${len}`);
    }
    return this.utf8(len, 'string');
  }

  compactString(): string {
    const n = this.uvarint();
    if (n === 0) throw new DecodeError('null in a non-nullable compact string');
    return this.utf8(n - 1, 'compact string');
  }

  compactNullableString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.utf8(n - 1, 'compact string');
  }

  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) throw new DecodeError(len === -1 ? 'null in non-nullable bytes' : `negative bytes length ${len}`);
    return this.slice(len, 'bytes');
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) {
      if (len === -1) return null;
      throw new DecodeError(`negative bytes length ${len}`);
    }
    return this.slice(len, 'bytes');
  }

  compactBytes(): Buffer {
    const n = this.uvarint();
    if (n === 0) throw new DecodeError('null in non-nullable compact bytes');
    return this.slice(n - 1, 'compact bytes');
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint();
    return n === 0 ? null : this.slice(n - 1, 'compact bytes');
  }

  /**
   * An int32 array count: -1 for null, otherwise 0..remaining (every element of a Kafka array
   * takes at least `minElementSize` bytes, so a larger count is malformed).
   */
  arrayLength(minElementSize = 1): number {
    const n = this.int32();
    if (n < 0) {
      if (n === -1) return -1;
      throw new DecodeError(`negative array length ${n}`);
    }
    if (n * minElementSize > this.end - this.offset) {
      throw new DecodeError(`array of ${n} elements does not fit in the ${this.end - this.offset} bytes left`);
    }
    return n;
  }

  /** A compact array count (uvarint count + 1): -1 for null, otherwise checked like `arrayLength`. */
  compactArrayLength(minElementSize = 1): number {
    const u = this.uvarint();
    if (u === 0) return -1;
    const n = u - 1;
    if (n * minElementSize > this.end - this.offset) {
      throw new DecodeError(`array of ${n} elements does not fit in the ${this.end - this.offset} bytes left`);
    }
    return n;
  }

  array<T>(item: (r: Reader) => T): T[] {
    const n = this.arrayLength();
    if (n < 0) throw new DecodeError('null in a non-nullable array');
    return this.items(n, item);
  }

  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.arrayLength();
    return n < 0 ? null : this.items(n, item);
  }

  compactArray<T>(item: (r: Reader) => T): T[] {
    const n = this.compactArrayLength();
    if (n < 0) throw new DecodeError('null in a non-nullable compact array');
    return this.items(n, item);
  }

  compactNullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.compactArrayLength();
    return n < 0 ? null : this.items(n, item);
  }

  private items<T>(n: number, item: (r: Reader) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  /**
   * Validates a tagged field's size and returns the offset where the field ends. The decoder
   * then reads the field (or skips it) and calls `endTaggedField`.
   */
  taggedFieldEnd(size: number): number {
    if (size > this.end - this.offset) throw this.truncated(size, 'tagged field');
    return this.offset + size;
  }

  /** Checks that a known tagged field used exactly the size it declared. */
  endTaggedField(end: number): void {
    if (this.offset !== end) {
      throw new DecodeError(`tagged field ended at offset ${this.offset}, its size says ${end}`);
    }
  }

  /** Skips a whole tagged-field section (the struct has no tags this decoder knows). */
  skipTaggedFields(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }

  /**
   * Reads a tagged-field section, calling `onField` with each field's tag and a Reader over
   * exactly that field's bytes (zero-copy). Fields the callback does not read are skipped.
   */
  taggedFields(onField: (tag: number, r: Reader) => void): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      const tag = this.uvarint();
      const end = this.taggedFieldEnd(this.uvarint());
      onField(tag, new Reader(this.buf, this.offset, end));
      this.offset = end;
    }
  }
}

/** Encodes into a growable buffer; see the module comment for the zero-copy byte fields. */
export class Writer {
  /** The buffer being filled; bytes [0, pos) are written. */
  private buf: Buffer;
  private pos = 0;
  /** Finished chunks before `buf` (only after a zero-copy byte field). */
  private chunks: Buffer[] | null = null;
  private chunksLength = 0;
  /** Open tagged fields: their bytes are moved when the size is known, so no zero-copy inside. */
  private taggedDepth = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.chunksLength + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n, 256));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }

  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }

  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }

  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Unsigned varint of 0 <= v < 2^32. */
  uvarint(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) throw new RangeError(`uvarint out of range: ${v}`);
    this.ensure(5);
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** Zigzag varint of an int32. */
  varint(v: number): void {
    if (!(v >= -0x80000000 && v <= 0x7fffffff) || !Number.isInteger(v)) throw new RangeError(`varint out of range: ${v}`);
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zigzag varlong of an int64. */
  varlong(v: bigint): void {
    if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) throw new RangeError(`varlong out of range: ${v}`);
    let u = v >= 0n ? v << 1n : (-v << 1n) - 1n;
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    if (u <= 0xffffffffn) {
      let n = Number(u);
      while (n >= 0x80) {
        buf[p++] = (n & 0x7f) | 0x80;
        n = Math.floor(n / 128);
      }
      buf[p++] = n;
    } else {
      while (u >= 0x80n) {
        buf[p++] = Number(u & 0x7fn) | 0x80;
        u >>= 7n;
      }
      buf[p++] = Number(u);
    }
    this.pos = p;
  }

  uuid(v: string): void {
    this.ensure(16);
    writeUuidAt(this.buf, this.pos, v);
    this.pos += 16;
  }

  /** Writes `s` as UTF-8 `prefix` bytes after the current position; returns its byte length. */
  private utf8At(s: string, prefix: number): number {
    if (s.length <= 4096) {
      // At most 3 bytes per UTF-16 unit: write first, learn the length, then the prefix.
      this.ensure(prefix + s.length * 3);
      return this.buf.write(s, this.pos + prefix, 'utf8');
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(prefix + n);
    return this.buf.write(s, this.pos + prefix, n, 'utf8');
  }

  string(s: string): void {
    if (typeof s !== 'string') throw new TypeError(`expected a string, got ${s === null ? 'null' : typeof s}`);
    const n = this.utf8At(s, 2);
    if (n > MAX_STRING_BYTES) throw new RangeError(`string of ${n} bytes is longer than ${MAX_STRING_BYTES}`);
    this.buf.writeInt16BE(n, this.pos);
    this.pos += 2 + n;
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1);
    else this.string(s);
  }

  compactString(s: string): void {
    if (typeof s !== 'string') throw new TypeError(`expected a string, got ${s === null ? 'null' : typeof s}`);
    if (s.length * 3 < 0x7f) {
      const n = this.utf8At(s, 1);
      this.buf[this.pos] = n + 1;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    if (n > MAX_STRING_BYTES) throw new RangeError(`string of ${n} bytes is longer than ${MAX_STRING_BYTES}`);
    this.uvarint(n + 1);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.uvarint(0);
    else this.compactString(s);
  }

  bytes(b: Uint8Array | RecordParts): void {
    this.int32(b.length);
    this.rawOrParts(b);
  }

  nullableBytes(b: Uint8Array | RecordParts | null): void {
    if (b === null) this.int32(-1);
    else this.bytes(b);
  }

  compactBytes(b: Uint8Array | RecordParts): void {
    this.uvarint(b.length + 1);
    this.rawOrParts(b);
  }

  compactNullableBytes(b: Uint8Array | RecordParts | null): void {
    if (b === null) this.uvarint(0);
    else this.compactBytes(b);
  }

  private rawOrParts(b: Uint8Array | RecordParts): void {
    if (!(b instanceof RecordParts)) this.raw(b);
    else if (b.length < ZERO_COPY_MIN_BYTES || this.taggedDepth > 0) for (const p of b.parts) this.raw(p);
    else for (const p of b.parts) this.reference(p);
  }

  /** Appends bytes as they are (no length). Large ones are kept by reference (see `toChunks`). */
  raw(b: Uint8Array): void {
    const n = b.length;
    if (n >= ZERO_COPY_MIN_BYTES && this.taggedDepth === 0) {
      this.reference(b);
      return;
    }
    this.ensure(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** Appends `b` as a chunk of its own, by reference (outside tagged fields only). */
  private reference(b: Uint8Array): void {
    const n = b.length;
    const chunks = this.chunks ?? (this.chunks = []);
    if (this.pos > 0) chunks.push(this.buf.subarray(0, this.pos));
    chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, n));
    this.chunksLength += this.pos + n;
    // Keep filling the rest of the current buffer.
    this.buf = this.buf.subarray(this.pos);
    this.pos = 0;
  }

  /** int32 array count; -1 writes null. */
  arrayLength(n: number): void {
    this.int32(n);
  }

  /** Compact array count (uvarint n + 1); -1 writes null. */
  compactArrayLength(n: number): void {
    this.uvarint(n + 1);
  }

  array<T>(items: readonly T[], item: (w: Writer, v: T) => void): void {
    this.int32(items.length);
    for (let i = 0; i < items.length; i++) item(this, items[i]!);
  }

  nullableArray<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): void {
    if (items === null) this.int32(-1);
    else this.array(items, item);
  }

  compactArray<T>(items: readonly T[], item: (w: Writer, v: T) => void): void {
    this.uvarint(items.length + 1);
    for (let i = 0; i < items.length; i++) item(this, items[i]!);
  }

  compactNullableArray<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): void {
    if (items === null) this.uvarint(0);
    else this.compactArray(items, item);
  }

  /** An empty tagged-field section. */
  emptyTaggedFields(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0;
  }

  /**
   * Starts one tagged field: writes its tag and reserves one byte for its size. Write the value,
   * then call `endTaggedField` with the returned position. Fields must be written in ascending
   * tag order, after the uvarint count of fields.
   */
  startTaggedField(tag: number): number {
    this.uvarint(tag);
    this.ensure(1);
    this.taggedDepth++;
    return this.pos++;
  }

  endTaggedField(sizePos: number): void {
    this.taggedDepth--;
    const start = sizePos + 1;
    const size = this.pos - start;
    if (size < 0x80) {
      this.buf[sizePos] = size;
      return;
    }
    // The size needs more than the reserved byte: move the value right.
    let sizeLen = 1;
    for (let s = size; s >= 0x80; s = Math.floor(s / 128)) sizeLen++;
    this.ensure(sizeLen - 1);
    this.buf.copy(this.buf, start + sizeLen - 1, start, this.pos);
    let p = sizePos;
    let v = size;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
    this.pos += sizeLen - 1;
  }

  /** Reserves 4 bytes (e.g. a frame length) and returns their position for `patchInt32`. */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.length;
    this.pos += 4;
    return at;
  }

  /** Writes an int32 at a position returned by `reserveInt32` (an absolute offset). */
  patchInt32(position: number, v: number): void {
    let rel = position - this.chunksLength;
    if (rel >= 0) {
      if (rel + 4 > this.pos) throw new RangeError(`patchInt32: position ${position} was not written`);
      this.buf.writeInt32BE(v, rel);
      return;
    }
    rel = position;
    for (const c of this.chunks!) {
      if (rel + 4 <= c.length) {
        c.writeInt32BE(v, rel);
        return;
      }
      rel -= c.length;
    }
    throw new RangeError(`patchInt32: position ${position} was not written`);
  }

  /** All bytes written, contiguous. A view of the internal buffer unless zero-copy chunks were used. */
  toBuffer(): Buffer {
    const tail = this.buf.subarray(0, this.pos);
    if (this.chunks === null) return tail;
    return Buffer.concat([...this.chunks, tail], this.length);
  }

  /** All bytes written as a list of buffers (for `writev`/corked writes), with no copy at all. */
  toChunks(): Buffer[] {
    const tail = this.buf.subarray(0, this.pos);
    if (this.chunks === null) return [tail];
    return this.pos > 0 ? [...this.chunks, tail] : [...this.chunks];
  }
}
