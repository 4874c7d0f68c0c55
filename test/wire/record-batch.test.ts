import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CompressionType } from '../../wire/compression.js';
import { crc32c, crc32cImplementation, setCrc32cImplementation } from '../../wire/crc32c.js';
import { ErrorCode } from '../../wire/errors.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_SIZE,
  batchCrcValid,
  compressionOf,
  ControlRecordType,
  CRC_OFFSET,
  decodeControlRecord,
  decodeRecordBatch,
  encodeControlBatch,
  encodeRecordBatch,
  findOffsetForTimestamp,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  LAST_OFFSET_DELTA_OFFSET,
  maxTimestampRecordOffset,
  readBatchHeader,
  recomputeCrc,
  RECORDS_COUNT_OFFSET,
  RecordBatchError,
  scanBatches,
  setBaseOffset,
  setPartitionLeaderEpoch,
  stampLogAppendTime,
  timestampTypeOf,
  TimestampType,
} from '../../wire/record-batch.js';
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  VarintError,
  writeVarint,
  writeVarlong,
} from '../../wire/varint.js';

const require = createRequire(import.meta.url);
const CODECS = [CompressionType.NONE, CompressionType.GZIP, CompressionType.SNAPPY, CompressionType.LZ4, CompressionType.ZSTD];

function sampleBatch(compression = CompressionType.NONE, baseOffset = 0, n = 3): Buffer {
  return encodeRecordBatch({
    baseOffset,
    compression,
    baseTimestamp: 1_700_000_000_000,
    records: Array.from({ length: n }, (_, i) => ({
      key: `k${i}`,
      value: `value-${i}-`.repeat(20),
      timestamp: 1_700_000_000_000 + i * 10,
    })),
  });
}

