/**
 * Raft entries as record batches. One Raft entry is one record batch, in the metadata log on
 * disk and in Fetch responses alike:
 *
 * - a data entry (one proposal = one controller decision) is a batch whose records' values are
 *   the decision's framed metadata records (`records.ts`), in order, uncompressed;
 * - a leader-change entry is a LEADER_CHANGE control batch: one record, key = control record
 *   key (version 0, type 2), value = `LeaderChangeMessage` v0 (Kafka's
 *   `ControlRecordUtils.serializeLeaderChangeMessage`).
 *
 * In both places a batch's `partitionLeaderEpoch` is the entry's epoch. Its base offset is where
 * the two differ (see `metadata-log.ts` for the mapping): on the wire (Fetch) it is the entry's
 * offset, as the Raft core counts (one offset per entry); on disk it is the Kafka offset of the
 * batch's first record, so the log stays a valid Kafka log (offsets increase by one per record).
 *
 * In memory a data entry's `data` is the batch normalized to base offset 0 and epoch -1 (both
 * outside the CRC, so patching never recomputes it).
 */
import { encodeLeaderChangeMessage, decodeLeaderChangeMessage } from '../wire/generated/messages/leader-change-message.js';
import { Reader, Writer } from '../wire/primitives.js';
import {
  BASE_OFFSET_OFFSET,
  ControlRecordType,
  decodeControlRecord,
  decodeRecordBatch,
  encodeControlRecordKey,
  encodeRecordBatch,
  isControl,
  LOG_OVERHEAD,
  NO_PARTITION_LEADER_EPOCH,
  readBatchHeader,
  scanBatches,
  setBaseOffset,
  setPartitionLeaderEpoch,
  type BatchHeader,
} from '../wire/record-batch.js';
import type { DataEntry, Entry, LeaderChangeEntry } from './raft/index.js';
import { decodeMetadataRecord, encodeMetadataRecord, type ApiMessageAndVersion } from './records.js';

/** A batch that is not a valid Raft entry; the message says why. */
export class EntryDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EntryDecodeError';
  }
}

/** The batch of a proposal (base offset 0, epoch -1): the decision's records, framed. */
export function encodeProposal(records: readonly ApiMessageAndVersion[], timestampMs: number): Buffer {
  if (records.length === 0) throw new RangeError('a proposal needs at least one record');
  return encodeRecordBatch({
    baseOffset: 0,
    partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
    baseTimestamp: timestampMs,
    records: records.map((r) => ({ value: encodeMetadataRecord(r), timestamp: timestampMs })),
  });
}

