// Fetch (key 1): v0–v17
// Behaviour: whole stored batches, sent as they lie on disk, never past the high watermark for
// consumers; partition and response max_bytes (the first batch is returned even if larger, as
// Kafka does from v3); long poll until min_bytes arrive or max_wait_ms passes; incremental
// fetch sessions (v7+, KIP-227); topics by id from v13.
// isolation_level 1 (read_committed, v4+) stops at the last stable offset and lists the aborted
// transactions overlapping the returned batches; every response carries the real last stable
// offset. A long poll wakes when the high watermark or the last stable offset moves (markers).
// Followers (replica id ≥ 0: v0–14 replica_id, v15+ replica_state) read up to the leader's
// written end; their fetch offset is their log end offset (high watermark, ISR), and a
// last_fetched_epoch the leader's log does not agree with is answered with the diverging epoch.
// NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH carry the current leader (v12+) and its
// endpoint (v16+), so clients can skip a metadata round trip.
// Quotas: a consumer with a consumer_byte_rate quota fetches at most quota × (quota.window.num − 1)
// windows of bytes; a response that puts it over the quota is answered empty with
// throttle_time_ms and its connection muted for that long (broker/quota/); so is a fetch that
// puts its client over its request_percentage (its request time is recorded here, not by the
// router, as Kafka's handleFetchRequest does). Followers are exempt.
import { ApiKey } from '../../wire/generated/api.js';
import type { FetchRequest } from '../../wire/generated/messages/fetch-request.js';
import type { FetchResponse } from '../../wire/generated/messages/fetch-response.js';
import { ZERO_UUID, type RecordParts } from '../../wire/primitives.js';
import { ErrorCode } from '../../wire/errors.js';
import { FINAL_EPOCH, type RequestedPartition, type SessionPartition } from '../fetch-session.js';
import { defineHandler, type RequestContext } from '../handler.js';
import type { FollowerFetch, ReadOutcome } from '../replica-manager.js';
import { fetchMaxBytes, throttleFetch } from '../quota/request-quotas.js';
import { leaderHint, nodeEndpointsOf } from './common.js';
import { specVersions } from './versions.js';

type PartitionData = FetchResponse['responses'][number]['partitions'][number];
type TopicResponse = FetchResponse['responses'][number];

interface Target {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  /** Error found while resolving the request (unknown topic), answered without reading. */
  error: number;
  session: SessionPartition | null;
}

const MAX_WAIT_CAP_MS = 30_000;
/** A fetch waits for at least this much of its connection's response budget (or all it asked). */
const RESERVE_AT_LEAST_BYTES = 1024 * 1024;

function partitionData(
  partitionIndex: number,
  errorCode: number,
  hw = -1,
  lso = -1,
  logStart = -1,
  records: Buffer | RecordParts | null = null,
  aborted: ReadonlyArray<{ producerId: number; firstOffset: number }> | null = null,
): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: BigInt(hw),
    lastStableOffset: BigInt(lso),
    logStartOffset: BigInt(logStart),
    abortedTransactions: aborted === null ? null : aborted.map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) })),
    preferredReadReplica: -1,
    records,
  };
}

