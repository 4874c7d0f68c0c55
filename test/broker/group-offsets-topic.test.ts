// __consumer_offsets: Kafka's partition function, Kafka's record layout, reading a partition back.
import { describe, expect, it } from 'vitest';
import {
  decodeOffsetsRecord,
  encodeOffsetsBatch,
  encodeOffsetsRecord,
  groupMetadataRecord,
  javaStringHashCode,
  offsetCommitRecord,
  partitionFor,
  readOffsetsPartition,
  type OffsetsTopicRecord,
  type ReadableLog,
} from '../../broker/group/offsets-topic.js';
import { encodeControlBatch, encodeRecordBatch, readBatchHeader, setBaseOffset } from '../../wire/record-batch.js';

describe('partition of a group', () => {
  it("is Utils.abs(String.hashCode) % partitions, over UTF-16 code units", () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('console-consumer-12345')).toBe(javaRef('console-consumer-12345'));
    // Integer.MIN_VALUE: Math.abs would stay negative, Kafka's Utils.abs masks the sign bit.
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(partitionFor('polygenelubricants', 50)).toBe(0);
    // A non-BMP character is two UTF-16 units: 31 * 0xD83D + 0xDE00.
    expect(javaStringHashCode('\u{1F600}')).toBe(31 * 0xd83d + 0xde00);
    expect(partitionFor('hello', 50)).toBe(99162322 % 50);
    for (const g of ['a', 'group-1', 'ümlaut', 'x'.repeat(1000)]) {
      const p = partitionFor(g, 50);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(50);
    }
  });
});

/** The same hash computed with BigInt arithmetic, as Java does it (mod 2^32, signed). */
function javaRef(s: string): number {
  let h = 0n;
  for (let i = 0; i < s.length; i++) h = BigInt.asIntN(32, h * 31n + BigInt(s.charCodeAt(i)));
  return Number(h);
}

describe('record layout', () => {
  it('OffsetCommitKey v1 / OffsetCommitValue v3 bytes are Kafka\'s', () => {
    const { key, value } = encodeOffsetsRecord(offsetCommitRecord('g', 't', 7, { offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1000, expireTimestamp: null }));
    expect(key.toString('hex')).toBe('0001' + '0001' + '67' + '0001' + '74' + '00000007');
    expect(value!.toString('hex')).toBe('0003' + '000000000000002a' + '00000005' + '0001' + '6d' + '00000000000003e8');
    // With a retention time Kafka writes value v1 (with expireTimestamp).
    const v1 = encodeOffsetsRecord(offsetCommitRecord('g', 't', 7, { offset: 42, leaderEpoch: -1, metadata: '', commitTimestamp: 1000, expireTimestamp: 2000 })).value!;
    expect(v1.toString('hex')).toBe('0001' + '000000000000002a' + '0000' + '00000000000003e8' + '00000000000007d0');
  });

  it('offsets and timestamps past the int64 range (2^63-1 as a number, now + a 2^63 retention) are clamped, not a failed append', () => {
    const big = Number(0x7fffffffffffffffn); // 2^63 after the double rounding
    const rec = offsetCommitRecord('g', 't', 0, { offset: big, leaderEpoch: -1, metadata: '', commitTimestamp: -big * 2, expireTimestamp: Date.now() + big });
    const { key, value } = encodeOffsetsRecord(rec);
    const back = decodeOffsetsRecord(key, value);
    expect(back).toMatchObject({ value: { offset: big, commitTimestamp: -big, expireTimestamp: big } });
  });

  it('GroupMetadataKey v2 / GroupMetadataValue v3 round trip; tombstones are null values', () => {
    const rec = groupMetadataRecord('grp', {
      protocolType: 'consumer',
      generation: 3,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: 1234n,
      members: [{ memberId: 'm1', groupInstanceId: 'i1', clientId: 'c', clientHost: '/127.0.0.1', rebalanceTimeout: 30000, sessionTimeout: 10000, subscription: Buffer.from([1, 2]), assignment: Buffer.from([3]) }],
    });
    const { key, value } = encodeOffsetsRecord(rec);
    expect(key.toString('hex')).toBe('0002' + '0003' + Buffer.from('grp').toString('hex'));
    expect(value!.readInt16BE(0)).toBe(3);
    expect(decodeOffsetsRecord(key, value)).toEqual(rec);
    expect(decodeOffsetsRecord(key, null)).toEqual(groupMetadataRecord('grp', null));
    const tomb = encodeOffsetsRecord(offsetCommitRecord('g', 't', 0, null));
    expect(tomb.value).toBeNull();
    expect(decodeOffsetsRecord(tomb.key, null)).toEqual(offsetCommitRecord('g', 't', 0, null));
  });

  it('skips record kinds of other group types (KIP-848 keys)', () => {
    const key = Buffer.from('0003' + '0001' + '67', 'hex'); // ConsumerGroupMetadataKey v3
    expect(decodeOffsetsRecord(key, null)).toBeNull();
  });
});

