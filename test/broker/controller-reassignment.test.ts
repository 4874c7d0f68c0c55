// Partition reassignment on the controller (broker/controller/reassignment.ts, the completion in
// broker/controller/partition-change.ts and broker/controller/alter-partition.ts): Kafka's
// replica sets (target first, then the removing ones), validation and error codes, completion at
// once (reorder, shrink) or by AlterPartition once every target replica is in the ISR (leader
// kept, or moved with NEW_LEADER_ELECTED when it is being removed), completion through fencing,
// cancellation (revert, unclean revert refused or allowed), a new target during a reassignment,
// ListPartitionReassignments; then the QuorumController over a real one-voter metadata quorum.
import { afterEach, describe, expect, it } from 'vitest';
import { MetadataImage, replayRecords, type PartitionRegistration } from '../../kraft/image.js';
import { partitionChangeRecord, topicRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode } from '../../wire/errors.js';
import type { AlterPartitionReassignmentsRequest } from '../../wire/generated/messages/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponse } from '../../wire/generated/messages/alter-partition-reassignments-response.js';
import type { AlterPartitionRequest } from '../../wire/generated/messages/alter-partition-request.js';
import { BrokerConfig } from '../../broker/config.js';
import { decideAlterPartition } from '../../broker/controller/alter-partition.js';
import { fenceBrokerRecords } from '../../broker/controller/brokers.js';
import { completeReassignment } from '../../broker/controller/partition-change.js';
import {
  decideAlterPartitionReassignments,
  isReassigning,
  listPartitionReassignments,
  reassignmentReplicas,
  revertReassignment,
  type ReassignmentContext,
} from '../../broker/controller/reassignment.js';
import { startOneVoterController, stopOneVoterControllers, waitUntil, type OneVoterController } from './one-voter-controller.js';
import { brokerRecord, clusterImage, partitionRec, topicConfig, topicRecords, uuid } from '../kraft/helpers.js';

const T1 = uuid(1);
const T2 = uuid(2);
const CLEAN: ReassignmentContext = { uncleanLeaderElectionEnabled: () => false };

function apply(image: MetadataImage, records: readonly ApiMessageAndVersion[]): MetadataImage {
  return replayRecords(image, records, image.offset + 1);
}

/** Brokers 1..5 (epochs 11..15). t1-0 = [1,2,3] led by 1, t1-1 = [2,3,4] led by 2; t2-0 = [3,4] led by 3. */
function image(extra: ApiMessageAndVersion[] = []): MetadataImage {
  return clusterImage(5, [...topicRecords('t1', T1, [[1, 2, 3], [2, 3, 4]]), ...topicRecords('t2', T2, [[3, 4]]), ...extra]);
}

function req(parts: Array<[string, number, number[] | null]>): AlterPartitionReassignmentsRequest {
  const topics: AlterPartitionReassignmentsRequest['topics'] = [];
  for (const [name, partitionIndex, replicas] of parts) {
    let t = topics.find((x) => x.name === name);
    if (t === undefined) topics.push((t = { name, partitions: [] }));
    t.partitions.push({ partitionIndex, replicas });
  }
  return { timeoutMs: 60_000, topics };
}

const codes = (r: AlterPartitionReassignmentsResponse) => r.responses.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]);

/** Applies one reassignment request; returns the new image and the answer. */
function reassign(img: MetadataImage, parts: Array<[string, number, number[] | null]>, ctx = CLEAN) {
  const d = decideAlterPartitionReassignments(img, req(parts), ctx);
  return { d, img: apply(img, d.records) };
}

