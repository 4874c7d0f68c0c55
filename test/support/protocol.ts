// Encoders/decoders for the handful of Kafka requests the bad-input tests send over a raw
// socket. The request/response codecs here are hand-written (checked against kafkajs's own
// encoders in protocol.test.ts); record batches come from the project's wire/record-batch.ts,
// with an independent hand-written encoder kept as a cross-check (handEncodeRecordBatch).
//
// Layouts follow Kafka's message JSON (../shared/kafka-protocol/messages/*.json).

import { encodeRecordBatch as wireEncodeRecordBatch } from '../../wire/record-batch.js';

export const ApiKeys = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  ApiVersions: 18,
  CreateTopics: 19,
} as const;

/** The Kafka error codes the tests assert (names as in Kafka's Errors.java). */
export const Err = {
  NONE: 0,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
} as const;

// ---------------------------------------------------------------------------------------------
// Primitive writer / reader

export class ByteWriter {
  private chunks: Buffer[] = [];
  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.raw(b);
  }
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.raw(b);
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.raw(b);
  }
  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.raw(b);
  }
  int64(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return this.raw(b);
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  uvarint(v: number): this {
    const out: number[] = [];
    let n = v >>> 0;
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return this.raw(Buffer.from(out));
  }
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: bigint | number): this {
    let z = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    const out: number[] = [];
    while (z >= 0x80n) {
      out.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    out.push(Number(z));
    return this.raw(Buffer.from(out));
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }
  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }
  compactString(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).raw(b);
  }
  bytes(b: Buffer): this {
    return this.int32(b.length).raw(b);
  }
  nullableBytes(b: Buffer | null): this {
    return b === null ? this.int32(-1) : this.bytes(b);
  }
  array<T>(items: readonly T[] | null, each: (w: ByteWriter, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  compactArray<T>(items: readonly T[], each: (w: ByteWriter, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const it of items) each(this, it);
    return this;
  }
  emptyTaggedFields(): this {
    return this.uvarint(0);
  }
  raw(b: Buffer): this {
    this.chunks.push(b);
    return this;
  }
  get length(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export class ByteReader {
  constructor(
    public buf: Buffer,
    public offset = 0,
  ) {}
  remaining(): number {
    return this.buf.length - this.offset;
  }
  private need(n: number): void {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new RangeError(`need ${n} bytes at ${this.offset}, have ${this.remaining()}`);
    }
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.offset++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const b = this.buf[this.offset++]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new RangeError('uvarint too long');
  }
  string(): string {
    const n = this.int16();
    this.need(n);
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.offset -= 2;
    return this.string();
  }
  compactString(): string {
    const n = this.uvarint() - 1;
    this.need(n);
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
  array<T>(each: (r: ByteReader) => T): T[] {
    const n = this.int32();
    if (n < 0) return [];
    if (n > this.remaining()) throw new RangeError(`array length ${n} exceeds remaining bytes`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  compactArray<T>(each: (r: ByteReader) => T): T[] {
    const n = this.uvarint() - 1;
    if (n < 0) return [];
    if (n > this.remaining()) throw new RangeError(`array length ${n} exceeds remaining bytes`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  skipTaggedFields(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint(); // tag
      const size = this.uvarint();
      this.need(size);
      this.offset += size;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Request header (v1: key, version, correlation id, client id; v2 adds tagged fields)

export function requestHeader(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  opts: { clientId?: string | null; flexible?: boolean } = {},
): Buffer {
  const w = new ByteWriter()
    .int16(apiKey)
    .int16(apiVersion)
    .int32(correlationId)
    .nullableString(opts.clientId === undefined ? 'e2e-raw' : opts.clientId);
  if (opts.flexible) w.emptyTaggedFields();
  return w.toBuffer();
}

/** Correlation id of a response frame payload (response header v0 and v1 both start with it). */
export function responseCorrelationId(payload: Buffer): number {
  return payload.readInt32BE(0);
}

// ---------------------------------------------------------------------------------------------
// ApiVersions (key 18). v0-v2: empty body, header v1. v3+: flexible, header v2.
// The response header is always v0 (correlation id only), whatever the version.

export function apiVersionsRequest(version: number, correlationId: number): Buffer {
  if (version < 3) return requestHeader(ApiKeys.ApiVersions, version, correlationId);
  return Buffer.concat([
    requestHeader(ApiKeys.ApiVersions, version, correlationId, { flexible: true }),
    new ByteWriter()
      .compactString('kafka-ts-e2e')
      .compactString('0.1.0')
      .emptyTaggedFields()
      .toBuffer(),
  ]);
}

export interface ApiVersionsResponse {
  correlationId: number;
  errorCode: number;
  apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
  throttleTimeMs: number;
}

/** Decodes an ApiVersions response body of the given version (v0 for an unsupported request). */
export function decodeApiVersionsResponse(payload: Buffer, version: number): ApiVersionsResponse {
  const r = new ByteReader(payload);
  const correlationId = r.int32();
  const errorCode = r.int16();
  const item = (rr: ByteReader) => {
    const v = { apiKey: rr.int16(), minVersion: rr.int16(), maxVersion: rr.int16() };
    if (version >= 3) rr.skipTaggedFields();
    return v;
  };
  const apiKeys = version >= 3 ? r.compactArray(item) : r.array(item);
  const throttleTimeMs = version >= 1 ? r.int32() : 0;
  if (version >= 3) r.skipTaggedFields();
  return { correlationId, errorCode, apiKeys, throttleTimeMs };
}

// ---------------------------------------------------------------------------------------------
// Metadata v1 (key 3): topics array (null = all topics). Non-flexible.

export function metadataV1Request(correlationId: number, topics: string[] | null): Buffer {
  return Buffer.concat([
    requestHeader(ApiKeys.Metadata, 1, correlationId),
    new ByteWriter().array(topics, (w, t) => w.string(t)).toBuffer(),
  ]);
}

export interface MetadataV1Response {
  correlationId: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  controllerId: number;
  topics: Array<{
    errorCode: number;
    name: string;
    isInternal: boolean;
    partitions: Array<{ errorCode: number; partitionIndex: number; leaderId: number; replicaNodes: number[]; isrNodes: number[] }>;
  }>;
}

export function decodeMetadataV1Response(payload: Buffer): MetadataV1Response {
  const r = new ByteReader(payload);
  const correlationId = r.int32();
  const brokers = r.array((rr) => ({ nodeId: rr.int32(), host: rr.string(), port: rr.int32(), rack: rr.nullableString() }));
  const controllerId = r.int32();
  const topics = r.array((rr) => ({
    errorCode: rr.int16(),
    name: rr.string(),
    isInternal: rr.bool(),
    partitions: rr.array((p) => ({
      errorCode: p.int16(),
      partitionIndex: p.int32(),
      leaderId: p.int32(),
      replicaNodes: p.array((x) => x.int32()),
      isrNodes: p.array((x) => x.int32()),
    })),
  }));
  return { correlationId, brokers, controllerId, topics };
}

// ---------------------------------------------------------------------------------------------
// Produce v3 (key 0): transactional id, acks, timeout, [topic [partition, records]]. Non-flexible.

export function produceV3Request(
  correlationId: number,
  opts: { acks?: number; timeoutMs?: number; topic: string; partition: number; records: Buffer },
): Buffer {
  return Buffer.concat([
    requestHeader(ApiKeys.Produce, 3, correlationId),
    new ByteWriter()
      .nullableString(null)
      .int16(opts.acks ?? -1)
      .int32(opts.timeoutMs ?? 10_000)
      .array([opts.topic], (w, t) =>
        w.string(t).array([opts.partition], (pw, p) => pw.int32(p).bytes(opts.records)),
      )
      .toBuffer(),
  ]);
}

export interface ProduceV3Response {
  correlationId: number;
  responses: Array<{
    name: string;
    partitions: Array<{ index: number; errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint }>;
  }>;
  throttleTimeMs: number;
}

export function decodeProduceV3Response(payload: Buffer): ProduceV3Response {
  const r = new ByteReader(payload);
  const correlationId = r.int32();
  const responses = r.array((rr) => ({
    name: rr.string(),
    partitions: rr.array((p) => ({ index: p.int32(), errorCode: p.int16(), baseOffset: p.int64(), logAppendTimeMs: p.int64() })),
  }));
  const throttleTimeMs = r.int32();
  return { correlationId, responses, throttleTimeMs };
}

// ---------------------------------------------------------------------------------------------
// CreateTopics v2 (key 19): [name, numPartitions, replicationFactor, assignments, configs],
// timeoutMs, validateOnly. Non-flexible (flexible starts at v5).

export function createTopicsV2Request(
  correlationId: number,
  topics: Array<{ name: string; numPartitions?: number; replicationFactor?: number }>,
  timeoutMs = 10_000,
): Buffer {
  return Buffer.concat([
    requestHeader(ApiKeys.CreateTopics, 2, correlationId),
    new ByteWriter()
      .array(topics, (w, t) =>
        w
          .string(t.name)
          .int32(t.numPartitions ?? 1)
          .int16(t.replicationFactor ?? 1)
          .array([], () => {})
          .array([], () => {}),
      )
      .int32(timeoutMs)
      .bool(false)
      .toBuffer(),
  ]);
}

export interface CreateTopicsV2Response {
  correlationId: number;
  throttleTimeMs: number;
  topics: Array<{ name: string; errorCode: number; errorMessage: string | null }>;
}

export function decodeCreateTopicsV2Response(payload: Buffer): CreateTopicsV2Response {
  const r = new ByteReader(payload);
  const correlationId = r.int32();
  const throttleTimeMs = r.int32();
  const topics = r.array((rr) => ({ name: rr.string(), errorCode: rr.int16(), errorMessage: rr.nullableString() }));
  return { correlationId, throttleTimeMs, topics };
}

// ---------------------------------------------------------------------------------------------
// Record batch, magic 2 (the format is not in the JSON specs; see Kafka's DefaultRecordBatch).
//
//  baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 (2) |
//  crc uint32 (CRC-32C of everything from attributes to the end) | attributes int16 |
//  lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 | producerId int64 |
//  producerEpoch int16 | baseSequence int32 | recordCount int32 | records...
//  record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//          keyLength varint (-1 = null) | key | valueLength varint | value |
//          headerCount varint | [keyLength varint | key | valueLength varint | value]

export const BATCH_HEADER_SIZE = 61;
/** Byte offset of the CRC field inside a batch; the CRC covers [CRC_OFFSET + 4, end). */
export const BATCH_CRC_OFFSET = 17;

export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Array<[string, Buffer | null]>;
}

const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32c(buf: Buffer): number {
  let crc = -1;
  for (let i = 0; i < buf.length; i++) crc = CRC32C_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

export interface BatchOptions {
  baseOffset?: number;
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/** An uncompressed magic-2 batch with a correct CRC, encoded by the project's wire/record-batch.ts. */
export function encodeRecordBatch(records: RawRecord[], opts: BatchOptions = {}): Buffer {
  const ts = opts.baseTimestamp ?? Date.now();
  return wireEncodeRecordBatch({
    baseOffset: opts.baseOffset ?? 0,
    baseTimestamp: ts,
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerEpoch ?? -1,
    baseSequence: opts.baseSequence ?? -1,
    records: records.map((r) => ({
      key: r.key,
      value: r.value,
      timestamp: ts,
      headers: (r.headers ?? []).map(([key, value]) => ({ key, value })),
    })),
  });
}

/** The same batch encoded by hand, independently of wire/ (cross-check in protocol.test.ts). */
export function handEncodeRecordBatch(
  records: RawRecord[],
  opts: BatchOptions = {},
): Buffer {
  const ts = opts.baseTimestamp ?? Date.now();
  const body = new ByteWriter();
  records.forEach((rec, i) => {
    const rw = new ByteWriter().int8(0).varlong(0).varint(i);
    if (rec.key === null) rw.varint(-1);
    else rw.varint(rec.key.length).raw(rec.key);
    if (rec.value === null) rw.varint(-1);
    else rw.varint(rec.value.length).raw(rec.value);
    const headers = rec.headers ?? [];
    rw.varint(headers.length);
    for (const [hk, hv] of headers) {
      const kb = Buffer.from(hk, 'utf8');
      rw.varint(kb.length).raw(kb);
      if (hv === null) rw.varint(-1);
      else rw.varint(hv.length).raw(hv);
    }
    const rb = rw.toBuffer();
    body.varint(rb.length).raw(rb);
  });
  const afterCrc = new ByteWriter()
    .int16(0) // attributes: no compression, create time, not transactional, not control
    .int32(Math.max(0, records.length - 1))
    .int64(ts)
    .int64(ts)
    .int64(opts.producerId ?? -1)
    .int16(opts.producerEpoch ?? -1)
    .int32(opts.baseSequence ?? -1)
    .int32(records.length)
    .raw(body.toBuffer())
    .toBuffer();
  const batchLength = 4 + 1 + 4 + afterCrc.length; // partitionLeaderEpoch + magic + crc + rest
  return new ByteWriter()
    .int64(opts.baseOffset ?? 0)
    .int32(batchLength)
    .int32(-1)
    .int8(2)
    .uint32(crc32c(afterCrc))
    .raw(afterCrc)
    .toBuffer();
}
