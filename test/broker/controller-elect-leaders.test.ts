// ElectLeaders on the controller (broker/controller/elect-leaders.ts): preferred and unclean
// elections with Kafka's per-partition error codes, all partitions (null), bad election types,
// the version differences, and the automatic rebalancing run (balancePartitionLeaders); then the
// QuorumController over a real one-voter metadata quorum: ElectLeaders commits, the periodic
// rebalance moves leadership back (or not, when disabled), a stopped controller answers
// NOT_CONTROLLER.
import { afterEach, describe, expect, it } from 'vitest';
import { LEADER_RECOVERED, LEADER_RECOVERING, MetadataImage, replayRecords } from '../../kraft/image.js';
import { brokerRegistrationChangeRecord, partitionChangeRecord, topicRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode, errorMessage } from '../../wire/errors.js';
import type { ElectLeadersRequest } from '../../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../../wire/generated/messages/elect-leaders-response.js';
import { BrokerConfig } from '../../broker/config.js';
import { balancePartitionLeaders, decideElectLeaders } from '../../broker/controller/elect-leaders.js';
import { startOneVoterController, stopOneVoterController, stopOneVoterControllers, waitUntil, type OneVoterController } from './one-voter-controller.js';
import { brokerRecord, clusterImage, partitionRec, topicRecords, uuid } from '../kraft/helpers.js';

const T1 = uuid(1);
const T2 = uuid(2);

function apply(image: MetadataImage, records: readonly ApiMessageAndVersion[]): MetadataImage {
  return replayRecords(image, records, image.offset + 1);
}

const fence = (id: number): ApiMessageAndVersion => brokerRegistrationChangeRecord({ brokerId: id, brokerEpoch: BigInt(10 + id), fenced: 1, inControlledShutdown: 0 });
const shuttingDown = (id: number): ApiMessageAndVersion => brokerRegistrationChangeRecord({ brokerId: id, brokerEpoch: BigInt(10 + id), fenced: 0, inControlledShutdown: 1 });

/**
 * Brokers 1..4 (epochs 11..14). t1-0 = [1,2,3] led by 2 (not preferred); t1-1 = [2,3,1] led by
 * 2 (preferred); t1-2 = [3,1,2] ISR [1,2] led by 1 (preferred out of the ISR).
 */
function image(extra: ApiMessageAndVersion[] = []): MetadataImage {
  return clusterImage(4, [
    topicRecord({ name: 't1', topicId: T1 }),
    partitionRec(T1, 0, [1, 2, 3], { leader: 2 }),
    partitionRec(T1, 1, [2, 3, 1]),
    partitionRec(T1, 2, [3, 1, 2], { isr: [1, 2], leader: 1 }),
    ...extra,
  ]);
}

function req(electionType: number, topicPartitions: Array<[string, number[]]> | null): ElectLeadersRequest {
  return { electionType, topicPartitions: topicPartitions === null ? null : topicPartitions.map(([topic, partitions]) => ({ topic, partitions })), timeoutMs: 60_000 };
}

const results = (r: ElectLeadersResponse) => r.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => [p.partitionId, p.errorCode])]);
const codeOf = (img: MetadataImage, type: number, topic: string, partition: number, version = 2) =>
  decideElectLeaders(img, req(type, [[topic, [partition]]]), version).response.replicaElectionResults[0]!.partitionResult[0]!.errorCode;