export const fetch = defineHandler<FetchRequest, FetchResponse>({
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  ...specVersions(ApiKey.Fetch),
  async handle(ctx, req) {
    const { services } = ctx;
    const image = services.image();
    const v = ctx.apiVersion;
    const replicaId = v >= 15 ? (req.replicaState?.replicaId ?? -1) : (req.replicaId ?? -1);
    const replicaEpoch = v >= 15 ? Number(req.replicaState?.replicaEpoch ?? -1n) : -1;
    const requested: RequestedPartition[] = [];
    const unresolved: Target[] = [];
    for (const t of req.topics) {
      const topic = v >= 13 ? image.topicById(t.topicId ?? ZERO_UUID) : image.topicByName(t.topic ?? '');
      for (const p of t.partitions) {
        const base = {
          topic: topic?.name ?? t.topic ?? '',
          topicId: topic?.id ?? t.topicId ?? ZERO_UUID,
          partition: p.partition,
          fetchOffset: Number(p.fetchOffset),
          maxBytes: p.partitionMaxBytes,
          currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
          lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
        };
        if (!topic) unresolved.push({ ...base, error: v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, session: null });
        else requested.push(base);
      }
    }
    const forgotten = (req.forgottenTopicsData ?? []).map((f) => ({
      topic: v >= 13 ? (image.topicById(f.topicId ?? ZERO_UUID)?.name ?? '') : (f.topic ?? ''),
      partitions: f.partitions,
    }));
    const sessionId = v >= 7 ? req.sessionId ?? 0 : 0;
    const epoch = v >= 7 ? req.sessionEpoch ?? FINAL_EPOCH : FINAL_EPOCH;
    const resolution = services.fetchSessions.resolve(sessionId, epoch, requested, forgotten, services.nowMs());
    if (resolution.kind === 'error') {
      return { throttleTimeMs: 0, errorCode: resolution.errorCode, sessionId, responses: [] };
    }
    const incremental = resolution.kind === 'incremental';
    const targets: Target[] = [
      // (Sessions do not keep last_fetched_epoch; followers here fetch without a session.)
      ...resolution.partitions.map((p) => ({
        ...p,
        lastFetchedEpoch: 'lastFetchedEpoch' in p ? Number(p.lastFetchedEpoch) : -1,
        error: ErrorCode.NONE,
        session: 'lastHighWatermark' in p ? (p as SessionPartition) : null,
      })),
      ...unresolved,
    ];
    const maxWait = Math.min(Math.max(req.maxWaitMs, 0), MAX_WAIT_CAP_MS);
    const minBytes = Math.max(req.minBytes, 0);
    const quota = services.quotas.enabled && replicaId < 0;
    const responseMaxBytes = quota ? fetchMaxBytes(ctx, v >= 3 ? req.maxBytes ?? 0x7fffffff : 0x7fffffff) : v >= 3 ? req.maxBytes ?? 0x7fffffff : 0x7fffffff;

    const deadline = services.nowMs() + maxWait;
    const isolationLevel = v >= 4 ? (req.isolationLevel ?? 0) : 0;
    const follower = replicaId >= 0 ? { replicaId, replicaEpoch } : null;
    // What this response may hold comes out of the connection's response-memory bound, so a
    // client that pipelines fetches and never reads cannot make the broker buffer without end.
    // At most the partitions' limits can come back, whatever the response limit says.
    let couldReturn = 0;
    for (const t of targets) couldReturn += Math.max(0, t.maxBytes);
    const granted = await ctx.conn.reserveResponseBytes(Math.min(responseMaxBytes, couldReturn), RESERVE_AT_LEAST_BYTES);
    let result: Awaited<ReturnType<typeof readAll>>;
    try {
      const maxBytes = Math.min(responseMaxBytes, granted);
      result = await readAll(ctx, targets, maxBytes, follower, isolationLevel);
      for (let round = 0; round < 1000 && result.bytes < minBytes && !result.anyError && targets.length > 0; round++) {
        const left = deadline - services.nowMs();
        if (left <= 0 || ctx.conn.isClosed) break;
        await waitForData(ctx, targets, left);
        result = await readAll(ctx, targets, maxBytes, follower, isolationLevel);
      }
    } finally {
      ctx.conn.releaseResponseBytes(granted);
    }

    const session = resolution.kind === 'full' || resolution.kind === 'incremental' ? resolution.session : null;
    const throttleTimeMs = replicaId < 0 && (services.quotas.enabled || services.quotas.requestEnabled) ? throttleFetch(ctx, result.bytes) : 0;
    if (throttleTimeMs > 0) {
      // Kafka's getThrottledResponse: no partitions, and the session keeps what it last sent.
      if (session) services.fetchSessions.bump(session);
      return { throttleTimeMs, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses: [], nodeEndpoints: [] };
    }
    const byTopic = new Map<string, TopicResponse>();
    result.parts.forEach((data, i) => {
      const t = targets[i]!;
      const s = t.session;
      if (incremental && s && data.errorCode === ErrorCode.NONE && (data.records?.length ?? 0) === 0 &&
        Number(data.highWatermark) === s.lastHighWatermark && Number(data.logStartOffset) === s.lastLogStartOffset &&
        Number(data.lastStableOffset) === s.lastLastStableOffset) {
        return; // nothing new for this partition: an incremental response leaves it out
      }
      if (s) {
        s.lastHighWatermark = Number(data.highWatermark);
        s.lastLogStartOffset = Number(data.logStartOffset);
        s.lastLastStableOffset = Number(data.lastStableOffset);
      }
      const key = `${t.topicId}/${t.topic}`;
      let tr = byTopic.get(key);
      if (!tr) {
        tr = { topic: t.topic, topicId: t.topicId, partitions: [] };
        byTopic.set(key, tr);
      }
      tr.partitions.push(data);
    });
    if (session) services.fetchSessions.bump(session);
    const hinted = result.leaderHints;
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      sessionId: session?.id ?? 0,
      responses: [...byTopic.values()],
      nodeEndpoints: v >= 16 ? nodeEndpointsOf(image, ctx.listenerName, hinted) : [],
    };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [] };
  },
});

