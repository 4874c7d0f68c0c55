import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  EMPTY_BUFFER,
  METADATA_TOPIC_ID,
  Reader,
  RecordParts,
  Writer,
  ZERO_COPY_MIN_BYTES,
  recordsBuffer,
  ZERO_UUID,
  randomUuid,
  uuidFromBytes,
  uuidToBytes,
} from '../../wire/primitives.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const bytesOf = (f: (w: Writer) => void) => {
  const w = new Writer(16);
  f(w);
  return w.toBuffer();
};
const reader = (s: string | Buffer) => new Reader(typeof s === 'string' ? hex(s) : s);
const expectDecodeError = (f: () => unknown) => expect(f).toThrow(DecodeError);

describe('fixed-size integers', () => {
  const cases: Array<[keyof Writer & keyof Reader, number[]]> = [
    ['int8', [0, 1, -1, 127, -128]],
    ['int16', [0, 1, -1, 32767, -32768]],
    ['int32', [0, 1, -1, 2147483647, -2147483648]],
    ['uint16', [0, 1, 65535]],
    ['uint32', [0, 1, 4294967295]],
    ['float64', [0, -0, 1.5, -3.25e300, Number.MIN_VALUE, Infinity, -Infinity]],
  ];
  for (const [name, values] of cases) {
    it(`${name} round-trips`, () => {
      const buf = bytesOf((w) => values.forEach((v) => (w[name] as (v: number) => void)(v)));
      const r = new Reader(buf);
      for (const v of values) expect((r[name] as () => number).call(r)).toBe(v);
      expect(r.remaining()).toBe(0);
    });
  }

  it('is big-endian', () => {
    expect(bytesOf((w) => w.int32(0x01020304))).toEqual(hex('01020304'));
    expect(bytesOf((w) => w.int16(-2))).toEqual(hex('fffe'));
    expect(bytesOf((w) => w.int64(0x0102030405060708n))).toEqual(hex('0102030405060708'));
  });

  it('int64 round-trips the full range', () => {
    const values = [0n, -1n, 1n, 9223372036854775807n, -9223372036854775808n, 2n ** 53n + 1n];
    const r = new Reader(bytesOf((w) => values.forEach((v) => w.int64(v))));
    for (const v of values) expect(r.int64()).toBe(v);
  });

  it('bool reads any non-zero byte as true', () => {
    const r = reader('00 01 02 ff');
    expect([r.bool(), r.bool(), r.bool(), r.bool()]).toEqual([false, true, true, true]);
    expect(bytesOf((w) => (w.bool(true), w.bool(false)))).toEqual(hex('0100'));
  });

  it('rejects out-of-range values on write', () => {
    const w = new Writer();
    expect(() => w.int8(128)).toThrow(RangeError);
    expect(() => w.int16(32768)).toThrow(RangeError);
    expect(() => w.int32(2 ** 31)).toThrow(RangeError);
    expect(() => w.uint32(-1)).toThrow(RangeError);
    expect(() => w.int64(2n ** 63n)).toThrow(RangeError);
  });

  it('throws DecodeError on truncation', () => {
    expectDecodeError(() => reader('').int8());
    expectDecodeError(() => reader('00').int16());
    expectDecodeError(() => reader('000000').int32());
    expectDecodeError(() => reader('00000000000000').int64());
    expectDecodeError(() => reader('00').uint16());
    expectDecodeError(() => reader('000000').uint32());
    expectDecodeError(() => reader('00000000000000').float64());
    expectDecodeError(() => reader('').bool());
  });

  it('respects the end of a Reader range, not the end of the buffer', () => {
    const buf = hex('0102030405060708');
    const r = new Reader(buf, 2, 6);
    expect(r.remaining()).toBe(4);
    expect(r.int16()).toBe(0x0304);
    expectDecodeError(() => r.int32());
    expect(r.int16()).toBe(0x0506);
    expectDecodeError(() => r.int8());
    expect(() => new Reader(buf, 5, 3)).toThrow(RangeError);
    expect(() => new Reader(buf, 0, 9)).toThrow(RangeError);
  });
});

