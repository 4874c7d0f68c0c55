// AlterPartition (key 56), the controller side: a partition leader asks to change its ISR.
// Validation and error codes follow Kafka 3.9's `ReplicationControlManager.alterPartition` and
// `validateAlterPartitionData`, in this order:
//
//   request's broker unknown / other epoch       → top-level STALE_BROKER_EPOCH
//   topic unknown                                → UNKNOWN_TOPIC_ID (v2+, by id) / UNKNOWN_TOPIC_OR_PARTITION (v0–1, by name)
//   partition unknown                            → UNKNOWN_TOPIC_OR_PARTITION
//   leader epoch or partition epoch ahead of ours → NOT_CONTROLLER (we are likely a stale controller)
//   leader epoch behind ours                     → FENCED_LEADER_EPOCH
//   requester is not the leader                  → INVALID_REQUEST
//   partition epoch behind ours                  → INVALID_UPDATE_VERSION
//   ISR not within the replicas, duplicates, or without the leader → INVALID_REQUEST
//   RECOVERING with more than one ISR member, or RECOVERED → RECOVERING → INVALID_REQUEST
//   an ISR member not registered, fenced, in controlled shutdown, or (v3+) with another broker
//   epoch                                        → INELIGIBLE_REPLICA (v2+) / OPERATION_NOT_ATTEMPTED (v0–1)
//
// A valid request yields one PartitionChangeRecord (or none when nothing changes); the answer
// carries the partition as it is after the change (leader, leader epoch, ISR, partition epoch).
// When the new ISR holds every target replica of a reassignment in progress, the same record
// completes it (./partition-change.ts: replicas = the target, removing replicas leave the ISR);
// if that takes the leadership from the requesting leader (it was being removed), the record is
// still written and the answer is NEW_LEADER_ELECTED (v2+) / FENCED_LEADER_EPOCH (v0–1), as
// Kafka's `alterPartition` does.
import { mergePartitionChange, type MetadataImage, type PartitionRegistration, type TopicImage } from '../../kraft/image.js';
import { partitionChangeRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode } from '../../wire/errors.js';
import type { AlterPartitionRequest } from '../../wire/generated/messages/alter-partition-request.js';
import type { AlterPartitionResponse } from '../../wire/generated/messages/alter-partition-response.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import { buildPartitionChange } from './partition-change.js';
import type { Decision } from './brokers.js';

const RECOVERED = 0;
const RECOVERING = 1;

type PartitionResult = AlterPartitionResponse['topics'][number]['partitions'][number];
type PartitionData = AlterPartitionRequest['topics'][number]['partitions'][number];

function validIsr(replicas: readonly number[], isr: readonly number[]): boolean {
  const seen = new Set<number>();
  for (const r of isr) {
    if (seen.has(r) || !replicas.includes(r)) return false;
    seen.add(r);
  }
  return true;
}

