// The load generator: real Produce and Fetch requests over C connections with K requests in
// flight each, built once (templates.ts) and patched per request.
//
// Two modes:
// - max throughput: every connection keeps K requests in flight; latency is the service time
//   (send → response) under that load.
// - fixed rate: requests are due at t0 + i/rate; latency is measured from the *intended* send
//   time, so a stall (broker, GC, a full pipeline) shows up in every request it delays instead of
//   being hidden by the generator waiting (coordinated omission). The lag between intended and
//   actual send is recorded too, to tell generator lateness from broker latency.
// Optionally a consumer follows the partition's tail (long-poll Fetch, one in flight, as Kafka
// consumers do) and records end-to-end latency: the send-time marker patched into each batch →
// the moment the batch arrives in a Fetch response.
//
// Phases: warm-up (not recorded), measure (counted: completions inside the window), drain (no
// new requests; in-flight ones finish, bounded). Every loop is bounded by time and count.
import { performance } from 'node:perf_hooks';
import { ApiKey } from '../../wire/generated/api.js';
import type { FetchResponse } from '../../wire/generated/messages/fetch-response.js';
import type { ProduceResponse } from '../../wire/generated/messages/produce-response.js';
import { decodeResponseHeader } from '../../wire/header.js';
import { Reader, recordsBuffer } from '../../wire/primitives.js';
import { API_SPECS } from '../../wire/generated/api.js';
import { ClientConn } from './client.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import { buildBatch, buildFetchTemplate, buildProduceTemplate, patchFetch, patchProduce, type BatchSpec, type FetchTemplate, type ProduceTemplate } from './templates.js';

export type Phase = 'connect' | 'warmup' | 'measure' | 'drain' | 'done';

export interface LoadHooks {
  onPhase?: (phase: Phase) => void;
  /** Called about once a second during warm-up and measure. */
  onProgress?: (p: { phase: Phase; elapsedMs: number; bytes: number; requests: number }) => void;
}

export interface CommonSpec {
  port: number;
  host?: string;
  topic: string;
  connections: number;
  /** Requests in flight per connection (max-throughput mode: always; fixed rate: at most). */
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  /** Upper bound on requests sent in total (including warm-up); default unbounded by count. */
  maxRequests?: number;
  /** How long the drain may take before in-flight requests are abandoned. */
  drainTimeoutMs?: number;
}

export interface ProduceSpec extends CommonSpec {
  kind: 'produce';
  partitions: number;
  /** First partition of the round-robin (default 0). */
  firstPartition?: number;
  acks: 0 | 1 | -1;
  batch: BatchSpec;
  produceVersion?: number;
  /** Fixed-rate mode: requests per second over all connections. */
  rate?: number;
  /** Follow partition `firstPartition` with a consumer and record end-to-end latency. */
  endToEnd?: { fetchVersion?: number; topicId?: string; maxBytes?: number; maxWaitMs?: number };
}

export interface FetchSpec extends CommonSpec {
  kind: 'fetch';
  partition: number;
  topicId?: string;
  fetchVersion?: number;
  partitionMaxBytes: number;
  maxBytes: number;
  /** Offsets cycle: first + (i mod count) × step. count = 1 fetches the same offset every time. */
  offsets: { first: number; step: number; count: number };
}

export type LoadSpec = ProduceSpec | FetchSpec;

export interface LoadResult {
  kind: 'produce' | 'fetch';
  mode: 'max' | 'rate';
  /** Length of the measure window, ms. */
  elapsedMs: number;
  requests: number;
  records: number;
  /** Record-batch bytes produced or fetched in the window. */
  bytes: number;
  /** Over the whole run (warm-up included): acknowledged produce records / fetched records. */
  totalRecords: number;
  totalRequests: number;
  errors: number;
  errorCodes: Record<string, number>;
  /** Fetch responses without records (should be 0). */
  emptyResponses: number;
  /** Fixed-rate mode: requests/s asked for; achieved = requests / elapsed. */
  targetRate?: number;
  latency: LatencySummary;
  latencyHist: string;
  sendLag?: LatencySummary;
  /** Fixed-rate mode: latency from the actual send (the broker's share, without generator lateness). */
  service?: LatencySummary;
  endToEnd?: LatencySummary;
  endToEndHist?: string;
  /** Request bytes per produce request (frame), for reference. */
  requestBytes: number;
  abandoned: number;
  connectionErrors: string[];
}