describe('ElectLeaders PREFERRED (type 0)', () => {
  it('moves leadership to the first replica when it is in the ISR and active: one record, leader epoch bumped, ISR kept', () => {
    const img = image();
    const d = decideElectLeaders(img, req(0, [['t1', [0]]]), 2);
    expect(d.response.errorCode).toBe(ErrorCode.NONE);
    expect(d.response.replicaElectionResults).toEqual([{ topic: 't1', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.NONE, errorMessage: null }] }]);
    expect(d.records).toHaveLength(1);
    const after = apply(img, d.records).partition('t1', 0)!;
    expect(after).toMatchObject({ leader: 1, leaderEpoch: 1, partitionEpoch: 1, isr: [1, 2, 3], leaderRecoveryState: LEADER_RECOVERED });
    // Again: the first replica leads now.
    expect(codeOf(apply(img, d.records), 0, 't1', 0)).toBe(ErrorCode.ELECTION_NOT_NEEDED);
  });

  it('the preferred replica already leads: ELECTION_NOT_NEEDED (with Kafka message), no record', () => {
    const d = decideElectLeaders(image(), req(0, [['t1', [1]]]), 2);
    expect(d.records).toEqual([]);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]).toEqual({ partitionId: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: errorMessage(ErrorCode.ELECTION_NOT_NEEDED) });
  });

  it('the preferred replica out of the ISR, fenced, shutting down or unregistered: PREFERRED_LEADER_NOT_AVAILABLE, no record', () => {
    expect(codeOf(image(), 0, 't1', 2)).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    for (const extra of [[fence(1)], [shuttingDown(1)]]) {
      const d = decideElectLeaders(image(extra), req(0, [['t1', [0]]]), 2);
      expect(d.records).toEqual([]);
      expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    }
    // Replica 9 was never registered.
    const img = clusterImage(4, [topicRecord({ name: 'x', topicId: T2 }), partitionRec(T2, 0, [9, 2], { leader: 2 })]);
    expect(codeOf(img, 0, 'x', 0)).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  });

  it('a leaderless partition whose first replica cannot lead gets another ISR member (Kafka electPreferredLeader)', () => {
    const img = image([fence(1), partitionChangeRecord({ topicId: T1, partitionId: 0, leader: -1 })]);
    expect(img.partition('t1', 0)!.leader).toBe(-1);
    const d = decideElectLeaders(img, req(0, [['t1', [0]]]), 2);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(apply(img, d.records).partition('t1', 0)!.leader).toBe(2);
  });

  it('v0 has no election type: always preferred, whatever the struct carries', () => {
    const d = decideElectLeaders(image(), req(7, [['t1', [0]]]), 0);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(d.records).toHaveLength(1);
    // An absent electionType (as a v0 decode might leave it) is preferred too.
    const noType = decideElectLeaders(image(), { topicPartitions: [{ topic: 't1', partitions: [0] }], timeoutMs: 1 }, 1);
    expect(noType.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('ElectLeaders UNCLEAN (type 1)', () => {
  it('a partition with a leader: ELECTION_NOT_NEEDED', () => {
    expect(codeOf(image(), 1, 't1', 0)).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    expect(codeOf(image(), 1, 't1', 1)).toBe(ErrorCode.ELECTION_NOT_NEEDED);
  });

  it('leaderless with an active ISR member: that member leads, cleanly (ISR and recovery state kept)', () => {
    // ISR [1,2] leaderless (a leadership hole the controller did not fill yet).
    const img = image([partitionChangeRecord({ topicId: T1, partitionId: 2, leader: -1 })]);
    const d = decideElectLeaders(img, req(1, [['t1', [2]]]), 2);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.NONE);
    const after = apply(img, d.records).partition('t1', 2)!;
    expect(after).toMatchObject({ leader: 1, isr: [1, 2], leaderRecoveryState: LEADER_RECOVERED });
  });

  it('leaderless, its last ISR member fenced: the first active replica leads, ISR = [it], RECOVERING', () => {
    // t1-0 = [1,2,3]; ISR shrinks to [3], then 3 is fenced: leaderless with ISR [3].
    const img = image([partitionChangeRecord({ topicId: T1, partitionId: 0, isr: [3], leader: 3 }), fence(3), partitionChangeRecord({ topicId: T1, partitionId: 0, leader: -1 })]);
    expect(img.partition('t1', 0)).toMatchObject({ leader: -1, isr: [3] });
    // A preferred election cannot help (1 is not in the ISR).
    expect(codeOf(img, 0, 't1', 0)).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    const d = decideElectLeaders(img, req(1, [['t1', [0]]]), 2);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]).toEqual({ partitionId: 0, errorCode: ErrorCode.NONE, errorMessage: null });
    const after = apply(img, d.records).partition('t1', 0)!;
    expect(after).toMatchObject({ leader: 1, isr: [1], leaderRecoveryState: LEADER_RECOVERING });
    expect(after.leaderEpoch).toBe(img.partition('t1', 0)!.leaderEpoch + 1);
  });

  it('leaderless and no replica may lead: ELIGIBLE_LEADERS_NOT_AVAILABLE, no record', () => {
    const img = image([partitionChangeRecord({ topicId: T1, partitionId: 0, isr: [3], leader: 3 }), fence(3), partitionChangeRecord({ topicId: T1, partitionId: 0, leader: -1 }), fence(1), shuttingDown(2)]);
    const d = decideElectLeaders(img, req(1, [['t1', [0]]]), 2);
    expect(d.records).toEqual([]);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  });
});

