// Partition leadership and ISR changes, as pure functions of the image (Kafka's
// `PartitionChangeBuilder` and `ReplicationControlManager.generateLeaderAndIsrUpdates`, without
// eligible leader replicas):
//
// - Reassignment (KIP-455, Kafka's `completeReassignmentIfNeeded`): a change may set the
//   replicas and the adding/removing replicas (./reassignment.ts). Whenever a partition is being
//   reassigned (adding or removing not empty), every change — an AlterPartition from the leader,
//   fencing, a controlled shutdown, an election — first checks whether the target ISR minus the
//   removing replicas contains every target replica (the replicas minus the removing ones); if it
//   does (and neither is empty), the reassignment completes in that same record: replicas = the
//   target, ISR = the target ISR minus the removing replicas, adding/removing cleared. The
//   election below then runs over the (new) replicas, so a leader being removed loses the
//   leadership to the first target replica in the new ISR.
// - Election: the current leader stays if it is in the target ISR and acceptable; otherwise the
//   first replica (in replica order) that is in the target ISR and acceptable; otherwise no
//   leader (-1). Acceptable = registered, unfenced and not in controlled shutdown, except the
//   broker being removed (never) and the broker being unfenced (always).
// - `election: 'preferred'` (ElectLeaders type 0, auto rebalancing): the first replica if it is
//   in the target ISR and acceptable; else the current leader if it still is; else the first
//   other replica that is (Kafka's `electPreferredLeader`).
// - `election: 'unclean'` (ElectLeaders type 1): as the default; when no ISR member can lead,
//   the first acceptable replica outside the ISR leads, the ISR becomes just that replica and the
//   leader recovery state RECOVERING (data written only to the old ISR may be lost).
// - ISR: the target ISR replaces the current one when it differs, but never with an empty ISR:
//   removing the last member leaves the ISR as it is and the partition leaderless, so that
//   replica is re-elected (cleanly) when it comes back.
// - A change that changes nothing yields no record.
import { LEADER_RECOVERING, NO_LEADER, NO_LEADER_CHANGE, type MetadataImage, type PartitionRegistration } from '../../kraft/image.js';
import { partitionChangeRecord, type ApiMessageAndVersion, type PartitionChangeRecord } from '../../kraft/records.js';

