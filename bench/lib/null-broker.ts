// The null broker: the ceiling the benchmark compares the real broker against.
//
// A tiny Kafka server that parses frames and answers ApiVersions, Metadata, Produce, Fetch and
// ListOffsets correctly (same generated codecs, same response versions as the broker) but
// stores nothing: Produce is answered as soon as it is decoded (offsets from a counter), Fetch
// returns a pre-built buffer of whole record batches (the same batch layout the benchmark
// produces) up to the partition's max bytes. Whatever the load generator achieves against it
// is what Node, the loopback socket, the codecs and the generator itself allow; the broker's
// result as a percentage of it is the cost of the broker's own work (storage, indexes, CRC
// checks, bookkeeping).
import net from 'node:net';
import { API_SPECS, ApiKey, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { decodeRequestHeader, encodeResponseHeader, isSupportedVersion, type DecodedRequestHeader } from '../../wire/header.js';
import { Reader, Writer, recordsBuffer } from '../../wire/primitives.js';
import { ErrorCode } from '../../wire/errors.js';
import { FrameCutter } from './frames.js';
import { buildBatch, type BatchSpec } from './templates.js';

export interface NullBrokerOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Partitions of every topic in Metadata. */
  partitions?: number;
  /** Layout of the batches Fetch returns. */
  fetchBatch?: BatchSpec;
}

const SERVED = [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.ApiVersions];

/** A stable topic id per name (22-char URL-safe base64 of 16 bytes), as Metadata v10+ gives. */
export function nullTopicId(name: string): string {
  const b = Buffer.alloc(16);
  for (let i = 0; i < name.length; i++) b[i % 16] = (b[i % 16]! * 31 + name.charCodeAt(i) + 7) & 0xff;
  b[0] = b[0]! | 1;
  return b.toString('base64url');
}

export class NullBroker {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly nextOffset = new Map<string, number>();
  private readonly topicNames = new Map<string, string>(); // id -> name
  private readonly fetchCache = new Map<number, { records: Buffer; count: number }>();
  private readonly batch: { buf: Buffer; records: number } | null;
  port = 0;
  /** Requests answered, by API key (for tests). */
  readonly served = new Map<number, number>();

