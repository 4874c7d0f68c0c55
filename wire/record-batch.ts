/**
 * Record batches, magic 2 (Kafka's docs/implementation.html, "Record Batch").
 *
 * Batch layout (all integers big-endian):
 *
 *   offset  size  field
 *   ------  ----  ------------------------------------------------------------------------
 *        0     8  baseOffset            int64   offset of the first record (set by the leader)
 *        8     4  batchLength           int32   bytes after this field (total size = batchLength + 12)
 *       12     4  partitionLeaderEpoch  int32   set by the leader
 *       16     1  magic                 int8    2
 *       17     4  crc                   uint32  CRC32C of bytes [21, end)
 *       21     2  attributes            int16   bits 0-2 compression, 3 timestamp type
 *                                               (1 = LogAppendTime), 4 transactional,
 *                                               5 control, 6 has delete horizon
 *       23     4  lastOffsetDelta       int32
 *       27     8  baseTimestamp         int64   (the delete horizon when bit 6 is set)
 *       35     8  maxTimestamp          int64
 *       43     8  producerId            int64   -1 when not idempotent
 *       51     2  producerEpoch         int16
 *       53     4  baseSequence          int32
 *       57     4  recordCount           int32
 *       61     …  records               (compressed as one block when compression != 0)
 *
 * baseOffset and partitionLeaderEpoch are outside the CRC so the leader can patch them in place.
 *
 * Record layout (inside the records section):
 *
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
 *   headerCount varint | headers: [keyLength varint | key utf8 | valueLength varint | value]
 *
 * Control batches (transaction markers) hold one record whose key is
 * [version int16 = 0, type int16 (0 ABORT, 1 COMMIT)] and value is
 * [version int16 = 0, coordinatorEpoch int32].
 *
 * int64 header fields are read as JS numbers: exact for |v| < 2^53 (so -1 reads as -1).
 * The produce, fetch and recovery paths use only the header functions (`scanBatches`,
 * `readBatchHeader`, `setBaseOffset`, ...); full record decoding is for tests, ListOffsets by
 * timestamp and compaction.
 */
import { compress, CompressionType, decompress } from './compression.js';
import { crc32c } from './crc32c.js';
import { ErrorCode, KafkaError } from './errors.js';
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  VarintError,
  writeVarint,
  writeVarlong,
} from './varint.js';

export { CompressionType } from './compression.js';

// Field offsets from the start of a batch.
export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** Size of the fixed batch header; also the minimum size of a batch. */
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of a batch not counted in batchLength. */
export const LOG_OVERHEAD = 12;
export const CURRENT_MAGIC = 2;
/** Smallest legacy (magic 0) message after the 12-byte prefix: crc, magic, attributes, key and value lengths. */
const LEGACY_MIN_MESSAGE_SIZE = 14;
/** Smallest possible encoded record (length, attributes, 3 deltas/lengths, header count). */
const MIN_RECORD_SIZE = 7;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

export enum TimestampType {
  CREATE_TIME = 0,
  LOG_APPEND_TIME = 1,
}

/** Control record types (Kafka's `ControlRecordType`). */
export enum ControlRecordType {
  ABORT = 0,
  COMMIT = 1,
  LEADER_CHANGE = 2,
  SNAPSHOT_HEADER = 3,
  SNAPSHOT_FOOTER = 4,
  KRAFT_VERSION = 5,
  KRAFT_VOTERS = 6,
}

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_TIMESTAMP_TYPE = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const ATTR_DELETE_HORIZON = 0x40;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** A malformed record batch. `errorCode` is what a handler should answer with. */
export class RecordBatchError extends KafkaError {
  constructor(message: string, errorCode: ErrorCode = ErrorCode.CORRUPT_MESSAGE) {
    super(errorCode, message);
    this.name = 'RecordBatchError';
  }
}

// ---------------------------------------------------------------------------------------------
// int64 <-> number

const TWO_32 = 4294967296;

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

function writeInt64(buf: Buffer, pos: number, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`int64 value is not a safe integer: ${v}`);
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * TWO_32, pos + 4);
}

// ---------------------------------------------------------------------------------------------
// Attributes

export function compressionOf(attributes: number): CompressionType {
  return (attributes & ATTR_COMPRESSION_MASK) as CompressionType;
}

export function timestampTypeOf(attributes: number): TimestampType {
  return attributes & ATTR_TIMESTAMP_TYPE ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & ATTR_TRANSACTIONAL) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & ATTR_CONTROL) !== 0;
}