/** A legacy (magic 0 or 1) message set entry: offset, size, crc, magic, attributes, [timestamp], key, value. */
function legacyMessage(magic: 0 | 1): Buffer {
  const value = Buffer.from('legacy');
  const body = Buffer.alloc(4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + value.length);
  let p = 4; // crc left as zero
  body.writeInt8(magic, p++);
  body.writeInt8(0, p++);
  if (magic === 1) {
    body.writeBigInt64BE(1_700_000_000_000n, p);
    p += 8;
  }
  body.writeInt32BE(-1, p);
  p += 4;
  body.writeInt32BE(value.length, p);
  p += 4;
  value.copy(body, p);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

describe('crc32c', () => {
  it('known answer: "123456789" → 0xE3069283', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('handles ranges and returns unsigned values', () => {
    const b = Buffer.from('xx123456789yy');
    expect(crc32c(b, 2, 11)).toBe(0xe3069283);
    for (let i = 0; i < 50; i++) expect(crc32c(Buffer.from([i, i * 7, 255 - i]))).toBeGreaterThanOrEqual(0);
  });

  it('only accepts replacement implementations that pass the known-answer test', () => {
    expect(() => setCrc32cImplementation(() => 1, 'broken')).toThrow();
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const before = crc32cImplementation();
    const CRC32C = require('crc-32/crc32c.js') as { buf(b: Uint8Array): number };
    setCrc32cImplementation((d) => CRC32C.buf(d) >>> 0, 'again');
    expect(crc32cImplementation()).toBe('again');
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(before.length).toBeGreaterThan(0);
  });
});

describe('varints', () => {
  it('round-trip int32 and int64 values', () => {
    const ints = [0, 1, -1, 63, -64, 64, -65, 300, -300, 2 ** 20, 2147483647, -2147483648];
    const longs = [...ints, 2 ** 40, -(2 ** 40), 2 ** 52, -(2 ** 52), 1_700_000_000_000, -1_700_000_000_000];
    const buf = Buffer.alloc(16);
    for (const v of ints) {
      const end = writeVarint(buf, 0, v);
      expect(end).toBe(sizeOfVarint(v));
      const c: Cursor = { buf, pos: 0, end };
      expect(readVarint(c)).toBe(v);
      expect(c.pos).toBe(end);
    }
    for (const v of longs) {
      const end = writeVarlong(buf, 0, v);
      expect(end).toBe(sizeOfVarlong(v));
      expect(readVarlong({ buf, pos: 0, end })).toBe(v);
    }
  });

  it('matches known encodings', () => {
    const buf = Buffer.alloc(10);
    expect(buf.subarray(0, writeVarint(buf, 0, -1))).toEqual(Buffer.from([0x01]));
    expect(buf.subarray(0, writeVarint(buf, 0, 1))).toEqual(Buffer.from([0x02]));
    expect(buf.subarray(0, writeVarint(buf, 0, 150))).toEqual(Buffer.from([0xac, 0x02]));
  });

  it('rejects truncated and over-long encodings', () => {
    expect(() => readVarint({ buf: Buffer.from([0x80, 0x80]), pos: 0, end: 2 })).toThrow(VarintError);
    expect(() => readVarint({ buf: Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), pos: 0, end: 6 })).toThrow(VarintError);
    expect(() => writeVarint(Buffer.alloc(10), 0, 2 ** 31)).toThrow(RangeError);
    expect(() => writeVarlong(Buffer.alloc(10), 0, 2 ** 52 + 2)).toThrow(RangeError);
  });
});

describe('encode / decode round trip', () => {
  for (const compression of CODECS) {
    it(`compression ${CompressionType[compression]}`, () => {
      const records = [
        { key: 'key-1', value: 'value-1', timestamp: 1000, headers: [{ key: 'h1', value: 'v1' }, { key: 'h2', value: null }] },
        { key: null, value: Buffer.from([0, 1, 2, 255]), timestamp: 1005 },
        { key: Buffer.alloc(0), value: null, timestamp: 990, headers: { 'ünïcode': 'ok', empty: '' } },
        { value: 'x'.repeat(100_000), timestamp: 1010 },
      ];
      const buf = encodeRecordBatch({
        baseOffset: 2 ** 40,
        partitionLeaderEpoch: 7,
        compression,
        producerId: 123456789012,
        producerEpoch: 3,
        baseSequence: 42,
        records,
      });
      expect(batchCrcValid(buf)).toBe(true);
      const { header, records: out } = decodeRecordBatch(buf);
      expect(header.baseOffset).toBe(2 ** 40);
      expect(header.batchLength).toBe(buf.length - 12);
      expect(header.partitionLeaderEpoch).toBe(7);
      expect(header.magic).toBe(2);
      expect(compressionOf(header.attributes)).toBe(compression);
      expect(header.lastOffsetDelta).toBe(3);
      expect(header.baseTimestamp).toBe(1000);
      expect(header.maxTimestamp).toBe(1010);
      expect(header.producerId).toBe(123456789012);
      expect(header.producerEpoch).toBe(3);
      expect(header.baseSequence).toBe(42);
      expect(header.recordCount).toBe(4);
      expect(out.map((r) => r.offset)).toEqual([2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2, 2 ** 40 + 3]);
      expect(out.map((r) => r.timestamp)).toEqual([1000, 1005, 990, 1010]);
      expect(out.map((r) => r.timestampDelta)).toEqual([0, 5, -10, 10]);
      expect(out[0]!.key!.toString()).toBe('key-1');
      expect(out[0]!.value!.toString()).toBe('value-1');
      expect(out[0]!.headers).toEqual([
        { key: 'h1', value: Buffer.from('v1') },
        { key: 'h2', value: null },
      ]);
      expect(out[1]!.key).toBeNull();
      expect(out[1]!.value).toEqual(Buffer.from([0, 1, 2, 255]));
      expect(out[2]!.key).toEqual(Buffer.alloc(0));
      expect(out[2]!.value).toBeNull();
      expect(out[2]!.headers).toEqual([
        { key: 'ünïcode', value: Buffer.from('ok') },
        { key: 'empty', value: Buffer.alloc(0) },
      ]);
      expect(out[3]!.key).toBeNull();
      expect(out[3]!.value!.length).toBe(100_000);
      if (compression !== CompressionType.NONE) expect(buf.length).toBeLessThan(10_000);
    });
  }

  it('uses defaults: producer fields -1, offsets by index, timestamps from the first record', () => {
    const buf = encodeRecordBatch({ records: [{ value: 'a', timestamp: 5 }, { value: 'b' }] });
    const h = readBatchHeader(buf);
    expect(h.baseOffset).toBe(0);
    expect(h.partitionLeaderEpoch).toBe(-1);
    expect(h.producerId).toBe(-1);
    expect(h.producerEpoch).toBe(-1);
    expect(h.baseSequence).toBe(-1);
    expect(h.attributes).toBe(0);
    expect(h.baseTimestamp).toBe(5);
    expect(h.maxTimestamp).toBe(5);
    expect(decodeRecordBatch(buf).records.map((r) => [r.offset, r.timestamp])).toEqual([
      [0, 5],
      [1, 5],
    ]);
  });

  it('keeps explicit offset deltas (compacted batches) and empty batches', () => {
    const buf = encodeRecordBatch({
      baseOffset: 100,
      records: [
        { value: 'a', offsetDelta: 0, timestamp: 1 },
        { value: 'b', offsetDelta: 5, timestamp: 2 },
      ],
      lastOffsetDelta: 9,
    });
    expect(readBatchHeader(buf).lastOffsetDelta).toBe(9);
    expect(decodeRecordBatch(buf).records.map((r) => r.offset)).toEqual([100, 105]);
    expect(scanBatches(buf).error).toBeNull();

    const empty = encodeRecordBatch({ baseOffset: 50, lastOffsetDelta: 4, records: [] });
    expect(empty.length).toBe(BATCH_HEADER_SIZE);
    const eh = readBatchHeader(empty);
    expect(eh.recordCount).toBe(0);
    expect(eh.baseTimestamp).toBe(-1);
    expect(eh.maxTimestamp).toBe(-1);
    expect(decodeRecordBatch(empty).records).toEqual([]);
    expect(scanBatches(empty).error).toBeNull();
  });

  it('sets attribute bits', () => {
    const buf = encodeRecordBatch({
      compression: CompressionType.LZ4,
      timestampType: TimestampType.LOG_APPEND_TIME,
      isTransactional: true,
      deleteHorizonMs: 123,
      records: [{ value: 'v', timestamp: 200 }],
    });
    const a = readBatchHeader(buf).attributes;
    expect(compressionOf(a)).toBe(CompressionType.LZ4);
    expect(timestampTypeOf(a)).toBe(TimestampType.LOG_APPEND_TIME);
    expect(isTransactional(a)).toBe(true);
    expect(isControl(a)).toBe(false);
    expect(hasDeleteHorizon(a)).toBe(true);
    expect(readBatchHeader(buf).baseTimestamp).toBe(123);
    expect(a).toBe(3 | 8 | 16 | 64);
  });
});

describe('header patching', () => {
  it('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid', () => {
    const buf = sampleBatch();
    setBaseOffset(buf, 0, 9_007_199_254_740_000);
    setPartitionLeaderEpoch(buf, 0, 12);
    expect(batchCrcValid(buf)).toBe(true);
    const h = readBatchHeader(buf);
    expect(h.baseOffset).toBe(9_007_199_254_740_000);
    expect(h.partitionLeaderEpoch).toBe(12);
    expect(decodeRecordBatch(buf).records[2]!.offset).toBe(9_007_199_254_740_002);
  });

  it('patches batches at a position inside a larger buffer', () => {
    const a = sampleBatch(CompressionType.NONE, 0);
    const b = sampleBatch(CompressionType.GZIP, 0);
    const buf = Buffer.concat([a, b]);
    setBaseOffset(buf, a.length, 3);
    expect(readBatchHeader(buf, a.length).baseOffset).toBe(3);
    expect(batchCrcValid(buf, a.length)).toBe(true);
    expect(decodeRecordBatch(buf, a.length).records.map((r) => r.offset)).toEqual([3, 4, 5]);
  });

  it('stampLogAppendTime sets the attribute, maxTimestamp and a fresh CRC', () => {
    const buf = sampleBatch(CompressionType.SNAPPY);
    const crcBefore = readBatchHeader(buf).crc;
    stampLogAppendTime(buf, 0, 1_800_000_000_000);
    const h = readBatchHeader(buf);
    expect(timestampTypeOf(h.attributes)).toBe(TimestampType.LOG_APPEND_TIME);
    expect(compressionOf(h.attributes)).toBe(CompressionType.SNAPPY);
    expect(h.maxTimestamp).toBe(1_800_000_000_000);
    expect(h.baseTimestamp).toBe(1_700_000_000_000);
    expect(h.crc).not.toBe(crcBefore);
    expect(batchCrcValid(buf)).toBe(true);
    // readers report the append time for every record
    expect(decodeRecordBatch(buf).records.map((r) => r.timestamp)).toEqual([1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000]);
  });

  it('reads -1 int64 fields as -1', () => {
    const buf = encodeRecordBatch({ baseOffset: -1, records: [] });
    expect(readBatchHeader(buf).baseOffset).toBe(-1);
    expect(readBatchHeader(buf).producerId).toBe(-1);
  });

  it('readBatchHeader refuses short buffers', () => {
    expect(() => readBatchHeader(Buffer.alloc(60))).toThrow(RecordBatchError);
  });
});

describe('CRC checking', () => {
  it('detects a flipped bit anywhere in the CRC-covered range, but not in baseOffset/epoch', () => {
    const buf = sampleBatch(CompressionType.NONE, 0, 5);
    expect(batchCrcValid(buf)).toBe(true);
    for (const pos of [ATTRIBUTES_OFFSET, LAST_OFFSET_DELTA_OFFSET + 1, 40, RECORDS_COUNT_OFFSET + 3, 70, buf.length - 1]) {
      const copy = Buffer.from(buf);
      copy[pos]! ^= 0x04;
      expect(batchCrcValid(copy), `bit flip at ${pos}`).toBe(false);
      expect(scanBatches(copy).error).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(() => decodeRecordBatch(copy)).toThrow(/CRC/);
    }
    const copy = Buffer.from(buf);
    copy[CRC_OFFSET]! ^= 0x01;
    expect(batchCrcValid(copy)).toBe(false);
    const offsetFlip = Buffer.from(buf);
    offsetFlip[3]! ^= 0x01;
    expect(batchCrcValid(offsetFlip)).toBe(true);
  });

  it('batchCrcValid is false for incomplete batches', () => {
    const buf = sampleBatch();
    expect(batchCrcValid(buf.subarray(0, buf.length - 1))).toBe(false);
    expect(batchCrcValid(buf.subarray(0, 30))).toBe(false);
  });

  it('decodeRecordBatch can skip CRC verification', () => {
    const buf = sampleBatch();
    buf[buf.length - 10]! ^= 0x01; // inside the last value
    expect(decodeRecordBatch(buf, 0, { verifyCrc: false }).records.length).toBe(3);
  });
});

describe('scanBatches', () => {
  const a = sampleBatch(CompressionType.NONE, 0);
  const b = sampleBatch(CompressionType.ZSTD, 3);
  const c = sampleBatch(CompressionType.LZ4, 6, 10);
  const all = Buffer.concat([a, b, c]);

  it('walks a valid multi-batch buffer', () => {
    const r = scanBatches(all, { verifyCrc: true });
    expect(r.error).toBeNull();
    expect(r.truncated).toBe(false);
    expect(r.validBytes).toBe(all.length);
    expect(r.batches.map((x) => [x.pos, x.size])).toEqual([
      [0, a.length],
      [a.length, b.length],
      [a.length + b.length, c.length],
    ]);
    expect(r.batches.map((x) => x.header.baseOffset)).toEqual([0, 3, 6]);
    expect(r.batches[2]!.header.recordCount).toBe(10);
  });

  it('returns nothing for an empty buffer', () => {
    expect(scanBatches(Buffer.alloc(0))).toEqual({ batches: [], validBytes: 0, error: null, truncated: false });
  });

  it('stops before a torn tail (partial batch, partial 12-byte prefix)', () => {
    for (const cut of [all.length - 1, a.length + b.length + 61, a.length + b.length + 20, a.length + b.length + 11, a.length + b.length + 1]) {
      const r = scanBatches(all.subarray(0, cut));
      expect(r.error, `cut at ${cut}`).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(r.truncated).toBe(true);
      expect(r.validBytes).toBe(a.length + b.length);
      expect(r.batches.length).toBe(2);
    }
  });

  it('rejects legacy message formats (magic 0 and 1)', () => {
    for (const magic of [0, 1] as const) {
      const r = scanBatches(legacyMessage(magic));
      expect(r.error).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
      expect(r.validBytes).toBe(0);
      const r2 = scanBatches(Buffer.concat([a, legacyMessage(magic)]));
      expect(r2.error).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
      expect(r2.validBytes).toBe(a.length);
    }
    expect(() => decodeRecordBatch(Buffer.concat([legacyMessage(1), Buffer.alloc(61)]))).toThrow(RecordBatchError);
  });

  it('rejects unknown magic', () => {
    const bad = Buffer.from(a);
    bad[16] = 3;
    expect(scanBatches(bad).error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(scanBatches(bad).truncated).toBe(false);
  });

  it('rejects a wrong CRC unless verification is off', () => {
    const bad = Buffer.concat([a, b]);
    bad.writeUInt32BE((bad.readUInt32BE(a.length + CRC_OFFSET) + 1) >>> 0, a.length + CRC_OFFSET);
    const r = scanBatches(bad);
    expect(r.error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(r.message).toMatch(/CRC/);
    expect(r.validBytes).toBe(a.length);
    expect(r.truncated).toBe(false);
    expect(scanBatches(bad, { verifyCrc: false }).error).toBeNull();
  });

  it('rejects negative, too-small and huge lengths', () => {
    for (const len of [-1, -2147483648, 0, 10, 48]) {
      const bad = Buffer.concat([a, b]);
      bad.writeInt32BE(len, a.length + 8);
      const r = scanBatches(bad);
      expect(r.error, `length ${len}`).toBe(ErrorCode.CORRUPT_MESSAGE);
      expect(r.truncated).toBe(false);
      expect(r.validBytes).toBe(a.length);
    }
    const huge = Buffer.concat([a, b]);
    huge.writeInt32BE(0x7fffffff, a.length + 8);
    const r = scanBatches(huge);
    expect(r.error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(r.validBytes).toBe(a.length);
  });

  it('rejects impossible record counts and offset deltas', () => {
    const patch = (f: (buf: Buffer) => void): Buffer => {
      const buf = Buffer.from(a);
      f(buf);
      recomputeCrc(buf);
      return buf;
    };
    expect(scanBatches(patch((x) => x.writeInt32BE(-1, RECORDS_COUNT_OFFSET))).error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(scanBatches(patch((x) => x.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET))).error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(scanBatches(patch((x) => x.writeInt32BE(1, LAST_OFFSET_DELTA_OFFSET))).error).toBe(ErrorCode.CORRUPT_MESSAGE); // 3 records
    expect(scanBatches(patch((x) => x.writeInt32BE(1_000_000, RECORDS_COUNT_OFFSET))).error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(scanBatches(patch((x) => x.writeInt16BE(5, ATTRIBUTES_OFFSET))).error).toBe(ErrorCode.CORRUPT_MESSAGE);
    // lastOffsetDelta larger than count - 1 is legal (compacted batch)
    expect(scanBatches(patch((x) => x.writeInt32BE(100, LAST_OFFSET_DELTA_OFFSET))).error).toBeNull();
  });

  it('calls a zero-filled tail corrupt, not a legacy message', () => {
    const r = scanBatches(Buffer.concat([a, Buffer.alloc(100)]));
    expect(r.error).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(r.validBytes).toBe(a.length);
  });

  it('rejects garbage without throwing', () => {
    let seed = 7;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 200; i++) {
      const g = Buffer.from(Array.from({ length: 1 + (i % 150) }, rand));
      const r = scanBatches(g);
      expect(r.error).not.toBeNull();
      expect(r.validBytes).toBe(0);
      expect(r.batches).toEqual([]);
    }
  });
});

describe('decodeRecordBatch on malformed records', () => {
  /** Builds a batch around a hand-made records section with a correct CRC. */
  function withSection(section: Buffer, count: number, compression = CompressionType.NONE): Buffer {
    const buf = Buffer.concat([encodeRecordBatch({ compression, records: [] }).subarray(0, BATCH_HEADER_SIZE), section]);
    buf.writeInt32BE(buf.length - 12, 8);
    buf.writeInt32BE(count, RECORDS_COUNT_OFFSET);
    buf.writeInt32BE(Math.max(0, count - 1), LAST_OFFSET_DELTA_OFFSET);
    recomputeCrc(buf);
    return buf;
  }
  const good = sampleBatch().subarray(BATCH_HEADER_SIZE);

  it('accepts the reference section', () => {
    expect(decodeRecordBatch(withSection(good, 3)).records.length).toBe(3);
  });

  it('throws RecordBatchError (CORRUPT_MESSAGE) for bad input', () => {
    const cases: Array<[string, Buffer]> = [
      ['fewer records than declared', withSection(good, 4)],
      ['more bytes than records', withSection(Buffer.concat([good, Buffer.from([0])]), 3)],
      ['truncated record', withSection(good.subarray(0, good.length - 5), 3)],
      ['record length overruns', withSection(Buffer.from([0x7e, 0, 0, 0, 1, 1, 0]), 1)],
      ['negative key length', withSection(Buffer.from([0x0c, 0, 0, 0, 0x03, 1, 0]), 1)],
      ['over-long varint', withSection(Buffer.from([0x0e, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1)],
      ['record length disagrees with fields', withSection(Buffer.from([0x10, 0, 0, 0, 1, 1, 0, 0, 0]), 1)],
      ['huge header count', withSection(Buffer.from([0x0e, 0, 0, 0, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f]), 1)],
      ['null header key', withSection(Buffer.from([0x12, 0, 0, 0, 1, 1, 2, 1, 1]), 1)],
    ];
    for (const [name, buf] of cases) {
      try {
        decodeRecordBatch(buf);
        expect.unreachable(name);
      } catch (e) {
        expect(e, name).toBeInstanceOf(RecordBatchError);
        expect((e as RecordBatchError).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
      }
    }
  });

  it('reports corrupt compressed sections with a KafkaError code', () => {
    const buf = withSection(Buffer.from('definitely not gzip'), 1, CompressionType.GZIP);
    expect(() => decodeRecordBatch(buf)).toThrow(expect.objectContaining({ errorCode: ErrorCode.CORRUPT_MESSAGE }));
  });

  it('bounds decompressed size', () => {
    const buf = encodeRecordBatch({ compression: CompressionType.ZSTD, records: [{ value: Buffer.alloc(2_000_000) }] });
    expect(() => decodeRecordBatch(buf, 0, { maxDecompressedBytes: 1_000_000 })).toThrow(
      expect.objectContaining({ errorCode: ErrorCode.MESSAGE_TOO_LARGE }),
    );
  });
});

describe('control batches', () => {
  for (const type of ['COMMIT', 'ABORT'] as const) {
    it(`${type} marker`, () => {
      const buf = encodeControlBatch({ producerId: 77, producerEpoch: 2, baseOffset: 10, partitionLeaderEpoch: 4, timestamp: 1234, type, coordinatorEpoch: 9 });
      const scan = scanBatches(buf);
      expect(scan.error).toBeNull();
      const { header, records } = decodeRecordBatch(buf);
      expect(isControl(header.attributes)).toBe(true);
      expect(isTransactional(header.attributes)).toBe(true);
      expect(compressionOf(header.attributes)).toBe(CompressionType.NONE);
      expect(header.producerId).toBe(77);
      expect(header.producerEpoch).toBe(2);
      expect(header.baseSequence).toBe(-1);
      expect(header.partitionLeaderEpoch).toBe(4);
      expect(header.baseOffset).toBe(10);
      expect(header.maxTimestamp).toBe(1234);
      expect(records.length).toBe(1);
      expect(records[0]!.key).toEqual(Buffer.from([0, 0, 0, type === 'COMMIT' ? 1 : 0]));
      expect(records[0]!.value).toEqual(Buffer.from([0, 0, 0, 0, 0, 9]));
      expect(decodeControlRecord(records[0]!.key, records[0]!.value)).toEqual({
        version: 0,
        type: type === 'COMMIT' ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
        coordinatorEpoch: 9,
      });
    });
  }

  it('decodes other control types and rejects malformed keys', () => {
    expect(decodeControlRecord(Buffer.from([0, 0, 0, 2]), Buffer.from([1, 2, 3]))).toEqual({
      version: 0,
      type: ControlRecordType.LEADER_CHANGE,
      coordinatorEpoch: null,
    });
    expect(() => decodeControlRecord(Buffer.from([0, 0]), null)).toThrow(RecordBatchError);
    expect(() => decodeControlRecord(null, null)).toThrow(RecordBatchError);
    expect(() => decodeControlRecord(Buffer.from([0, 0, 0, 1]), Buffer.from([0, 0, 0]))).toThrow(RecordBatchError);
  });
});

describe('timestamp lookups', () => {
  const buf = encodeRecordBatch({
    baseOffset: 100,
    compression: CompressionType.GZIP,
    records: [
      { value: 'a', timestamp: 1000 },
      { value: 'b', timestamp: 3000 },
      { value: 'c', timestamp: 2000 },
      { value: 'd', timestamp: 3000 },
    ],
  });

  it('findOffsetForTimestamp returns the first record at or after the target', () => {
    expect(findOffsetForTimestamp(buf, 0, 0)).toEqual({ offset: 100, timestamp: 1000 });
    expect(findOffsetForTimestamp(buf, 0, 1000)).toEqual({ offset: 100, timestamp: 1000 });
    expect(findOffsetForTimestamp(buf, 0, 1001)).toEqual({ offset: 101, timestamp: 3000 });
    expect(findOffsetForTimestamp(buf, 0, 2500)).toEqual({ offset: 101, timestamp: 3000 });
    expect(findOffsetForTimestamp(buf, 0, 3001)).toBeNull();
  });

  it('maxTimestampRecordOffset returns the first record with the largest timestamp', () => {
    expect(maxTimestampRecordOffset(buf, 0)).toEqual({ offset: 101, timestamp: 3000 });
    expect(maxTimestampRecordOffset(encodeRecordBatch({ records: [] }), 0)).toBeNull();
  });

  it('uses the append time for LogAppendTime batches', () => {
    const copy = Buffer.from(buf);
    stampLogAppendTime(copy, 0, 5000);
    expect(findOffsetForTimestamp(copy, 0, 4000)).toEqual({ offset: 100, timestamp: 5000 });
  });
});

describe('interoperability with kafkajs', () => {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (opts: any) => Promise<{ buffer: Buffer }> };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (opts: any) => any;
  const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: any) => Promise<any>;
  const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => any;
  const Long = require('kafkajs/src/utils/long') as { fromValue(v: number): unknown; fromNumber(v: number): unknown };
  const { Types } = require('kafkajs/src/protocol/message/compression') as { Types: Record<string, number> };

  for (const compression of [CompressionType.NONE, CompressionType.GZIP]) {
    it(`we read kafkajs batches (${CompressionType[compression]})`, async () => {
      const records = [
        Record({ offsetDelta: 0, timestampDelta: Long.fromNumber(0), key: Buffer.from('k0'), value: Buffer.from('v0'), headers: { h: 'x' } }),
        Record({ offsetDelta: 1, timestampDelta: Long.fromNumber(7), key: null, value: Buffer.from('v1') }),
      ];
      const enc = await RecordBatch({
        compression: compression === CompressionType.GZIP ? Types.GZIP : Types.None,
        firstOffset: Long.fromValue(0),
        firstTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_007,
        lastOffsetDelta: 1,
        producerId: Long.fromValue(5),
        producerEpoch: 1,
        firstSequence: 0,
        records,
      });
      const buf = enc.buffer;
      const scan = scanBatches(buf);
      expect(scan.error).toBeNull();
      const { header, records: out } = decodeRecordBatch(buf);
      expect(header.producerId).toBe(5);
      expect(out.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString()])).toEqual([
        [0, 1_700_000_000_000, 'k0', 'v0'],
        [1, 1_700_000_000_007, null, 'v1'],
      ]);
      expect(out[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }]);
    });
  }

  it('kafkajs reads our batches (gzip, headers, null key)', async () => {
    const buf = encodeRecordBatch({
      baseOffset: 40,
      compression: CompressionType.GZIP,
      producerId: 9,
      producerEpoch: 0,
      baseSequence: 0,
      records: [
        { key: 'a', value: 'one', timestamp: 1_700_000_000_000, headers: { trace: 'abc' } },
        { key: null, value: 'two', timestamp: 1_700_000_000_010 },
      ],
    });
    const decoded = await RecordBatchDecoder(new Decoder(buf));
    expect(decoded.firstOffset).toBe('40');
    expect(decoded.producerId).toBe('9');
    expect(decoded.records.map((r: any) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value.toString()])).toEqual([
      ['40', '1700000000000', 'a', 'one'],
      ['41', '1700000000010', null, 'two'],
    ]);
    expect(decoded.records[0].headers.trace.toString()).toBe('abc');
  });
});
