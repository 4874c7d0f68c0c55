// One partition hosted by this broker: its log, its role (leader or follower) as the metadata
// image says, the high watermark, the requests parked on it (acks=-1 produce waiting for the
// high watermark, fetches waiting for data), and the transaction verifications in progress
// (per producer: the appends waiting behind one, and its verification guard).
import type { PartitionLog } from '../log/partition-log.js';

export interface ReplicaState {
  /** Log end offset the replica last reported (fetch offset of its last fetch). */
  logEndOffset: number;
  lastCaughtUpTimeMs: number;
}

interface HighWatermarkWaiter {
  readonly offset: number;
  readonly resolve: () => void;
}

export class Partition {
  leaderEpoch = -1;
  partitionEpoch = -1;
  leaderId = -1;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  /** Offset up to which appended bytes are in the file (readable); trails the log's LEO while writes are queued. */
  writtenEndOffset: number;
  readonly followers = new Map<number, ReplicaState>();
  private hwWaiters: HighWatermarkWaiter[] = [];
  private readonly dataListeners = new Set<() => void>();
  /** Per producer: the last append queued behind a transaction verification. */
  private readonly producerSteps = new Map<number, Promise<unknown>>();
  /** Per producer: the guard of its latest verification; a marker removes it (Kafka's VerificationGuard). */
  private readonly verificationGuards = new Map<number, object>();

  constructor(
    readonly topic: string,
    readonly index: number,
    public topicId: string,
    readonly log: PartitionLog,
    readonly localId: number,
  ) {
    this.writtenEndOffset = log.logEndOffset;
  }

  get isLeader(): boolean {
    return this.leaderId === this.localId;
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  /** Applies leadership and ISR from the metadata image. */
  updateRegistration(reg: { leader: number; leaderEpoch: number; partitionEpoch: number; replicas: readonly number[]; isr: readonly number[] }, nowMs: number): void {
    const becameLeader = reg.leader === this.localId && (this.leaderId !== this.localId || reg.leaderEpoch !== this.leaderEpoch);
    this.leaderId = reg.leader;
    this.leaderEpoch = reg.leaderEpoch;
    this.partitionEpoch = reg.partitionEpoch;
    this.replicas = reg.replicas;
    this.isr = reg.isr;
    if (becameLeader) {
      this.followers.clear();
      for (const r of reg.replicas) {
        if (r !== this.localId) this.followers.set(r, { logEndOffset: -1, lastCaughtUpTimeMs: nowMs });
      }
    }
    this.maybeAdvanceHighWatermark();
  }

  /** Called when appended bytes reached the file. */
  onWritten(endOffset: number): void {
    if (endOffset > this.writtenEndOffset) this.writtenEndOffset = endOffset;
    this.maybeAdvanceHighWatermark();
    this.notifyData();
  }

  /**
   * High watermark = the smallest log end offset over the ISR (the leader counts its written
   * end offset). A quorum of one advances it on every local write.
   */
  maybeAdvanceHighWatermark(): void {
    if (!this.isLeader) return;
    let hw = this.writtenEndOffset;
    for (const id of this.isr) {
      if (id === this.localId) continue;
      const f = this.followers.get(id);
      hw = Math.min(hw, f ? Math.max(f.logEndOffset, 0) : 0);
    }
    if (hw > this.log.highWatermark) {
      this.log.highWatermark = hw;
      this.completeHighWatermarkWaiters();
      this.notifyData();
    }
  }

  /** Resolves true once the high watermark reaches `offset` (acks=-1), false after `timeoutMs`. */
  waitForHighWatermark(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.log.highWatermark >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: HighWatermarkWaiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.hwWaiters = this.hwWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, Math.max(0, timeoutMs));
      this.hwWaiters.push(waiter);
    });
  }

  /** Fails every parked acks=-1 produce (leadership lost, partition deleted). */
  abortHighWatermarkWaiters(): void {
    const waiters = this.hwWaiters;
    this.hwWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private completeHighWatermarkWaiters(): void {
    if (this.hwWaiters.length === 0) return;
    const hw = this.log.highWatermark;
    const still: HighWatermarkWaiter[] = [];
    for (const w of this.hwWaiters) {
      if (w.offset <= hw) w.resolve();
      else still.push(w);
    }
    this.hwWaiters = still;
  }

  /** Registers a listener called whenever new data may be readable; returns the unsubscribe. */
  onData(listener: () => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  notifyData(): void {
    for (const l of [...this.dataListeners]) l();
  }

  // ---------------------------------------------------------------- transaction verification

  /** An append of this producer is waiting behind a verification. */
  hasProducerStep(producerId: number): boolean {
    return this.producerSteps.has(producerId);
  }

  /** Runs `step` after the producer's earlier queued steps, so its appends keep their order. */
  inProducerOrder<T>(producerId: number, step: () => Promise<T>): Promise<T> {
    const prev = this.producerSteps.get(producerId);
    const run = prev ? prev.then(step, step) : step();
    this.producerSteps.set(producerId, run);
    const clear = () => {
      if (this.producerSteps.get(producerId) === run) this.producerSteps.delete(producerId);
    };
    run.then(clear, clear);
    return run;
  }

  startVerification(producerId: number): object {
    const guard = {};
    this.verificationGuards.set(producerId, guard);
    return guard;
  }

  /** No marker was written for the producer since `guard` was taken. */
  verificationStillValid(producerId: number, guard: object): boolean {
    return this.verificationGuards.get(producerId) === guard;
  }

  /** A marker of the producer was written: a verification in progress no longer holds. */
  endVerification(producerId: number): void {
    this.verificationGuards.delete(producerId);
  }
}
