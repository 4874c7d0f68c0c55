/**
 * The metadata quorum the broker uses, backed by Raft: every node — voter or observer — replays
 * the committed entries into the metadata image and publishes each new image atomically
 * (`onImage`, after a whole Ready's entries are applied). A single node is a quorum of one
 * through this same path.
 *
 * The active controller is the Raft leader once its LeaderChange entry of the current epoch is
 * committed and applied (so its image holds everything committed before it). Only there does
 * `runExclusive` decide: decisions run one at a time on the latest image; each one's records are
 * checked by replaying them onto a delta, proposed as one entry, and the call resolves once that
 * entry is committed and applied. Elsewhere, or when leadership is lost before the commit, it
 * rejects with `NotControllerError` (a decision that lost its leader may still be committed by
 * the next one, as in Kafka; callers retry, and idempotent decisions make that safe).
 *
 * Snapshots: once `snapshotBytes` of entry data were applied since the last snapshot, the node
 * writes its image as a snapshot (`snapshot.ts`) through `takeSnapshot`; the log then starts
 * there and followers that are further behind receive it with FetchSnapshot.
 *
 * A record that a committed entry holds but that cannot be decoded or applied is logged and
 * skipped (the leader checked every record before proposing it, so this means a bug).
 */
import type pino from 'pino';
import type { Clock } from '../log/partition-log.js';
import { DEFAULT_RAFT_TIMING, type AppliedReady, RaftDriver, type Endpoint, type RaftTiming, type RaftTransport } from './driver.js';
import { decodeProposal, encodeProposal } from './entry-codec.js';
import { MetadataDelta, MetadataImage } from './image.js';
import { MetadataLogStore } from './metadata-log.js';
import type { RaftStatus, RequestBody, ResponseBody, RoleInfo } from './raft/index.js';
import type { ApiMessageAndVersion } from './records.js';
import { encodeSnapshot } from './snapshot.js';

export type ImageListener = (image: MetadataImage, delta?: MetadataDelta) => void;

/** What the broker needs from the metadata quorum. */
export interface MetadataQuorum {
  /** The latest published image. */
  readonly image: MetadataImage;
  onImage(listener: ImageListener): () => void;
  /** Commits `records` as one entry (active controller only). */
  commit(records: readonly ApiMessageAndVersion[]): Promise<MetadataImage>;
  /** Decides on the latest image and commits the records atomically (active controller only). */
  runExclusive<T>(fn: (image: MetadataImage) => { records: readonly ApiMessageAndVersion[]; result: T }): Promise<T>;
  close(): Promise<void>;
}

/** This node is not the active controller (or stopped being it before the decision committed). */
export class NotControllerError extends Error {
  constructor(
    message: string,
    /** The Raft leader as this node knows it, if any. */
    readonly leaderId: number | null,
  ) {
    super(message);
    this.name = 'NotControllerError';
  }
}

export interface RaftQuorumOptions {
  /** The metadata log dir (`metadata.log.dir`, else the first of `log.dirs`). */
  readonly dir: string;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly voterIds: readonly number[];
  readonly transport: RaftTransport;
  readonly logger: pino.Logger;
  readonly clock: Clock;
  readonly timing?: RaftTiming;
  /** This node's controller listener (announced to voters), if it has one. */
  readonly endpoint: Endpoint | null;
  /** Entry bytes applied between snapshots (`metadata.log.max.record.bytes.between.snapshots`). */
  readonly snapshotBytes: number;
  /** Called when the metadata log cannot be written: the process should stop. */
  onFatal(err: Error): void;
}

interface Waiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export type ActiveListener = (active: boolean, epoch: number) => void;

