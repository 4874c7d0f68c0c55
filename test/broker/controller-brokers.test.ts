// The active controller's broker decisions (broker/controller/brokers.ts): registration starts
// fenced, a caught-up heartbeat unfences and elects leaderless partitions from their ISR, an
// expired session fences and moves leadership (the last ISR member stays, leaderless), a
// controlled shutdown moves leadership away before shouldShutDown, stale epochs are refused.
import { describe, expect, it } from 'vitest';
import { MetadataImage, replayRecords, type PartitionRegistration } from '../../kraft/image.js';
import { MetadataRecordType as T, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode } from '../../wire/errors.js';
import {
  BrokerSessions,
  controlledShutdownRecords,
  decideHeartbeat,
  decideRegistration,
  fenceBrokerRecords,
  unfenceBrokerRecords,
} from '../../broker/controller/brokers.js';
import { buildPartitionChange, leaderAndIsrUpdates } from '../../broker/controller/partition-change.js';
import type { BrokerHeartbeatRequest } from '../../wire/generated/messages/broker-heartbeat-request.js';
import { brokerRecord, clusterImage, topicRecords, uuid } from '../kraft/helpers.js';

const CLUSTER = 'test-cluster-id-00000';
const T1 = uuid(1);

function apply(image: MetadataImage, records: readonly ApiMessageAndVersion[]): MetadataImage {
  return replayRecords(image, records, image.offset + 1);
}

function part(image: MetadataImage, p: number, topic = 't1'): PartitionRegistration {
  return image.partition(topic, p)!;
}

/** Brokers 1..3 unfenced; t1 partitions: 0 = [1,2,3], 1 = [2,3,1], 2 = [3] (RF 1), 3 = [1] (RF 1). */
function cluster(): MetadataImage {
  return clusterImage(3, topicRecords('t1', T1, [[1, 2, 3], [2, 3, 1], [3], [1]]));
}

const hb = (brokerId: number, epoch: number, offset: number, extra: Partial<BrokerHeartbeatRequest> = {}): BrokerHeartbeatRequest => ({
  brokerId,
  brokerEpoch: BigInt(epoch),
  currentMetadataOffset: BigInt(offset),
  wantFence: false,
  wantShutDown: false,
  offlineLogDirs: [],
  ...extra,
});

describe('registration', () => {
  const req = (brokerId: number, incarnationId: string, clusterId = CLUSTER) => ({
    brokerId,
    clusterId,
    incarnationId,
    listeners: [{ name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 0 }],
    features: [{ name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 21 }],
    rack: 'r1',
    logDirs: [],
  });

  it('registers fenced at the next offset', () => {
    const image = clusterImage(0);
    const d = decideRegistration(image, req(4, uuid(9)), { clusterId: CLUSTER, hasLiveSession: () => false });
    expect(d.response.errorCode).toBe(ErrorCode.NONE);
    expect(d.response.brokerEpoch).toBe(BigInt(image.offset + 1));
    const after = apply(image, d.records);
    expect(after.broker(4)).toMatchObject({ fenced: true, rack: 'r1', epoch: image.offset + 1 });
  });

  it('refuses another cluster id, and another incarnation while a session lives', () => {
    const image = cluster();
    expect(decideRegistration(image, req(1, uuid(9), 'other'), { clusterId: CLUSTER, hasLiveSession: () => false }).response.errorCode).toBe(
      ErrorCode.INCONSISTENT_CLUSTER_ID,
    );
    const dup = decideRegistration(image, req(1, uuid(9)), { clusterId: CLUSTER, hasLiveSession: () => true });
    expect(dup.response.errorCode).toBe(ErrorCode.DUPLICATE_BROKER_REGISTRATION);
    expect(dup.records).toEqual([]);
    expect(decideRegistration(image, req(1, uuid(9)), { clusterId: CLUSTER, hasLiveSession: () => false }).response.errorCode).toBe(ErrorCode.NONE);
  });

  it('a broker registering again while in ISRs (an unclean restart) leaves them and its leadership first; as the last ISR member it stays, leaderless', () => {
    const image = cluster();
    expect(part(image, 0)).toMatchObject({ leader: 1, isr: [1, 2, 3] });
    const d = decideRegistration(image, req(1, uuid(9)), { clusterId: CLUSTER, hasLiveSession: () => false });
    expect(d.response.errorCode).toBe(ErrorCode.NONE);
    const after = apply(image, d.records);
    // It may have lost its un-fsynced tail: it must not lead, and must catch up to rejoin.
    expect(part(after, 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: part(image, 0).leaderEpoch + 1 });
    expect(part(after, 1).isr).toEqual([2, 3]);
    // t1-3 = [1]: nobody else can lead; re-elected (new epoch) when the broker is unfenced.
    expect(part(after, 3)).toMatchObject({ leader: -1, isr: [1] });
    expect(after.broker(1)).toMatchObject({ fenced: true });
    // A first registration changes no partition.
    const fresh = decideRegistration(clusterImage(0), req(4, uuid(9)), { clusterId: CLUSTER, hasLiveSession: () => false });
    expect(fresh.records).toHaveLength(1);
  });
});