describe('varints', () => {
  it('encodes unsigned varints as Kafka does', () => {
    expect(bytesOf((w) => w.uvarint(0))).toEqual(hex('00'));
    expect(bytesOf((w) => w.uvarint(127))).toEqual(hex('7f'));
    expect(bytesOf((w) => w.uvarint(128))).toEqual(hex('8001'));
    expect(bytesOf((w) => w.uvarint(300))).toEqual(hex('ac02'));
    expect(bytesOf((w) => w.uvarint(0xffffffff))).toEqual(hex('ffffffff0f'));
  });

  it('encodes zigzag varints and varlongs', () => {
    expect(bytesOf((w) => w.varint(0))).toEqual(hex('00'));
    expect(bytesOf((w) => w.varint(-1))).toEqual(hex('01'));
    expect(bytesOf((w) => w.varint(1))).toEqual(hex('02'));
    expect(bytesOf((w) => w.varint(300))).toEqual(hex('d804'));
    expect(bytesOf((w) => w.varint(-2147483648))).toEqual(hex('ffffffff0f'));
    expect(bytesOf((w) => w.varlong(-1n))).toEqual(hex('01'));
    expect(bytesOf((w) => w.varlong(-9223372036854775808n))).toEqual(hex('ffffffffffffffffff01'));
    expect(bytesOf((w) => w.varlong(9223372036854775807n))).toEqual(hex('feffffffffffffffff01'));
  });

  it('round-trips boundaries', () => {
    const u = [0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1];
    let r = new Reader(bytesOf((w) => u.forEach((v) => w.uvarint(v))));
    for (const v of u) expect(r.uvarint()).toBe(v);
    const s = [0, -1, 1, 63, -64, 64, -65, 2147483647, -2147483648, 123456789, -987654321];
    r = new Reader(bytesOf((w) => s.forEach((v) => w.varint(v))));
    for (const v of s) expect(r.varint()).toBe(v);
    const l = [0n, -1n, 1n, 2n ** 48n, -(2n ** 48n), 2n ** 49n, 2n ** 53n + 3n, -(2n ** 62n), 2n ** 63n - 1n, -(2n ** 63n)];
    r = new Reader(bytesOf((w) => l.forEach((v) => w.varlong(v))));
    for (const v of l) expect(r.varlong()).toBe(v);
    expect(r.remaining()).toBe(0);
  });

  it('rejects over-long and overflowing varints', () => {
    expectDecodeError(() => reader('ffffffff10').uvarint()); // > 2^32 - 1
    expectDecodeError(() => reader('ffffffff8f01').uvarint()); // 6 bytes
    expectDecodeError(() => reader('8080808080').varint());
    expectDecodeError(() => reader('ffffffffffffffffff02').varlong()); // > 64 bits
    expectDecodeError(() => reader('ffffffffffffffffff8001').varlong()); // 11 bytes
  });

  it('rejects truncated varints', () => {
    expectDecodeError(() => reader('').uvarint());
    expectDecodeError(() => reader('80').uvarint());
    expectDecodeError(() => reader('ffffff').varint());
    expectDecodeError(() => reader('ff').varlong());
    expectDecodeError(() => reader('ffffffffffffffff').varlong());
  });

  it('rejects out-of-range values on write', () => {
    const w = new Writer();
    expect(() => w.uvarint(-1)).toThrow(RangeError);
    expect(() => w.uvarint(2 ** 32)).toThrow(RangeError);
    expect(() => w.uvarint(1.5)).toThrow(RangeError);
    expect(() => w.varint(2 ** 31)).toThrow(RangeError);
    expect(() => w.varlong(2n ** 63n)).toThrow(RangeError);
  });
});