describe('ElectLeaders: names, bad input, all partitions', () => {
  it('unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION per partition, others still elected', () => {
    const d = decideElectLeaders(image(), req(0, [['nope', [0, 1]], ['t1', [9, 0]]]), 2);
    expect(results(d.response)).toEqual([
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ['t1', [[9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [0, ErrorCode.NONE]]],
    ]);
    expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).toBe('No such topic as nope');
    expect(d.response.replicaElectionResults[1]!.partitionResult[0]!.errorMessage).toBe('No such partition as t1-9');
    expect(d.records).toHaveLength(1);
  });

  it('an unknown election type (v1, v2): top-level INVALID_REQUEST and every named partition, nothing elected', () => {
    for (const type of [2, -1, 127]) {
      for (const version of [1, 2]) {
        const d = decideElectLeaders(image(), req(type, [['t1', [0, 1]], ['nope', [3]]]), version);
        expect(d.records).toEqual([]);
        expect(d.response.errorCode).toBe(ErrorCode.INVALID_REQUEST);
        expect(results(d.response)).toEqual([
          ['t1', [[0, ErrorCode.INVALID_REQUEST], [1, ErrorCode.INVALID_REQUEST]]],
          ['nope', [[3, ErrorCode.INVALID_REQUEST]]],
        ]);
        expect(d.response.replicaElectionResults[0]!.partitionResult[0]!.errorMessage).toBe(`Unknown election type ${type}`);
      }
    }
    const all = decideElectLeaders(image(), req(5, null), 2);
    expect(all.response).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] });
  });

  it('a partition named twice is elected once; the second answer sees the change', () => {
    const img = image();
    const d = decideElectLeaders(img, req(0, [['t1', [0, 0]], ['t1', [0]]]), 2);
    expect(d.records).toHaveLength(1);
    expect(results(d.response)).toEqual([
      ['t1', [[0, ErrorCode.NONE], [0, ErrorCode.ELECTION_NOT_NEEDED]]],
      ['t1', [[0, ErrorCode.ELECTION_NOT_NEEDED]]],
    ]);
    expect(apply(img, d.records).partition('t1', 0)!.leaderEpoch).toBe(1);
  });

  it('topicPartitions null: every topic (by name) and partition; partitions whose election was not needed are left out', () => {
    const img = image([topicRecord({ name: 'a-empty', topicId: T2 }), partitionRec(T2, 0, [4, 1])]);
    const d = decideElectLeaders(img, req(0, null), 2);
    expect(results(d.response)).toEqual([
      ['a-empty', []],
      ['t1', [[0, ErrorCode.NONE], [2, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]],
    ]);
    expect(d.records).toHaveLength(1);
    // Unclean over everything: every partition has a leader, so nothing is listed.
    const u = decideElectLeaders(img, req(1, null), 2);
    expect(results(u.response)).toEqual([['a-empty', []], ['t1', []]]);
    expect(u.records).toEqual([]);
    // An empty cluster: no topics.
    expect(decideElectLeaders(clusterImage(1), req(0, null), 2).response.replicaElectionResults).toEqual([]);
  });

  it('empty topic and partition lists: an empty answer', () => {
    expect(decideElectLeaders(image(), req(0, []), 2).response).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: [] });
    expect(results(decideElectLeaders(image(), req(0, [['t1', []]]), 2).response)).toEqual([['t1', []]]);
  });
});

describe('automatic rebalancing run (balancePartitionLeaders)', () => {
  it('moves every partition whose preferred replica is in the ISR and active; leaves the others; nothing when balanced', () => {
    const img = image([fence(4), topicRecord({ name: 't0', topicId: T2 }), partitionRec(T2, 0, [4, 1], { leader: 1 }), partitionRec(T2, 1, [2, 1], { leader: 1 })]);
    const r = balancePartitionLeaders(img);
    expect(r.more).toBe(false);
    const after = apply(img, r.records);
    // t0-0: 4 is fenced, stays with 1; t0-1 → 2; t1-0 → 1; t1-2: 3 is not in the ISR, stays with 1.
    expect([after.partition('t0', 0)!.leader, after.partition('t0', 1)!.leader, after.partition('t1', 0)!.leader, after.partition('t1', 2)!.leader]).toEqual([1, 2, 1, 1]);
    expect(r.records).toHaveLength(2);
    expect(balancePartitionLeaders(after)).toEqual({ records: [], more: false });
  });

  it('stops at the bound and says there is more; the next run does the rest', () => {
    const parts = Array.from({ length: 5 }, (_, i) => partitionRec(T2, i, [1, 2], { leader: 2 }));
    const img = clusterImage(2, [topicRecord({ name: 'many', topicId: T2 }), ...parts]);
    const first = balancePartitionLeaders(img, 3);
    expect(first.records).toHaveLength(3);
    expect(first.more).toBe(true);
    const second = balancePartitionLeaders(apply(img, first.records), 3);
    expect(second.records).toHaveLength(2);
    expect(second.more).toBe(false);
    const done = apply(apply(img, first.records), second.records);
    expect([...done.topicByName('many')!.partitions.values()].every((p) => p.leader === 1)).toBe(true);
  });
});

