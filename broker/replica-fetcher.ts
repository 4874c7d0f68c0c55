// Followers copy their leaders' logs (Kafka's ReplicaFetcherManager and ReplicaFetcherThread).
// One fetcher per leader broker sends Fetch requests with this broker's replica id and epoch
// (replica_state), for every partition it follows on that leader, from its log end offset with
// the epoch of its last batch (last_fetched_epoch). The leader answers:
// - records: appended as they are (offsets and leader epochs kept), after a CRC check; the
//   follower's high watermark becomes min(leader's high watermark, its log end offset), and its
//   log start offset follows the leader's;
// - a diverging epoch: the follower's log holds batches the leader does not have (it led, or
//   followed a leader, that lost them); it truncates to where the logs agree (Kafka's
//   getOffsetTruncationState) and fetches again;
// - OFFSET_OUT_OF_RANGE: the follower is behind the leader's log start (restart empty there) or
//   ahead of its end (truncate to the leader's high watermark);
// - anything else (not the leader any more, a fenced epoch, unknown topic): the partition waits
//   `replica.fetch.backoff.ms`; the next metadata image moves it to its new leader.
// A fetch that fails (peer down) backs off too. Appends are written before the next fetch, so
// the offset a follower reports is in its file.
import type { Logger } from 'pino';
import { UnexpectedAppendOffsetError } from '../log/errors.js';
import { ErrorCode } from '../wire/errors.js';
import { ApiKey } from '../wire/generated/api.js';
import type { FetchRequest } from '../wire/generated/messages/fetch-request.js';
import type { FetchResponse } from '../wire/generated/messages/fetch-response.js';
import { scanBatches } from '../wire/record-batch.js';
import type { PeerConnection } from './network/client.js';
import type { Partition } from './partition.js';
import { recordsBuffer } from '../wire/primitives.js';

/** Fetch v15: topic ids, last_fetched_epoch, diverging epochs and replica_state. */
const FETCH_VERSION = 15;
const UNDEFINED_EPOCH = -1;
const UNDEFINED_OFFSET = -1;
/** Retry delay while the leader has not applied the metadata we act on. */
const LEADER_CATCH_UP_BACKOFF_MS = 100;

export interface ReplicaFetcherSettings {
  readonly localId: number;
  brokerEpoch(): number;
  /** A connection to a broker's inter-broker listener, or null when it is not reachable now. */
  peer(brokerId: number): PeerConnection | null;
  readonly fetchMaxBytes: number;
  readonly responseMaxBytes: number;
  readonly minBytes: number;
  readonly maxWaitMs: number;
  readonly backoffMs: number;
  readonly socketTimeoutMs: number;
  readonly logger: Logger;
  nowMs(): number;
}

interface FetchState {
  readonly partition: Partition;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  delayedUntilMs: number;
  /** The partition's current step (append, truncation); role changes wait for it. */
  busy: Promise<void>;
}

const key = (p: Partition) => `${p.topic}\u0000${p.index}`;

/** Keeps one fetcher per leader and each followed partition on the fetcher of its leader. */
export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  private readonly leaderOf = new Map<string, number>();
  private closed = false;

  constructor(private readonly settings: ReplicaFetcherSettings) {}

  /** Follows `p` on its current leader (at its current leader epoch). */
  follow(p: Partition): void {
    if (this.closed) return;
    const k = key(p);
    const previous = this.leaderOf.get(k);
    if (previous !== undefined && previous !== p.leaderId) this.fetchers.get(previous)?.remove(k);
    let f = this.fetchers.get(p.leaderId);
    if (f === undefined) {
      f = new LeaderFetcher(p.leaderId, this.settings, this.settings.logger.child({ leader: p.leaderId }));
      this.fetchers.set(p.leaderId, f);
    }
    this.leaderOf.set(k, p.leaderId);
    f.add(p);
  }

  /** Stops following `p`; resolves once a step in progress on it (append, truncation) is over. */
  unfollow(p: Partition): Promise<void> {
    const k = key(p);
    const leader = this.leaderOf.get(k);
    if (leader === undefined) return Promise.resolve();
    this.leaderOf.delete(k);
    return this.fetchers.get(leader)?.remove(k) ?? Promise.resolve();
  }

  isFollowing(p: Partition): boolean {
    return this.leaderOf.has(key(p));
  }

  close(): void {
    this.closed = true;
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    this.leaderOf.clear();
  }
}

class LeaderFetcher {
  private readonly partitions = new Map<string, FetchState>();
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private round = 0;

  constructor(
    private readonly leaderId: number,
    private readonly s: ReplicaFetcherSettings,
    private readonly logger: Logger,
  ) {}