/** A log made of stored batches that serves reads like PartitionLog (whole batches, maxBytes, minOneBatch). */
function memoryLog(batches: Buffer[]): ReadableLog & { end: number } {
  let next = 0;
  const stored: Array<{ base: number; last: number; bytes: Buffer }> = [];
  for (const b of batches) {
    setBaseOffset(b, 0, next);
    const h = readBatchHeader(b, 0);
    stored.push({ base: next, last: next + h.lastOffsetDelta, bytes: b });
    next += h.lastOffsetDelta + 1;
  }
  return {
    logStartOffset: 0,
    end: next,
    async read(start, maxBytes, maxOffsetExclusive, minOneBatch) {
      const out: Buffer[] = [];
      let size = 0;
      for (const s of stored) {
        if (s.last < start) continue;
        if (s.last >= maxOffsetExclusive) break;
        if (size + s.bytes.length > maxBytes && !(minOneBatch && out.length === 0)) break;
        out.push(s.bytes);
        size += s.bytes.length;
      }
      return { records: Buffer.concat(out), error: null };
    },
  };
}

describe('readOffsetsPartition', () => {
  it('replays every record in log order across reads, skipping control and transactional batches', async () => {
    const recs: OffsetsTopicRecord[] = [];
    for (let i = 0; i < 30; i++) recs.push(offsetCommitRecord('g', 't', i % 3, { offset: i, leaderEpoch: -1, metadata: '', commitTimestamp: i, expireTimestamp: null }));
    const batches = [
      encodeOffsetsBatch(recs.slice(0, 10), 1),
      encodeControlBatch({ producerId: 1, producerEpoch: 0, timestamp: 1, type: 'COMMIT', coordinatorEpoch: 0 }),
      encodeRecordBatch({ isTransactional: true, producerId: 1, producerEpoch: 0, records: [{ key: encodeOffsetsRecord(recs[0]!).key, value: null }] }),
      encodeOffsetsBatch(recs.slice(10, 20), 2),
      encodeOffsetsBatch([...recs.slice(20), groupMetadataRecord('g', null)], 3),
    ];
    const log = memoryLog(batches);
    const seen: OffsetsTopicRecord[] = [];
    const stats = await readOffsetsPartition(log, log.end, (r) => seen.push(r), { maxBytes: 200 });
    expect(seen).toEqual([...recs, groupMetadataRecord('g', null)]);
    expect(stats).toMatchObject({ records: 31, skipped: 2 });
  });

  it('stops at endOffset and reports undecodable records without stopping', async () => {
    const good = offsetCommitRecord('g', 't', 0, { offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: 0, expireTimestamp: null });
    const batches = [
      encodeRecordBatch({ records: [{ key: Buffer.from([0, 1, 0]), value: null }] }), // truncated key
      encodeOffsetsBatch([good], 0),
      encodeOffsetsBatch([good, good], 0),
    ];
    const log = memoryLog(batches);
    const seen: OffsetsTopicRecord[] = [];
    const bad: number[] = [];
    await readOffsetsPartition(log, 2, (r) => seen.push(r), { onUndecodable: (offset) => bad.push(offset) });
    expect(seen).toEqual([good]);
    expect(bad).toEqual([0]);
  });
});
