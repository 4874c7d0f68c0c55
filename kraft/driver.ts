/**
 * The Raft driver: the only I/O around the pure core (`raft/`). It
 *
 * - ticks the core from a timer (`tickMs`; Kafka's `controller.quorum.*` timeouts are
 *   converted to ticks),
 * - runs the Ready loop of `raft/ready.ts`: persist the hard state and log changes and fsync
 *   (`MetadataLogStore.persist`), only then send the Ready's messages, then hand the role,
 *   an installed snapshot and the committed entries to the application (`onReady`), then
 *   `advance()`,
 * - sends the core's requests to the other voters over their controller listeners (a
 *   `RaftTransport`) and steps their responses back in; a failed or timed-out request is simply
 *   lost (the core resends after its request timeout),
 * - steps requests received on this node's controller listener into the core (`request`) and
 *   resolves each with the response the core produced for it, once that response is allowed
 *   to leave (after the Ready that holds it is durable).
 *
 * Snapshot downloads are checked before the core sees their last chunk: the chunks of the
 * snapshot being fetched are mirrored here, and a snapshot that does not decode (`snapshot.ts`)
 * is refused by dropping that chunk's response (logged; the core asks again later). So a
 * malformed snapshot from a leader changes no state.
 *
 * A persistence failure is fatal (`onFatal`): the node must stop, as Kafka halts on a metadata
 * log write error, since continuing could break the promises already made to peers.
 */
import type pino from 'pino';
import { ApiKey } from '../wire/generated/api.js';
import { decodeBeginQuorumEpochResponse } from '../wire/generated/messages/begin-quorum-epoch-response.js';
import { encodeBeginQuorumEpochRequest } from '../wire/generated/messages/begin-quorum-epoch-request.js';
import { decodeEndQuorumEpochResponse } from '../wire/generated/messages/end-quorum-epoch-response.js';
import { encodeEndQuorumEpochRequest } from '../wire/generated/messages/end-quorum-epoch-request.js';
import { decodeFetchResponse } from '../wire/generated/messages/fetch-response.js';
import { encodeFetchRequest } from '../wire/generated/messages/fetch-request.js';
import { decodeFetchSnapshotResponse } from '../wire/generated/messages/fetch-snapshot-response.js';
import { encodeFetchSnapshotRequest } from '../wire/generated/messages/fetch-snapshot-request.js';
import type { Reader, Writer } from '../wire/primitives.js';
import type { MetadataImage } from './image.js';
import type { MetadataLogStore } from './metadata-log.js';
import {
  isRequest,
  RaftCore,
  seededRandom,
  type FetchSnapshotResponse,
  type RaftMessage,
  type RaftStatus,
  type RandomInt,
  type Ready,
  type RequestBody,
  type ResponseBody,
} from './raft/index.js';
import {
  beginQuorumEpochRequestToWire,
  beginQuorumEpochResponseFromWire,
  decodeVoteResponseV0to2,
  encodeVoteRequestV0to2,
  endQuorumEpochRequestToWire,
  endQuorumEpochResponseFromWire,
  fetchRequestToWire,
  fetchResponseFromWire,
  fetchSnapshotRequestToWire,
  fetchSnapshotResponseFromWire,
  RAFT_API_VERSIONS,
  voteRequestToWire,
  voteResponseFromWire,
} from './raft-wire.js';
import { decodeSnapshot } from './snapshot.js';

/** How the driver reaches another voter's controller listener. */
export interface RaftTransport {
  send<T>(to: number, apiKey: number, version: number, encode: (w: Writer) => void, decode: (r: Reader) => T, timeoutMs: number): Promise<T>;
  close(): void;
}

/** Kafka's quorum timeouts, in milliseconds, and the tick that drives them. */
export interface RaftTiming {
  readonly tickMs: number;
  /** `controller.quorum.election.timeout.ms` (the core randomizes up to twice this). */
  readonly electionTimeoutMs: number;
  /** `controller.quorum.fetch.timeout.ms`. */
  readonly fetchTimeoutMs: number;
  /** `controller.quorum.request.timeout.ms`. */
  readonly requestTimeoutMs: number;
  /** `controller.quorum.retry.backoff.ms`. */
  readonly retryBackoffMs: number;
  /** How long a leader holds a fetch with nothing to return (Kafka's raft fetch max wait, 500 ms). */
  readonly fetchMaxWaitMs: number;
}

export const DEFAULT_RAFT_TIMING: RaftTiming = {
  tickMs: 50,
  electionTimeoutMs: 1000,
  fetchTimeoutMs: 2000,
  requestTimeoutMs: 2000,
  retryBackoffMs: 20,
  fetchMaxWaitMs: 500,
};

