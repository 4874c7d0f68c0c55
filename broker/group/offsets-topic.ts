// The internal topic `__consumer_offsets`: which partition holds a group, the records the group
// coordinator writes there, and reading a partition back at load time.
//
// Record layout (Kafka's, through the generated coordinator codecs; each key and value starts
// with its int16 version):
//   offset commit   key OffsetCommitKey v1 {group, topic, partition}
//                   value OffsetCommitValue v3 {offset, leaderEpoch, metadata, commitTimestamp}
//                   (v1 {offset, metadata, commitTimestamp, expireTimestamp} when the commit
//                   carried a retention time, as Kafka writes it)
//   group metadata  key GroupMetadataKey v2 {group}
//                   value GroupMetadataValue v3 {protocolType, generation, protocol, leader,
//                   currentStateTimestamp, members[...]}
//   a null value is a tombstone (offset deleted/expired, group deleted).
// Records are written uncompressed (offsets.topic.compression.codec=0), one batch per write.
// Transactional offset commits (TxnOffsetCommit) are the same offset records in a transactional
// batch of the producer; they take effect only when that producer's COMMIT marker follows.
import {
  coordinatorRecordSpec,
  decodeCoordinatorKey,
  decodeCoordinatorValue,
  encodeCoordinatorKey,
  encodeCoordinatorValue,
  type CoordinatorRecordSpec,
} from '../../wire/generated/coordinator/index.js';
import type { GroupMetadataValue } from '../../wire/generated/coordinator/group-metadata-value.js';
import type { OffsetCommitKey } from '../../wire/generated/coordinator/offset-commit-key.js';
import type { OffsetCommitValue } from '../../wire/generated/coordinator/offset-commit-value.js';
import type { GroupMetadataKey } from '../../wire/generated/coordinator/group-metadata-key.js';
import { ControlRecordType, decodeControlRecord, decodeRecordBatch, encodeRecordBatch, isControl, isTransactional } from '../../wire/record-batch.js';
import { GROUP_METADATA_TOPIC, TRANSACTION_STATE_TOPIC } from '../coordinator/internal-topics.js';
import { scanLog, type ReadableLog } from '../coordinator/log-scan.js';

export { GROUP_METADATA_TOPIC, TRANSACTION_STATE_TOPIC };

/** Java's String.hashCode over UTF-16 code units (32-bit overflow). */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's partition of a group id or transactional id: Utils.abs(hashCode) % partitions. */
export function partitionFor(key: string, numPartitions: number): number {
  return (javaStringHashCode(key) & 0x7fffffff) % numPartitions;
}

/** A committed offset as the coordinator keeps it. */
export interface CommittedOffset {
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Set only by commits that carried a retention time (OffsetCommit v2–v4); else null. */
  expireTimestamp: number | null;
}

export type OffsetsTopicRecord =
  | { readonly type: 'offset'; readonly group: string; readonly topic: string; readonly partition: number; readonly value: CommittedOffset | null }
  | { readonly type: 'group'; readonly group: string; readonly value: GroupMetadataValue | null };

const OFFSET_COMMIT = coordinatorRecordSpec(GROUP_METADATA_TOPIC, 1)!;
const GROUP_METADATA = coordinatorRecordSpec(GROUP_METADATA_TOPIC, 2)!;
const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;
const OFFSET_COMMIT_VALUE_VERSION = 3;
const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;

export function offsetCommitRecord(group: string, topic: string, partition: number, value: CommittedOffset | null): OffsetsTopicRecord {
  return { type: 'offset', group, topic, partition, value };
}

export function groupMetadataRecord(group: string, value: GroupMetadataValue | null): OffsetsTopicRecord {
  return { type: 'group', group, value };
}

const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

/**
 * A number as an int64, clamped to the int64 range. Offsets and timestamps arrive as int64 and
 * are kept as numbers: a client's 2^63-1 becomes 2^63 (the nearest double), and a retention time
 * near 2^63 added to now overflows it; without the clamp the record could not be encoded and
 * the whole __consumer_offsets append failed (found by test/e2e/fuzz-live.test.ts). OffsetFetch
 * answers committed offsets through it too.
 */
export function int64(n: number): bigint {
  const b = BigInt(Math.trunc(n));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}

export function encodeOffsetsRecord(rec: OffsetsTopicRecord): { key: Buffer; value: Buffer | null } {
  if (rec.type === 'offset') {
    const key: OffsetCommitKey = { group: rec.group, topic: rec.topic, partition: rec.partition };
    const v = rec.value;
    if (v === null) return { key: encodeCoordinatorKey(OFFSET_COMMIT, OFFSET_COMMIT_KEY_VERSION, key), value: null };
    const withExpiry = v.expireTimestamp !== null;
    const value: OffsetCommitValue = {
      offset: int64(v.offset),
      leaderEpoch: v.leaderEpoch,
      metadata: v.metadata,
      commitTimestamp: int64(v.commitTimestamp),
      expireTimestamp: int64(v.expireTimestamp ?? -1),
    };
    return {
      key: encodeCoordinatorKey(OFFSET_COMMIT, OFFSET_COMMIT_KEY_VERSION, key),
      value: encodeCoordinatorValue(OFFSET_COMMIT, withExpiry ? OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY : OFFSET_COMMIT_VALUE_VERSION, value),
    };
  }
  const key: GroupMetadataKey = { group: rec.group };
  return {
    key: encodeCoordinatorKey(GROUP_METADATA, GROUP_METADATA_KEY_VERSION, key),
    value: rec.value === null ? null : encodeCoordinatorValue(GROUP_METADATA, GROUP_METADATA_VALUE_VERSION, rec.value),
  };
}