describe('heartbeats', () => {
  it('refuses an unknown broker or another epoch with STALE_BROKER_EPOCH', () => {
    const image = cluster();
    expect(decideHeartbeat(image, hb(9, 1, 100), { shutdownOffset: undefined }).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(decideHeartbeat(image, hb(1, 99, 100), { shutdownOffset: undefined }).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
  });

  it('keeps a fenced broker fenced until its metadata offset reaches its registration, then unfences it', () => {
    const image = apply(cluster(), [brokerRecord(4, { fenced: true, epoch: 50 })]);
    const behind = decideHeartbeat(image, hb(4, 50, 49), { shutdownOffset: undefined });
    expect(behind.records).toEqual([]);
    expect(behind.response).toMatchObject({ errorCode: ErrorCode.NONE, isCaughtUp: false, isFenced: true });
    const caught = decideHeartbeat(image, hb(4, 50, 50), { shutdownOffset: undefined });
    expect(caught.response).toMatchObject({ isCaughtUp: true, isFenced: false, shouldShutDown: false });
    expect(caught.records.map((r) => r.apiKey)).toEqual([T.BrokerRegistrationChange]);
    expect(apply(image, caught.records).broker(4)!.fenced).toBe(false);
  });

  it('an unfenced broker that is caught up changes nothing', () => {
    const image = cluster();
    const d = decideHeartbeat(image, hb(2, 12, 100), { shutdownOffset: undefined });
    expect(d.records).toEqual([]);
    expect(d.response).toMatchObject({ isFenced: false, isCaughtUp: true, shouldShutDown: false });
  });
});

describe('fencing and unfencing', () => {
  it('fencing moves leadership to another ISR member and shrinks the ISR; the last member stays, leaderless', () => {
    const image = cluster();
    const records = fenceBrokerRecords(image, 1);
    const after = apply(image, records);
    expect(after.broker(1)!.fenced).toBe(true);
    expect(part(after, 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1 });
    expect(part(after, 1)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0 });
    expect(part(after, 2)).toMatchObject({ leader: 3, isr: [3] });
    expect(part(after, 3)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
    // Fencing twice writes nothing.
    expect(fenceBrokerRecords(after, 1)).toEqual([]);
  });

  it('unfencing elects leaderless partitions from their ISR only (no unclean election)', () => {
    let image = cluster();
    image = apply(image, fenceBrokerRecords(image, 1));
    image = apply(image, fenceBrokerRecords(image, 3));
    expect(part(image, 2)).toMatchObject({ leader: -1, isr: [3] });
    expect(part(image, 3)).toMatchObject({ leader: -1, isr: [1] });
    // Broker 1 returns: t1-3 (ISR [1]) gets it back; t1-2 (ISR [3]) stays leaderless.
    const back = apply(image, unfenceBrokerRecords(image, 1));
    expect(back.broker(1)!.fenced).toBe(false);
    expect(part(back, 3)).toMatchObject({ leader: 1, isr: [1] });
    expect(part(back, 2)).toMatchObject({ leader: -1, isr: [3] });
    // Partitions that have a leader keep it (1 rejoins ISRs only through AlterPartition).
    expect(part(back, 0)).toMatchObject({ leader: 2, isr: [2] });
  });

  it('sessions: a new controller gives every broker a full session; only unfenced brokers expire', () => {
    let image = cluster();
    image = apply(image, fenceBrokerRecords(image, 3));
    const s = new BrokerSessions(9_000);
    s.reset(image, 1_000);
    expect(s.expired(image, 9_999)).toEqual([]);
    s.touch(2, 12, 5_000);
    expect(s.expired(image, 10_000)).toEqual([1]);
    expect(s.hasLiveSession(2, 13_999)).toBe(true);
    expect(s.hasLiveSession(2, 14_000)).toBe(false);
    // A fenced broker has no session: a new incarnation of it may register at once.
    expect(s.hasLiveSession(3, 1_000)).toBe(false);
  });
});

describe('controlled shutdown', () => {
  it('moves leadership away first, then allows the shutdown and fences the broker', () => {
    const image = cluster();
    const first = decideHeartbeat(image, hb(1, 11, image.offset, { wantShutDown: true }), { shutdownOffset: undefined });
    expect(first.startsControlledShutdown).toBe(true);
    expect(first.response).toMatchObject({ shouldShutDown: false, isFenced: false });
    const during = apply(image, first.records);
    expect(during.broker(1)!.inControlledShutdown).toBe(true);
    expect(during.partitionsLedBy(1)).toHaveLength(0);
    expect(part(during, 0)).toMatchObject({ leader: 2, isr: [2, 3] });
    expect(part(during, 3)).toMatchObject({ leader: -1, isr: [1] });
    // Not yet caught up with the change: wait.
    const early = decideHeartbeat(during, hb(1, 11, during.offset - 1, { wantShutDown: true }), { shutdownOffset: during.offset });
    expect(early.response.shouldShutDown).toBe(false);
    const done = decideHeartbeat(during, hb(1, 11, during.offset, { wantShutDown: true }), { shutdownOffset: during.offset });
    expect(done.response).toMatchObject({ shouldShutDown: true, isFenced: true });
    expect(done.endsSession).toBe(true);
    expect(apply(during, done.records).broker(1)!.fenced).toBe(true);
  });

  it('a fenced broker may shut down at once; records only for unfenced brokers', () => {
    let image = cluster();
    image = apply(image, fenceBrokerRecords(image, 2));
    const d = decideHeartbeat(image, hb(2, 12, 0, { wantShutDown: true }), { shutdownOffset: undefined });
    expect(d.records).toEqual([]);
    expect(d.response.shouldShutDown).toBe(true);
    expect(controlledShutdownRecords(image, 2)).toEqual([]);
  });
});

describe('partition change builder', () => {
  it('keeps a valid leader, elects in replica order otherwise, never empties the ISR, writes nothing for no change', () => {
    const image = cluster();
    const p0 = part(image, 0);
    expect(buildPartitionChange({ topicId: T1, partitionId: 0, current: p0, targetIsr: [1, 2, 3], isAcceptableLeader: () => true })).toBeNull();
    expect(buildPartitionChange({ topicId: T1, partitionId: 0, current: p0, targetIsr: [3, 2], isAcceptableLeader: () => true })).toMatchObject({
      leader: 2,
      isr: [3, 2],
    });
    const empty = buildPartitionChange({ topicId: T1, partitionId: 0, current: p0, targetIsr: [], isAcceptableLeader: () => true });
    expect(empty).toMatchObject({ leader: -1 });
    expect(empty!.isr ?? null).toBeNull();
    expect(leaderAndIsrUpdates(image, { brokerToRemove: -1, brokerToAdd: -1, partitions: 'without-leader' })).toEqual([]);
  });
});