/** The leader's AlterPartition (v3 unless given) for t1-`partition` with `isr`. */
function alterIsr(img: MetadataImage, partition: number, isr: number[], version = 3) {
  const p = img.partition('t1', partition)!;
  const r: AlterPartitionRequest = {
    brokerId: p.leader,
    brokerEpoch: BigInt(10 + p.leader),
    topics: [
      {
        topicId: T1,
        topicName: 't1',
        partitions: [
          {
            partitionIndex: partition,
            leaderEpoch: p.leaderEpoch,
            partitionEpoch: p.partitionEpoch,
            leaderRecoveryState: 0,
            newIsr: isr,
            newIsrWithEpochs: isr.map((brokerId) => ({ brokerId, brokerEpoch: -1n })),
          },
        ],
      },
    ],
  };
  const d = decideAlterPartition(img, r, version);
  return { d, img: apply(img, d.records), answer: d.response.topics[0]!.partitions[0]! };
}

const shape = (p: PartitionRegistration) => ({ replicas: p.replicas, isr: p.isr, adding: p.addingReplicas, removing: p.removingReplicas, leader: p.leader });

describe('reassignment replica sets (Kafka PartitionReassignmentReplicas / Revert)', () => {
  it('target first, then the removing replicas; adding and removing in id order', () => {
    expect(reassignmentReplicas([1, 2, 3], [4, 3, 2])).toEqual({ replicas: [4, 3, 2, 1], adding: [4], removing: [1] });
    expect(reassignmentReplicas([3, 1, 2], [5, 4, 2])).toEqual({ replicas: [5, 4, 2, 1, 3], adding: [4, 5], removing: [1, 3] });
    expect(reassignmentReplicas([1, 2, 3], [3, 2, 1])).toEqual({ replicas: [3, 2, 1], adding: [], removing: [] });
  });

  it('completion needs every target replica in the ISR minus the removing ones, neither empty', () => {
    expect(completeReassignment([2, 3, 4, 1], [4], [1], [1, 2, 3])).toBeNull();
    expect(completeReassignment([2, 3, 4, 1], [4], [1], [1, 2, 3, 4])).toEqual({ replicas: [2, 3, 4], isr: [2, 3, 4] });
    expect(completeReassignment([2, 1], [], [1], [1])).toBeNull();
    expect(completeReassignment([1, 2, 3], [], [], [1, 2, 3])).toBeNull();
  });

  it('revert: replicas and ISR without the adding ones; an ISR of only adding replicas reverts uncleanly to the first replica', () => {
    const p = { replicas: [2, 3, 4, 1], isr: [1, 2, 3, 4], addingReplicas: [4], removingReplicas: [1] } as unknown as PartitionRegistration;
    expect(revertReassignment(p)).toEqual({ replicas: [2, 3, 1], isr: [1, 2, 3], unclean: false });
    const q = { replicas: [4, 5, 1], isr: [4, 5], addingReplicas: [4, 5], removingReplicas: [1] } as unknown as PartitionRegistration;
    expect(revertReassignment(q)).toEqual({ replicas: [1], isr: [1], unclean: true });
  });
});

