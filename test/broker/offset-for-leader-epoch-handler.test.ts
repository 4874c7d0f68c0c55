// The OffsetForLeaderEpoch handler's per-partition decisions that a single-node e2e cannot
// reach: a follower, a partition known to the metadata but not hosted here, an offline log,
// and the order of the checks (Kafka: storage, then epoch fencing, then leadership).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestContext } from '../../broker/handler.js';
import { offsetForLeaderEpoch } from '../../broker/handlers/offset-for-leader-epoch.js';
import { Partition } from '../../broker/partition.js';
import type { PartitionLog } from '../../log/partition-log.js';
import { ErrorCode } from '../../wire/errors.js';
import { batch, cleanupTempDirs, openLog, tempDir } from '../log/helpers.js';

const LOCAL = 1;
const logs: PartitionLog[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const l of logs.splice(0)) await l.close().catch(() => {});
  cleanupTempDirs();
});

/** A hosted partition of topic `t` led by `leader` at `leaderEpoch`, with data in epochs 3 (0–3) and 5 (4–5). */
async function hostedPartition(leader: number, leaderEpoch: number): Promise<Partition> {
  const log = await openLog(tempDir());
  logs.push(log);
  for (const [epoch, n] of [[3, 2], [5, 1]] as const) for (let i = 0; i < n; i++) await log.appendAsLeader(batch(2), epoch).written;
  const p = new Partition('t', 0, 'id', log, LOCAL);
  p.updateRegistration({ leader, leaderEpoch, partitionEpoch: 0, replicas: [1, 2], isr: [1, 2] }, 0);
  return p;
}

function context(hosted: Partition | undefined, inMetadata: boolean, apiVersion = 4): RequestContext {
  return {
    apiVersion,
    services: {
      replicaManager: { getPartition: (topic: string, index: number) => (topic === 't' && index === 0 ? hosted : undefined) },
      image: () => ({ partition: (topic: string, index: number) => (inMetadata && topic === 't' && index === 0 ? {} : undefined) }),
    },
  } as unknown as RequestContext;
}

async function ask(ctx: RequestContext, leaderEpoch: number, currentLeaderEpoch = -1) {
  const r = await offsetForLeaderEpoch.handle(ctx, { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] });
  if (typeof r === 'symbol') throw new Error('no response');
  const p = r.topics[0]!.partitions[0]!;
  return { errorCode: p.errorCode, leaderEpoch: p.leaderEpoch, endOffset: Number(p.endOffset) };
}

describe('OffsetForLeaderEpoch handler', () => {
  it('the leader answers from its epoch cache', async () => {
    const ctx = context(await hostedPartition(LOCAL, 5), true);
    expect(await ask(ctx, 5)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: 5, endOffset: 6 });
    expect(await ask(ctx, 4)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: 3, endOffset: 4 });
    expect(await ask(ctx, 2)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: 2, endOffset: 0 });
    expect(await ask(ctx, 6)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1 });
  });

  it('a follower answers NOT_LEADER_OR_FOLLOWER (only the leader serves it, for every replica id)', async () => {
    const ctx = context(await hostedPartition(2, 5), true);
    expect(await ask(ctx, 3)).toEqual({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderEpoch: -1, endOffset: -1 });
    const r = await offsetForLeaderEpoch.handle(ctx, { replicaId: 2, topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 3 }] }] });
    expect(typeof r !== 'symbol' && r.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('epoch fencing comes before the leadership check', async () => {
    const follower = context(await hostedPartition(2, 5), true);
    expect((await ask(follower, 3, 4)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect((await ask(follower, 3, 6)).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect((await ask(follower, 3, 5)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('known to the metadata but not hosted here: NOT_LEADER_OR_FOLLOWER; unknown: UNKNOWN_TOPIC_OR_PARTITION', async () => {
    expect((await ask(context(undefined, true), 3)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect((await ask(context(undefined, false), 3)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('an offline log answers KAFKA_STORAGE_ERROR, before any epoch check', async () => {
    const p = await hostedPartition(LOCAL, 5);
    vi.spyOn(p.log, 'offlineError', 'get').mockReturnValue(new Error('disk gone') as never);
    const ctx = context(p, true);
    expect((await ask(ctx, 5)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await ask(ctx, 5, 9)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  });

  it('the error response carries the code for every partition asked', () => {
    const r = offsetForLeaderEpoch.errorResponse!(
      { replicaId: -1, topics: [{ topic: 'a', partitions: [{ partition: 0, leaderEpoch: 1 }, { partition: 3, leaderEpoch: 1 }] }] },
      ErrorCode.UNKNOWN_SERVER_ERROR,
      4,
    );
    expect(r.topics[0]!.partitions.map((p) => [p.partition, p.errorCode, p.leaderEpoch, p.endOffset])).toEqual([
      [0, ErrorCode.UNKNOWN_SERVER_ERROR, -1, -1n],
      [3, ErrorCode.UNKNOWN_SERVER_ERROR, -1, -1n],
    ]);
  });
});
