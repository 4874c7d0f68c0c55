/**
 * Record-batch compression codecs (attributes bits 0-2), synchronous.
 *
 * - GZIP: node:zlib.
 * - SNAPPY: the `snappy` package for raw blocks. Kafka's Java client writes snappy-java's
 *   "xerial" framing (`\x82SNAPPY\x00`, int32 version, int32 compatible version, then
 *   repeated [int32 BE length, raw snappy block]); other clients write a single raw block.
 *   `decompress` accepts both. `compress` writes one raw block by default: every reader
 *   accepts it (snappy-java's SnappyInputStream falls back to raw when the magic is absent,
 *   librdkafka and kafkajs check for the magic), while @platformatic/kafka reads only raw.
 *   `snappyFraming: 'xerial'` writes xerial framing with 32 KiB blocks, byte-for-byte what
 *   Kafka's Java code produces.
 * - LZ4: the LZ4 frame format (magic 0x184D2204), implemented here over LZ4 block
 *   primitives: the native `lz4` binding when it loads, otherwise a pure-JS block codec.
 *   We write frames the way Kafka's Java `Lz4BlockOutputStream` does (64 KiB independent
 *   blocks, no block or content checksum). We read any standard frame: independent or
 *   linked blocks, optional content size, block checksums (verified), content checksum
 *   (skipped, as Kafka does), concatenated and skippable frames. Preset dictionaries are
 *   refused.
 * - ZSTD: `zstd-napi`. If the native module cannot be loaded, both directions throw
 *   `UnsupportedCompressionError` (→ UNSUPPORTED_COMPRESSION_TYPE).
 *
 * Every decompression is bounded by `maxOutputBytes` (default 256 MiB): a payload that would
 * inflate beyond it throws `DecompressionLimitError` before the memory is allocated (or as
 * soon as streaming output crosses the bound).
 *
 * Errors: `CompressionError` (malformed input, CORRUPT_MESSAGE), `DecompressionLimitError`
 * (MESSAGE_TOO_LARGE), `UnsupportedCompressionError` (UNSUPPORTED_COMPRESSION_TYPE). All extend
 * `KafkaError`, so callers can answer with `err.errorCode`.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { ErrorCode, KafkaError } from './errors.js';

export enum CompressionType {
  NONE = 0,
  GZIP = 1,
  SNAPPY = 2,
  LZ4 = 3,
  ZSTD = 4,
}

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof NAMES)[number];

/** Kafka's name of a compression type (`none`, `gzip`, `snappy`, `lz4`, `zstd`). */
export function compressionName(type: CompressionType): CompressionName {
  const name = NAMES[type];
  if (name === undefined) throw new UnsupportedCompressionError(type);
  return name;
}

/**
 * Parses a codec name as used by `compression.type` (`none`/`uncompressed`, `gzip`, `snappy`,
 * `lz4`, `zstd`; case-insensitive). Returns null for anything else (including `producer`).
 */
export function compressionTypeByName(name: string): CompressionType | null {
  const n = name.toLowerCase();
  if (n === 'uncompressed') return CompressionType.NONE;
  const i = (NAMES as readonly string[]).indexOf(n);
  return i < 0 ? null : (i as CompressionType);
}

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

export interface CompressOptions {
  /** gzip: 1..9 (default 6); zstd: its levels (default 3). Ignored by snappy and lz4. */
  level?: number;
  /** Snappy output format (default 'raw'; see the module comment). */
  snappyFraming?: 'raw' | 'xerial';
}

export interface DecompressOptions {
  /** Refuse to produce more than this many bytes (default 256 MiB). */
  maxOutputBytes?: number;
}

/** Malformed compressed data. */
export class CompressionError extends KafkaError {
  constructor(message: string, errorCode: ErrorCode = ErrorCode.CORRUPT_MESSAGE) {
    super(errorCode, message);
    this.name = 'CompressionError';
  }
}

/** Decompressed output would exceed `maxOutputBytes`. */
export class DecompressionLimitError extends CompressionError {
  constructor(readonly limit: number) {
    super(`decompressed data exceeds the limit of ${limit} bytes`, ErrorCode.MESSAGE_TOO_LARGE);
    this.name = 'DecompressionLimitError';
  }
}