describe('AlterPartitionReassignments: starting a reassignment', () => {
  it('a move: replicas = target + removing, adding/removing set, ISR and leader kept; listed until done', () => {
    const { d, img } = reassign(image(), [['t1', 0, [2, 3, 4]]]);
    expect(d.response).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null });
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NONE]]]]);
    expect(d.records).toHaveLength(1);
    const p = img.partition('t1', 0)!;
    expect(shape(p)).toEqual({ replicas: [2, 3, 4, 1], isr: [1, 2, 3], adding: [4], removing: [1], leader: 1 });
    expect(p).toMatchObject({ leaderEpoch: 0, partitionEpoch: 1 });
    expect(isReassigning(p)).toBe(true);
    expect(listPartitionReassignments(img, { timeoutMs: 1, topics: null })).toEqual({
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [{ name: 't1', partitions: [{ partitionIndex: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }] }],
    });
  });

  it('a reorder completes at once: replicas = target, no adding/removing, leader kept', () => {
    const { d, img } = reassign(image(), [['t1', 0, [3, 2, 1]]]);
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NONE]]]]);
    expect(shape(img.partition('t1', 0)!)).toEqual({ replicas: [3, 2, 1], isr: [1, 2, 3], adding: [], removing: [], leader: 1 });
    expect(listPartitionReassignments(img, { timeoutMs: 1, topics: null }).topics).toEqual([]);
  });

  it('a shrink that removes the leader completes at once: ISR ∩ target, the first target replica in the ISR leads (epoch bumped)', () => {
    const { img } = reassign(image(), [['t1', 0, [3, 2]]]);
    const p = img.partition('t1', 0)!;
    expect(shape(p)).toEqual({ replicas: [3, 2], isr: [2, 3], adding: [], removing: [], leader: 3 });
    expect(p.leaderEpoch).toBe(1);
  });

  it('nothing to add but a target replica out of the ISR: waits (Kafka), and completes when it rejoins', () => {
    const base = image([partitionChangeRecord({ topicId: T1, partitionId: 0, isr: [1, 2] })]);
    const { img } = reassign(base, [['t1', 0, [1, 3]]]);
    expect(shape(img.partition('t1', 0)!)).toEqual({ replicas: [1, 3, 2], isr: [1, 2], adding: [], removing: [2], leader: 1 });
    const done = alterIsr(img, 0, [1, 2, 3]);
    expect(done.answer).toMatchObject({ errorCode: ErrorCode.NONE, leaderId: 1, isr: [1, 3] });
    expect(shape(done.img.partition('t1', 0)!)).toEqual({ replicas: [1, 3], isr: [1, 3], adding: [], removing: [], leader: 1 });
  });

  it('the same replicas as now, no reassignment in progress: NONE and no record', () => {
    const d = decideAlterPartitionReassignments(image(), req([['t1', 0, [1, 2, 3]]]), CLEAN);
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NONE]]]]);
    expect(d.records).toEqual([]);
  });
});

describe('AlterPartitionReassignments: bad input', () => {
  it('unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION with a message; the other partitions are still decided', () => {
    const d = decideAlterPartitionReassignments(image(), req([['nope', 0, [1]], ['t1', 7, [1, 2]], ['t1', 1, [2, 3, 5]], ['nope', 1, null]]), CLEAN);
    expect(codes(d.response)).toEqual([
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ['t1', [[7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [1, ErrorCode.NONE]]],
    ]);
    expect(d.response.responses[0]!.partitions[0]!.errorMessage).toMatch(/nope/);
    expect(d.response.responses[1]!.partitions[0]!.errorMessage).toMatch(/t1:7/);
    expect(d.records).toHaveLength(1);
  });

  it('empty, duplicate, unregistered or negative replicas: INVALID_REPLICA_ASSIGNMENT, no record', () => {
    for (const [target, message] of [
      [[], /empty replica list/],
      [[2, 3, 2], /broker 2 more than once/],
      [[2, 9], /broker 9, but no such broker is registered/],
      [[-1, 2], /broker -1, but no such broker/],
    ] as const) {
      const d = decideAlterPartitionReassignments(image(), req([['t1', 0, [...target]]]), CLEAN);
      expect(codes(d.response), JSON.stringify(target)).toEqual([['t1', [[0, ErrorCode.INVALID_REPLICA_ASSIGNMENT]]]]);
      expect(d.response.responses[0]!.partitions[0]!.errorMessage).toMatch(message);
      expect(d.records).toEqual([]);
    }
  });

  it('a fenced broker is registered: it may be a target (it catches up once back)', () => {
    const img = image(fenceBrokerRecords(image(), 5));
    expect(img.broker(5)!.fenced).toBe(true);
    const { d } = reassign(img, [['t1', 0, [1, 2, 5]]]);
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NONE]]]]);
  });

  it('cancel with nothing in progress: NO_REASSIGNMENT_IN_PROGRESS', () => {
    const d = decideAlterPartitionReassignments(image(), req([['t1', 0, null]]), CLEAN);
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]]]);
    expect(d.records).toEqual([]);
  });
});

