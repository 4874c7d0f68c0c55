// One partition hosted by this broker: its log, its role (leader or follower) as the metadata
// image says, the high watermark, the requests parked on it (acks=-1 produce waiting for the
// high watermark, fetches waiting for data), and the transaction verifications in progress
// (per producer: the appends waiting behind one, and its verification guard).
//
// As leader it tracks every follower's fetch state (Kafka's `Replica`): its log end offset (the
// offset it fetches from) and when it was last caught up, which decide the high watermark (the
// smallest log end offset over the ISR) and ISR membership. An ISR change asked of the
// controller is pending until the image (or the AlterPartition answer) carries it; meanwhile the
// high watermark counts the larger of the two sets (Kafka's "maximal ISR"), so it never advances
// on a member that is only on its way in, nor forgets one on its way out.
import type { PartitionLog } from '../log/partition-log.js';

export interface ReplicaState {
  /** Log end offset the replica last reported (the fetch offset of its last fetch); -1 unknown. */
  logEndOffset: number;
  /** Last time the replica had everything the leader had (Kafka's lastCaughtUpTimeMs). */
  lastCaughtUpTimeMs: number;
  /** The leader's end offset and the time at the replica's previous fetch. */
  lastFetchLeaderLogEndOffset: number;
  lastFetchTimeMs: number;
}

/** A follower not heard from yet: position unknown, counted as caught up as of now (Kafka resets it so on a leader change). */
function unknownReplicaState(nowMs: number): ReplicaState {
  return { logEndOffset: -1, lastCaughtUpTimeMs: nowMs, lastFetchLeaderLogEndOffset: -1, lastFetchTimeMs: nowMs };
}

interface HighWatermarkWaiter {
  readonly offset: number;
  readonly resolve: () => void;
}

export interface PartitionRegistrationView {
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
}

export class Partition {
  leaderEpoch = -1;
  partitionEpoch = -1;
  leaderId = -1;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  /** min.insync.replicas of the topic: acks=-1 needs an ISR at least this large. */
  minInsyncReplicas = 1;
  /** The ISR asked of the controller and not yet confirmed, or null. */
  pendingIsr: readonly number[] | null = null;
  /** Log end offset when this broker became leader in the current epoch (ISR expansion needs followers past it). */
  leaderEpochStartOffset = -1;
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

  /** ISR members and those being added: the set the high watermark waits for. */
  get maximalIsr(): readonly number[] {
    if (this.pendingIsr === null) return this.isr;
    const out = [...this.isr];
    for (const r of this.pendingIsr) if (!out.includes(r)) out.push(r);
    return out;
  }

  /**
   * Applies leadership and ISR from the metadata image. Returns 'leader' when this broker just
   * became leader (or got a new leader epoch), 'follower' when it just became a follower of a
   * (new) leader or epoch, null when its role did not change.
   */
  updateRegistration(reg: PartitionRegistrationView, nowMs: number): 'leader' | 'follower' | null {
    const roleChanged = reg.leader !== this.leaderId || reg.leaderEpoch !== this.leaderEpoch;
    const becameLeader = reg.leader === this.localId && roleChanged;
    // An AlterPartition answer may be ahead of the image; an image behind it changes nothing.
    const staleIsr = !roleChanged && reg.partitionEpoch < this.partitionEpoch;
    this.leaderId = reg.leader;
    this.leaderEpoch = reg.leaderEpoch;
    this.replicas = reg.replicas;
    if (!staleIsr) {
      if (reg.partitionEpoch !== this.partitionEpoch) this.pendingIsr = null;
      this.partitionEpoch = reg.partitionEpoch;
      this.isr = reg.isr;
    }
    if (becameLeader) {
      this.pendingIsr = null;
      this.followers.clear();
      for (const r of reg.replicas) {
        if (r !== this.localId) this.followers.set(r, unknownReplicaState(nowMs));
      }
      this.leaderEpochStartOffset = this.log.logEndOffset;
    } else {
      for (const r of reg.replicas) {
        if (r !== this.localId && !this.followers.has(r)) {
          this.followers.set(r, unknownReplicaState(nowMs));
        }
      }
      for (const r of [...this.followers.keys()]) if (!reg.replicas.includes(r)) this.followers.delete(r);
    }
    if (!this.isLeader) {
      this.pendingIsr = null;
      if (roleChanged) this.abortHighWatermarkWaiters();
    }
    this.maybeAdvanceHighWatermark();
    if (!roleChanged) return null;
    return becameLeader ? 'leader' : 'follower';
  }

  /** Called when appended bytes reached the file. */
  onWritten(endOffset: number): void {
    if (endOffset > this.writtenEndOffset) this.writtenEndOffset = endOffset;
    this.maybeAdvanceHighWatermark();
    this.notifyData();
  }

  /** The log was truncated (follower divergence, full truncation): the written end follows it down. */
  onTruncated(): void {
    this.writtenEndOffset = this.log.logEndOffset;
  }

  /**
   * A follower fetched from `fetchOffset` (its log end offset). Kafka's updateFetchState: it is
   * caught up now if it asked for everything the leader had; caught up as of its previous fetch
   * if it asked for at least what the leader had then.
   */
  updateFollowerFetchState(replicaId: number, fetchOffset: number, nowMs: number): ReplicaState | undefined {
    const f = this.followers.get(replicaId);
    if (f === undefined) return undefined;
    const leaderEnd = this.writtenEndOffset;
    if (fetchOffset >= leaderEnd) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    f.logEndOffset = fetchOffset;
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    f.lastFetchTimeMs = nowMs;
    this.maybeAdvanceHighWatermark();
    return f;
  }

  /** ISR members (other than the leader) that have not been caught up for `maxLagMs`. */
  outOfSyncReplicas(nowMs: number, maxLagMs: number): number[] {
    const out: number[] = [];
    for (const id of this.isr) {
      if (id === this.localId) continue;
      const f = this.followers.get(id);
      if (f === undefined || nowMs - f.lastCaughtUpTimeMs > maxLagMs) out.push(id);
    }
    return out;
  }

  /** A follower outside the ISR has caught up with the high watermark and this epoch's start: it may join. */
  canJoinIsr(replicaId: number): boolean {
    if (!this.isLeader || this.maximalIsr.includes(replicaId)) return false;
    const f = this.followers.get(replicaId);
    return f !== undefined && f.logEndOffset >= this.log.highWatermark && f.logEndOffset >= this.leaderEpochStartOffset;
  }

  /**
   * High watermark = the smallest log end offset over the (maximal) ISR, the leader counting
   * its written end offset. A quorum of one advances it on every local write.
   */
  maybeAdvanceHighWatermark(): void {
    if (!this.isLeader) return;
    let hw = this.writtenEndOffset;
    for (const id of this.maximalIsr) {
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
