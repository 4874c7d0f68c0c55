// ElectLeaders (key 43) on the controller, and automatic leader rebalancing, as pure functions of
// the image (Kafka 3.9's `ReplicationControlManager.electLeaders` / `electLeader` and
// `maybeBalancePartitionLeaders`):
//
//   election type other than 0 or 1 (v1+)         → top-level INVALID_REQUEST, and every named
//                                                    partition INVALID_REQUEST (Kafka's
//                                                    `ElectLeadersRequest.getErrorResponse`)
//   topic or partition unknown                    → UNKNOWN_TOPIC_OR_PARTITION
//   PREFERRED (0), the first replica already leads → ELECTION_NOT_NEEDED
//   UNCLEAN (1), the partition has a leader        → ELECTION_NOT_NEEDED
//   otherwise a PartitionChangeRecord from `buildPartitionChange` (election 'preferred' or
//   'unclean'); none (nothing would change)        → PREFERRED_LEADER_NOT_AVAILABLE (0) /
//                                                    ELIGIBLE_LEADERS_NOT_AVAILABLE (1)
//
// A leader may be a replica that is registered, unfenced and not in controlled shutdown; a
// preferred election needs the first replica in the ISR, an unclean one takes an ISR member if
// one may lead, else any replica that may (the ISR becomes that replica, RECOVERING).
// `topicPartitions` null means every partition of every topic (topics by name, partitions by
// id); the answer then leaves out the partitions whose election was not needed, as Kafka's does.
// v0 has no election type (always PREFERRED) and no top-level error code; v2 is flexible (the
// generated codecs handle both). A partition named twice is decided once: the second answer
// sees the first one's change (ELECTION_NOT_NEEDED), so no second record bumps its epochs.
import { mergePartitionChange, NO_LEADER, type MetadataImage, type PartitionRegistration } from '../../kraft/image.js';
import { partitionChangeRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode, errorMessage } from '../../wire/errors.js';
import type { ElectLeadersRequest } from '../../wire/generated/messages/elect-leaders-request.js';
import type { ElectLeadersResponse } from '../../wire/generated/messages/elect-leaders-response.js';
import type { Decision } from './brokers.js';
import { buildPartitionChange } from './partition-change.js';

/** Kafka's `ElectionType` ids. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/** Kafka's `ReplicationControlManager.MAX_ELECTIONS_PER_IMBALANCE`: elections per balancing run. */
export const MAX_ELECTIONS_PER_IMBALANCE = 1_000;

type TopicResult = ElectLeadersResponse['replicaElectionResults'][number];
type PartitionResult = TopicResult['partitionResult'][number];

interface Outcome {
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
}

const NONE: Outcome = { errorCode: ErrorCode.NONE, errorMessage: null };
const fail = (errorCode: ErrorCode, message: string = errorMessage(errorCode)): Outcome => ({ errorCode, errorMessage: message });

/** The election type a request of `version` asks for (v0 has none: preferred). */
export function requestedElectionType(req: ElectLeadersRequest, version: number): number {
  return version >= 1 ? (req.electionType ?? ElectionType.PREFERRED) : ElectionType.PREFERRED;
}

/** The answer that carries `errorCode` at the top and for every named partition. */
export function electLeadersErrorResponse(req: ElectLeadersRequest, errorCode: ErrorCode, message: string | null = errorMessage(errorCode)): ElectLeadersResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage: message })),
    })),
  };
}

/** The controller's decision on one ElectLeaders request of version `version`. */
export function decideElectLeaders(image: MetadataImage, req: ElectLeadersRequest, version: number): Decision<ElectLeadersResponse> {
  const type = requestedElectionType(req, version);
  if (type !== ElectionType.PREFERRED && type !== ElectionType.UNCLEAN) {
    return { records: [], response: electLeadersErrorResponse(req, ErrorCode.INVALID_REQUEST, `Unknown election type ${type}`) };
  }
  const records: ApiMessageAndVersion[] = [];
  const changed = new Map<string, PartitionRegistration>();
  const elect = (topic: string, partitionId: number): Outcome => {
    const t = image.topicByName(topic);
    if (t === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such topic as ${topic}`);
    const key = `${t.id}:${partitionId}`;
    const p = changed.get(key) ?? t.partitions.get(partitionId);
    if (p === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such partition as ${topic}-${partitionId}`);
    if (type === ElectionType.PREFERRED ? p.leader === p.replicas[0] : p.leader !== NO_LEADER) return fail(ErrorCode.ELECTION_NOT_NEEDED);
    const rec = buildPartitionChange({
      topicId: t.id,
      partitionId,
      current: p,
      targetIsr: p.isr,
      isAcceptableLeader: (r) => image.isActive(r),
      election: type === ElectionType.PREFERRED ? 'preferred' : 'unclean',
    });
    if (rec === null) return fail(type === ElectionType.PREFERRED ? ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
    records.push(partitionChangeRecord(rec));
    changed.set(key, mergePartitionChange(p, rec));
    return NONE;
  };
  const results: TopicResult[] = [];
  if (req.topicPartitions === null) {
    for (const name of [...image.topicsByName.keys()].sort()) {
      const partitionResult: PartitionResult[] = [];
      for (const id of [...image.topicsByName.get(name)!.partitions.keys()].sort((a, b) => a - b)) {
        const o = elect(name, id);
        if (o.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) partitionResult.push({ partitionId: id, ...o });
      }
      results.push({ topic: name, partitionResult });
    }
  } else {
    for (const t of req.topicPartitions) {
      results.push({ topic: t.topic, partitionResult: t.partitions.map((id) => ({ partitionId: id, ...elect(t.topic, id) })) });
    }
  }
  return { records, response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: results } };
}

export interface BalanceResult {
  readonly records: ApiMessageAndVersion[];
  /** The run stopped at `maxElections` with imbalanced partitions left: run again at once. */
  readonly more: boolean;
}

/**
 * One automatic rebalancing run (Kafka's `maybeBalancePartitionLeaders`): a preferred election
 * for every partition whose first replica does not lead, in topic-name then partition order; it
 * changes those whose first replica is in the ISR and may lead. At most `maxElections` records.
 * KRaft has no imbalance ratio gate (`leader.imbalance.per.broker.percentage` is ZooKeeper-mode
 * only): any imbalanced partition that can move, moves.
 */
export function balancePartitionLeaders(image: MetadataImage, maxElections = MAX_ELECTIONS_PER_IMBALANCE): BalanceResult {
  const records: ApiMessageAndVersion[] = [];
  for (const name of [...image.topicsByName.keys()].sort()) {
    const topic = image.topicsByName.get(name)!;
    for (const id of [...topic.partitions.keys()].sort((a, b) => a - b)) {
      const p = topic.partitions.get(id)!;
      if (p.leader === p.replicas[0]) continue;
      if (records.length >= maxElections) return { records, more: true };
      const rec = buildPartitionChange({
        topicId: topic.id,
        partitionId: id,
        current: p,
        targetIsr: p.isr,
        isAcceptableLeader: (r) => image.isActive(r),
        election: 'preferred',
      });
      if (rec !== null) records.push(partitionChangeRecord(rec));
    }
  }
  return { records, more: false };
}