describe('completing a reassignment', () => {
  it('AlterPartition adding the new replica completes it; the leader being removed gets NEW_LEADER_ELECTED (v2+) and a target replica leads', () => {
    const started = reassign(image(), [['t1', 0, [2, 3, 4]]]).img;
    // Not yet: 4 is not in the new ISR.
    const shrink = alterIsr(started, 0, [1, 2]);
    expect(shrink.answer).toMatchObject({ errorCode: ErrorCode.NONE, isr: [1, 2] });
    expect(isReassigning(shrink.img.partition('t1', 0)!)).toBe(true);
    // Every target replica in the ISR: done.
    const done = alterIsr(started, 0, [1, 2, 3, 4]);
    expect(done.d.records).toHaveLength(1);
    expect(done.answer.errorCode).toBe(ErrorCode.NEW_LEADER_ELECTED);
    const p = done.img.partition('t1', 0)!;
    expect(shape(p)).toEqual({ replicas: [2, 3, 4], isr: [2, 3, 4], adding: [], removing: [], leader: 2 });
    expect(p.leaderEpoch).toBe(1);
    expect(listPartitionReassignments(done.img, { timeoutMs: 1, topics: null }).topics).toEqual([]);
    // v0–1: FENCED_LEADER_EPOCH.
    expect(alterIsr(started, 0, [1, 2, 3, 4], 1).answer.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  });

  it('the leader stays a replica: it keeps leading and is answered with the completed ISR', () => {
    const started = reassign(image(), [['t1', 0, [1, 2, 4]]]).img;
    expect(shape(started.partition('t1', 0)!)).toEqual({ replicas: [1, 2, 4, 3], isr: [1, 2, 3], adding: [4], removing: [3], leader: 1 });
    const done = alterIsr(started, 0, [1, 2, 3, 4]);
    expect(done.answer).toMatchObject({ errorCode: ErrorCode.NONE, leaderId: 1, leaderEpoch: 0, isr: [1, 2, 4] });
    expect(shape(done.img.partition('t1', 0)!)).toEqual({ replicas: [1, 2, 4], isr: [1, 2, 4], adding: [], removing: [], leader: 1 });
  });

  it('an expansion (nothing removed) completes when the new replicas are in the ISR', () => {
    const started = reassign(image(), [['t1', 0, [1, 2, 3, 4, 5]]]).img;
    expect(shape(started.partition('t1', 0)!)).toEqual({ replicas: [1, 2, 3, 4, 5], isr: [1, 2, 3], adding: [4, 5], removing: [], leader: 1 });
    const half = alterIsr(started, 0, [1, 2, 3, 4]);
    expect(shape(half.img.partition('t1', 0)!)).toMatchObject({ adding: [4, 5], isr: [1, 2, 3, 4] });
    const done = alterIsr(half.img, 0, [1, 2, 3, 4, 5]);
    expect(shape(done.img.partition('t1', 0)!)).toEqual({ replicas: [1, 2, 3, 4, 5], isr: [1, 2, 3, 4, 5], adding: [], removing: [], leader: 1 });
  });

  it('through fencing: the ISR change that leaves every target replica in it completes the reassignment', () => {
    // A reassignment whose ISR already holds the target and a removing replica (e.g. written by an
    // older controller); fencing the removing leader completes it and moves the leadership.
    const img = image([partitionChangeRecord({ topicId: T1, partitionId: 0, replicas: [2, 3, 4, 1], isr: [1, 2, 3, 4], addingReplicas: [4], removingReplicas: [1] })]);
    const fenced = apply(img, fenceBrokerRecords(img, 1));
    expect(shape(fenced.partition('t1', 0)!)).toEqual({ replicas: [2, 3, 4], isr: [2, 3, 4], adding: [], removing: [], leader: 2 });
  });

  it('fencing an adding replica does not complete it', () => {
    const started = alterIsr(reassign(image(), [['t1', 0, [1, 2, 3, 4, 5]]]).img, 0, [1, 2, 3, 4]).img;
    const fenced = apply(started, fenceBrokerRecords(started, 4));
    expect(shape(fenced.partition('t1', 0)!)).toEqual({ replicas: [1, 2, 3, 4, 5], isr: [1, 2, 3], adding: [4, 5], removing: [], leader: 1 });
  });
});

describe('cancelling and changing a reassignment', () => {
  it('cancel: the adding replicas leave the replicas and the ISR, removing/adding cleared, the leader kept', () => {
    const started = alterIsr(reassign(image(), [['t1', 0, [2, 3, 4, 5]]]).img, 0, [1, 2, 3, 4]).img;
    expect(shape(started.partition('t1', 0)!)).toEqual({ replicas: [2, 3, 4, 5, 1], isr: [1, 2, 3, 4], adding: [4, 5], removing: [1], leader: 1 });
    const { d, img } = reassign(started, [['t1', 0, null]]);
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NONE]]]]);
    expect(shape(img.partition('t1', 0)!)).toEqual({ replicas: [2, 3, 1], isr: [1, 2, 3], adding: [], removing: [], leader: 1 });
    // Nothing left to cancel.
    expect(codes(reassign(img, [['t1', 0, null]]).d.response)).toEqual([['t1', [[0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]]]]);
  });

  it('cancel when only adding replicas are in the ISR: INVALID_REPLICA_ASSIGNMENT unless unclean leader election is enabled', () => {
    const img = image([partitionChangeRecord({ topicId: T2, partitionId: 0, replicas: [4, 5, 3], isr: [4, 5], leader: 4, addingReplicas: [4, 5], removingReplicas: [3] })]);
    const refused = reassign(img, [['t2', 0, null]]);
    expect(codes(refused.d.response)).toEqual([['t2', [[0, ErrorCode.INVALID_REPLICA_ASSIGNMENT]]]]);
    expect(refused.d.response.responses[0]!.partitions[0]!.errorMessage).toMatch(/unclean leader election/);
    expect(refused.d.records).toEqual([]);
    const allowed = reassign(img, [['t2', 0, null]], { uncleanLeaderElectionEnabled: (t) => t === 't2' });
    expect(codes(allowed.d.response)).toEqual([['t2', [[0, ErrorCode.NONE]]]]);
    expect(shape(allowed.img.partition('t2', 0)!)).toEqual({ replicas: [3], isr: [3], adding: [], removing: [], leader: 3 });
  });

  it('a new target during a reassignment is computed against the current (merged) replicas', () => {
    const started = reassign(image(), [['t1', 0, [2, 3, 4]]]).img;
    // Back to the original set: 4 is removed, nothing added → complete at once.
    const back = reassign(started, [['t1', 0, [1, 2, 3]]]).img;
    expect(shape(back.partition('t1', 0)!)).toEqual({ replicas: [1, 2, 3], isr: [1, 2, 3], adding: [], removing: [], leader: 1 });
    // Somewhere else: 5 added, 1 and 4 removed.
    const other = reassign(started, [['t1', 0, [2, 3, 5]]]).img;
    expect(shape(other.partition('t1', 0)!)).toEqual({ replicas: [2, 3, 5, 1, 4], isr: [1, 2, 3], adding: [5], removing: [1, 4], leader: 1 });
  });

  it('a partition named twice: the second decision builds on the first', () => {
    const { d, img } = reassign(image(), [['t1', 0, [2, 3, 4]], ['t1', 0, null]]);
    expect(codes(d.response)).toEqual([['t1', [[0, ErrorCode.NONE], [0, ErrorCode.NONE]]]]);
    expect(d.records).toHaveLength(2);
    expect(shape(img.partition('t1', 0)!)).toEqual({ replicas: [2, 3, 1], isr: [1, 2, 3], adding: [], removing: [], leader: 1 });
  });
});