describe('rebalancing configs', () => {
  it("Kafka's names and defaults; overridable by KAFKA_* env; a non-integer interval is refused", () => {
    const d = BrokerConfig.load({});
    expect([d.bool('auto.leader.rebalance.enable'), d.int('leader.imbalance.check.interval.seconds'), d.int('leader.imbalance.per.broker.percentage')]).toEqual([true, 300, 10]);
    const e = BrokerConfig.load({ env: { KAFKA_AUTO_LEADER_REBALANCE_ENABLE: 'false', KAFKA_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS: '2' } });
    expect([e.bool('auto.leader.rebalance.enable'), e.int('leader.imbalance.check.interval.seconds')]).toEqual([false, 2]);
    expect(() => BrokerConfig.load({ env: { KAFKA_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS: '0.5' } })).toThrow(/not an integer/);
    expect(() => BrokerConfig.load({ env: { KAFKA_AUTO_LEADER_REBALANCE_ENABLE: 'yes' } })).toThrow(/not a boolean/);
  });
});

// ---------------------------------------------------------------- QuorumController, one voter

afterEach(stopOneVoterControllers);

/** Brokers 1..3 and t = [1,2,3] led by 2 (preferred 1 is in the ISR and active). */
function oneVoter(overrides: Record<string, string>): Promise<OneVoterController> {
  return startOneVoterController(overrides, [brokerRecord(1), brokerRecord(2), brokerRecord(3), ...topicRecords('t', T1, []), partitionRec(T1, 0, [1, 2, 3], { leader: 2 })]);
}

describe('QuorumController: ElectLeaders and automatic rebalancing', { timeout: 20_000 }, () => {
  it('ElectLeaders commits the election; a second one is not needed; a stopped controller answers NOT_CONTROLLER', async () => {
    const { quorum, controller } = await oneVoter({ 'auto.leader.rebalance.enable': 'false' });
    const res = await controller.electLeaders(req(0, [['t', [0]]]), 2);
    expect(results(res)).toEqual([['t', [[0, ErrorCode.NONE]]]]);
    expect(quorum.image.partition('t', 0)!.leader).toBe(1);
    expect(results(await controller.electLeaders(req(0, [['t', [0]]]), 2))).toEqual([['t', [[0, ErrorCode.ELECTION_NOT_NEEDED]]]]);
    controller.stop();
    const refused = await controller.electLeaders(req(0, [['t', [0]], ['u', [1, 2]]]), 2);
    expect(refused.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    expect(results(refused)).toEqual([['t', [[0, ErrorCode.NOT_CONTROLLER]]], ['u', [[1, ErrorCode.NOT_CONTROLLER], [2, ErrorCode.NOT_CONTROLLER]]]]);
  });

  it('auto.leader.rebalance.enable: the preferred replica leads again within the check interval (1 s)', async () => {
    const { quorum } = await oneVoter({ 'leader.imbalance.check.interval.seconds': '1' });
    expect(quorum.image.partition('t', 0)!.leader).toBe(2);
    const started = Date.now();
    await waitUntil('the preferred replica leads', () => quorum.image.partition('t', 0)!.leader === 1, 4_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The next imbalance (leadership moved away again) is corrected by a later run.
    await quorum.commit([partitionChangeRecord({ topicId: T1, partitionId: 0, leader: 3 })]);
    await waitUntil('the preferred replica leads again', () => quorum.image.partition('t', 0)!.leader === 1, 4_000);
  });

  it('disabled (auto.leader.rebalance.enable=false), or the interval not reached: leadership stays', async () => {
    const off = await oneVoter({ 'auto.leader.rebalance.enable': 'false', 'leader.imbalance.check.interval.seconds': '1' });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(off.quorum.image.partition('t', 0)!.leader).toBe(2);
    await stopOneVoterController(off);
    // Default interval (300 s): nothing moves in the first seconds.
    const slow = await oneVoter({});
    await new Promise((r) => setTimeout(r, 1_500));
    expect(slow.quorum.image.partition('t', 0)!.leader).toBe(2);
  });
});