export class RaftMetadataQuorum implements MetadataQuorum {
  readonly nodeId: number;
  private readonly driver: RaftDriver;
  private readonly logger: pino.Logger;
  private current: MetadataImage;
  private readonly listeners = new Set<ImageListener>();
  private readonly activeListeners = new Set<ActiveListener>();
  private role: RoleInfo | null = null;
  /** Offset of this epoch's LeaderChange entry while leading (null otherwise). */
  private leaderEpochStart: number | null = null;
  private active = false;
  private readonly commitWaiters: Waiter[] = [];
  private readonly imageWaiters: Waiter[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private bytesSinceSnapshot = 0;
  private lastEntryEpoch = 0;
  private closed = false;
  private started = false;

  private constructor(
    opts: RaftQuorumOptions,
    private readonly store: MetadataLogStore,
    private readonly clock: Clock,
    private readonly snapshotBytes: number,
  ) {
    this.nodeId = opts.nodeId;
    this.logger = opts.logger;
    this.current = store.snapshotImage;
    this.driver = new RaftDriver({
      nodeId: opts.nodeId,
      clusterId: opts.clusterId,
      voterIds: opts.voterIds,
      store,
      transport: opts.transport,
      timing: opts.timing ?? DEFAULT_RAFT_TIMING,
      logger: opts.logger.child({ sub: 'raft' }),
      endpoint: opts.endpoint,
      nowMs: () => opts.clock.nowMs(),
      onReady: (a) => this.onReady(a),
      onFatal: (err) => {
        this.deactivate(new NotControllerError(`the metadata log failed: ${err.message}`, null));
        opts.onFatal(err);
      },
    });
  }

  /** Opens the metadata log (the image starts at its snapshot); call `start()` to join the quorum. */
  static async open(opts: RaftQuorumOptions): Promise<RaftMetadataQuorum> {
    const logger = opts.logger.child({ module: 'kraft' });
    const store = await MetadataLogStore.open({ dir: opts.dir, logger, clock: opts.clock, voters: opts.voterIds });
    return new RaftMetadataQuorum({ ...opts, logger }, store, opts.clock, opts.snapshotBytes);
  }

  /** Starts ticking: elections, replication, and with them committed entries. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.driver.start();
  }

  get image(): MetadataImage {
    return this.current;
  }

  get tickMs(): number {
    return this.driver.tickMs;
  }

  msToTicks(ms: number): number {
    return this.driver.msToTicks(ms);
  }

  onImage(listener: ImageListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Told when this node becomes (true) or stops being (false) the active controller. */
  onActiveChange(listener: ActiveListener): () => void {
    this.activeListeners.add(listener);
    return () => {
      this.activeListeners.delete(listener);
    };
  }

  /** This node is the active controller (leader with its LeaderChange entry applied). */
  isActive(): boolean {
    return this.active;
  }

  /** The Raft leader as this node knows it. */
  leaderId(): number | null {
    return this.role?.leaderId ?? this.driver.status().leaderId;
  }

  epoch(): number {
    return this.role?.epoch ?? this.driver.status().epoch;
  }

  status(): RaftStatus {
    return this.driver.status();
  }

  /** Hands a request from the controller listener to the core; null if unanswered in time. */
  handleRequest(from: number, body: RequestBody, timeoutMs: number): Promise<ResponseBody | null> {
    return this.driver.request(from, body, timeoutMs);
  }

  /** Resolves once the published image has reached `offset` (or rejects after `timeoutMs`). */
  awaitOffset(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.current.offset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
        reject: () => {
          clearTimeout(timer);
          resolve(false);
        },
      };
      const timer = setTimeout(() => {
        const i = this.imageWaiters.indexOf(w);
        if (i >= 0) this.imageWaiters.splice(i, 1);
        resolve(false);
      }, Math.max(0, timeoutMs));
      this.imageWaiters.push(w);
    });
  }

  commit(records: readonly ApiMessageAndVersion[]): Promise<MetadataImage> {
    return this.runExclusive(() => ({ records, result: undefined })).then(() => this.current);
  }

  runExclusive<T>(fn: (image: MetadataImage) => { records: readonly ApiMessageAndVersion[]; result: T }): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new NotControllerError('the metadata quorum is closed', null);
      if (!this.active) throw new NotControllerError(`node ${this.nodeId} is not the active controller`, this.leaderId());
      const base = this.current;
      const { records, result } = fn(base);
      if (records.length === 0) return result;
      // Check first: a record that would not replay is refused before anything is proposed.
      new MetadataDelta(base).replayAll(records);
      const proposed = this.driver.propose(encodeProposal(records, this.clock.nowMs()));
      if (!proposed.ok) throw new NotControllerError(`node ${this.nodeId} lost the leadership`, proposed.leaderId);
      if (proposed.offset !== base.offset + 1) {
        this.logger.warn({ offset: proposed.offset, imageOffset: base.offset }, 'proposal does not directly follow the image');
      }
      await new Promise<void>((resolve, reject) => {
        this.commitWaiters.push({ offset: proposed.offset, resolve, reject });
      });
      return result;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Graceful stop: a leader resigns so another voter takes over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deactivate(new NotControllerError('the metadata quorum is closed', null));
    await this.driver.close();
    for (const w of this.imageWaiters.splice(0)) w.reject(new Error('closed'));
    this.listeners.clear();
    this.activeListeners.clear();
  }

  // ---------------------------------------------------------------- the Ready's effects

  private onReady({ ready, installed }: AppliedReady): void {
    if (ready.role !== null) this.onRole(ready.role);
    if (installed !== null) {
      this.current = installed;
      this.bytesSinceSnapshot = 0;
      this.publish(installed, undefined);
    }
    if (ready.committed.length > 0) this.apply(ready.committed);
    this.maybeActivate();
  }

  private onRole(role: RoleInfo): void {
    const prev = this.role;
    this.role = role;
    if (prev === null || prev.kind !== role.kind || prev.epoch !== role.epoch || prev.leaderId !== role.leaderId) {
      this.logger.info({ role: role.kind, epoch: role.epoch, leader: role.leaderId }, 'quorum role changed');
    }
    if (role.kind === 'Leader') {
      this.leaderEpochStart = this.driver.status().leader?.epochStartOffset ?? null;
    } else {
      this.leaderEpochStart = null;
      this.deactivate(new NotControllerError(`node ${this.nodeId} is no longer the leader`, role.leaderId));
    }
  }

  private maybeActivate(): void {
    if (this.active || this.closed || this.leaderEpochStart === null) return;
    if (this.current.offset < this.leaderEpochStart) return;
    this.active = true;
    const epoch = this.role?.epoch ?? 0;
    this.logger.info({ epoch, offset: this.current.offset }, 'this node is the active controller');
    for (const l of [...this.activeListeners]) {
      try {
        l(true, epoch);
      } catch (err) {
        this.logger.error({ err }, 'active-controller listener failed');
      }
    }
  }

  private deactivate(err: NotControllerError): void {
    for (const w of this.commitWaiters.splice(0)) w.reject(err);
    if (!this.active) return;
    this.active = false;
    this.logger.info({ reason: err.message }, 'this node is no longer the active controller');
    for (const l of [...this.activeListeners]) {
      try {
        l(false, this.role?.epoch ?? 0);
      } catch (e) {
        this.logger.error({ err: e }, 'active-controller listener failed');
      }
    }
  }

  private apply(entries: ReadyEntries): void {
    const delta = new MetadataDelta(this.current);
    let last = this.current.offset;
    for (const e of entries) {
      if (e.offset <= last) continue; // already in the image (a snapshot covered it)
      if (e.kind === 'data') {
        this.bytesSinceSnapshot += e.data.length;
        let records: ApiMessageAndVersion[] = [];
        try {
          records = decodeProposal(e.data);
        } catch (err) {
          this.logger.error({ err, offset: e.offset }, 'skipping an undecodable committed metadata entry');
        }
        for (const r of records) {
          try {
            delta.replay(r);
          } catch (err) {
            this.logger.error({ err, offset: e.offset, apiKey: r.apiKey }, 'skipping a committed metadata record that does not apply');
          }
        }
      }
      last = e.offset;
      this.lastEntryEpoch = e.epoch;
    }
    if (last === this.current.offset) return;
    const image = delta.build(last);
    this.current = image;
    this.publish(image, delta);
    this.maybeSnapshot();
  }

  private publish(image: MetadataImage, delta: MetadataDelta | undefined): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(image, delta);
      } catch (err) {
        this.logger.error({ err }, 'metadata image listener failed');
      }
    }
    resolveUpTo(this.commitWaiters, image.offset);
    resolveUpTo(this.imageWaiters, image.offset);
  }

  private maybeSnapshot(): void {
    if (this.bytesSinceSnapshot < this.snapshotBytes) return;
    const image = this.current;
    const endOffset = image.offset + 1;
    if (endOffset <= this.store.startOffset()) return;
    this.bytesSinceSnapshot = 0;
    const data = encodeSnapshot(image, {
      epoch: this.lastEntryEpoch,
      logEndOffset: this.store.kafkaOffsetOf(endOffset),
      timestampMs: this.clock.nowMs(),
    });
    this.driver.takeSnapshot(endOffset, data);
  }
}

type ReadyEntries = AppliedReady['ready']['committed'];

function resolveUpTo(waiters: Waiter[], offset: number): void {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i]!;
    if (w.offset <= offset) {
      waiters.splice(i, 1);
      w.resolve();
    }
  }
}