describe('ListPartitionReassignments', () => {
  it('all, or the named partitions; unknown topics/partitions and partitions not being reassigned are left out', () => {
    const img = reassign(image(), [['t1', 1, [2, 3, 5]], ['t2', 0, [4, 5]], ['t1', 0, [3, 2, 1]]]).img;
    const all = listPartitionReassignments(img, { timeoutMs: 1, topics: null });
    expect(all.topics).toEqual([
      { name: 't1', partitions: [{ partitionIndex: 1, replicas: [2, 3, 5, 4], addingReplicas: [5], removingReplicas: [4] }] },
      { name: 't2', partitions: [{ partitionIndex: 0, replicas: [4, 5, 3], addingReplicas: [5], removingReplicas: [3] }] },
    ]);
    const named = listPartitionReassignments(img, {
      timeoutMs: 1,
      topics: [
        { name: 't2', partitionIndexes: [0, 3] },
        { name: 'nope', partitionIndexes: [0] },
        { name: 't1', partitionIndexes: [0] },
      ],
    });
    expect(named).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [all.topics[1]] });
    expect(listPartitionReassignments(image(), { timeoutMs: 1, topics: [] }).topics).toEqual([]);
  });
});

// ---------------------------------------------------------------- QuorumController

afterEach(stopOneVoterControllers);