interface Slot {
  frame: Buffer;
}

const DEFAULT_PRODUCE_VERSION = 9;
const DEFAULT_FETCH_VERSION = 12;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs one load job to completion. */
export async function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  return new LoadRun(spec, hooks).run();
}

class LoadRun {
  private conns: ClientConn[] = [];
  private slots: Slot[][] = [];
  private phase: Phase = 'connect';
  private stopped = false;
  private measureStart = 0;
  private measureEnd = 0;
  private t0 = 0;
  // counters (measure window)
  private requests = 0;
  private records = 0;
  private bytes = 0;
  private emptyResponses = 0;
  // counters (whole run)
  private totalRecords = 0;
  private totalRequests = 0;
  private sent = 0;
  private inFlight = 0;
  private errors = 0;
  private readonly errorCodes: Record<string, number> = {};
  private readonly connectionErrors: string[] = [];
  private readonly latency = new LatencyHistogram();
  private readonly sendLag = new LatencyHistogram();
  private readonly service = new LatencyHistogram();
  private readonly e2e = new LatencyHistogram();
  private rrPartition = 0;
  private rrConn = 0;
  private produceT: ProduceTemplate | null = null;
  private fetchT: FetchTemplate | null = null;
  private fetchIndex = 0;
  // fixed rate
  private nextIntended = 0;
  private intervalMs = 0;
  private pumpScheduled = false;
  private drainResolve: (() => void) | null = null;
  private consumer: ClientConn | null = null;
  private consumerStop = false;

  constructor(
    private readonly spec: LoadSpec,
    private readonly hooks: LoadHooks,
  ) {}

  private setPhase(p: Phase): void {
    this.phase = p;
    this.hooks.onPhase?.(p);
  }

  async run(): Promise<LoadResult> {
    const spec = this.spec;
    if (!(spec.connections >= 1 && spec.inFlight >= 1)) throw new Error('connections and inFlight must be ≥ 1');
    this.setPhase('connect');
    if (spec.kind === 'produce') {
      const batch = buildBatch(spec.batch);
      this.produceT = buildProduceTemplate({ version: spec.produceVersion ?? DEFAULT_PRODUCE_VERSION, topic: spec.topic, acks: spec.acks, batch });
      this.rrPartition = 0;
    } else {
      this.fetchT = buildFetchTemplate({
        version: spec.fetchVersion ?? DEFAULT_FETCH_VERSION,
        topic: spec.topic,
        topicId: spec.topicId ?? 'AAAAAAAAAAAAAAAAAAAAAA',
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: spec.maxBytes,
        partitionMaxBytes: spec.partitionMaxBytes,
      });
    }
    const template = this.produceT?.frame ?? this.fetchT!.frame;
    try {
      for (let c = 0; c < spec.connections; c++) {
        const conn = await ClientConn.connect(spec.port, spec.host);
        conn.onClose((err) => {
          if (!this.stopped) this.connectionErrors.push(err.message);
        });
        this.conns.push(conn);
        const slots: Slot[] = [];
        for (let k = 0; k < spec.inFlight; k++) slots.push({ frame: Buffer.from(template) });
        this.slots.push(slots);
      }
      if (spec.kind === 'produce' && spec.endToEnd) await this.startConsumer(spec);

      const rate = spec.kind === 'produce' ? spec.rate : undefined;
      this.t0 = performance.now();
      this.measureStart = this.t0 + spec.warmupMs;
      this.measureEnd = this.measureStart + spec.durationMs;
      this.setPhase(spec.warmupMs > 0 ? 'warmup' : 'measure');
      if (rate !== undefined) {
        if (!(rate > 0)) throw new Error('rate must be > 0');
        this.intervalMs = 1000 / rate;
        this.nextIntended = this.t0;
        this.pump();
      } else {
        for (let c = 0; c < this.conns.length; c++) for (let k = 0; k < spec.inFlight; k++) this.sendOn(c, performance.now());
      }
      await this.clock();
      this.setPhase('drain');
      this.stopped = true;
      const abandoned = await this.drain(spec.drainTimeoutMs ?? 15_000);
      this.setPhase('done');
      return this.result(abandoned);
    } finally {
      this.stopped = true;
      this.consumerStop = true;
      for (const c of this.conns) c.close();
      this.consumer?.close();
    }
  }