  add(p: Partition): void {
    const k = key(p);
    const existing = this.partitions.get(k);
    if (existing !== undefined && existing.partition === p && existing.leaderEpoch === p.leaderEpoch) return;
    this.partitions.set(k, { partition: p, leaderId: this.leaderId, leaderEpoch: p.leaderEpoch, delayedUntilMs: 0, busy: existing?.busy ?? Promise.resolve() });
    this.wake?.();
    if (!this.running) {
      this.running = true;
      void this.run().finally(() => {
        this.running = false;
      });
    }
  }

  remove(k: string): Promise<void> {
    const st = this.partitions.get(k);
    this.partitions.delete(k);
    return st?.busy ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    this.partitions.clear();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.partitions.size > 0) {
      const now = this.s.nowMs();
      const ready = this.rotate([...this.partitions.values()].filter((st) => st.delayedUntilMs <= now));
      if (ready.length === 0) {
        const next = Math.min(...[...this.partitions.values()].map((st) => st.delayedUntilMs));
        await this.sleep(next - now);
        continue;
      }
      const conn = this.s.peer(this.leaderId);
      if (conn === null) {
        await this.sleep(this.s.backoffMs);
        continue;
      }
      let res: FetchResponse;
      try {
        res = await conn.send(ApiKey.Fetch, FETCH_VERSION, this.request(ready), this.s.maxWaitMs + this.s.socketTimeoutMs);
      } catch (err) {
        this.logger.debug({ err: (err as Error).message }, 'replica fetch failed');
        await this.sleep(this.s.backoffMs);
        continue;
      }
      if ((res.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE) {
        this.logger.warn({ errorCode: res.errorCode }, 'replica fetch refused');
        await this.sleep(this.s.backoffMs);
        continue;
      }
      // Partitions are independent: their appends (and the writes they wait for) overlap.
      const asked = new Map(ready.map((st) => [`${st.partition.topicId}:${st.partition.index}`, st]));
      const steps: Promise<void>[] = [];
      for (const t of res.responses) {
        for (const d of t.partitions) {
          const st = asked.get(`${t.topicId}:${d.partitionIndex}`);
          if (st === undefined || this.partitions.get(key(st.partition)) !== st) continue;
          st.busy = st.busy.then(() => this.handle(st, d)).catch(() => undefined);
          steps.push(st.busy);
        }
      }
      await Promise.all(steps);
    }
  }

  /**
   * Starts each request at another partition: the leader fills the response in request order
   * and only the first partition may exceed its share, so a fixed order would starve the last.
   */
  private rotate(ready: FetchState[]): FetchState[] {
    if (ready.length < 2) return ready;
    const start = this.round++ % ready.length;
    return [...ready.slice(start), ...ready.slice(0, start)];
  }