describe('uuid', () => {
  it('uses the 22-character URL-safe base64 form', () => {
    expect(ZERO_UUID).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    expect(uuidToBytes(ZERO_UUID)).toEqual(Buffer.alloc(16));
    expect(uuidToBytes(METADATA_TOPIC_ID)).toEqual(hex('00000000000000000000000000000001'));
    const bytes = hex('f0e1d2c3b4a5968778695a4b3c2d1e0f');
    const s = uuidFromBytes(bytes);
    expect(s).toHaveLength(22);
    expect(s).toBe(bytes.toString('base64url'));
    expect(uuidToBytes(s)).toEqual(bytes);
    expect(uuidFromBytes(Buffer.concat([hex('aabb'), bytes]), 2)).toBe(s);
  });

  it('round-trips through Reader and Writer', () => {
    const ids = [ZERO_UUID, METADATA_TOPIC_ID, randomUuid(), randomUuid()];
    const buf = bytesOf((w) => ids.forEach((id) => w.uuid(id)));
    expect(buf).toHaveLength(64);
    const r = new Reader(buf);
    for (const id of ids) expect(r.uuid()).toBe(id);
    expectDecodeError(() => reader('00'.repeat(15)).uuid());
  });

  it('randomUuid gives version 4 uuids that are not special', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomUuid();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{20}[AQgw]$/);
      const b = uuidToBytes(id);
      expect(b[6]! >> 4).toBe(4);
      expect(id).not.toBe(ZERO_UUID);
      expect(id).not.toBe(METADATA_TOPIC_ID);
    }
  });

  it('rejects malformed uuids', () => {
    expect(() => uuidToBytes('abc')).toThrow(Error);
    expect(() => uuidToBytes('AAAAAAAAAAAAAAAAAAAAA=')).toThrow(Error);
    expect(() => uuidToBytes('AAAAAAAAAAAAAAAAAAAA+A')).toThrow(Error);
    expect(() => uuidToBytes('AAAAAAAAAAAAAAAAAAAAAB')).toThrow(Error); // non-canonical last char
    expect(() => new Writer().uuid('')).toThrow(Error);
  });
});

describe('strings', () => {
  it('encodes the four forms', () => {
    expect(bytesOf((w) => w.string('abc'))).toEqual(hex('0003 616263'));
    expect(bytesOf((w) => w.nullableString(null))).toEqual(hex('ffff'));
    expect(bytesOf((w) => w.nullableString(''))).toEqual(hex('0000'));
    expect(bytesOf((w) => w.compactString('abc'))).toEqual(hex('04 616263'));
    expect(bytesOf((w) => w.compactNullableString(null))).toEqual(hex('00'));
    expect(bytesOf((w) => w.compactNullableString(''))).toEqual(hex('01'));
  });

  it('round-trips UTF-8 of all lengths', () => {
    const values = ['', 'a', 'héllo wörld', '日本語テキスト', '😀 emoji', 'x'.repeat(42), 'é'.repeat(43), 'y'.repeat(127), 'z'.repeat(5000), '€'.repeat(10000)];
    for (const v of values) {
      const buf = bytesOf((w) => {
        w.string(v);
        w.nullableString(v);
        w.compactString(v);
        w.compactNullableString(v);
      });
      const r = new Reader(buf);
      expect(r.string()).toBe(v);
      expect(r.nullableString()).toBe(v);
      expect(r.compactString()).toBe(v);
      expect(r.compactNullableString()).toBe(v);
      expect(r.remaining()).toBe(0);
    }
  });

  it('writes compact length prefixes of more than one byte', () => {
    const v = 'q'.repeat(200);
    const buf = bytesOf((w) => w.compactString(v));
    expect(buf.subarray(0, 2)).toEqual(hex('c901')); // 201
    expect(new Reader(buf).compactString()).toBe(v);
  });

  it('rejects strings longer than 32767 bytes on write', () => {
    expect(() => new Writer().string('a'.repeat(32768))).toThrow(RangeError);
    expect(() => new Writer().compactString('a'.repeat(32768))).toThrow(RangeError);
    expect(() => new Writer().string('€'.repeat(11000))).toThrow(RangeError);
    expect(bytesOf((w) => w.string('a'.repeat(32767)))).toHaveLength(32769);
  });

  it('rejects null where a string is required', () => {
    expectDecodeError(() => reader('ffff').string());
    expectDecodeError(() => reader('00').compactString());
    expect(() => new Writer().string(null as unknown as string)).toThrow(TypeError);
  });

  it('rejects bad lengths', () => {
    expectDecodeError(() => reader('fffe').nullableString()); // -2
    expectDecodeError(() => reader('8000').string()); // -32768
    expectDecodeError(() => reader('0004 616263').string()); // longer than what is left
    expectDecodeError(() => reader('05 616263').compactString());
    expectDecodeError(() => reader('81 80 02').compactString()); // 32768 - 1 + ... > 0x7fff
    expectDecodeError(() => reader('ffffffff0f').compactNullableString()); // 2^32 - 2 bytes
    expectDecodeError(() => reader('0001').string());
  });

  it('decodes invalid UTF-8 lossily', () => {
    expect(reader('0002 c328').string()).toBe('\ufffd(');
  });
});