function validate(image: MetadataImage, brokerId: number, p: PartitionRegistration | undefined, d: PartitionData, isr: ReadonlyArray<{ brokerId: number; brokerEpoch: bigint }>, version: number): ErrorCode {
  if (p === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (d.leaderEpoch > p.leaderEpoch || d.partitionEpoch > p.partitionEpoch) return ErrorCode.NOT_CONTROLLER;
  if (d.leaderEpoch < p.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (brokerId !== p.leader) return ErrorCode.INVALID_REQUEST;
  if (d.partitionEpoch < p.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
  const ids = isr.map((b) => b.brokerId);
  if (!validIsr(p.replicas, ids)) return ErrorCode.INVALID_REQUEST;
  if (!ids.includes(p.leader)) return ErrorCode.INVALID_REQUEST;
  const lrs = d.leaderRecoveryState ?? RECOVERED;
  if (lrs !== RECOVERED && lrs !== RECOVERING) return ErrorCode.INVALID_REQUEST;
  if (lrs === RECOVERING && ids.length > 1) return ErrorCode.INVALID_REQUEST;
  if (p.leaderRecoveryState === RECOVERED && lrs === RECOVERING) return ErrorCode.INVALID_REQUEST;
  for (const b of isr) {
    const reg = image.broker(b.brokerId);
    const ineligible = reg === undefined || reg.inControlledShutdown || reg.fenced || (b.brokerEpoch !== -1n && BigInt(reg.epoch) !== b.brokerEpoch);
    if (ineligible) return version > 1 ? ErrorCode.INELIGIBLE_REPLICA : ErrorCode.OPERATION_NOT_ATTEMPTED;
  }
  return ErrorCode.NONE;
}

/** The controller's decision on one AlterPartition request of version `version`. */
export function decideAlterPartition(image: MetadataImage, req: AlterPartitionRequest, version: number): Decision<AlterPartitionResponse> {
  const broker = image.broker(req.brokerId);
  if (broker === undefined || BigInt(broker.epoch) !== req.brokerEpoch) {
    return { records: [], response: { throttleTimeMs: 0, errorCode: ErrorCode.STALE_BROKER_EPOCH, topics: [] } };
  }
  const records: ApiMessageAndVersion[] = [];
  const topics: AlterPartitionResponse['topics'] = [];
  // Changes within this request build on each other (a partition named twice).
  const changed = new Map<string, PartitionRegistration>();
  for (const t of req.topics) {
    const topic: TopicImage | undefined = version > 1 ? image.topicById(t.topicId ?? ZERO_UUID) : image.topicByName(t.topicName ?? '');
    const partitions: PartitionResult[] = [];
    topics.push({ topicName: t.topicName ?? '', topicId: t.topicId ?? ZERO_UUID, partitions });
    if (topic === undefined) {
      const errorCode = version > 1 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      for (const d of t.partitions) partitions.push(failed(d.partitionIndex, errorCode));
      continue;
    }
    for (const d of t.partitions) {
      const isr = version >= 3 ? (d.newIsrWithEpochs ?? []) : (d.newIsr ?? []).map((brokerId) => ({ brokerId, brokerEpoch: -1n }));
      const key = `${topic.id}:${d.partitionIndex}`;
      let p = changed.get(key) ?? topic.partitions.get(d.partitionIndex);
      const error = validate(image, req.brokerId, p, d, isr, version);
      if (error !== ErrorCode.NONE || p === undefined) {
        partitions.push(failed(d.partitionIndex, error));
        continue;
      }
      const leader = p.leader;
      const rec = buildPartitionChange({
        topicId: topic.id,
        partitionId: d.partitionIndex,
        current: p,
        targetIsr: isr.map((b) => b.brokerId),
        // The leader is in the new ISR and keeps leading, unless this change completes a
        // reassignment that removes it: then a target replica in the new ISR that may lead does.
        isAcceptableLeader: (r) => r === leader || image.isActive(r),
        targetLeaderRecoveryState: d.leaderRecoveryState ?? RECOVERED,
      });
      if (rec !== null) {
        records.push(partitionChangeRecord(rec));
        p = mergePartitionChange(p, rec);
        changed.set(key, p);
        if (p.leader !== leader) {
          // Completing the reassignment moved the leadership (Kafka: the record is written and
          // the old leader is told to wait for the new metadata).
          partitions.push(failed(d.partitionIndex, version > 1 ? ErrorCode.NEW_LEADER_ELECTED : ErrorCode.FENCED_LEADER_EPOCH));
          continue;
        }
      }
      partitions.push({
        partitionIndex: d.partitionIndex,
        errorCode: ErrorCode.NONE,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        isr: [...p.isr],
        leaderRecoveryState: p.leaderRecoveryState,
        partitionEpoch: p.partitionEpoch,
      });
    }
  }
  return { records, response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, topics } };
}

function failed(partitionIndex: number, errorCode: ErrorCode): PartitionResult {
  return { partitionIndex, errorCode, leaderId: -1, leaderEpoch: -1, isr: [], leaderRecoveryState: RECOVERED, partitionEpoch: -1 };
}
