// Partition reassignment (KIP-455) on the controller, as pure functions of the image (Kafka 3.9's
// `ReplicationControlManager.alterPartitionReassignments` / `listPartitionReassignments`,
// `PartitionReassignmentReplicas` and `PartitionReassignmentRevert`).
//
// AlterPartitionReassignments (key 45), per partition, in this order:
//
//   topic unknown / partition unknown             → UNKNOWN_TOPIC_OR_PARTITION
//   replicas null (cancel):
//     no reassignment in progress                 → NO_REASSIGNMENT_IN_PROGRESS
//     the revert would leave an ISR of only adding replicas and the topic does not allow
//     unclean leader election                     → INVALID_REPLICA_ASSIGNMENT
//     otherwise: replicas = replicas − adding, ISR = ISR − adding (when that is empty: the first
//     remaining replica, elected uncleanly), adding/removing cleared
//   replicas given (a target):
//     empty, a broker not registered (checked in id order), a broker named twice
//                                                 → INVALID_REPLICA_ASSIGNMENT
//     otherwise, against the current replicas: removing = current − target, adding =
//     target − current (both in id order), replicas = target followed by removing. The record
//     goes through `buildPartitionChange`, which completes the reassignment at once when the
//     ISR minus the removing replicas already holds every target replica (nothing to add, e.g.
//     a reorder or a shrink): replicas = target, ISR ∩ target, and a removed leader hands the
//     leadership to the first target replica in the ISR. A target equal to the replicas of a
//     partition not being reassigned writes nothing.
//
// A reassignment that adds replicas completes later: the new brokers see themselves among the
// replicas, create the log and follow the leader; once caught up the leader adds them to the ISR
// by AlterPartition, and the change that makes the ISR hold every target replica completes it
// (./partition-change.ts, ./alter-partition.ts). A new target for a partition being reassigned
// is computed against its current (merged) replicas, as Kafka does; adding/removing are always
// set to the new target's (Kafka keeps the old lists when the new ones are empty).
//
// A partition named twice in one request: the second decision sees the first one's change.
//
// ListPartitionReassignments (key 46): the partitions being reassigned (adding or removing not
// empty) with their replicas, adding and removing replicas — of every topic (topics null, in
// name then partition order) or of the named ones (unknown topics and partitions, and those not
// being reassigned, are left out; a topic with none is left out).
import { mergePartitionChange, type MetadataImage, type PartitionRegistration } from '../../kraft/image.js';
import { partitionChangeRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode, errorMessage } from '../../wire/errors.js';
import type { AlterPartitionReassignmentsRequest } from '../../wire/generated/messages/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponse } from '../../wire/generated/messages/alter-partition-reassignments-response.js';
import type { ListPartitionReassignmentsRequest } from '../../wire/generated/messages/list-partition-reassignments-request.js';
import type { ListPartitionReassignmentsResponse } from '../../wire/generated/messages/list-partition-reassignments-response.js';
import type { Decision } from './brokers.js';
import { buildPartitionChange } from './partition-change.js';

type TopicResult = AlterPartitionReassignmentsResponse['responses'][number];
type OngoingTopic = ListPartitionReassignmentsResponse['topics'][number];
type OngoingPartition = OngoingTopic['partitions'][number];

export interface ReassignmentContext {
  /** `unclean.leader.election.enable` of the topic (its config, else the broker default). */
  uncleanLeaderElectionEnabled(topic: string): boolean;
}

/** A partition is being reassigned while it has adding or removing replicas. */
export function isReassigning(p: PartitionRegistration): boolean {
  return p.addingReplicas.length > 0 || p.removingReplicas.length > 0;
}

export interface ReassignmentReplicas {
  /** Target first, then the removing replicas. */
  readonly replicas: number[];
  readonly adding: number[];
  readonly removing: number[];
}

const byId = (a: number, b: number) => a - b;

/** Kafka's `PartitionReassignmentReplicas(current, target)`. */
export function reassignmentReplicas(current: readonly number[], target: readonly number[]): ReassignmentReplicas {
  const removing = [...new Set(current.filter((r) => !target.includes(r)))].sort(byId);
  const adding = [...new Set(target.filter((r) => !current.includes(r)))].sort(byId);
  return { replicas: [...target, ...removing], adding, removing };
}

export interface ReassignmentRevert {
  readonly replicas: number[];
  readonly isr: number[];
  /** Only adding replicas were in the ISR: the first original replica becomes the ISR. */
  readonly unclean: boolean;
}

/** Kafka's `PartitionReassignmentRevert`: the replicas and ISR of a cancelled reassignment. */
export function revertReassignment(p: PartitionRegistration): ReassignmentRevert {
  const replicas = p.replicas.filter((r) => !p.addingReplicas.includes(r));
  const isr = p.isr.filter((r) => !p.addingReplicas.includes(r));
  if (isr.length === 0 && replicas.length > 0) return { replicas, isr: [replicas[0]!], unclean: true };
  return { replicas, isr, unclean: false };
}