export function sameReplicas(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface PartitionChangeInput {
  readonly topicId: string;
  readonly partitionId: number;
  readonly current: PartitionRegistration;
  readonly targetIsr: readonly number[];
  isAcceptableLeader(brokerId: number): boolean;
  /** Leader recovery state to set (default: keep). */
  readonly targetLeaderRecoveryState?: number;
  /** How to pick the leader (default: keep the current one while it may lead). */
  readonly election?: 'preferred' | 'unclean';
  /** Replicas / adding replicas / removing replicas to set (default: keep the current ones). */
  readonly targetReplicas?: readonly number[];
  readonly targetAdding?: readonly number[];
  readonly targetRemoving?: readonly number[];
}

export interface CompletedReassignment {
  readonly replicas: number[];
  readonly isr: number[];
}

/**
 * Kafka's `PartitionReassignmentReplicas.maybeCompleteReassignment`: with a reassignment in
 * progress, the replicas and ISR that complete it when `isr` (minus the removing replicas)
 * contains every target replica; null when there is none or it cannot complete yet (also when
 * the ISR or the replicas would be empty).
 */
export function completeReassignment(
  replicas: readonly number[],
  adding: readonly number[],
  removing: readonly number[],
  isr: readonly number[],
): CompletedReassignment | null {
  if (adding.length === 0 && removing.length === 0) return null;
  const newIsr = isr.filter((r) => !removing.includes(r));
  const newReplicas = replicas.filter((r) => !removing.includes(r));
  if (newIsr.length === 0 || newReplicas.length === 0) return null;
  if (!newReplicas.every((r) => newIsr.includes(r))) return null;
  return { replicas: newReplicas, isr: newIsr };
}

function electLeader(c: PartitionChangeInput, replicas: readonly number[], targetIsr: readonly number[]): { leader: number; unclean: boolean } {
  const { current } = c;
  const valid = (r: number) => targetIsr.includes(r) && c.isAcceptableLeader(r);
  const clean = (leader: number) => ({ leader, unclean: false });
  if (c.election === 'preferred') {
    const preferred = replicas[0];
    if (preferred !== undefined && valid(preferred)) return clean(preferred);
    if (current.leader >= 0 && valid(current.leader)) return clean(current.leader);
    return clean(replicas.slice(1).find(valid) ?? NO_LEADER);
  }
  if (current.leader >= 0 && valid(current.leader)) return clean(current.leader);
  const fromIsr = replicas.find(valid);
  if (fromIsr !== undefined) return clean(fromIsr);
  if (c.election === 'unclean') {
    const any = replicas.find((r) => c.isAcceptableLeader(r));
    if (any !== undefined) return { leader: any, unclean: true };
  }
  return clean(NO_LEADER);
}

/** The PartitionChangeRecord that moves `current` to the target, or null when nothing changes. */
export function buildPartitionChange(c: PartitionChangeInput): PartitionChangeRecord | null {
  const { current } = c;
  let replicas = c.targetReplicas ?? current.replicas;
  let adding = c.targetAdding ?? current.addingReplicas;
  let removing = c.targetRemoving ?? current.removingReplicas;
  let targetIsr = c.targetIsr;
  const completed = completeReassignment(replicas, adding, removing, targetIsr);
  if (completed !== null) {
    replicas = completed.replicas;
    targetIsr = completed.isr;
    adding = [];
    removing = [];
  }
  const { leader, unclean } = electLeader(c, replicas, targetIsr);
  if (unclean) targetIsr = [leader];
  const targetLeaderRecoveryState = unclean ? LEADER_RECOVERING : c.targetLeaderRecoveryState;
  const record: PartitionChangeRecord = { topicId: c.topicId, partitionId: c.partitionId, leader: NO_LEADER_CHANGE };
  let changed = false;
  if (leader !== current.leader) {
    record.leader = leader;
    changed = true;
  }
  if (targetIsr.length > 0 && !sameReplicas(targetIsr, current.isr)) {
    record.isr = [...targetIsr];
    changed = true;
  }
  if (!sameReplicas(replicas, current.replicas)) {
    record.replicas = [...replicas];
    changed = true;
  }
  if (!sameReplicas(adding, current.addingReplicas)) {
    record.addingReplicas = [...adding];
    changed = true;
  }
  if (!sameReplicas(removing, current.removingReplicas)) {
    record.removingReplicas = [...removing];
    changed = true;
  }
  if (targetLeaderRecoveryState !== undefined && targetLeaderRecoveryState !== current.leaderRecoveryState) {
    record.leaderRecoveryState = targetLeaderRecoveryState;
    changed = true;
  }
  return changed ? record : null;
}

export interface LeaderAndIsrUpdate {
  /** A broker to take out of every ISR and leadership (fenced, shutting down), or -1. */
  readonly brokerToRemove: number;
  /** A broker that may lead although the image still shows it fenced (being unfenced), or -1. */
  readonly brokerToAdd: number;
  /** Which partitions to look at. */
  readonly partitions: 'with-broker-in-isr' | 'without-leader';
}

/** The PartitionChangeRecords of Kafka's `generateLeaderAndIsrUpdates`, in topic-name order. */
export function leaderAndIsrUpdates(image: MetadataImage, u: LeaderAndIsrUpdate): ApiMessageAndVersion[] {
  const acceptable = (r: number) => r !== u.brokerToRemove && (r === u.brokerToAdd || image.isActive(r));
  const out: ApiMessageAndVersion[] = [];
  const topics = [...image.topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const topic of topics) {
    for (const [partitionId, reg] of [...topic.partitions].sort(([a], [b]) => a - b)) {
      const pick = u.partitions === 'with-broker-in-isr' ? reg.isr.includes(u.brokerToRemove) : reg.leader === NO_LEADER;
      if (!pick) continue;
      const rec = buildPartitionChange({
        topicId: topic.id,
        partitionId,
        current: reg,
        targetIsr: reg.isr.filter((r) => r !== u.brokerToRemove),
        isAcceptableLeader: acceptable,
      });
      if (rec !== null) out.push(partitionChangeRecord(rec));
    }
  }
  return out;
}

/** Partitions `brokerId` leads in `image`. */
export function leadershipCount(image: MetadataImage, brokerId: number): number {
  return image.partitionsLedBy(brokerId).length;
}
