// AlterPartition on the controller (broker/controller/alter-partition.ts): Kafka's validation
// order and error codes, the change record, and the answer with the partition after the change.
import { describe, expect, it } from 'vitest';
import { MetadataImage, replayRecords } from '../../kraft/image.js';
import { brokerRegistrationChangeRecord, partitionChangeRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode } from '../../wire/errors.js';
import type { AlterPartitionRequest } from '../../wire/generated/messages/alter-partition-request.js';
import { decideAlterPartition } from '../../broker/controller/alter-partition.js';
import { clusterImage, topicRecords, uuid } from '../kraft/helpers.js';

const T1 = uuid(1);

function apply(image: MetadataImage, records: readonly ApiMessageAndVersion[]): MetadataImage {
  return replayRecords(image, records, image.offset + 1);
}

/** Brokers 1..4 (epochs 11..14); t1-0 = [1,2,3] led by 1, t1-1 = [2,3] led by 2. */
function image(): MetadataImage {
  return clusterImage(4, topicRecords('t1', T1, [[1, 2, 3], [2, 3]]));
}

function req(
  partition: Partial<AlterPartitionRequest['topics'][number]['partitions'][number]> & { newIsr?: number[] },
  opts: { brokerId?: number; brokerEpoch?: number; topicId?: string; topicName?: string } = {},
): AlterPartitionRequest {
  return {
    brokerId: opts.brokerId ?? 1,
    brokerEpoch: BigInt(opts.brokerEpoch ?? 11),
    topics: [
      {
        topicId: opts.topicId ?? T1,
        topicName: opts.topicName ?? 't1',
        partitions: [
          {
            partitionIndex: 0,
            leaderEpoch: 0,
            partitionEpoch: 0,
            leaderRecoveryState: 0,
            ...partition,
            newIsrWithEpochs: partition.newIsrWithEpochs ?? (partition.newIsr ?? [1, 2]).map((brokerId) => ({ brokerId, brokerEpoch: -1n })),
          },
        ],
      },
    ],
  };
}

const errorOf = (img: MetadataImage, r: AlterPartitionRequest, version = 3) => decideAlterPartition(img, r, version).response.topics[0]!.partitions[0]!.errorCode;

describe('AlterPartition on the controller', () => {
  it('shrinks the ISR: one PartitionChangeRecord, partition epoch bumped, leader and leader epoch kept', () => {
    const img = image();
    const d = decideAlterPartition(img, req({ newIsr: [1, 3] }), 3);
    expect(d.response.errorCode).toBe(ErrorCode.NONE);
    expect(d.records).toHaveLength(1);
    const p = d.response.topics[0]!.partitions[0]!;
    expect(p).toMatchObject({ errorCode: ErrorCode.NONE, leaderId: 1, leaderEpoch: 0, isr: [1, 3], partitionEpoch: 1 });
    const after = apply(img, d.records).partition('t1', 0)!;
    expect(after).toMatchObject({ leader: 1, leaderEpoch: 0, isr: [1, 3], partitionEpoch: 1 });
    // The same ISR again: nothing to write, the current state answered.
    const again = decideAlterPartition(apply(img, d.records), req({ newIsr: [1, 3], partitionEpoch: 1 }), 3);
    expect(again.records).toEqual([]);
    expect(again.response.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, partitionEpoch: 1 });
  });

  it('epoch checks: stale broker epoch, stale and future leader/partition epochs', () => {
    const img = image();
    expect(decideAlterPartition(img, req({}, { brokerEpoch: 99 }), 3).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(decideAlterPartition(img, req({}, { brokerId: 9 }), 3).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(errorOf(img, req({ leaderEpoch: 1 }))).toBe(ErrorCode.NOT_CONTROLLER);
    expect(errorOf(img, req({ partitionEpoch: 1 }))).toBe(ErrorCode.NOT_CONTROLLER);
    const bumped = apply(img, decideAlterPartition(img, req({ newIsr: [1, 3] }), 3).records);
    expect(errorOf(bumped, req({ newIsr: [1] }))).toBe(ErrorCode.INVALID_UPDATE_VERSION);
  });

  it('a request from a leader of an older epoch is FENCED_LEADER_EPOCH; from a non-leader INVALID_REQUEST', () => {
    const img = image();
    // Leadership moves to 2 (leader epoch 1).
    const moved = apply(img, [partitionChangeRecord({ topicId: T1, partitionId: 0, leader: 2 })]);
    expect(moved.partition('t1', 0)!.leaderEpoch).toBe(1);
    expect(errorOf(moved, req({ leaderEpoch: 0, partitionEpoch: 1 }))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(errorOf(moved, req({ leaderEpoch: 1, partitionEpoch: 1 }, { brokerId: 1 }))).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('ISR shape: outside the replicas, duplicated, or without the leader ⇒ INVALID_REQUEST', () => {
    const img = image();
    expect(errorOf(img, req({ newIsr: [1, 4] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(errorOf(img, req({ newIsr: [1, 1] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(errorOf(img, req({ newIsr: [2, 3] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(errorOf(img, req({ newIsr: [1, 2], leaderRecoveryState: 1 }))).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('ineligible replicas (fenced, shutting down, wrong broker epoch): INELIGIBLE_REPLICA (v2+), OPERATION_NOT_ATTEMPTED (v0-1)', () => {
    const img = apply(image(), [brokerRegistrationChangeRecord({ brokerId: 3, brokerEpoch: 13n, fenced: 1, inControlledShutdown: 0 })]);
    expect(errorOf(img, req({ newIsr: [1, 3] }))).toBe(ErrorCode.INELIGIBLE_REPLICA);
    expect(errorOf(img, req({ newIsr: [1, 3] }), 1)).toBe(ErrorCode.OPERATION_NOT_ATTEMPTED);
    expect(errorOf(img, req({ newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: 11n }, { brokerId: 2, brokerEpoch: 99n }] }))).toBe(ErrorCode.INELIGIBLE_REPLICA);
    expect(errorOf(img, req({ newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: 11n }, { brokerId: 2, brokerEpoch: 12n }] }))).toBe(ErrorCode.NONE);
  });

  it('unknown topic: UNKNOWN_TOPIC_ID by id (v2+), UNKNOWN_TOPIC_OR_PARTITION by name (v0-1); unknown partition', () => {
    const img = image();
    expect(errorOf(img, req({}, { topicId: uuid(77) }))).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect(errorOf(img, req({ newIsr: [1, 2] }, { topicName: 'nope' }), 1)).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(errorOf(img, req({ partitionIndex: 7 }))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // By name at v0-1.
    const v1 = decideAlterPartition(img, { ...req({ newIsr: [1, 2] }), topics: [{ topicName: 't1', partitions: [{ partitionIndex: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] }] }] }, 1);
    expect(v1.response.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, isr: [1, 2] });
  });
});