interface Outcome {
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
}

const NONE: Outcome = { errorCode: ErrorCode.NONE, errorMessage: null };
const fail = (errorCode: ErrorCode, message: string = errorMessage(errorCode)): Outcome => ({ errorCode, errorMessage: message });

/** Kafka's `validateManualPartitionAssignment` (no replication factor to match). */
function validateTarget(image: MetadataImage, target: readonly number[]): Outcome {
  if (target.length === 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.');
  let prev: number | null = null;
  for (const id of [...target].sort(byId)) {
    if (image.broker(id) === undefined) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${id}, but no such broker is registered.`);
    }
    if (id === prev) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${id} more than once.`);
    prev = id;
  }
  return NONE;
}

/** The answer that carries `errorCode` at the top and for every named partition (Kafka's `getErrorResponse`). */
export function alterReassignmentsErrorResponse(req: AlterPartitionReassignmentsRequest, errorCode: ErrorCode, message: string | null = errorMessage(errorCode)): AlterPartitionReassignmentsResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage: message,
    responses: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, errorMessage: message })) })),
  };
}

/** The ListPartitionReassignments answer that carries `errorCode` (no reassignment listed). */
export function listReassignmentsErrorResponse(errorCode: ErrorCode, message: string | null = errorMessage(errorCode)): ListPartitionReassignmentsResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage: message, topics: [] };
}

/** The controller's decision on one AlterPartitionReassignments request. */
export function decideAlterPartitionReassignments(image: MetadataImage, req: AlterPartitionReassignmentsRequest, ctx: ReassignmentContext): Decision<AlterPartitionReassignmentsResponse> {
  const records: ApiMessageAndVersion[] = [];
  const changed = new Map<string, PartitionRegistration>();
  const alter = (topic: string, partitionId: number, target: readonly number[] | null): Outcome => {
    const t = image.topicByName(topic);
    if (t === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find a topic named ${topic}.`);
    const key = `${t.id}:${partitionId}`;
    const p = changed.get(key) ?? t.partitions.get(partitionId);
    if (p === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${topic}:${partitionId}.`);
    let rec;
    if (target === null) {
      if (!isReassigning(p)) return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
      const revert = revertReassignment(p);
      const unclean = ctx.uncleanLeaderElectionEnabled(topic);
      if (revert.unclean && !unclean) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unable to revert partition assignment for ${topic}:${partitionId} because it would require an unclean leader election.`);
      }
      rec = buildPartitionChange({
        topicId: t.id,
        partitionId,
        current: p,
        targetIsr: revert.isr,
        targetReplicas: revert.replicas,
        targetAdding: [],
        targetRemoving: [],
        isAcceptableLeader: (r) => image.isActive(r),
        ...(unclean ? { election: 'unclean' as const } : {}),
      });
    } else {
      const invalid = validateTarget(image, target);
      if (invalid.errorCode !== ErrorCode.NONE) return invalid;
      const r = reassignmentReplicas(p.replicas, target);
      rec = buildPartitionChange({
        topicId: t.id,
        partitionId,
        current: p,
        targetIsr: p.isr,
        targetReplicas: r.replicas,
        targetAdding: r.adding,
        targetRemoving: r.removing,
        isAcceptableLeader: (id) => image.isActive(id),
      });
    }
    if (rec !== null) {
      records.push(partitionChangeRecord(rec));
      changed.set(key, mergePartitionChange(p, rec));
    }
    return NONE;
  };
  const responses: TopicResult[] = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, ...alter(t.name, p.partitionIndex, p.replicas) })),
  }));
  return { records, response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses } };
}

function ongoing(partitionIndex: number, p: PartitionRegistration | undefined): OngoingPartition | null {
  if (p === undefined || !isReassigning(p)) return null;
  return { partitionIndex, replicas: [...p.replicas], addingReplicas: [...p.addingReplicas], removingReplicas: [...p.removingReplicas] };
}

/** ListPartitionReassignments (key 46) from the image. */
export function listPartitionReassignments(image: MetadataImage, req: ListPartitionReassignmentsRequest): ListPartitionReassignmentsResponse {
  const topics: OngoingTopic[] = [];
  const add = (name: string, partitions: Iterable<number>) => {
    const t = image.topicByName(name);
    if (t === undefined) return;
    const list: OngoingPartition[] = [];
    for (const id of partitions) {
      const o = ongoing(id, t.partitions.get(id));
      if (o !== null) list.push(o);
    }
    if (list.length > 0) topics.push({ name, partitions: list });
  };
  if (req.topics === null) {
    for (const name of [...image.topicsByName.keys()].sort()) add(name, [...image.topicsByName.get(name)!.partitions.keys()].sort(byId));
  } else {
    for (const t of req.topics) add(t.name, t.partitionIndexes);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
}