describe('bytes', () => {
  it('encodes the four forms', () => {
    const b = hex('0a0b');
    expect(bytesOf((w) => w.bytes(b))).toEqual(hex('00000002 0a0b'));
    expect(bytesOf((w) => w.nullableBytes(null))).toEqual(hex('ffffffff'));
    expect(bytesOf((w) => w.compactBytes(b))).toEqual(hex('03 0a0b'));
    expect(bytesOf((w) => w.compactNullableBytes(null))).toEqual(hex('00'));
    expect(bytesOf((w) => w.bytes(EMPTY_BUFFER))).toEqual(hex('00000000'));
  });

  it('writes record parts exactly as their concatenation, large parts by reference', () => {
    const small = hex('0102');
    const large = Buffer.alloc(ZERO_COPY_MIN_BYTES, 7);
    const parts = new RecordParts([small, large, small]);
    const joined = Buffer.concat([small, large, small]);
    expect(parts.length).toBe(joined.length);
    expect(recordsBuffer(parts)).toEqual(joined);
    for (const write of [(w: Writer, v: Buffer | RecordParts) => w.bytes(v), (w: Writer, v: Buffer | RecordParts) => w.compactNullableBytes(v)]) {
      const w = new Writer(16);
      write(w, parts);
      const chunks = w.toChunks();
      expect(chunks).toContain(large); // not copied, and neither are small parts of large records
      expect(chunks.filter((c) => c === small)).toHaveLength(2);
      expect(Buffer.concat(chunks)).toEqual(bytesOf((x) => write(x, joined)));
    }
    expect(bytesOf((w) => w.nullableBytes(new RecordParts([])))).toEqual(hex('00000000'));
  });

  it('decodes zero-copy slices', () => {
    const buf = hex('00000003 010203 04 040506 ffffffff 00');
    const r = new Reader(buf);
    const a = r.bytes();
    expect(a).toEqual(hex('010203'));
    expect(a.buffer).toBe(buf.buffer);
    expect(a.byteOffset).toBe(buf.byteOffset + 4);
    expect(r.compactBytes()).toEqual(hex('040506'));
    expect(r.nullableBytes()).toBeNull();
    expect(r.compactNullableBytes()).toBeNull();
  });

  it('rejects null where bytes are required, and bad lengths', () => {
    expectDecodeError(() => reader('ffffffff').bytes());
    expectDecodeError(() => reader('00').compactBytes());
    expectDecodeError(() => reader('fffffffe').nullableBytes());
    expectDecodeError(() => reader('00000004 010203').bytes());
    expectDecodeError(() => reader('05 010203').compactBytes());
  });

  it('throws DecodeError for a 2^31 - 1 length without allocating', () => {
    const before = process.memoryUsage().arrayBuffers;
    expectDecodeError(() => reader('7fffffff 00').bytes());
    expectDecodeError(() => reader('7fffffff 00').nullableBytes());
    expectDecodeError(() => reader('80808080 08 00').compactBytes()); // uvarint 2^31
    expectDecodeError(() => reader('ffffffff0f 00').compactNullableBytes()); // uvarint 2^32 - 1
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });
});