async function readAll(
  ctx: RequestContext,
  targets: Target[],
  responseMaxBytes: number,
  follower: { replicaId: number; replicaEpoch: number } | null,
  isolationLevel: number,
): Promise<{ parts: PartitionData[]; bytes: number; anyError: boolean; leaderHints: Set<number> }> {
  const rm = ctx.services.replicaManager;
  let remaining = responseMaxBytes;
  let bytes = 0;
  let anyError = false;
  const leaderHints = new Set<number>();
  const parts: PartitionData[] = [];
  for (const t of targets) {
    if (t.error !== ErrorCode.NONE) {
      anyError = true;
      parts.push(partitionData(t.partition, t.error));
      continue;
    }
    const limit = Math.min(t.maxBytes, remaining);
    const asFollower: FollowerFetch | null = follower === null ? null : { ...follower, lastFetchedEpoch: ctx.apiVersion >= 12 ? t.lastFetchedEpoch : -1 };
    const r = await rm.read(t.topic, t.partition, t.fetchOffset, limit, bytes === 0, asFollower, t.currentLeaderEpoch, isolationLevel);
    // A diverging follower must hear it now, not after a long poll.
    if (r.errorCode !== ErrorCode.NONE || r.divergingEpoch !== undefined) anyError = true;
    const n = r.records?.length ?? 0;
    bytes += n;
    remaining = Math.max(0, remaining - n);
    const data = partitionData(t.partition, r.errorCode, r.highWatermark, r.lastStableOffset, r.logStartOffset, r.records ?? Buffer.alloc(0), r.abortedTransactions);
    if (r.divergingEpoch !== undefined) data.divergingEpoch = { epoch: r.divergingEpoch.epoch, endOffset: BigInt(r.divergingEpoch.endOffset) };
    addLeaderHint(ctx, t, r, data, leaderHints);
    parts.push(data);
  }
  return { parts, bytes, anyError, leaderHints };
}

/** v12+: who leads now, for partitions answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH. */
function addLeaderHint(ctx: RequestContext, t: Target, r: ReadOutcome, data: PartitionData, hinted: Set<number>): void {
  if (ctx.apiVersion < 12) return;
  if (r.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && r.errorCode !== ErrorCode.FENCED_LEADER_EPOCH) return;
  const hint = leaderHint(ctx.services.image(), t.topic, t.partition);
  data.currentLeader = hint;
  if (hint.leaderId >= 0) hinted.add(hint.leaderId);
}

/** Parks until any of the partitions may have new data, or `maxWaitMs` passes. */
function waitForData(ctx: RequestContext, targets: Target[], maxWaitMs: number): Promise<void> {
  const rm = ctx.services.replicaManager;
  return new Promise((resolve) => {
    const unsubscribes: Array<() => void> = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const u of unsubscribes) u();
      ctx.conn.socket.off('close', finish);
      resolve();
    };
    const timer = setTimeout(finish, maxWaitMs);
    for (const t of targets) {
      const p = rm.getPartition(t.topic, t.partition);
      if (p) unsubscribes.push(p.onData(finish));
    }
    ctx.conn.socket.once('close', finish);
  });
}
