// Incremental fetch sessions (KIP-227). A session remembers the partitions a client fetches so
// later requests only name what changed, and responses only carry partitions with news.
//   epoch -1 (FINAL): no session (sessionless full fetch), closing sessionId if given
//   epoch  0 (INITIAL): open a new session with the request's partitions (full response)
//   epoch  n > 0: update the session (add/replace requested, drop forgotten), answer incrementally
import { ErrorCode } from '../wire/errors.js';

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface SessionPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
  /** What the last response told the client, to decide whether the next one must mention it. */
  lastHighWatermark: number;
  lastLogStartOffset: number;
  lastLastStableOffset: number;
}

export interface FetchSession {
  readonly id: number;
  epoch: number;
  readonly partitions: Map<string, SessionPartition>;
  lastUsedMs: number;
}

export interface RequestedPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
}

export type SessionResolution =
  | { kind: 'error'; errorCode: number }
  | { kind: 'sessionless'; partitions: RequestedPartition[] }
  | { kind: 'full'; session: FetchSession | null; partitions: SessionPartition[] }
  | { kind: 'incremental'; session: FetchSession; partitions: SessionPartition[] };

export const sessionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private nextId = 1;

  constructor(
    private readonly maxSessions: number,
    private readonly idleEvictMs: number,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  resolve(sessionId: number, epoch: number, requested: RequestedPartition[], forgotten: Array<{ topic: string; partitions: number[] }>, nowMs: number): SessionResolution {
    if (epoch === FINAL_EPOCH) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      return { kind: 'sessionless', partitions: requested };
    }
    if (epoch === INITIAL_EPOCH) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      const session = this.create(nowMs);
      const parts = requested.map((r) => toSessionPartition(r));
      if (session) for (const p of parts) session.partitions.set(sessionKey(p.topic, p.partition), p);
      return { kind: 'full', session, partitions: parts };
    }
    const session = this.sessions.get(sessionId);
    if (!session) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== epoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    for (const f of forgotten) for (const p of f.partitions) session.partitions.delete(sessionKey(f.topic, p));
    for (const r of requested) {
      const key = sessionKey(r.topic, r.partition);
      const existing = session.partitions.get(key);
      if (existing) {
        existing.fetchOffset = r.fetchOffset;
        existing.maxBytes = r.maxBytes;
        existing.currentLeaderEpoch = r.currentLeaderEpoch;
      } else {
        session.partitions.set(key, toSessionPartition(r));
      }
    }
    session.lastUsedMs = nowMs;
    return { kind: 'incremental', session, partitions: [...session.partitions.values()] };
  }

  /** Called after a successful response: the client's next request must carry epoch+1. */
  bump(session: FetchSession): void {
    session.epoch = session.epoch >= 0x7fffffff ? 1 : session.epoch + 1;
  }

  private create(nowMs: number): FetchSession | null {
    this.evictIdle(nowMs);
    if (this.sessions.size >= this.maxSessions) return null;
    let id = this.nextId;
    while (id === 0 || this.sessions.has(id)) id = (id + 1) & 0x7fffffff;
    this.nextId = (id + 1) & 0x7fffffff;
    // Bumped to 1 when the full response goes out: the next request must carry epoch 1.
    const session: FetchSession = { id, epoch: 0, partitions: new Map(), lastUsedMs: nowMs };
    this.sessions.set(id, session);
    return session;
  }

  private evictIdle(nowMs: number): void {
    for (const [id, s] of this.sessions) if (nowMs - s.lastUsedMs > this.idleEvictMs) this.sessions.delete(id);
  }
}

function toSessionPartition(r: RequestedPartition): SessionPartition {
  return { ...r, lastHighWatermark: -1, lastLogStartOffset: -1, lastLastStableOffset: -1 };
}