describe('arrays', () => {
  const int32 = (r: Reader) => r.int32();
  const wInt32 = (w: Writer, v: number) => w.int32(v);

  it('encodes the four forms', () => {
    expect(bytesOf((w) => w.array([1, 2], wInt32))).toEqual(hex('00000002 00000001 00000002'));
    expect(bytesOf((w) => w.nullableArray(null, wInt32))).toEqual(hex('ffffffff'));
    expect(bytesOf((w) => w.compactArray([1], wInt32))).toEqual(hex('02 00000001'));
    expect(bytesOf((w) => w.compactNullableArray(null, wInt32))).toEqual(hex('00'));
    expect(bytesOf((w) => w.compactArray([], wInt32))).toEqual(hex('01'));
    expect(bytesOf((w) => (w.arrayLength(-1), w.compactArrayLength(-1), w.compactArrayLength(3)))).toEqual(hex('ffffffff 00 04'));
  });

  it('round-trips nested arrays', () => {
    const v = [['a', 'b'], [], ['c']];
    const buf = bytesOf((w) => w.compactArray(v, (w, inner) => w.array(inner, (w, s) => w.string(s))));
    expect(new Reader(buf).compactArray((r) => r.array((r) => r.string()))).toEqual(v);
    const r = new Reader(bytesOf((w) => (w.nullableArray(null, wInt32), w.compactNullableArray([7], wInt32))));
    expect(r.nullableArray(int32)).toBeNull();
    expect(r.compactNullableArray(int32)).toEqual([7]);
  });

  it('rejects null where an array is required, and bad counts', () => {
    expectDecodeError(() => reader('ffffffff').array(int32));
    expectDecodeError(() => reader('00').compactArray(int32));
    expectDecodeError(() => reader('fffffffe').nullableArray(int32));
    expectDecodeError(() => reader('00000002 00000001').array(int32)); // second element missing
    expectDecodeError(() => reader('00000002 00000001 0000').array(int32));
  });

  it('throws DecodeError for a count of 2^31 - 1 before reading any element', () => {
    let calls = 0;
    const item = (r: Reader) => (calls++, r.int8());
    expectDecodeError(() => reader('7fffffff 0102').array(item));
    expectDecodeError(() => reader('7fffffff 0102').nullableArray(item));
    expectDecodeError(() => reader('80808080 08 0102').compactArray(item));
    expectDecodeError(() => reader('ffffffff0f 0102').compactNullableArray(item));
    expect(calls).toBe(0);
    // A count larger than the bytes left, even when small.
    expectDecodeError(() => reader('00000003 0102').array(item));
    expect(calls).toBe(0);
  });

  it('checks counts against the element size when given', () => {
    expect(reader('00000002 0000000100000002').arrayLength(4)).toBe(2);
    expectDecodeError(() => reader('00000002 00000001').arrayLength(4));
    expectDecodeError(() => reader('04 00000001 00000002').compactArrayLength(4));
    expect(reader('03 00000001 00000002').compactArrayLength(4)).toBe(2);
    expect(reader('ffffffff').arrayLength(4)).toBe(-1);
    expect(reader('00').compactArrayLength(4)).toBe(-1);
  });
});