export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface AppliedReady {
  readonly ready: Ready;
  /** The image of a snapshot installed from the leader in this Ready (load it first). */
  readonly installed: MetadataImage | null;
}

export interface RaftDriverOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly voterIds: readonly number[];
  readonly store: MetadataLogStore;
  readonly transport: RaftTransport;
  readonly timing: RaftTiming;
  readonly logger: pino.Logger;
  /** This node's controller listener, announced in BeginQuorumEpoch / EndQuorumEpoch. */
  readonly endpoint: Endpoint | null;
  nowMs(): number;
  /** The role, an installed snapshot and the committed entries of each Ready (synchronous). */
  onReady(applied: AppliedReady): void;
  /** Persistence failed: the node must stop. */
  onFatal(err: Error): void;
  readonly rand?: RandomInt;
}

interface InboundWaiter {
  readonly resolve: (body: ResponseBody | null) => void;
}

export class RaftDriver {
  readonly core: RaftCore;
  private readonly opts: RaftDriverOptions;
  private readonly log: pino.Logger;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private draining = false;
  private again = false;
  private failed: Error | null = null;
  private closed = false;
  private readonly inbound = new Map<string, InboundWaiter>();
  private nextInboundId = 1;
  private readonly pendingSnapshots: Array<{ endOffset: number; data: Uint8Array }> = [];
  /** Chunks of the snapshot being downloaded, by position (see the file comment). */
  private download: { key: string; chunks: Map<number, Uint8Array> } | null = null;
  private readonly idle = new Set<() => void>();
  private lastWarn = new Map<string, number>();
  private readonly electionTicks: number;

  constructor(opts: RaftDriverOptions) {
    this.opts = opts;
    this.log = opts.logger;
    const t = opts.timing;
    const ticks = (ms: number) => Math.max(1, Math.ceil(ms / t.tickMs));
    const fetchMaxWaitTicks = ticks(t.fetchMaxWaitMs);
    this.electionTicks = ticks(t.electionTimeoutMs);
    this.core = new RaftCore({
      config: {
        nodeId: opts.nodeId,
        voters: opts.voterIds,
        electionTimeoutTicks: ticks(t.electionTimeoutMs),
        fetchTimeoutTicks: ticks(t.fetchTimeoutMs),
        requestTimeoutTicks: Math.max(ticks(t.requestTimeoutMs), fetchMaxWaitTicks + 1),
        fetchMaxWaitTicks,
        retryBackoffTicks: Math.ceil(t.retryBackoffMs / t.tickMs),
      },
      storage: opts.store,
      hardState: opts.store.initialHardState,
      rand: opts.rand ?? seededRandom(Math.floor(Math.random() * 2 ** 31)),
    });
  }

  /** Milliseconds → ticks (at least 0). */
  msToTicks(ms: number): number {
    return Math.max(0, Math.ceil(ms / this.opts.timing.tickMs));
  }

  get tickMs(): number {
    return this.opts.timing.tickMs;
  }