/** Unknown codec id, or a codec whose native module is unavailable. */
export class UnsupportedCompressionError extends KafkaError {
  constructor(
    readonly type: number,
    detail?: string,
  ) {
    super(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `unsupported compression type ${type}${detail ? `: ${detail}` : ''}`,
    );
    this.name = 'UnsupportedCompressionError';
  }
}

/** Compresses `data`; NONE returns `data` itself. */
export function compress(type: CompressionType, data: Buffer, options: CompressOptions = {}): Buffer {
  switch (type) {
    case CompressionType.NONE:
      return data;
    case CompressionType.GZIP:
      return zlib.gzipSync(data, { level: options.level ?? 6 });
    case CompressionType.SNAPPY:
      return options.snappyFraming === 'xerial' ? snappyCompressXerial(data) : snappyCompressRaw(data);
    case CompressionType.LZ4:
      return lz4CompressFrame(data);
    case CompressionType.ZSTD:
      return zstdCompress(data, options.level ?? 3);
    default:
      throw new UnsupportedCompressionError(type);
  }
}

/** Decompresses `data`; NONE returns `data` itself (still subject to the size bound). */
export function decompress(type: CompressionType, data: Buffer, options: DecompressOptions = {}): Buffer {
  const max = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!(max >= 0)) throw new RangeError(`invalid maxOutputBytes ${max}`);
  switch (type) {
    case CompressionType.NONE:
      if (data.length > max) throw new DecompressionLimitError(max);
      return data;
    case CompressionType.GZIP:
      return gunzip(data, max);
    case CompressionType.SNAPPY:
      return snappyDecompress(data, max);
    case CompressionType.LZ4:
      return lz4DecompressFrames(data, max);
    case CompressionType.ZSTD:
      return zstdDecompress(data, max);
    default:
      throw new UnsupportedCompressionError(type);
  }
}