export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & ATTR_DELETE_HORIZON) !== 0;
}

export function makeAttributes(opts: {
  compression?: CompressionType;
  timestampType?: TimestampType;
  isTransactional?: boolean;
  isControl?: boolean;
  hasDeleteHorizon?: boolean;
}): number {
  let a = (opts.compression ?? CompressionType.NONE) & ATTR_COMPRESSION_MASK;
  if (opts.timestampType === TimestampType.LOG_APPEND_TIME) a |= ATTR_TIMESTAMP_TYPE;
  if (opts.isTransactional) a |= ATTR_TRANSACTIONAL;
  if (opts.isControl) a |= ATTR_CONTROL;
  if (opts.hasDeleteHorizon) a |= ATTR_DELETE_HORIZON;
  return a;
}

// ---------------------------------------------------------------------------------------------
// Header access

/** Reads the 61-byte header at `pos` (throws `RecordBatchError` if fewer bytes remain). */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos < 0 || pos + BATCH_HEADER_SIZE > buf.length) {
    throw new RecordBatchError(`need ${BATCH_HEADER_SIZE} bytes for a batch header at ${pos}, have ${buf.length - pos}`);
  }
  return {
    baseOffset: readInt64(buf, pos),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
  };
}

/** Total size in bytes of the batch at `pos` (batchLength + 12). */
export function batchSize(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
}

/** Offset of the batch's last record: baseOffset + lastOffsetDelta. */
export function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}

/** Computes the CRC32C the batch at `pos` should carry (over attributes..end). */
export function computeBatchCrc(buf: Buffer, pos = 0): number {
  return crc32c(buf, pos + ATTRIBUTES_OFFSET, pos + batchSize(buf, pos));
}

/** True if the batch at `pos` is complete in `buf` and its stored CRC32C matches. */
export function batchCrcValid(buf: Buffer, pos = 0): boolean {
  if (pos < 0 || pos + BATCH_HEADER_SIZE > buf.length) return false;
  const size = batchSize(buf, pos);
  if (size < BATCH_HEADER_SIZE || pos + size > buf.length) return false;
  return crc32c(buf, pos + ATTRIBUTES_OFFSET, pos + size) === buf.readUInt32BE(pos + CRC_OFFSET);
}

/** Writes baseOffset in place (not covered by the CRC). */
export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, offset);
}

/** Writes partitionLeaderEpoch in place (not covered by the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/** Recomputes and stores the CRC of the batch at `pos`. */
export function recomputeCrc(buf: Buffer, pos = 0): void {
  buf.writeUInt32BE(computeBatchCrc(buf, pos), pos + CRC_OFFSET);
}

/**
 * For topics with `message.timestamp.type=LogAppendTime`: sets the timestamp-type attribute
 * bit, sets maxTimestamp to `timeMs` and recomputes the CRC (as Kafka's
 * `DefaultRecordBatch.setMaxTimestamp` does). Readers then report `timeMs` as every record's
 * timestamp. A no-op (no CRC work) when the batch already says exactly that.
 */
export function stampLogAppendTime(buf: Buffer, pos: number, timeMs: number): void {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if (attributes & ATTR_TIMESTAMP_TYPE && readInt64(buf, pos + MAX_TIMESTAMP_OFFSET) === timeMs) return;
  buf.writeInt16BE(attributes | ATTR_TIMESTAMP_TYPE, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, timeMs);
  recomputeCrc(buf, pos);
}

// ---------------------------------------------------------------------------------------------
// Scanning (headers only)

export interface ScannedBatch {
  /** Start of the batch in the scanned buffer. */
  pos: number;
  /** Total bytes (batchLength + 12). */
  size: number;
  header: BatchHeader;
}

export interface ScanResult {
  batches: ScannedBatch[];
  /** Bytes from the start of the buffer covered by complete, valid batches. */
  validBytes: number;
  /** Null when the whole buffer is valid batches. */
  error: ErrorCode | null;
  message?: string;
  /**
   * True when the scan stopped at an incomplete batch at the end of the buffer (a torn
   * write); false for other errors and for success.
   */
  truncated: boolean;
}

export interface ScanOptions {
  /** Verify each batch's CRC32C (default true). */
  verifyCrc?: boolean;
}

