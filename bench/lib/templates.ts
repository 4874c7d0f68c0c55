// Requests built once and reused with patched fields.
//
// A produce request frame is encoded once with the generated codec around one real record
// batch (wire/record-batch.ts, magic 2, CRC32C). The load generator copies it into one buffer
// per in-flight slot and, per request, patches only:
//   - the correlation id (frame offset 8: size 4, api key 2, api version 2),
//   - the partition index (int32, found by encoding a sentinel index),
//   - for latency runs: an 8-byte send-time marker at the start of the first record's value
//     (found by a sentinel), followed by the batch CRC32C (the marker lies inside the CRC range).
// A fetch request frame likewise gets its correlation id, partition and fetch offset patched.
import { ApiKey } from '../../wire/generated/api.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { crc32c } from '../../wire/crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  LOG_OVERHEAD,
  RECORDS_OFFSET,
  encodeRecordBatch,
} from '../../wire/record-batch.js';
import { CLIENT_ID } from './client.js';

export const CORRELATION_ID_POS = 8;
const PARTITION_SENTINEL = 0x3c2b1a09;
const OFFSET_SENTINEL = 0x1a2b3c4d5e6f7n;
const MARKER_SENTINEL = Buffer.from('BnChMaRk', 'latin1');
/** Bytes of the send-time marker (a float64 of performance.now() in ms). */
export const MARKER_BYTES = 8;

export interface BatchSpec {
  /** Bytes of each record's value (keys are null, no headers). */
  recordBytes: number;
  recordsPerBatch: number;
}

export interface BuiltBatch {
  batch: Buffer;
  records: number;
  /** Offset of the marker inside the batch (first record's value), or -1 if values are < 8 bytes. */
  markerPos: number;
}