  private request(ready: readonly FetchState[]): FetchRequest {
    const byTopic = new Map<string, FetchRequest['topics'][number]>();
    for (const st of ready) {
      const p = st.partition;
      let t = byTopic.get(p.topicId);
      if (t === undefined) {
        t = { topicId: p.topicId, partitions: [] };
        byTopic.set(p.topicId, t);
      }
      t.partitions.push({
        partition: p.index,
        currentLeaderEpoch: st.leaderEpoch,
        fetchOffset: BigInt(p.log.logEndOffset),
        lastFetchedEpoch: p.log.latestEpoch(),
        logStartOffset: BigInt(p.log.logStartOffset),
        partitionMaxBytes: this.s.fetchMaxBytes,
      });
    }
    return {
      replicaState: { replicaId: this.s.localId, replicaEpoch: BigInt(this.s.brokerEpoch()) },
      maxWaitMs: this.s.maxWaitMs,
      minBytes: this.s.minBytes,
      maxBytes: this.s.responseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()],
      forgottenTopicsData: [],
      rackId: '',
    };
  }

  private async handle(st: FetchState, d: FetchResponse['responses'][number]['partitions'][number]): Promise<void> {
    const p = st.partition;
    const log = p.log;
    if (this.partitions.get(key(p)) !== st || p.leaderEpoch !== st.leaderEpoch) return;
    try {
      switch (d.errorCode) {
        case ErrorCode.NONE: {
          const diverging = d.divergingEpoch;
          if (diverging !== undefined && (diverging.epoch >= 0 || diverging.endOffset >= 0n)) {
            const before = `${log.logEndOffset}/${log.latestEpoch()}`;
            await this.truncateOnDivergence(p, diverging.epoch, Number(diverging.endOffset));
            // No progress would ask the same question again at once: wait instead of spinning.
            if (`${log.logEndOffset}/${log.latestEpoch()}` === before) st.delayedUntilMs = this.s.nowMs() + this.s.backoffMs;
            return;
          }
          if (d.records !== null && d.records.length > 0) await this.append(p, recordsBuffer(d.records));
          const leaderStart = Number(d.logStartOffset ?? -1n);
          const hw = Number(d.highWatermark);
          if (hw >= 0) log.highWatermark = Math.min(hw, log.logEndOffset);
          if (leaderStart > log.logStartOffset) await log.deleteRecordsBefore(Math.min(leaderStart, log.highWatermark));
          return;
        }
        case ErrorCode.OFFSET_OUT_OF_RANGE: {
          const leaderStart = Number(d.logStartOffset ?? -1n);
          if (leaderStart >= 0 && log.logEndOffset < leaderStart) {
            this.logger.warn({ topic: p.topic, partition: p.index, logEndOffset: log.logEndOffset, leaderLogStartOffset: leaderStart }, 'behind the leader\'s log start: restarting the log there');
            await log.truncateFullyAndStartAt(leaderStart);
          } else {
            const to = Math.max(Number(d.highWatermark), log.logStartOffset);
            this.logger.warn({ topic: p.topic, partition: p.index, logEndOffset: log.logEndOffset, truncateTo: to }, 'ahead of the leader\'s log: truncating to its high watermark');
            await log.truncateTo(to);
          }
          p.onTruncated();
          return;
        }
        case ErrorCode.UNKNOWN_TOPIC_ID:
        case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        case ErrorCode.UNKNOWN_LEADER_EPOCH:
          // The leader's metadata is behind ours (a new topic, a new epoch): it catches up soon.
          st.delayedUntilMs = this.s.nowMs() + Math.min(this.s.backoffMs, LEADER_CATCH_UP_BACKOFF_MS);
          return;
        default:
          this.logger.debug({ topic: p.topic, partition: p.index, errorCode: d.errorCode }, 'replica fetch partition error; backing off');
          st.delayedUntilMs = this.s.nowMs() + this.s.backoffMs;
      }
    } catch (err) {
      this.logger.error({ err, topic: p.topic, partition: p.index }, 'replicating partition failed; backing off');
      st.delayedUntilMs = this.s.nowMs() + this.s.backoffMs;
    }
  }

  /** Appends the complete, CRC-valid batches the leader sent from our log end offset on. */
  private async append(p: Partition, records: Buffer): Promise<void> {
    const log = p.log;
    const scan = scanBatches(records, { verifyCrc: true });
    if (scan.error !== null && !scan.truncated) {
      this.logger.warn({ topic: p.topic, partition: p.index, error: scan.message }, 'corrupt batch from the leader; fetching again');
    }
    let start = -1;
    let end = 0;
    for (const b of scan.batches) {
      const last = b.header.baseOffset + b.header.lastOffsetDelta;
      if (last < log.logEndOffset) continue;
      if (start < 0) {
        if (b.header.baseOffset < log.logEndOffset) {
          // The leader's batch straddles our end: our last batches are not the leader's.
          await log.truncateTo(b.header.baseOffset);
          p.onTruncated();
        }
        start = b.pos;
      }
      end = b.pos + b.size;
    }
    if (start < 0) return;
    let appended: { lastOffset: number; written: Promise<void> };
    try {
      appended = log.appendAsFollower(records.subarray(start, end));
    } catch (err) {
      if (err instanceof UnexpectedAppendOffsetError) {
        this.logger.warn({ topic: p.topic, partition: p.index, err: err.message }, 'unexpected follower append offset; fetching again');
        return;
      }
      throw err;
    }
    await appended.written;
    p.onWritten(appended.lastOffset + 1);
  }

  /** Kafka's getOffsetTruncationState, then the truncation. */
  private async truncateOnDivergence(p: Partition, leaderEpoch: number, leaderEndOffset: number): Promise<void> {
    const log = p.log;
    const end = log.logEndOffset;
    let to: number;
    if (leaderEndOffset === UNDEFINED_OFFSET) {
      to = log.highWatermark;
    } else if (leaderEpoch === UNDEFINED_EPOCH) {
      to = Math.min(leaderEndOffset, end);
    } else {
      const ours = log.endOffsetForEpoch(leaderEpoch);
      if (ours.epoch === UNDEFINED_EPOCH || ours.endOffset === UNDEFINED_OFFSET) to = Math.min(leaderEndOffset, end);
      else if (ours.epoch !== leaderEpoch) to = Math.min(ours.endOffset, end);
      else to = Math.min(ours.endOffset, leaderEndOffset, end);
    }
    to = Math.max(to, log.logStartOffset);
    this.logger.info({ topic: p.topic, partition: p.index, leaderEpoch, leaderEndOffset, logEndOffset: end, truncateTo: to }, 'log diverges from the leader\'s: truncating');
    await log.truncateTo(to);
    p.onTruncated();
  }
}