  /** Phase changes and progress reports until the end of the measure window. */
  private async clock(): Promise<void> {
    let lastProgress = performance.now();
    let measuring = this.phase === 'measure';
    for (let i = 0; i < 1_000_000; i++) {
      const now = performance.now();
      if (!measuring && now >= this.measureStart) {
        measuring = true;
        this.resetWindow();
        this.setPhase('measure');
      }
      if (now >= this.measureEnd) return;
      if (this.spec.maxRequests !== undefined && this.sent >= this.spec.maxRequests && this.inFlight === 0) {
        // A count-bounded run (prefill) ends when its requests are done.
        this.measureEnd = now;
        return;
      }
      if (this.connectionErrors.length > 0 && this.conns.every((c) => c.closed)) {
        this.measureEnd = now;
        return;
      }
      if (now - lastProgress >= 1000) {
        lastProgress = now;
        this.hooks.onProgress?.({ phase: this.phase, elapsedMs: now - this.t0, bytes: this.bytes, requests: this.requests });
      }
      const wake = Math.min(this.measureEnd, measuring ? this.measureEnd : this.measureStart, lastProgress + 1000) - now;
      await sleep(Math.max(1, Math.min(wake, 50)));
    }
  }

  private resetWindow(): void {
    this.requests = 0;
    this.records = 0;
    this.bytes = 0;
    this.emptyResponses = 0;
    this.latency.reset();
    this.sendLag.reset();
    this.service.reset();
    this.e2e.reset();
  }

  private inWindow(t: number): boolean {
    return t >= this.measureStart && t <= this.measureEnd;
  }

  private recordError(code: string): void {
    this.errors++;
    this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
  }

  private canSend(): boolean {
    if (this.stopped) return false;
    const max = this.spec.maxRequests;
    return max === undefined || this.sent < max;
  }

  /** Sends one request on connection `c` using a free slot (there must be one). */
  private sendOn(c: number, intended: number): boolean {
    if (!this.canSend()) return false;
    const conn = this.conns[c]!;
    if (conn.closed) return false;
    const slot = this.slots[c]!.pop();
    if (!slot) return false;
    const correlationId = conn.correlationId();
    const sentAt = performance.now();
    this.sent++;
    this.inFlight++;
    const spec = this.spec;
    if (spec.kind === 'produce') {
      const t = this.produceT!;
      const first = spec.firstPartition ?? 0;
      const partition = first + (this.rrPartition++ % spec.partitions);
      if (this.rrPartition >= spec.partitions) this.rrPartition = 0;
      patchProduce(t, slot.frame, correlationId, partition, spec.endToEnd ? intended : null);
      if (spec.rate !== undefined && this.inWindow(sentAt)) this.sendLag.recordMillis(sentAt - intended);
      if (t.acks === 0) {
        conn.sendFrame(slot.frame, correlationId, null, () => this.onProduceDone(c, slot, intended, sentAt, null));
      } else {
        conn.sendFrame(slot.frame, correlationId, (payload, err) => this.onProduceDone(c, slot, intended, sentAt, payload, err));
      }
    } else {
      const t = this.fetchT!;
      const o = spec.offsets;
      const offset = o.first + (this.fetchIndex++ % o.count) * o.step;
      patchFetch(t, slot.frame, correlationId, spec.partition, offset);
      conn.sendFrame(slot.frame, correlationId, (payload, err) => this.onFetchDone(c, slot, sentAt, payload, err));
    }
    return true;
  }