/** Deterministic, incompressible-looking filler (xorshift), so runs are byte-for-byte repeatable. */
function filler(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** One batch of `recordsPerBatch` records of `recordBytes` each, timestamps = `timestampMs`. */
export function buildBatch(spec: BatchSpec, timestampMs = Date.now()): BuiltBatch {
  const values: Buffer[] = [];
  for (let i = 0; i < spec.recordsPerBatch; i++) values.push(filler(spec.recordBytes, 0x9e3779b9 + i));
  const withMarker = spec.recordBytes >= MARKER_BYTES;
  if (withMarker) MARKER_SENTINEL.copy(values[0]!, 0);
  const batch = encodeRecordBatch({ baseTimestamp: timestampMs, records: values.map((value) => ({ value, timestamp: timestampMs })) });
  let markerPos = -1;
  if (withMarker) {
    markerPos = batch.indexOf(MARKER_SENTINEL, RECORDS_OFFSET);
    if (markerPos < 0) throw new Error('marker not found in the batch');
    batch.fill(0, markerPos, markerPos + MARKER_BYTES);
    recomputeBatchCrc(batch, 0);
  }
  return { batch, records: spec.recordsPerBatch, markerPos };
}

/** Size in bytes of a batch of `n` records of `recordBytes`. */
export function batchBytes(recordBytes: number, n: number): number {
  return buildBatch({ recordBytes, recordsPerBatch: n }, 0).batch.length;
}

/** The most records of `recordBytes` whose batch is at most `maxBatchBytes` (at least 1). */
export function recordsPerBatchFor(recordBytes: number, maxBatchBytes: number): number {
  // Estimate from two sizes, then correct (varint widths change with the offset delta).
  const one = batchBytes(recordBytes, 1);
  const two = batchBytes(recordBytes, 2);
  const per = Math.max(1, two - one);
  let n = Math.max(1, Math.floor((maxBatchBytes - (one - per)) / per));
  while (n > 1 && batchBytes(recordBytes, n) > maxBatchBytes) n--;
  while (batchBytes(recordBytes, n + 1) <= maxBatchBytes) n++;
  return n;
}

export function recomputeBatchCrc(buf: Buffer, batchPos: number): void {
  const size = buf.readInt32BE(batchPos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  buf.writeUInt32BE(crc32c(buf, batchPos + ATTRIBUTES_OFFSET, batchPos + size), batchPos + CRC_OFFSET);
}

export interface ProduceTemplate {
  frame: Buffer;
  partitionPos: number;
  batchPos: number;
  batchBytes: number;
  records: number;
  /** Absolute marker position in the frame, or -1. */
  markerPos: number;
  acks: number;
  version: number;
}

export function buildProduceTemplate(opts: { version: number; topic: string; acks: number; timeoutMs?: number; batch: BuiltBatch }): ProduceTemplate {
  const frame = encodeRequestFrame(ApiKey.Produce, opts.version, 0, CLIENT_ID, {
    transactionalId: null,
    acks: opts.acks,
    timeoutMs: opts.timeoutMs ?? 30_000,
    topicData: [{ name: opts.topic, partitionData: [{ index: PARTITION_SENTINEL, records: opts.batch.batch }] }],
  });
  const batchPos = frame.indexOf(opts.batch.batch);
  if (batchPos < 0) throw new Error('batch not found in the produce frame');
  const sentinel = Buffer.allocUnsafe(4);
  sentinel.writeInt32BE(PARTITION_SENTINEL);
  const partitionPos = frame.indexOf(sentinel);
  if (partitionPos < 0 || partitionPos > batchPos) throw new Error('partition index not found in the produce frame');
  frame.writeInt32BE(0, partitionPos);
  return {
    frame,
    partitionPos,
    batchPos,
    batchBytes: opts.batch.batch.length,
    records: opts.batch.records,
    markerPos: opts.batch.markerPos < 0 ? -1 : batchPos + opts.batch.markerPos,
    acks: opts.acks,
    version: opts.version,
  };
}

/** Writes the correlation id, partition and (if wanted) the send-time marker into a copy of the template. */
export function patchProduce(t: ProduceTemplate, frame: Buffer, correlationId: number, partition: number, markerMs: number | null): void {
  frame.writeInt32BE(correlationId, CORRELATION_ID_POS);
  frame.writeInt32BE(partition, t.partitionPos);
  if (markerMs !== null && t.markerPos >= 0) {
    frame.writeDoubleBE(markerMs, t.markerPos);
    recomputeBatchCrc(frame, t.batchPos);
  }
}

export interface FetchTemplate {
  frame: Buffer;
  partitionPos: number;
  offsetPos: number;
  version: number;
}

export function buildFetchTemplate(opts: {
  version: number;
  topic: string;
  topicId: string;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
}): FetchTemplate {
  const frame = encodeRequestFrame(ApiKey.Fetch, opts.version, 0, CLIENT_ID, {
    replicaId: -1,
    maxWaitMs: opts.maxWaitMs,
    minBytes: opts.minBytes,
    maxBytes: opts.maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: opts.topic,
        topicId: opts.topicId,
        partitions: [
          {
            partition: PARTITION_SENTINEL,
            currentLeaderEpoch: -1,
            fetchOffset: OFFSET_SENTINEL,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: opts.partitionMaxBytes,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = Buffer.allocUnsafe(4);
  p.writeInt32BE(PARTITION_SENTINEL);
  const o = Buffer.allocUnsafe(8);
  o.writeBigInt64BE(OFFSET_SENTINEL);
  const partitionPos = frame.indexOf(p);
  const offsetPos = frame.indexOf(o);
  if (partitionPos < 0 || offsetPos < 0) throw new Error('fetch template fields not found');
  frame.writeInt32BE(0, partitionPos);
  frame.writeBigInt64BE(0n, offsetPos);
  return { frame, partitionPos, offsetPos, version: opts.version };
}

export function patchFetch(t: FetchTemplate, frame: Buffer, correlationId: number, partition: number, offset: number): void {
  frame.writeInt32BE(correlationId, CORRELATION_ID_POS);
  frame.writeInt32BE(partition, t.partitionPos);
  // int64 as two int32 halves (offsets stay below 2^53)
  frame.writeInt32BE(Math.floor(offset / 4294967296), t.offsetPos);
  frame.writeUInt32BE(offset >>> 0, t.offsetPos + 4);
}