/**
 * Reads one record of `__consumer_offsets`. Null for record kinds the classic coordinator does
 * not keep (KIP-848 consumer groups, share groups); throws DecodeError on malformed bytes.
 */
export function decodeOffsetsRecord(key: Buffer, value: Buffer | null): OffsetsTopicRecord | null {
  const k = decodeCoordinatorKey(GROUP_METADATA_TOPIC, key);
  const spec: CoordinatorRecordSpec = k.spec;
  if (spec.name === 'OffsetCommit') {
    const ok = k.key as OffsetCommitKey;
    if (value === null) return offsetCommitRecord(ok.group, ok.topic, ok.partition, null);
    const v = decodeCoordinatorValue(spec, value).value as OffsetCommitValue;
    const expire = v.expireTimestamp ?? -1n;
    return offsetCommitRecord(ok.group, ok.topic, ok.partition, {
      offset: Number(v.offset),
      leaderEpoch: v.leaderEpoch ?? -1,
      metadata: v.metadata,
      commitTimestamp: Number(v.commitTimestamp),
      expireTimestamp: expire === -1n ? null : Number(expire),
    });
  }
  if (spec.name === 'GroupMetadata') {
    const gk = k.key as GroupMetadataKey;
    if (value === null) return groupMetadataRecord(gk.group, null);
    return groupMetadataRecord(gk.group, decodeCoordinatorValue(spec, value).value as GroupMetadataValue);
  }
  return null;
}

/**
 * One uncompressed batch holding `records` in order; with `txn`, a transactional batch of that
 * producer (a transactional offset commit, baseSequence 0 as Kafka writes it).
 */
export function encodeOffsetsBatch(records: readonly OffsetsTopicRecord[], nowMs: number, txn?: { producerId: number; producerEpoch: number }): Buffer {
  return encodeRecordBatch({
    baseTimestamp: nowMs,
    ...(txn ? { isTransactional: true, producerId: txn.producerId, producerEpoch: txn.producerEpoch, baseSequence: 0 } : {}),
    records: records.map((r) => {
      const { key, value } = encodeOffsetsRecord(r);
      return { key, value, timestamp: nowMs };
    }),
  });
}

/** What loading needs from a partition's log (a PartitionLog satisfies it). */
export type { ReadableLog } from '../coordinator/log-scan.js';

export interface LoadStats {
  records: number;
  batches: number;
  skipped: number;
}

/** Where a loaded record came from: a transactional batch names its producer (null otherwise). */
export interface LoadedRecordSource {
  readonly producerId: number | null;
}

/**
 * Replays a partition's records in log order from its start up to `endOffset` (exclusive).
 * With `onTxnMarker`, records of transactional batches (transactional offset commits) are passed
 * with their producer id and a producer's COMMIT/ABORT marker goes to `onTxnMarker` (it decides
 * whether that producer's pending offsets become committed); without it both are skipped. Other
 * control batches are always skipped.
 * `onRecord` may throw to abort (e.g. the partition was unloaded meanwhile).
 */
export async function readOffsetsPartition(
  log: ReadableLog,
  endOffset: number,
  onRecord: (rec: OffsetsTopicRecord, source: LoadedRecordSource) => void,
  opts: {
    maxBytes?: number;
    onUndecodable?: (offset: number, err: unknown) => void;
    onTxnMarker?: (producerId: number, commit: boolean) => void;
  } = {},
): Promise<LoadStats> {
  const maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
  const stats: LoadStats = { records: 0, batches: 0, skipped: 0 };
  const plain: LoadedRecordSource = { producerId: null };
  // Without a marker callback, transactional batches and markers are skipped (nothing pending can be resolved).
  const txnAware = opts.onTxnMarker !== undefined;
  stats.batches = await scanLog(
    log,
    endOffset,
    maxBytes,
    (buf, pos, header, fromOffset) => {
      if (isControl(header.attributes)) {
        const marker = txnAware ? endTxnMarkerOf(buf, pos) : null;
        if (marker !== null && header.producerId >= 0) opts.onTxnMarker!(header.producerId, marker === 'COMMIT');
        else stats.skipped += header.recordCount;
        return;
      }
      const transactional = isTransactional(header.attributes) && header.producerId >= 0;
      if (transactional && !txnAware) {
        stats.skipped += header.recordCount;
        return;
      }
      const source = transactional ? { producerId: header.producerId } : plain;
      const batch = decodeRecordBatch(buf, pos, { verifyCrc: false });
      for (const rec of batch.records) {
        if (rec.offset < fromOffset || rec.key === null) continue;
        let decoded: OffsetsTopicRecord | null;
        try {
          decoded = decodeOffsetsRecord(rec.key, rec.value);
        } catch (err) {
          opts.onUndecodable?.(rec.offset, err);
          stats.skipped++;
          continue;
        }
        if (decoded === null) {
          stats.skipped++;
          continue;
        }
        onRecord(decoded, source);
        stats.records++;
      }
    },
    GROUP_METADATA_TOPIC,
  );
  return stats;
}

/** The COMMIT/ABORT of a control batch, or null for other control records. */
function endTxnMarkerOf(buf: Buffer, pos: number): 'COMMIT' | 'ABORT' | null {
  try {
    const rec = decodeRecordBatch(buf, pos, { verifyCrc: false }).records[0];
    if (rec === undefined) return null;
    const c = decodeControlRecord(rec.key, rec.value);
    return c.type === ControlRecordType.COMMIT ? 'COMMIT' : c.type === ControlRecordType.ABORT ? 'ABORT' : null;
  } catch {
    return null;
  }
}