/** The metadata records of a data entry; throws `EntryDecodeError` for any defect. */
export function decodeProposal(data: Uint8Array): ApiMessageAndVersion[] {
  const buf = asBuffer(data);
  let batch;
  try {
    batch = decodeRecordBatch(buf, 0);
  } catch (err) {
    throw new EntryDecodeError(`undecodable metadata batch: ${(err as Error).message}`, { cause: err });
  }
  if (isControl(batch.header.attributes)) throw new EntryDecodeError('a data entry is a control batch');
  const out: ApiMessageAndVersion[] = [];
  for (const rec of batch.records) {
    if (rec.value === null) throw new EntryDecodeError(`metadata record at offset delta ${rec.offsetDelta} has no value`);
    try {
      out.push(decodeMetadataRecord(rec.value));
    } catch (err) {
      throw new EntryDecodeError(`metadata record at offset delta ${rec.offsetDelta}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

/** How many Kafka offsets (records) an entry's batch occupies. */
export function entryRecordCount(e: Entry): number {
  if (e.kind === 'leader-change') return 1;
  return readBatchHeader(asBuffer(e.data), 0).lastOffsetDelta + 1;
}

/** The batch of one entry at `baseOffset` (an entry offset on the wire, a Kafka offset on disk). */
export function entryToBatch(e: Entry, baseOffset: number, timestampMs: number): Buffer {
  let out: Buffer;
  if (e.kind === 'data') {
    out = Buffer.from(e.data);
  } else {
    const w = new Writer(64);
    encodeLeaderChangeMessage(w, 0, { ...e.leaderChange, version: 0 });
    out = encodeRecordBatch({
      isControl: true,
      baseTimestamp: timestampMs,
      records: [{ key: encodeControlRecordKey(ControlRecordType.LEADER_CHANGE), value: w.toBuffer(), timestamp: timestampMs }],
    });
  }
  setBaseOffset(out, 0, baseOffset);
  setPartitionLeaderEpoch(out, 0, e.epoch);
  return out;
}

/**
 * Reads one batch at `pos` of `buf` as the entry at `offset` (its epoch from the batch).
 * Checks the CRC, that a data batch's records are decodable metadata records, and that a
 * control batch is a LEADER_CHANGE. Returns the entry and the batch's size.
 */
export function batchToEntry(buf: Buffer, pos: number, offset: number): { entry: Entry; size: number; header: BatchHeader } {
  const scan = scanBatches(buf.subarray(pos, pos + batchSizeAt(buf, pos)));
  if (scan.error !== null || scan.batches.length !== 1) {
    throw new EntryDecodeError(`invalid batch for entry ${offset}: ${scan.message ?? 'not one batch'}`);
  }
  const header = scan.batches[0]!.header;
  const size = header.batchLength + LOG_OVERHEAD;
  const epoch = header.partitionLeaderEpoch;
  if (epoch < 0) throw new EntryDecodeError(`batch of entry ${offset} has no leader epoch (${epoch})`);
  if (isControl(header.attributes)) {
    let decoded;
    try {
      decoded = decodeRecordBatch(buf, pos);
    } catch (err) {
      throw new EntryDecodeError(`undecodable control batch for entry ${offset}: ${(err as Error).message}`, { cause: err });
    }
    const rec = decoded.records[0];
    if (decoded.records.length !== 1 || rec === undefined) throw new EntryDecodeError(`control batch of entry ${offset} has ${decoded.records.length} records`);
    let type: number;
    try {
      type = decodeControlRecord(rec.key, rec.value).type;
    } catch (err) {
      throw new EntryDecodeError(`control record of entry ${offset}: ${(err as Error).message}`, { cause: err });
    }
    if (type !== ControlRecordType.LEADER_CHANGE) throw new EntryDecodeError(`control record type ${type} at entry ${offset} is not LEADER_CHANGE`);
    if (rec.value === null) throw new EntryDecodeError(`LEADER_CHANGE record of entry ${offset} has no value`);
    let leaderChange;
    try {
      const r = new Reader(rec.value);
      leaderChange = decodeLeaderChangeMessage(r, 0);
    } catch (err) {
      throw new EntryDecodeError(`LEADER_CHANGE message of entry ${offset}: ${(err as Error).message}`, { cause: err });
    }
    const entry: LeaderChangeEntry = { kind: 'leader-change', offset, epoch, leaderChange };
    return { entry, size, header };
  }
  const data = Buffer.from(buf.subarray(pos, pos + size));
  setBaseOffset(data, 0, 0);
  setPartitionLeaderEpoch(data, 0, NO_PARTITION_LEADER_EPOCH);
  decodeProposal(data); // validates every record
  const entry: DataEntry = { kind: 'data', offset, epoch, data };
  return { entry, size, header };
}

function batchSizeAt(buf: Buffer, pos: number): number {
  if (buf.length - pos < LOG_OVERHEAD) return buf.length - pos;
  return Math.max(0, Math.min(buf.length - pos, buf.readInt32BE(pos + 8) + LOG_OVERHEAD));
}

/** The base offset field of the batch at `pos`. */
export function batchBaseOffset(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos + BASE_OFFSET_OFFSET));
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