/** Whether `type` can be used in this process (zstd needs its native module). */
export function isCompressionSupported(type: number): boolean {
  switch (type) {
    case CompressionType.NONE:
    case CompressionType.GZIP:
    case CompressionType.LZ4:
      return true;
    case CompressionType.SNAPPY:
      return loadSnappy() !== null;
    case CompressionType.ZSTD:
      return loadZstd() !== null;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Native module loading (lazy; failures are remembered)

const require = createRequire(import.meta.url);

function tryLoad<T>(load: () => T): () => T | null {
  let loaded = false;
  let value: T | null = null;
  return () => {
    if (!loaded) {
      loaded = true;
      try {
        value = load();
      } catch {
        value = null;
      }
    }
    return value;
  };
}

interface SnappyModule {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, options: { asBuffer: true }): Buffer | string;
}
const loadSnappy = tryLoad(() => require('snappy') as SnappyModule);

interface Lz4Native {
  /** LZ4_decompress_safe(input, output): bytes written or a negative error. */
  uncompress(input: Uint8Array, output: Uint8Array): number;
  /** LZ4_compress_default(input, output): bytes written, 0 if it does not fit. */
  compress(input: Uint8Array, output: Uint8Array): number;
  compressBound(n: number): number;
}
const loadLz4Native = tryLoad(() => {
  const m = require('lz4') as { decodeBlock: Lz4Native['uncompress']; encodeBlock: Lz4Native['compress']; encodeBound: Lz4Native['compressBound'] };
  if (typeof m.decodeBlock !== 'function' || typeof m.encodeBlock !== 'function') return null;
  return { uncompress: m.decodeBlock, compress: m.encodeBlock, compressBound: m.encodeBound } satisfies Lz4Native;
});
/** The lz4 package's pure-JS block compressor (used when the native binding is missing). */
const loadLz4JsCompressor = tryLoad(() => {
  const m = require('lz4/lib/binding.js') as {
    compress(src: Uint8Array, dst: Uint8Array, sIdx?: number, eIdx?: number): number;
  };
  return m.compress;
});

type ZstdStreamResult = [returnValue: number, dstProduced: number, srcConsumed: number];
interface ZstdBinding {
  DCtx: new () => {
    decompress(dst: Uint8Array, src: Uint8Array): number;
    decompressStream(dst: Uint8Array, src: Uint8Array): ZstdStreamResult;
    reset(directive: number): void;
  };
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
  dStreamOutSize(): number;
}
interface ZstdModule {
  compress(data: Uint8Array, parameters?: { compressionLevel?: number }): Buffer;
}
const loadZstd = tryLoad(() => ({
  api: require('zstd-napi') as ZstdModule,
  binding: require('zstd-napi/binding') as ZstdBinding,
}));

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// GZIP

function gunzip(data: Buffer, max: number): Buffer {
  if (max === 0) {
    // zlib refuses maxOutputLength 0; anything non-empty is over the limit anyway.
    const out = gunzip(data, 1);
    if (out.length > 0) throw new DecompressionLimitError(max);
    return out;
  }
  try {
    return zlib.gunzipSync(data, { maxOutputLength: max });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressionLimitError(max);
    throw new CompressionError(`gzip: ${errMessage(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// SNAPPY

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
const XERIAL_BLOCK_SIZE = 32 * 1024;

function snappy(): SnappyModule {
  const m = loadSnappy();
  if (m === null) throw new UnsupportedCompressionError(CompressionType.SNAPPY, 'snappy module unavailable');
  return m;
}

/** True if `data` starts with snappy-java's xerial stream header. */
export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_MAGIC.length && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

function snappyCompressRaw(data: Buffer): Buffer {
  return snappy().compressSync(data);
}

function snappyCompressXerial(data: Buffer): Buffer {
  const s = snappy();
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  parts.push(header);
  for (let off = 0; off < data.length; off += XERIAL_BLOCK_SIZE) {
    const block = s.compressSync(data.subarray(off, Math.min(off + XERIAL_BLOCK_SIZE, data.length)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

/** The uncompressed length a raw snappy block declares in its varint preamble. */
function snappyDeclaredLength(block: Buffer): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new CompressionError('snappy: bad length preamble');
}

function snappyRaw(s: SnappyModule, block: Buffer, budget: number, max: number): Buffer {
  if (snappyDeclaredLength(block) > budget) throw new DecompressionLimitError(max);
  let out: Buffer | string;
  try {
    out = s.uncompressSync(block, { asBuffer: true });
  } catch (e) {
    throw new CompressionError(`snappy: ${errMessage(e)}`);
  }
  if (typeof out === 'string') out = Buffer.from(out);
  if (out.length > budget) throw new DecompressionLimitError(max);
  return out;
}

function snappyDecompress(data: Buffer, max: number): Buffer {
  const s = snappy();
  if (!isXerialSnappy(data)) return snappyRaw(s, data, max, max);
  if (data.length < XERIAL_HEADER_SIZE) throw new CompressionError('snappy: truncated xerial header');
  const chunks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new CompressionError('snappy: truncated xerial block length');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length) throw new CompressionError(`snappy: xerial block length ${len} overruns input`);
    const out = snappyRaw(s, data.subarray(pos, pos + len), max - total, max);
    pos += len;
    total += out.length;
    chunks.push(out);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

// ---------------------------------------------------------------------------------------------
// XXH32 (used by the LZ4 frame format)

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32le(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** XXH32 of `buf[start, end)` with `seed`; unsigned. */
export function xxh32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  let p = start;
  const len = end - start;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    do {
      v1 = Math.imul(rotl((v1 + Math.imul(read32le(buf, p), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(read32le(buf, p + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(read32le(buf, p + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(read32le(buf, p + 12), P2)) | 0, 13), P1);
      p += 16;
    } while (p <= limit);
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(read32le(buf, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(buf[p]!, P5)) | 0, 11), P1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// LZ4 frame format

const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_UNCOMPRESSED_BIT = 0x80000000;
const LZ4_BLOCK_SIZES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };
/** What we write: 64 KiB blocks (BD id 4), like Kafka's Java client. */
const LZ4_WRITE_BLOCK_ID = 4;
const LZ4_WRITE_BLOCK_SIZE = 64 * 1024;

function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function lz4CompressFrame(data: Buffer): Buffer {
  const native = loadLz4Native();
  const jsCompress = native ? null : loadLz4JsCompressor();
  const nBlocks = Math.ceil(data.length / LZ4_WRITE_BLOCK_SIZE);
  const out = Buffer.allocUnsafe(7 + nBlocks * (4 + lz4CompressBound(LZ4_WRITE_BLOCK_SIZE)) + 4);
  out.writeUInt32LE(LZ4_MAGIC, 0);
  out[4] = 0x60; // version 01, block independence, no checksums, no content size, no dict
  out[5] = LZ4_WRITE_BLOCK_ID << 4;
  out[6] = (xxh32(out, 4, 6) >>> 8) & 0xff;
  let pos = 7;
  for (let off = 0; off < data.length; off += LZ4_WRITE_BLOCK_SIZE) {
    const block = data.subarray(off, Math.min(off + LZ4_WRITE_BLOCK_SIZE, data.length));
    // Compressed output must be strictly smaller than the input to be worth storing.
    const dst = out.subarray(pos + 4, pos + 4 + block.length - 1);
    let n = 0;
    if (dst.length > 0) {
      try {
        if (native) n = native.compress(block, dst);
        else if (jsCompress) n = lz4JsCompressInto(jsCompress, block, dst);
      } catch {
        n = 0;
      }
    }
    if (n > 0 && n < block.length) {
      out.writeUInt32LE(n, pos);
      pos += 4 + n;
    } else {
      out.writeUInt32LE((block.length | LZ4_UNCOMPRESSED_BIT) >>> 0, pos);
      block.copy(out, pos + 4);
      pos += 4 + block.length;
    }
  }
  out.writeUInt32LE(0, pos); // EndMark
  pos += 4;
  return out.subarray(0, pos);
}

function lz4JsCompressInto(
  jsCompress: (src: Uint8Array, dst: Uint8Array, sIdx?: number, eIdx?: number) => number,
  block: Buffer,
  dst: Buffer,
): number {
  // The JS compressor may write past what fits; give it a full-size scratch buffer.
  const scratch = Buffer.alloc(lz4CompressBound(block.length));
  const n = jsCompress(block, scratch, 0, scratch.length);
  if (n <= 0 || n > dst.length) return 0;
  scratch.copy(dst, 0, 0, n);
  return n;
}

/** Growable output with a hard cap. */
class Output {
  buf: Buffer;
  len = 0;
  constructor(
    initial: number,
    readonly max: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(0, Math.min(initial, max)));
  }
  /** Makes room for `n` more bytes (throws past the cap). */
  ensure(n: number): void {
    const need = this.len + n;
    if (need > this.max) throw new DecompressionLimitError(this.max);
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.min(this.max, Math.max(need, this.buf.length * 2, 64 * 1024)));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Decodes one LZ4 block `src[s, e)` appending to `out`. Matches may reach back to
 * `out[windowStart..]` (the block start for independent blocks, earlier output for linked ones).
 */
function lz4DecodeBlockJs(src: Buffer, s: number, e: number, out: Output, windowStart: number): void {
  let i = s;
  for (;;) {
    if (i >= e) throw new CompressionError('lz4: truncated block');
    const token = src[i++]!;
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (i >= e) throw new CompressionError('lz4: truncated literal length');
        b = src[i++]!;
        litLen += b;
      } while (b === 255);
    }
    if (litLen > 0) {
      if (i + litLen > e) throw new CompressionError('lz4: literals overrun block');
      out.ensure(litLen);
      src.copy(out.buf, out.len, i, i + litLen);
      out.len += litLen;
      i += litLen;
    }
    if (i === e) return; // the last sequence carries literals only
    if (i + 2 > e) throw new CompressionError('lz4: truncated match offset');
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > out.len - windowStart) throw new CompressionError('lz4: invalid match offset');
    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (i >= e) throw new CompressionError('lz4: truncated match length');
        b = src[i++]!;
        matchLen += b;
      } while (b === 255);
    }
    matchLen += 4;
    out.ensure(matchLen);
    const buf = out.buf;
    let from = out.len - offset;
    let to = out.len;
    if (offset >= matchLen) {
      buf.copyWithin(to, from, from + matchLen);
    } else {
      const end = to + matchLen;
      while (to < end) buf[to++] = buf[from++]!;
    }
    out.len += matchLen;
  }
}

function lz4DecompressFrames(data: Buffer, max: number): Buffer {
  const native = loadLz4Native();
  const out = new Output(Math.max(64 * 1024, data.length * 4), max);
  let pos = 0;
  let frames = 0;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new CompressionError('lz4: truncated frame magic');
    const magic = data.readUInt32LE(pos);
    if (((magic & LZ4_SKIPPABLE_MASK) >>> 0) === LZ4_SKIPPABLE_MAGIC) {
      if (pos + 8 > data.length) throw new CompressionError('lz4: truncated skippable frame');
      const size = data.readUInt32LE(pos + 4);
      if (pos + 8 + size > data.length) throw new CompressionError('lz4: skippable frame overruns input');
      pos += 8 + size;
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new CompressionError(`lz4: bad frame magic 0x${magic.toString(16)}`);
    pos = lz4DecodeFrame(data, pos + 4, out, native);
    frames++;
  }
  if (frames === 0) throw new CompressionError('lz4: no frame');
  return out.result();
}

/** Decodes one frame whose descriptor starts at `pos`; returns the position after the frame. */
function lz4DecodeFrame(data: Buffer, pos: number, out: Output, native: Lz4Native | null): number {
  const descStart = pos;
  if (pos + 3 > data.length) throw new CompressionError('lz4: truncated frame descriptor');
  const flg = data[pos]!;
  const bd = data[pos + 1]!;
  pos += 2;
  if (flg >>> 6 !== 1) throw new CompressionError(`lz4: unsupported frame version ${flg >>> 6}`);
  if (flg & 0x02 || bd & 0x8f) throw new CompressionError('lz4: reserved descriptor bits set');
  const independent = (flg & 0x20) !== 0;
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const hasDict = (flg & 0x01) !== 0;
  const blockMax = LZ4_BLOCK_SIZES[(bd >>> 4) & 0x7];
  if (blockMax === undefined) throw new CompressionError(`lz4: invalid block max size id ${(bd >>> 4) & 0x7}`);
  let contentSize = -1;
  if (hasContentSize) {
    if (pos + 8 > data.length) throw new CompressionError('lz4: truncated content size');
    const hi = data.readUInt32LE(pos + 4);
    contentSize = hi * 4294967296 + data.readUInt32LE(pos);
    if (out.len + contentSize > out.max) throw new DecompressionLimitError(out.max);
    pos += 8;
  }
  if (hasDict) throw new UnsupportedCompressionError(CompressionType.LZ4, 'lz4 preset dictionaries are not supported');
  if (pos >= data.length) throw new CompressionError('lz4: truncated frame descriptor');
  if (data[pos] !== ((xxh32(data, descStart, pos) >>> 8) & 0xff)) {
    throw new CompressionError('lz4: frame descriptor checksum mismatch');
  }
  pos++;
  if (contentSize >= 0) out.ensure(contentSize);
  const frameStart = out.len;

  for (;;) {
    if (pos + 4 > data.length) throw new CompressionError('lz4: truncated block size');
    const raw = data.readUInt32LE(pos);
    pos += 4;
    if (raw === 0) break; // EndMark
    const uncompressed = (raw & LZ4_UNCOMPRESSED_BIT) !== 0;
    const size = (raw & 0x7fffffff) >>> 0;
    if (size > blockMax) throw new CompressionError(`lz4: block of ${size} bytes exceeds max ${blockMax}`);
    if (pos + size + (blockChecksum ? 4 : 0) > data.length) throw new CompressionError('lz4: truncated block');
    if (blockChecksum && xxh32(data, pos, pos + size) !== data.readUInt32LE(pos + size)) {
      throw new CompressionError('lz4: block checksum mismatch');
    }
    if (uncompressed) {
      out.ensure(size);
      data.copy(out.buf, out.len, pos, pos + size);
      out.len += size;
    } else if (independent && native) {
      lz4DecodeBlockNative(native, data.subarray(pos, pos + size), out, blockMax);
    } else {
      lz4DecodeBlockJs(data, pos, pos + size, out, independent ? out.len : frameStart);
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) {
    // Kafka's readers do not verify the content checksum; the batch CRC covers these bytes.
    if (pos + 4 > data.length) throw new CompressionError('lz4: truncated content checksum');
    pos += 4;
  }
  if (contentSize >= 0 && out.len - frameStart !== contentSize) {
    throw new CompressionError(`lz4: frame declared ${contentSize} bytes but decoded ${out.len - frameStart}`);
  }
  return pos;
}

function lz4DecodeBlockNative(native: Lz4Native, block: Buffer, out: Output, blockMax: number): void {
  const room = Math.min(blockMax, out.max - out.len);
  out.ensure(room);
  const n = native.uncompress(block, out.buf.subarray(out.len, out.len + room));
  if (n >= 0) {
    out.len += n;
    return;
  }
  if (room < blockMax) {
    // Either corrupt or larger than the remaining budget: decode into scratch to tell which.
    const scratch = Buffer.allocUnsafe(blockMax);
    const m = native.uncompress(block, scratch);
    if (m > room) throw new DecompressionLimitError(out.max);
  }
  throw new CompressionError('lz4: corrupt block');
}

// ---------------------------------------------------------------------------------------------
// ZSTD

function zstd(): { api: ZstdModule; binding: ZstdBinding } {
  const m = loadZstd();
  if (m === null) throw new UnsupportedCompressionError(CompressionType.ZSTD, 'zstd-napi native module unavailable');
  return m;
}

function zstdCompress(data: Buffer, level: number): Buffer {
  const { api } = zstd();
  return api.compress(data, { compressionLevel: level });
}

let zstdDctx: InstanceType<ZstdBinding['DCtx']> | null = null;
const ZSTD_RESET_SESSION_ONLY = 0;

function zstdDecompress(data: Buffer, max: number): Buffer {
  const { binding } = zstd();
  zstdDctx ??= new binding.DCtx();
  const dctx = zstdDctx;
  try {
    // Fast path: every frame declares its content size.
    let total = 0;
    let known = data.length > 0;
    for (let p = 0; p < data.length && known; ) {
      const frame = data.subarray(p);
      const size = binding.getFrameContentSize(frame);
      if (size === null) known = false;
      else total += size;
      p += binding.findFrameCompressedSize(frame);
    }
    if (known) {
      if (total > max) throw new DecompressionLimitError(max);
      const out = Buffer.allocUnsafe(total);
      const n = dctx.decompress(out, data);
      if (n !== total) throw new CompressionError(`zstd: frames declared ${total} bytes but decoded ${n}`);
      return out;
    }
    // Streaming path, bounded.
    dctx.reset(ZSTD_RESET_SESSION_ONLY);
    const chunkSize = binding.dStreamOutSize();
    const chunks: Buffer[] = [];
    let produced = 0;
    let src = data;
    let stalls = 0;
    for (;;) {
      const room = Math.min(chunkSize, max - produced + 1);
      const dst = Buffer.allocUnsafe(room);
      const [hint, n, consumed] = dctx.decompressStream(dst, src);
      src = src.subarray(consumed);
      if (n > 0) {
        produced += n;
        if (produced > max) throw new DecompressionLimitError(max);
        chunks.push(dst.subarray(0, n));
      }
      if (src.length === 0) {
        if (hint === 0) break; // frame complete, no more input
        if (n < room) throw new CompressionError('zstd: truncated frame');
      }
      stalls = n === 0 && consumed === 0 ? stalls + 1 : 0;
      if (stalls > 2) throw new CompressionError('zstd: decoder made no progress');
    }
    return Buffer.concat(chunks, produced);
  } catch (e) {
    try {
      dctx.reset(ZSTD_RESET_SESSION_ONLY);
    } catch {
      zstdDctx = null;
    }
    if (e instanceof KafkaError) throw e;
    throw new CompressionError(`zstd: ${errMessage(e)}`);
  }
}