/** Brokers 1..3; t-0 = [1,2] led by 1; u-0 = [3] whose reassignment only has adding replicas in its ISR. */
function oneVoter(overrides: Record<string, string> = {}): Promise<OneVoterController> {
  return startOneVoterController({ 'auto.leader.rebalance.enable': 'false', ...overrides }, [
    brokerRecord(1),
    brokerRecord(2),
    brokerRecord(3),
    ...topicRecords('t', T1, [[1, 2]]),
    topicRecord({ name: 'u', topicId: T2 }),
    partitionRec(T2, 0, [1, 2, 3], { isr: [1, 2], leader: 1 }),
    partitionChangeRecord({ topicId: T2, partitionId: 0, addingReplicas: [1, 2], removingReplicas: [] }),
  ]);
}

describe('QuorumController: AlterPartitionReassignments and ListPartitionReassignments', { timeout: 20_000 }, () => {
  it('commits the reassignment, lists it, cancels it; a stopped controller answers NOT_CONTROLLER', async () => {
    const { quorum, controller } = await oneVoter();
    const res = await controller.alterPartitionReassignments(req([['t', 0, [2, 3]], ['nope', 0, [1]]]));
    expect(codes(res)).toEqual([['t', [[0, ErrorCode.NONE]]], ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]]);
    expect(shape(quorum.image.partition('t', 0)!)).toEqual({ replicas: [2, 3, 1], isr: [1, 2], adding: [3], removing: [1], leader: 1 });
    const listed = await controller.listPartitionReassignments({ timeoutMs: 1_000, topics: [{ name: 't', partitionIndexes: [0] }] });
    expect(listed.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] }] }]);
    expect(codes(await controller.alterPartitionReassignments(req([['t', 0, null]])))).toEqual([['t', [[0, ErrorCode.NONE]]]]);
    expect(shape(quorum.image.partition('t', 0)!)).toEqual({ replicas: [2, 1], isr: [1, 2], adding: [], removing: [], leader: 1 });
    controller.stop();
    const refused = await controller.alterPartitionReassignments(req([['t', 0, [1]]]));
    expect(refused.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    expect(codes(refused)).toEqual([['t', [[0, ErrorCode.NOT_CONTROLLER]]]]);
    expect((await controller.listPartitionReassignments({ timeoutMs: 1, topics: null })).errorCode).toBe(ErrorCode.NOT_CONTROLLER);
  });

  it('an unclean revert follows the topic config unclean.leader.election.enable (then the broker default)', async () => {
    const { quorum, controller } = await oneVoter();
    expect(codes(await controller.alterPartitionReassignments(req([['u', 0, null]])))).toEqual([['u', [[0, ErrorCode.INVALID_REPLICA_ASSIGNMENT]]]]);
    await quorum.commit([topicConfig('u', 'unclean.leader.election.enable', 'true')]);
    expect(codes(await controller.alterPartitionReassignments(req([['u', 0, null]])))).toEqual([['u', [[0, ErrorCode.NONE]]]]);
    expect(shape(quorum.image.partition('u', 0)!)).toEqual({ replicas: [3], isr: [3], adding: [], removing: [], leader: 3 });
  });
});