  constructor(private readonly opts: NullBrokerOptions = {}) {
    const spec = opts.fetchBatch;
    if (spec) {
      const b = buildBatch(spec, 0);
      this.batch = { buf: b.batch, records: b.records };
    } else this.batch = null;
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((s) => this.accept(s));
      server.once('error', reject);
      server.listen({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port ?? 0 }, () => {
        const addr = server.address();
        this.port = typeof addr === 'object' && addr ? addr.port : 0;
        this.server = server;
        resolve(this.port);
      });
    });
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const cutter = new FrameCutter(100 * 1024 * 1024);
    let corked = false;
    const write = (chunks: Buffer[]) => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      for (const c of chunks) socket.write(c);
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        cutter.push(chunk, (frame) => {
          const out = this.handle(frame);
          if (out) write(out);
        });
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** One request frame in, the response chunks out (null: no response, acks=0). Throws on garbage. */
  handle(frame: Buffer): Buffer[] | null {
    const r = new Reader(frame);
    const h = decodeRequestHeader(r);
    this.served.set(h.apiKey, (this.served.get(h.apiKey) ?? 0) + 1);
    if (!SERVED.includes(h.apiKey) || !isSupportedVersion(h.apiKey, h.apiVersion)) {
      if (h.apiKey === ApiKey.ApiVersions) return this.encode(h, 0, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: this.versions() });
      throw new Error(`unsupported API ${h.apiKey} v${h.apiVersion}`);
    }
    const body = API_SPECS[h.apiKey]!.decodeRequest(r, h.apiVersion);
    switch (h.apiKey) {
      case ApiKey.ApiVersions:
        return this.encode(h, h.apiVersion, { errorCode: 0, apiKeys: this.versions(), throttleTimeMs: 0 } satisfies ApiResponses[ApiKey.ApiVersions]);
      case ApiKey.Metadata:
        return this.encode(h, h.apiVersion, this.metadata(body as ApiRequests[ApiKey.Metadata]));
      case ApiKey.Produce: {
        const res = this.produce(body as ApiRequests[ApiKey.Produce]);
        return res === null ? null : this.encode(h, h.apiVersion, res);
      }
      case ApiKey.Fetch:
        return this.encode(h, h.apiVersion, this.fetch(body as ApiRequests[ApiKey.Fetch], h.apiVersion));
      case ApiKey.ListOffsets:
        return this.encode(h, h.apiVersion, this.listOffsets(body as ApiRequests[ApiKey.ListOffsets]));
      default:
        throw new Error(`unhandled API ${h.apiKey}`);
    }
  }

  private encode(h: DecodedRequestHeader, version: number, res: unknown): Buffer[] {
    const w = new Writer();
    const sizePos = w.reserveInt32();
    encodeResponseHeader(w, h.apiKey, version, h.correlationId);
    API_SPECS[h.apiKey]!.encodeResponse(w, version, res);
    w.patchInt32(sizePos, w.length - 4);
    return w.toChunks();
  }

  private versions(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return SERVED.map((k) => {
      const s = API_SPECS[k]!;
      return { apiKey: k, minVersion: s.minVersion, maxVersion: s.latestVersionUnstable ? s.maxVersion - 1 : s.maxVersion };
    }).sort((a, b) => a.apiKey - b.apiKey);
  }

  private metadata(req: ApiRequests[ApiKey.Metadata]): ApiResponses[ApiKey.Metadata] {
    const n = this.opts.partitions ?? 1;
    const names = (req.topics ?? []).map((t) => t.name ?? this.topicNames.get(t.topicId ?? '') ?? '').filter((s) => s !== '');
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: this.port, rack: null }],
      clusterId: 'null-broker',
      controllerId: 1,
      topics: names.map((name) => {
        const topicId = nullTopicId(name);
        this.topicNames.set(topicId, name);
        return {
          errorCode: 0,
          name,
          topicId,
          isInternal: false,
          partitions: Array.from({ length: n }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
          topicAuthorizedOperations: -2147483648,
        };
      }),
    };
  }

  private produce(req: ApiRequests[ApiKey.Produce]): ApiResponses[ApiKey.Produce] | null {
    const responses = req.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        const key = `${t.name}\u0000${p.index}`;
        const base = this.nextOffset.get(key) ?? 0;
        // Count the records from the batch headers (recordCount at byte 57), as a broker would.
        let count = 0;
        const rec = recordsBuffer(p.records);
        if (rec) for (let pos = 0; pos + 61 <= rec.length; pos += rec.readInt32BE(pos + 8) + 12) count += rec.readInt32BE(pos + 57);
        this.nextOffset.set(key, base + count);
        return { index: p.index, errorCode: 0, baseOffset: BigInt(base), logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null };
      }),
    }));
    if (req.acks === 0) return null;
    return { responses, throttleTimeMs: 0 };
  }

  /** Whole pre-built batches up to `maxBytes` (at least one), cached per size. */
  private fetchRecords(maxBytes: number): { records: Buffer; count: number } {
    let c = this.fetchCache.get(maxBytes);
    if (c) return c;
    if (!this.batch) c = { records: Buffer.alloc(0), count: 0 };
    else {
      const m = Math.max(1, Math.floor(maxBytes / this.batch.buf.length));
      const out = Buffer.allocUnsafe(m * this.batch.buf.length);
      for (let i = 0; i < m; i++) {
        this.batch.buf.copy(out, i * this.batch.buf.length);
        out.writeInt32BE(0, i * this.batch.buf.length);
        out.writeInt32BE(i * this.batch.records, i * this.batch.buf.length + 4);
      }
      c = { records: out, count: m * this.batch.records };
    }
    this.fetchCache.set(maxBytes, c);
    return c;
  }

  private fetch(req: ApiRequests[ApiKey.Fetch], version: number): ApiResponses[ApiKey.Fetch] {
    let remaining = version >= 3 ? (req.maxBytes ?? 0x7fffffff) : 0x7fffffff;
    let first = true;
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: req.topics.map((t) => ({
        topic: t.topic ?? this.topicNames.get(t.topicId ?? '') ?? '',
        topicId: t.topicId,
        partitions: t.partitions.map((p) => {
          const limit = Math.min(p.partitionMaxBytes, remaining);
          const data = first || limit > 0 ? this.fetchRecords(Math.max(limit, 1)) : { records: Buffer.alloc(0), count: 0 };
          first = false;
          remaining = Math.max(0, remaining - data.records.length);
          const hw = BigInt(Number(p.fetchOffset) + data.count);
          return {
            partitionIndex: p.partition,
            errorCode: 0,
            highWatermark: hw,
            lastStableOffset: hw,
            logStartOffset: 0n,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: data.records,
          };
        }),
      })),
    };
  }

  private listOffsets(req: ApiRequests[ApiKey.ListOffsets]): ApiResponses[ApiKey.ListOffsets] {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: 0,
          timestamp: -1n,
          offset: BigInt(p.timestamp === -1n ? (this.nextOffset.get(`${t.name}\u0000${p.partitionIndex}`) ?? 0) : 0),
          leaderEpoch: 0,
        })),
      })),
    };
  }
}