  private onProduceDone(c: number, slot: Slot, intended: number, sentAt: number, payload: Buffer | null, err?: Error): void {
    const now = performance.now();
    this.inFlight--;
    this.slots[c]!.push(slot);
    const t = this.produceT!;
    if (t.acks !== 0) {
      if (!payload) {
        if (!this.stopped) this.recordError(err?.message ?? 'no response');
        this.afterCompletion(c);
        return;
      }
      const r = new Reader(payload);
      decodeResponseHeader(r, ApiKey.Produce, t.version);
      const res = API_SPECS[ApiKey.Produce]!.decodeResponse(r, t.version) as ProduceResponse;
      const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? -999;
      if (code !== 0) {
        this.recordError(`error ${code}`);
        this.afterCompletion(c);
        return;
      }
    }
    this.totalRecords += t.records;
    this.totalRequests++;
    if (this.inWindow(now)) {
      this.requests++;
      this.records += t.records;
      this.bytes += t.batchBytes;
      if ((this.spec as ProduceSpec).rate !== undefined) {
        this.latency.recordMillis(now - intended);
        this.service.recordMillis(now - sentAt);
      } else this.latency.recordMillis(now - sentAt);
    }
    this.afterCompletion(c);
  }

  private onFetchDone(c: number, slot: Slot, sentAt: number, payload: Buffer | null, err?: Error): void {
    const now = performance.now();
    this.inFlight--;
    this.slots[c]!.push(slot);
    if (!payload) {
      if (!this.stopped) this.recordError(err?.message ?? 'no response');
      this.afterCompletion(c);
      return;
    }
    const version = this.fetchT!.version;
    const r = new Reader(payload);
    decodeResponseHeader(r, ApiKey.Fetch, version);
    const res = API_SPECS[ApiKey.Fetch]!.decodeResponse(r, version) as FetchResponse;
    const p = res.responses[0]?.partitions[0];
    const code = res.errorCode || p?.errorCode || (p ? 0 : -999);
    if (code !== 0) {
      this.recordError(`error ${code}`);
      this.afterCompletion(c);
      return;
    }
    const records = recordsBuffer(p!.records);
    const n = records ? countRecords(records) : 0;
    this.totalRecords += n;
    this.totalRequests++;
    if (this.inWindow(now)) {
      this.requests++;
      this.records += n;
      this.bytes += records?.length ?? 0;
      if (n === 0) this.emptyResponses++;
      this.latency.recordMillis(now - sentAt);
    }
    this.afterCompletion(c);
  }

  private afterCompletion(c: number): void {
    if (this.stopped) {
      if (this.inFlight === 0) this.drainResolve?.();
      return;
    }
    const rate = this.spec.kind === 'produce' ? this.spec.rate : undefined;
    if (rate === undefined) this.sendOn(c, performance.now());
    else if (this.nextIntended <= performance.now()) this.pump();
  }

  /** Fixed rate: sends every request that is due, on connections with a free slot. */
  private pump(): void {
    this.pumpScheduled = false;
    if (!this.canSend()) return;
    const n = this.conns.length;
    let now = performance.now();
    while (this.nextIntended <= now && this.nextIntended < this.measureEnd && this.canSend()) {
      let sent = false;
      for (let i = 0; i < n && !sent; i++) {
        const c = this.rrConn++ % n;
        if (this.slots[c]!.length > 0) sent = this.sendOn(c, this.nextIntended);
      }
      if (!sent) return; // every pipeline is full: resumed by the next completion
      this.nextIntended += this.intervalMs;
      now = performance.now();
    }
    if (this.nextIntended >= this.measureEnd || this.pumpScheduled) return;
    this.pumpScheduled = true;
    const wait = this.nextIntended - performance.now();
    if (wait > 2) setTimeout(() => this.pump(), wait - 1);
    else setImmediate(() => this.pump());
  }