describe('tagged fields', () => {
  it('writes fields with one-byte and multi-byte sizes', () => {
    const big = Buffer.alloc(300, 7);
    const w = new Writer(8);
    w.uvarint(3);
    let p = w.startTaggedField(0);
    w.int32(42);
    w.endTaggedField(p);
    p = w.startTaggedField(5);
    w.raw(big);
    w.endTaggedField(p);
    p = w.startTaggedField(200);
    w.compactString('hi');
    w.endTaggedField(p);
    w.int8(99); // after the section
    const buf = w.toBuffer();
    expect(buf.subarray(0, 7)).toEqual(hex('03 00 04 0000002a'));
    expect(buf.subarray(7, 10)).toEqual(hex('05 ac02'));
    expect(buf.subarray(310)).toEqual(hex('c801 03 03 6869 63'));

    const seen: Array<[number, Buffer]> = [];
    const r = new Reader(buf);
    r.taggedFields((tag, fr) => seen.push([tag, fr.buf.subarray(fr.offset, fr.end)]));
    expect(seen.map(([t]) => t)).toEqual([0, 5, 200]);
    expect(seen[1]![1]).toEqual(big);
    expect(r.int8()).toBe(99);

    const r2 = new Reader(buf);
    r2.skipTaggedFields();
    expect(r2.int8()).toBe(99);
  });

  it('writes an empty section as one zero byte', () => {
    expect(bytesOf((w) => w.emptyTaggedFields())).toEqual(hex('00'));
  });

  it('rejects truncated sections and sizes beyond the input', () => {
    expectDecodeError(() => reader('01 00 05 0000').skipTaggedFields());
    expectDecodeError(() => reader('02 00 00').skipTaggedFields());
    expectDecodeError(() => reader('01 00 ffffffff0f').skipTaggedFields());
    expectDecodeError(() => reader('01 00 05 0000').taggedFields(() => {}));
    const r = reader('00000000');
    expectDecodeError(() => r.taggedFieldEnd(5));
    const end = r.taggedFieldEnd(4);
    r.int16();
    expectDecodeError(() => r.endTaggedField(end));
  });
});

describe('Writer', () => {
  it('grows from a tiny buffer and returns a view, not a copy', () => {
    const w = new Writer(1);
    for (let i = 0; i < 10000; i++) w.int32(i);
    expect(w.length).toBe(40000);
    const buf = w.toBuffer();
    expect(buf).toHaveLength(40000);
    const r = new Reader(buf);
    for (let i = 0; i < 10000; i++) expect(r.int32()).toBe(i);
    expect(w.toBuffer().buffer).toBe(buf.buffer);
  });

  it('patches a reserved frame length', () => {
    const w = new Writer();
    const at = w.reserveInt32();
    w.string('hello');
    w.patchInt32(at, w.length - 4);
    expect(w.toBuffer()).toEqual(hex('00000007 0005 68656c6c6f'));
    expect(() => w.patchInt32(w.length, 1)).toThrow(RangeError);
  });

  it('keeps large byte fields by reference and still patches across chunks', () => {
    const big = Buffer.alloc(ZERO_COPY_MIN_BYTES + 10, 0xab);
    const w = new Writer();
    const at = w.reserveInt32();
    w.int16(1);
    w.bytes(big);
    const inner = w.reserveInt32();
    w.compactBytes(big);
    w.int8(5);
    w.patchInt32(inner, 77);
    w.patchInt32(at, w.length - 4);
    const chunks = w.toChunks();
    expect(chunks.some((c) => c === big)).toBe(true);
    const joined = w.toBuffer();
    expect(Buffer.concat(chunks)).toEqual(joined);
    expect(joined.length).toBe(w.length);
    const r = new Reader(joined);
    expect(r.int32()).toBe(joined.length - 4);
    expect(r.int16()).toBe(1);
    expect(r.bytes()).toEqual(big);
    expect(r.int32()).toBe(77);
    expect(r.compactBytes()).toEqual(big);
    expect(r.int8()).toBe(5);
    expect(r.remaining()).toBe(0);
  });

  it('copies large byte fields inside a tagged field (whose bytes may move)', () => {
    const big = Buffer.alloc(ZERO_COPY_MIN_BYTES, 1);
    const w = new Writer();
    w.uvarint(1);
    const p = w.startTaggedField(1);
    w.compactBytes(big);
    w.endTaggedField(p);
    expect(w.toChunks()).toHaveLength(1);
    const r = new Reader(w.toBuffer());
    let got: Buffer | null = null;
    r.taggedFields((tag, fr) => {
      expect(tag).toBe(1);
      got = fr.compactBytes();
    });
    expect(got).toEqual(big);
  });
});