/**
 * Walks consecutive batches in `buf`, reading only headers (never records). Used by the
 * produce path (any `error` rejects the request) and by log recovery (truncate to
 * `validBytes`). Stops at the first problem:
 * - incomplete batch at the end (fewer than 12 bytes, or fewer than batchLength + 12):
 *   CORRUPT_MESSAGE with `truncated: true` (a huge declared length looks the same);
 * - batchLength below 14 (smaller than any message of any format): CORRUPT_MESSAGE;
 * - magic 0 or 1 (legacy message sets): UNSUPPORTED_FOR_MESSAGE_FORMAT;
 * - any other magic than 2, batchLength too small for a header, CRC mismatch, unknown
 *   compression codec, recordCount < 0, lastOffsetDelta < 0 or < recordCount - 1, more
 *   records than an uncompressed batch can hold: CORRUPT_MESSAGE.
 */
export function scanBatches(buf: Buffer, options: ScanOptions = {}): ScanResult {
  const verifyCrc = options.verifyCrc ?? true;
  const batches: ScannedBatch[] = [];
  let pos = 0;
  const fail = (error: ErrorCode, message: string, truncated = false): ScanResult => ({
    batches,
    validBytes: pos,
    error,
    message: `${message} (batch at byte ${pos})`,
    truncated,
  });

  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < LOG_OVERHEAD) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `incomplete batch: ${remaining} trailing bytes`, true);
    }
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    const size = batchLength + LOG_OVERHEAD;
    // As Kafka does: a size below the smallest legacy message is corrupt whatever the magic
    // says (this also classifies zero-filled tails as corrupt rather than as magic 0).
    if (batchLength < LEGACY_MIN_MESSAGE_SIZE) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch length ${batchLength} is smaller than any message`);
    }
    if (remaining > MAGIC_OFFSET) {
      const magic = buf.readInt8(pos + MAGIC_OFFSET);
      if (magic === 0 || magic === 1) {
        return fail(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${magic} is not supported; only record batches (magic 2)`);
      }
      if (magic !== CURRENT_MAGIC) return fail(ErrorCode.CORRUPT_MESSAGE, `invalid magic ${magic}`);
    }
    if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch length ${batchLength} is smaller than a batch header`);
    }
    if (size > remaining) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `incomplete batch: declares ${size} bytes, ${remaining} present`, true);
    }
    const header = readBatchHeader(buf, pos);
    if (verifyCrc) {
      const actual = crc32c(buf, pos + ATTRIBUTES_OFFSET, pos + size);
      if (actual !== header.crc) {
        return fail(ErrorCode.CORRUPT_MESSAGE, `CRC mismatch: stored ${header.crc}, computed ${actual}`);
      }
    }
    const codec = header.attributes & ATTR_COMPRESSION_MASK;
    if (codec > CompressionType.ZSTD) return fail(ErrorCode.CORRUPT_MESSAGE, `unknown compression codec ${codec}`);
    if (header.recordCount < 0) return fail(ErrorCode.CORRUPT_MESSAGE, `negative record count ${header.recordCount}`);
    if (header.lastOffsetDelta < 0 || header.lastOffsetDelta < header.recordCount - 1) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `lastOffsetDelta ${header.lastOffsetDelta} impossible for ${header.recordCount} records`);
    }
    if (codec === CompressionType.NONE && header.recordCount * MIN_RECORD_SIZE > size - BATCH_HEADER_SIZE) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `${header.recordCount} records cannot fit in ${size - BATCH_HEADER_SIZE} bytes`);
    }
    batches.push({ pos, size, header });
    pos += size;
  }
  return { batches, validBytes: pos, error: null, truncated: false };
}

// ---------------------------------------------------------------------------------------------
// Full records

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedRecord extends KafkaRecord {
  /** baseOffset + offsetDelta. */
  offset: number;
  /** baseTimestamp + timestampDelta, or maxTimestamp for LogAppendTime batches. */
  timestamp: number;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
}

export type BytesLike = Buffer | string | null | undefined;

export interface RecordInput {
  key?: BytesLike;
  value?: BytesLike;
  headers?: Array<{ key: string; value?: BytesLike }> | Record<string, BytesLike>;
  /** Default: the batch's baseTimestamp (or now). */
  timestamp?: number;
  /** Default: the record's index. */
  offsetDelta?: number;
  /** Record-level attributes (unused by Kafka; default 0). */
  attributes?: number;
}

export interface EncodeBatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: CompressionType;
  /** Compression level for gzip/zstd. */
  compressionLevel?: number;
  timestampType?: TimestampType;
  isTransactional?: boolean;
  isControl?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Default: the first record's timestamp, else now. Ignored when deleteHorizonMs is set. */
  baseTimestamp?: number;
  /** Sets the delete-horizon attribute and stores this as baseTimestamp (compaction). */
  deleteHorizonMs?: number;
  /** Default: the last record's offsetDelta (0 for an empty batch). */
  lastOffsetDelta?: number;
  records: RecordInput[];
}

export interface DecodeBatchOptions {
  /** Verify the CRC32C before decoding (default true). */
  verifyCrc?: boolean;
  /** Bound on the decompressed records section (default: compression's 256 MiB). */
  maxDecompressedBytes?: number;
}

function toBytes(v: BytesLike): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

interface PreparedRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
  bodySize: number;
}

function sizeOfBytes(b: Buffer | null): number {
  return b === null ? sizeOfVarint(-1) : sizeOfVarint(b.length) + b.length;
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

function normalizeHeaders(h: RecordInput['headers']): Array<{ key: Buffer; value: Buffer | null }> {
  if (!h) return [];
  const list = Array.isArray(h) ? h : Object.entries(h).map(([key, value]) => ({ key, value }));
  return list.map(({ key, value }) => ({ key: Buffer.from(key, 'utf8'), value: toBytes(value) }));
}

/** Encodes a records section (uncompressed) from already-resolved records. */
function encodeRecords(records: PreparedRecord[]): Buffer {
  let total = 0;
  for (const r of records) total += sizeOfVarint(r.bodySize) + r.bodySize;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const r of records) {
    pos = writeVarint(out, pos, r.bodySize);
    out.writeInt8(r.attributes, pos++);
    pos = writeVarlong(out, pos, r.timestampDelta);
    pos = writeVarint(out, pos, r.offsetDelta);
    pos = writeBytes(out, pos, r.key);
    pos = writeBytes(out, pos, r.value);
    pos = writeVarint(out, pos, r.headers.length);
    for (const h of r.headers) {
      pos = writeBytes(out, pos, h.key);
      pos = writeBytes(out, pos, h.value);
    }
  }
  return out;
}

/**
 * Builds a complete magic-2 batch: computes deltas, maxTimestamp, attributes, compresses the
 * records section and fills in the CRC.
 */
export function encodeRecordBatch(opts: EncodeBatchOptions): Buffer {
  const inputs = opts.records;
  const compression = opts.compression ?? CompressionType.NONE;
  const deleteHorizon = opts.deleteHorizonMs !== undefined;
  let baseTimestamp: number;
  if (deleteHorizon) baseTimestamp = opts.deleteHorizonMs!;
  else if (opts.baseTimestamp !== undefined) baseTimestamp = opts.baseTimestamp;
  else if (inputs.length > 0) baseTimestamp = inputs[0]!.timestamp ?? Date.now();
  else baseTimestamp = NO_TIMESTAMP;

  let maxTimestamp = inputs.length > 0 ? -Infinity : NO_TIMESTAMP;
  const prepared: PreparedRecord[] = inputs.map((r, i) => {
    const timestamp = r.timestamp ?? baseTimestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const key = toBytes(r.key);
    const value = toBytes(r.value);
    const headers = normalizeHeaders(r.headers);
    const timestampDelta = timestamp - baseTimestamp;
    const offsetDelta = r.offsetDelta ?? i;
    const attributes = r.attributes ?? 0;
    let bodySize = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta) + sizeOfBytes(key) + sizeOfBytes(value);
    bodySize += sizeOfVarint(headers.length);
    for (const h of headers) bodySize += sizeOfBytes(h.key) + sizeOfBytes(h.value);
    return { attributes, timestampDelta, offsetDelta, key, value, headers, bodySize };
  });

  const raw = encodeRecords(prepared);
  const section = compression === CompressionType.NONE ? raw : compress(compression, raw, { level: opts.compressionLevel });
  const lastOffsetDelta = opts.lastOffsetDelta ?? (prepared.length > 0 ? prepared[prepared.length - 1]!.offsetDelta : 0);

  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + section.length);
  writeInt64(out, BASE_OFFSET_OFFSET, opts.baseOffset ?? 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  out.writeInt16BE(
    makeAttributes({
      compression,
      timestampType: opts.timestampType,
      isTransactional: opts.isTransactional,
      isControl: opts.isControl,
      hasDeleteHorizon: deleteHorizon,
    }),
    ATTRIBUTES_OFFSET,
  );
  out.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(out, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeInt64(out, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeInt64(out, PRODUCER_ID_OFFSET, opts.producerId ?? NO_PRODUCER_ID);
  out.writeInt16BE(opts.producerEpoch ?? NO_PRODUCER_EPOCH, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(opts.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(prepared.length, RECORDS_COUNT_OFFSET);
  section.copy(out, RECORDS_OFFSET);
  recomputeCrc(out, 0);
  return out;
}

function readBytes(c: Cursor, what: string): Buffer | null {
  const len = readVarint(c);
  if (len < 0) {
    if (len === -1) return null;
    throw new RecordBatchError(`invalid ${what} length ${len}`);
  }
  if (c.pos + len > c.end) throw new RecordBatchError(`${what} of ${len} bytes overruns the record`);
  const b = c.buf.subarray(c.pos, c.pos + len);
  c.pos += len;
  return b;
}

function decodeRecord(c: Cursor, header: BatchHeader, logAppendTime: boolean): DecodedRecord {
  const length = readVarint(c);
  if (length < 0 || c.pos + length > c.end) throw new RecordBatchError(`record length ${length} overruns the batch`);
  const bodyEnd = c.pos + length;
  const outerEnd = c.end;
  c.end = bodyEnd;
  if (c.pos >= c.end) throw new RecordBatchError('empty record');
  const attributes = c.buf.readInt8(c.pos++);
  const timestampDelta = readVarlong(c);
  const offsetDelta = readVarint(c);
  const key = readBytes(c, 'key');
  const value = readBytes(c, 'value');
  const headerCount = readVarint(c);
  if (headerCount < 0) throw new RecordBatchError(`invalid header count ${headerCount}`);
  // Each header takes at least 2 bytes; refuse counts that cannot fit before allocating.
  if (headerCount * 2 > c.end - c.pos) throw new RecordBatchError(`header count ${headerCount} overruns the record`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const k = readBytes(c, 'header key');
    if (k === null) throw new RecordBatchError('null header key');
    headers.push({ key: k.toString('utf8'), value: readBytes(c, 'header value') });
  }
  if (c.pos !== bodyEnd) {
    throw new RecordBatchError(`record declared ${length} bytes but its fields use ${length - (bodyEnd - c.pos)}`);
  }
  c.end = outerEnd;
  return {
    attributes,
    timestampDelta,
    offsetDelta,
    key,
    value,
    headers,
    offset: header.baseOffset + offsetDelta,
    timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
  };
}

/**
 * Decodes the batch at `pos` with all its records (decompressing if needed). Keys, values
 * and header values are zero-copy slices of `buf` (uncompressed) or of the decompressed
 * section. Throws `RecordBatchError` on malformed input (and the compression module's
 * `KafkaError`s for bad compressed data); both carry `errorCode`.
 */
export function decodeRecordBatch(buf: Buffer, pos = 0, options: DecodeBatchOptions = {}): DecodedBatch {
  const header = readBatchHeader(buf, pos);
  if (header.magic !== CURRENT_MAGIC) {
    throw new RecordBatchError(
      `unsupported magic ${header.magic}`,
      header.magic === 0 || header.magic === 1 ? ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT : ErrorCode.CORRUPT_MESSAGE,
    );
  }
  const size = header.batchLength + LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE || pos + size > buf.length) {
    throw new RecordBatchError(`batch declares ${size} bytes, ${buf.length - pos} available`);
  }
  if ((options.verifyCrc ?? true) && crc32c(buf, pos + ATTRIBUTES_OFFSET, pos + size) !== header.crc) {
    throw new RecordBatchError('batch CRC mismatch');
  }
  if (header.recordCount < 0) throw new RecordBatchError(`negative record count ${header.recordCount}`);
  const codec = compressionOf(header.attributes);
  if (codec > CompressionType.ZSTD) throw new RecordBatchError(`unknown compression codec ${codec}`);
  let section = buf.subarray(pos + RECORDS_OFFSET, pos + size);
  if (codec !== CompressionType.NONE) {
    section = decompress(codec, section, { maxOutputBytes: options.maxDecompressedBytes });
  }
  if (header.recordCount * MIN_RECORD_SIZE > section.length) {
    throw new RecordBatchError(`${header.recordCount} records cannot fit in ${section.length} bytes`);
  }
  const logAppendTime = timestampTypeOf(header.attributes) === TimestampType.LOG_APPEND_TIME;
  const c: Cursor = { buf: section, pos: 0, end: section.length };
  const records: DecodedRecord[] = [];
  try {
    for (let i = 0; i < header.recordCount; i++) records.push(decodeRecord(c, header, logAppendTime));
  } catch (e) {
    if (e instanceof VarintError) throw new RecordBatchError(`malformed record: ${e.message}`);
    throw e;
  }
  if (c.pos !== section.length) {
    throw new RecordBatchError(`${section.length - c.pos} bytes left after ${header.recordCount} records`);
  }
  return { header, records };
}

// ---------------------------------------------------------------------------------------------
// Control batches

export interface ControlBatchOptions {
  producerId: number;
  producerEpoch: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  timestamp: number;
  type: 'COMMIT' | 'ABORT';
  coordinatorEpoch: number;
}

export interface ControlRecord {
  version: number;
  /** A `ControlRecordType` (other numbers are future types). */
  type: ControlRecordType | number;
  /** For ABORT/COMMIT markers with a value; null otherwise. */
  coordinatorEpoch: number | null;
}

/** Key of a control record: version int16 (0) + type int16. */
export function encodeControlRecordKey(type: ControlRecordType): Buffer {
  const key = Buffer.allocUnsafe(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/** Value of an end-transaction marker: version int16 (0) + coordinatorEpoch int32. */
export function encodeEndTxnMarkerValue(coordinatorEpoch: number): Buffer {
  const value = Buffer.allocUnsafe(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}

/**
 * A transaction marker batch (as the transaction coordinator writes via WriteTxnMarkers):
 * transactional + control, uncompressed, CreateTime, baseSequence -1, one record.
 */
export function encodeControlBatch(opts: ControlBatchOptions): Buffer {
  const type = opts.type === 'COMMIT' ? ControlRecordType.COMMIT : ControlRecordType.ABORT;
  return encodeRecordBatch({
    baseOffset: opts.baseOffset,
    partitionLeaderEpoch: opts.partitionLeaderEpoch,
    isTransactional: true,
    isControl: true,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: NO_SEQUENCE,
    baseTimestamp: opts.timestamp,
    records: [{ key: encodeControlRecordKey(type), value: encodeEndTxnMarkerValue(opts.coordinatorEpoch), timestamp: opts.timestamp }],
  });
}

/** Parses a control record's key (and, for ABORT/COMMIT, its value). */
export function decodeControlRecord(key: Buffer | null, value: Buffer | null): ControlRecord {
  if (key === null || key.length < 4) throw new RecordBatchError('control record key must be at least 4 bytes');
  const version = key.readInt16BE(0);
  if (version < 0) throw new RecordBatchError(`invalid control record key version ${version}`);
  const type = key.readInt16BE(2);
  let coordinatorEpoch: number | null = null;
  if (type === ControlRecordType.ABORT || type === ControlRecordType.COMMIT) {
    if (value === null || value.length < 6) throw new RecordBatchError('end transaction marker value must be at least 6 bytes');
    const valueVersion = value.readInt16BE(0);
    if (valueVersion < 0) throw new RecordBatchError(`invalid end transaction marker version ${valueVersion}`);
    coordinatorEpoch = value.readInt32BE(2);
  }
  return { version, type, coordinatorEpoch };
}

// ---------------------------------------------------------------------------------------------
// Timestamp lookups (decode one batch)

export interface OffsetAndTimestamp {
  offset: number;
  timestamp: number;
}

/**
 * The first record in the batch at `pos` whose timestamp is >= `targetTs` (ListOffsets by
 * timestamp), or null if none. Skips decoding when maxTimestamp < targetTs.
 */
export function findOffsetForTimestamp(buf: Buffer, pos: number, targetTs: number, options?: DecodeBatchOptions): OffsetAndTimestamp | null {
  const header = readBatchHeader(buf, pos);
  if (header.maxTimestamp < targetTs) return null;
  for (const r of decodeRecordBatch(buf, pos, options).records) {
    if (r.timestamp >= targetTs) return { offset: r.offset, timestamp: r.timestamp };
  }
  return null;
}

/**
 * The record with the largest timestamp in the batch at `pos` (the first one on ties), or null
 * for an empty batch (ListOffsets MAX_TIMESTAMP).
 */
export function maxTimestampRecordOffset(buf: Buffer, pos: number, options?: DecodeBatchOptions): OffsetAndTimestamp | null {
  let best: OffsetAndTimestamp | null = null;
  for (const r of decodeRecordBatch(buf, pos, options).records) {
    if (best === null || r.timestamp > best.timestamp) best = { offset: r.offset, timestamp: r.timestamp };
  }
  return best;
}