  /** Starts the tick timer and runs the first Ready (a single voter elects itself here). */
  start(): void {
    if (this.timer !== null || this.closed) return;
    // A quorum of one that restarts after leading starts Resigned and would sit out an election
    // timeout with nobody else to elect; as Kafka's KafkaRaftClient makes a single voter
    // candidate at once, let its resignation time pass now.
    const single = this.opts.voterIds.length === 1 && this.opts.voterIds[0] === this.opts.nodeId;
    for (let i = 0; single && this.core.status().kind === 'Resigned' && i < 4 * this.electionTicks + 2; i++) this.core.tick();
    this.timer = setInterval(() => {
      if (this.failed !== null || this.closed) return;
      this.core.tick();
      this.kick();
    }, this.opts.timing.tickMs);
    this.kick();
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /** Appends a proposal if this node leads (the caller waits for it to be committed). */
  propose(data: Uint8Array): ReturnType<RaftCore['propose']> {
    const r = this.core.propose(data);
    if (r.ok) this.kick();
    return r;
  }

  /** Asks for a snapshot at `endOffset` (everything below applied); taken between Readies. */
  takeSnapshot(endOffset: number, data: Uint8Array): void {
    this.pendingSnapshots.push({ endOffset, data });
    this.kick();
  }

  /**
   * A request from the network: resolves with the core's response once it may be sent, or
   * null if none came within `timeoutMs` (or the driver stopped).
   */
  request(from: number, body: RequestBody, timeoutMs: number): Promise<ResponseBody | null> {
    if (this.failed !== null || this.closed) return Promise.resolve(null);
    const correlationId = this.nextInboundId++;
    const key = `${from}:${correlationId}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.inbound.delete(key);
        resolve(null);
      }, timeoutMs);
      this.inbound.set(key, {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      });
      if (!this.step({ from, to: this.opts.nodeId, correlationId, body })) {
        this.inbound.delete(key);
        clearTimeout(timer);
        resolve(null);
        return;
      }
      this.kick();
    });
  }

  /**
   * Steps a message into the core. The core throws `IllegalStateError` only for a message that
   * breaks the protocol's safety (e.g. a second leader named for an epoch); it throws before
   * changing any state, so the message is dropped and logged instead of stopping the node.
   */
  private step(msg: RaftMessage): boolean {
    try {
      this.core.step(msg);
      return true;
    } catch (err) {
      this.warnOnce(`illegal-${msg.from}-${msg.body.type}`, { peer: msg.from, message: msg.body.type, err: (err as Error).message }, 'the raft core refused a message');
      return false;
    }
  }

  /** Runs the Ready loop soon (coalesced). */
  kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.failed !== null || this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        this.takePendingSnapshots();
        while (this.core.hasReady()) {
          const rd = this.core.ready();
          const installed = await this.opts.store.persist(rd);
          // One synchronous step: the core's view of storage switches to what was persisted,
          // then its messages leave and the application sees its effects.
          this.opts.store.publish();
          this.core.advance();
          this.dispatch(rd.messages);
          this.opts.onReady({ ready: rd, installed });
          this.takePendingSnapshots();
        }
      } while (this.again && this.failed === null && !this.closed);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.draining = false;
      for (const f of [...this.idle]) f();
    }
  }

  private takePendingSnapshots(): void {
    while (this.pendingSnapshots.length > 0) {
      const s = this.pendingSnapshots.shift()!;
      try {
        const id = this.core.takeSnapshot(s.endOffset, s.data);
        if (id !== null) this.log.debug({ snapshot: id }, 'snapshot taken');
      } catch (err) {
        this.log.warn({ err, endOffset: s.endOffset }, 'snapshot refused by the raft core');
      }
    }
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = err;
    this.log.fatal({ err }, 'the metadata log failed; the quorum driver stopped');
    this.stopTimer();
    this.resolveAllInbound();
    this.opts.onFatal(err);
  }

  private dispatch(messages: readonly RaftMessage[]): void {
    for (const m of messages) {
      if (isRequest(m.body)) {
        this.send(m as RaftMessage<RequestBody>);
        continue;
      }
      const waiter = this.inbound.get(`${m.to}:${m.correlationId}`);
      if (waiter !== undefined) {
        this.inbound.delete(`${m.to}:${m.correlationId}`);
        waiter.resolve(m.body as ResponseBody);
      }
    }
  }

  private send(m: RaftMessage<RequestBody>): void {
    const { clusterId } = this.opts;
    const timeout = this.opts.timing.requestTimeoutMs + this.opts.timing.fetchMaxWaitMs;
    const endpoints = this.opts.endpoint === null ? [] : [this.opts.endpoint];
    const deliver = (body: ResponseBody | string): void => {
      if (typeof body === 'string') {
        this.warnOnce(`bad-${m.to}-${m.body.type}`, { peer: m.to, request: m.body.type, reason: body }, 'dropped a malformed quorum response');
        return;
      }
      if (this.failed !== null || this.closed) return;
      if (body.type === 'FetchSnapshotResponse' && !this.checkSnapshotChunk(m.to, body)) return;
      if (this.step({ from: m.to, to: this.opts.nodeId, correlationId: m.correlationId, body })) this.kick();
    };
    const lost = (err: unknown): void => {
      this.log.debug({ peer: m.to, request: m.body.type, err: (err as Error).message }, 'quorum request failed');
    };
    const t = this.opts.transport;
    const b = m.body;
    switch (b.type) {
      case 'VoteRequest': {
        const v = RAFT_API_VERSIONS.vote;
        const wire = voteRequestToWire(b, clusterId, m.to);
        t.send(m.to, ApiKey.Vote, v, (w) => encodeVoteRequestV0to2(w, v, wire), (r) => decodeVoteResponseV0to2(r, v), timeout).then((r) => deliver(voteResponseFromWire(r)), lost);
        break;
      }
      case 'BeginQuorumEpochRequest': {
        const v = RAFT_API_VERSIONS.beginQuorumEpoch;
        const wire = beginQuorumEpochRequestToWire(b, clusterId, m.to, endpoints);
        t.send(m.to, ApiKey.BeginQuorumEpoch, v, (w) => encodeBeginQuorumEpochRequest(w, v, wire), (r) => decodeBeginQuorumEpochResponse(r, v), timeout).then(
          (r) => deliver(beginQuorumEpochResponseFromWire(r)),
          lost,
        );
        break;
      }
      case 'EndQuorumEpochRequest': {
        const v = RAFT_API_VERSIONS.endQuorumEpoch;
        const wire = endQuorumEpochRequestToWire(b, clusterId, endpoints);
        t.send(m.to, ApiKey.EndQuorumEpoch, v, (w) => encodeEndQuorumEpochRequest(w, v, wire), (r) => decodeEndQuorumEpochResponse(r, v), timeout).then(
          (r) => deliver(endQuorumEpochResponseFromWire(r)),
          lost,
        );
        break;
      }
      case 'FetchRequest': {
        const v = RAFT_API_VERSIONS.fetch;
        const wire = fetchRequestToWire(b, clusterId, this.opts.timing.tickMs);
        t.send(m.to, ApiKey.Fetch, v, (w) => encodeFetchRequest(w, v, wire), (r) => decodeFetchResponse(r, v), timeout).then((r) => deliver(fetchResponseFromWire(r, v)), lost);
        break;
      }
      case 'FetchSnapshotRequest': {
        const v = RAFT_API_VERSIONS.fetchSnapshot;
        const wire = fetchSnapshotRequestToWire(b, clusterId);
        t.send(m.to, ApiKey.FetchSnapshot, v, (w) => encodeFetchSnapshotRequest(w, v, wire), (r) => decodeFetchSnapshotResponse(r, v), timeout).then(
          (r) => deliver(fetchSnapshotResponseFromWire(r)),
          lost,
        );
        break;
      }
    }
  }

  /**
   * Mirrors a snapshot download; when `b` completes it, decodes the whole snapshot first.
   * Returns false to drop a final chunk whose snapshot does not decode.
   */
  private checkSnapshotChunk(from: number, b: FetchSnapshotResponse): boolean {
    if (b.errorCode !== 0) return true;
    const key = `${from}:${b.snapshotId.endOffset}:${b.snapshotId.epoch}`;
    if (this.download === null || this.download.key !== key) this.download = { key, chunks: new Map() };
    const dl = this.download;
    dl.chunks.set(b.position, b.chunk);
    if (b.position + b.chunk.length < b.size) return true;
    const parts: Uint8Array[] = [];
    let pos = 0;
    while (pos < b.size) {
      const c = dl.chunks.get(pos);
      if (c === undefined || c.length === 0) {
        // Every chunk the core asked for passed through here; a gap means chunks of different
        // bytes were mixed, which the core must not install either.
        this.warnOnce(`snapshot-gap-${key}`, { peer: from, snapshot: b.snapshotId, position: pos }, 'refused a snapshot download with a gap');
        return false;
      }
      parts.push(c);
      pos += c.length;
    }
    const data = Buffer.concat(parts);
    try {
      decodeSnapshot(data, b.snapshotId.endOffset);
    } catch (err) {
      dl.chunks.delete(b.position);
      this.warnOnce(`snapshot-${key}`, { peer: from, snapshot: b.snapshotId, err: (err as Error).message }, 'refused a malformed metadata snapshot from the leader');
      return false;
    }
    this.download = null;
    return true;
  }

  private warnOnce(key: string, obj: object, msg: string): void {
    const now = this.opts.nowMs();
    const last = this.lastWarn.get(key) ?? 0;
    if (now - last < 10_000) return;
    this.lastWarn.set(key, now);
    this.log.warn(obj, msg);
  }

  /** Resolves once no Ready is being processed. */
  private whenIdle(): Promise<void> {
    if (!this.draining && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => {
      const f = () => {
        if (this.draining || this.scheduled) return;
        this.idle.delete(f);
        resolve();
      };
      this.idle.add(f);
    });
  }

  /**
   * Graceful stop: a leader resigns (EndQuorumEpoch to the voters, so a successor is elected
   * at once) and gets `graceMs` to send it; then timers stop and the log closes.
   */
  async close(graceMs = 200): Promise<void> {
    if (this.closed) return;
    if (this.failed === null && this.core.resign() && this.opts.voterIds.length > 1) {
      this.kick();
      await this.whenIdle();
      await new Promise((r) => setTimeout(r, graceMs));
    }
    await this.whenIdle();
    this.closed = true;
    this.stopTimer();
    this.resolveAllInbound();
    this.opts.transport.close();
    await this.opts.store.close();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private resolveAllInbound(): void {
    const waiters = [...this.inbound.values()];
    this.inbound.clear();
    for (const w of waiters) w.resolve(null);
  }
}