  private drain(timeoutMs: number): Promise<number> {
    if (this.inFlight === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainResolve = null;
        resolve(this.inFlight);
      }, timeoutMs);
      this.drainResolve = () => {
        clearTimeout(timer);
        this.drainResolve = null;
        resolve(0);
      };
    });
  }

  /** A consumer on its own connection following the first partition from its current end. */
  private async startConsumer(spec: ProduceSpec): Promise<void> {
    const e = spec.endToEnd!;
    const version = e.fetchVersion ?? DEFAULT_FETCH_VERSION;
    const conn = await ClientConn.connect(spec.port, spec.host);
    this.consumer = conn;
    const partition = spec.firstPartition ?? 0;
    const lo = await conn.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: spec.topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    let offset = Number(lo.topics[0]?.partitions[0]?.offset ?? 0n);
    const t = buildFetchTemplate({
      version,
      topic: spec.topic,
      topicId: e.topicId ?? 'AAAAAAAAAAAAAAAAAAAAAA',
      maxWaitMs: e.maxWaitMs ?? 500,
      minBytes: 1,
      maxBytes: e.maxBytes ?? 1024 * 1024,
      partitionMaxBytes: e.maxBytes ?? 1024 * 1024,
    });
    const frame = Buffer.from(t.frame);
    const markerRel = this.produceT!.markerPos - this.produceT!.batchPos;
    const loop = () => {
      if (this.consumerStop || conn.closed) return;
      const id = conn.correlationId();
      patchFetch(t, frame, id, partition, offset);
      conn.sendFrame(frame, id, (payload, err) => {
        if (!payload) {
          if (!this.consumerStop) this.connectionErrors.push(`consumer: ${err?.message ?? 'no response'}`);
          return;
        }
        const now = performance.now();
        const r = new Reader(payload);
        decodeResponseHeader(r, ApiKey.Fetch, version);
        const res = API_SPECS[ApiKey.Fetch]!.decodeResponse(r, version) as FetchResponse;
        const p = res.responses[0]?.partitions[0];
        if (!p || p.errorCode !== 0 || res.errorCode) {
          this.recordError(`consumer error ${p?.errorCode ?? res.errorCode}`);
          setTimeout(loop, 10);
          return;
        }
        const recs = recordsBuffer(p.records);
        if (recs) {
          for (let pos = 0; pos + 61 <= recs.length; ) {
            const size = recs.readInt32BE(pos + 8) + 12;
            if (pos + size > recs.length) break;
            const base = recs.readInt32BE(pos) * 4294967296 + recs.readUInt32BE(pos + 4);
            offset = base + recs.readInt32BE(pos + 23) + 1;
            if (markerRel >= 0) {
              const marker = recs.readDoubleBE(pos + markerRel);
              if (marker >= this.measureStart && marker <= this.measureEnd) this.e2e.recordMillis(now - marker);
            }
            pos += size;
          }
        }
        loop();
      });
    };
    loop();
  }

  private result(abandoned: number): LoadResult {
    const spec = this.spec;
    const elapsedMs = Math.max(1, this.measureEnd - this.measureStart);
    const rate = spec.kind === 'produce' ? spec.rate : undefined;
    return {
      kind: spec.kind,
      mode: rate === undefined ? 'max' : 'rate',
      elapsedMs,
      requests: this.requests,
      records: this.records,
      bytes: this.bytes,
      totalRecords: this.totalRecords,
      totalRequests: this.totalRequests,
      errors: this.errors,
      errorCodes: this.errorCodes,
      emptyResponses: this.emptyResponses,
      targetRate: rate,
      latency: this.latency.summary(),
      latencyHist: this.latency.encode(),
      sendLag: rate === undefined ? undefined : this.sendLag.summary(),
      service: rate === undefined ? undefined : this.service.summary(),
      endToEnd: spec.kind === 'produce' && spec.endToEnd ? this.e2e.summary() : undefined,
      endToEndHist: spec.kind === 'produce' && spec.endToEnd ? this.e2e.encode() : undefined,
      requestBytes: (this.produceT?.frame ?? this.fetchT!.frame).length,
      abandoned,
      connectionErrors: this.connectionErrors,
    };
  }
}

/** Records in a buffer of whole batches (recordCount of each batch header). */
export function countRecords(buf: Buffer): number {
  let n = 0;
  for (let pos = 0; pos + 61 <= buf.length; ) {
    const size = buf.readInt32BE(pos + 8) + 12;
    if (pos + size > buf.length) break;
    n += buf.readInt32BE(pos + 57);
    pos += size;
  }
  return n;
}
