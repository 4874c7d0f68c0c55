// The group coordinator for classic consumer groups (JoinGroup/SyncGroup/Heartbeat/LeaveGroup)
// and committed offsets, following Kafka's GroupMetadataManager / OffsetMetadataManager.
//
// State is kept per `__consumer_offsets` partition this broker leads (a "shard"): the groups
// and the committed offsets of every group that hashes to it. A shard is loaded by replaying
// the partition's log from the start (`replay(record)`), answers COORDINATOR_LOAD_IN_PROGRESS
// meanwhile, and is dropped when leadership goes (parked requests get NOT_COORDINATOR).
//
// How state changes:
// - Offsets change only through `replay` of the OffsetCommit records an operation produced,
//   once they are appended and replicated (acks=-1). Writes of a shard are replayed strictly in
//   log order, so the in-memory offsets always equal a fresh load of the log.
// - A classic group's membership is an in-memory state machine (group.ts) that changes as the
//   requests arrive, exactly as in Kafka (whose classic-group operations write their records with
//   replayRecords=false). GroupMetadata records are written where Kafka writes them: when the
//   leader's assignment completes a rebalance (the group becomes Stable only once the record is
//   stored), when a group becomes Empty, when a static member is replaced, and as tombstones when
//   a group is deleted or expires. They are replayed when a shard loads.
// - Transactional offset commits (TxnOffsetCommit) are written as a transactional batch of the
//   producer and replayed into the shard's pending transactional offsets of that producer; the
//   producer's COMMIT marker (`completeTransaction`, or the marker met while loading) makes them
//   committed offsets unless a later commit of the same partition is already there (log order,
//   Kafka's olderThan), an ABORT drops them. OffsetFetch with require_stable answers
//   UNSTABLE_OFFSET_COMMIT for a partition with pending transactional offsets.
//
// Timers (session timeouts, join and sync deadlines, the initial rebalance delay) go through
// the injected CoordinatorTimer; time through the injected clock. Nothing here touches sockets,
// files or Date.now().
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../../wire/errors.js';
import type { GroupMetadataValue } from '../../wire/generated/coordinator/group-metadata-value.js';
import {
  ClassicGroup,
  CONSUMER_PROTOCOL_TYPE,
  GroupMember,
  IllegalStateError,
  joinError,
  syncError,
  type GroupProtocol,
  type GroupState,
  type JoinResult,
  type SyncResult,
} from './group.js';
import { groupMetadataRecord, offsetCommitRecord, partitionFor, type CommittedOffset, type LoadedRecordSource, type LoadStats, type OffsetsTopicRecord } from './offsets-topic.js';
import type { CoordinatorTimer } from './timer.js';

export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms */
  readonly minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  readonly maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms */
  readonly initialRebalanceDelayMs: number;
  /** group.max.size */
  readonly maxGroupSize: number;
  /** How long a new member's JoinGroup may stay parked (Kafka: 5 minutes). */
  readonly newMemberJoinTimeoutMs: number;
  /** offsets.retention.minutes in ms */
  readonly offsetsRetentionMs: number;
  /** offset.metadata.max.bytes */
  readonly offsetMetadataMaxBytes: number;
}

export interface GroupCoordinatorDeps {
  readonly config: GroupCoordinatorConfig;
  readonly timer: CoordinatorTimer;
  nowMs(): number;
  readonly logger: Logger;
  /** Partition count of `__consumer_offsets` (0 when it does not exist). */
  numPartitions(): number;
  /**
   * Appends `records` as one batch to the partition as its leader and resolves with an error
   * code once they are replicated (acks=-1). Must take its place in the log synchronously, so
   * that writes issued in some order land in that order.
   */
  append(partition: number, records: readonly OffsetsTopicRecord[], txn?: TxnProducer): Promise<number>;
  /**
   * Replays the partition's log from its start through `onRecord`: records of transactional
   * batches with their producer id, and that producer's COMMIT/ABORT markers through `onTxnMarker`.
   */
  readPartition(
    partition: number,
    onRecord: (rec: OffsetsTopicRecord, source?: LoadedRecordSource) => void,
    onTxnMarker?: (producerId: number, commit: boolean) => void,
  ): Promise<LoadStats>;
  /** Java-style random UUID for member ids (default crypto.randomUUID). */
  randomUuid?(): string;
}

// ------------------------------------------------------------------------------ request shapes

/** The producer of a transactional offset commit. */
export interface TxnProducer {
  producerId: number;
  producerEpoch: number;
}

export interface TxnOffsetCommitInput {
  groupId: string;
  producerId: number;
  producerEpoch: number;
  /** -1 / '' / null when the client sent no member information (TxnOffsetCommit < v3). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }> }>;
}

export interface JoinGroupInput {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+ without a group instance id: a new member first gets MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader may be told to skip the assignment. */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface CommitPartitionInput {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  /** -1: now (only OffsetCommit v1 sends one). */
  commitTimestamp: number;
  committedMetadata: string | null;
}

export interface OffsetCommitInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** -1: the broker's retention (offsets.retention.minutes). */
  retentionTimeMs: number;
  apiVersion: number;
  topics: Array<{ name: string; partitions: CommitPartitionInput[] }>;
}

export interface TopicPartitionErrors {
  name: string;
  partitions: Array<{ partitionIndex: number; errorCode: number }>;
}

export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedOffset[] }>;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupState;
  groupType: string;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer }>;
}

export interface OffsetDeleteResult {
  errorCode: number;
  topics: TopicPartitionErrors[];
}

// ------------------------------------------------------------------------------ internals

const EMPTY_BYTES = Buffer.alloc(0);
/** The largest group id the record key can hold (an int16-length string). */
const MAX_GROUP_ID_BYTES = 0x7fff;

interface InflightWrite {
  readonly records: readonly OffsetsTopicRecord[];
  readonly replay: boolean;
  /** A transactional offset commit: replayed into the producer's pending offsets. */
  readonly producerId: number | null;
  done: boolean;
  error: number;
  resolve: (error: number) => void;
}

/** The state of one `__consumer_offsets` partition this broker leads. */
class Shard {
  state: 'loading' | 'active' = 'loading';
  readonly groups = new Map<string, ClassicGroup>();
  /** group → topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  /** Writes not yet replicated, in log order. */
  readonly inflight: InflightWrite[] = [];
  /** producer id → "group\0topic\0partition" → offset of a transactional commit awaiting its marker. */
  readonly pendingTxnOffsets = new Map<number, Map<string, PendingTxnOffset>>();
  /** Log order of committed offsets (the replay sequence at which each was stored). */
  readonly commitOrder = new WeakMap<CommittedOffset, number>();
  /** Replay sequence: grows with every offset record replayed, so it orders them as the log does. */
  replaySeq = 0;
  /** Transaction markers that arrived while loading, applied after the load. */
  readonly deferredTxnCompletions: Array<{ producerId: number; commit: boolean }> = [];

  constructor(
    readonly partition: number,
    public leaderEpoch: number,
  ) {}

  committed(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(group)?.get(topic)?.get(partition);
  }

  /** Offset keys ("topic\0partition") of commits of `group` still being written. */
  pendingOffsetKeys(group: string): Set<string> {
    const out = new Set<string>();
    for (const w of this.inflight) {
      for (const r of w.records) if (r.type === 'offset' && r.group === group && r.value !== null) out.add(tpKey(r.topic, r.partition));
    }
    return out;
  }
}

interface PendingTxnOffset {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly value: CommittedOffset;
  /** Replay sequence of its record. */
  readonly seq: number;
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function splitTpKey(key: string): [string, number] {
  const i = key.lastIndexOf('\u0000');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

/** Append errors as group operations report them (Kafka's appendGroupMetadataErrorToResponseError). */
export function groupAppendError(error: number): number {
  switch (error) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return error;
  }
}

/** Append errors as OffsetCommit reports them (too-large batches are INVALID_COMMIT_OFFSET_SIZE). */
export function commitAppendError(error: number): number {
  switch (error) {
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return groupAppendError(error);
  }
}

export class GroupCoordinator {
  private readonly shards = new Map<number, Shard>();
  private active = false;
  private readonly cfg: GroupCoordinatorConfig;
  private readonly timer: CoordinatorTimer;
  private readonly log: Logger;

  constructor(private readonly deps: GroupCoordinatorDeps) {
    this.cfg = deps.config;
    this.timer = deps.timer;
    this.log = deps.logger;
  }

  /** Accepts requests from now on (before: COORDINATOR_NOT_AVAILABLE). */
  start(): void {
    this.active = true;
  }

  /** Unloads every shard (parked requests are answered NOT_COORDINATOR) and refuses requests. */
  shutdown(): void {
    this.active = false;
    for (const p of [...this.shards.keys()]) this.onResignation(p);
  }

  // ---------------------------------------------------------------- loading

  /** This broker became leader of `__consumer_offsets`-`partition`: load it (once). */
  onElection(partition: number, leaderEpoch: number): Promise<void> {
    const existing = this.shards.get(partition);
    if (existing) {
      existing.leaderEpoch = Math.max(existing.leaderEpoch, leaderEpoch);
      return Promise.resolve();
    }
    const shard = new Shard(partition, leaderEpoch);
    this.shards.set(partition, shard);
    return this.load(shard);
  }

  /** Leadership of the partition moved away (or it was deleted): forget its state. */
  onResignation(partition: number): void {
    const shard = this.shards.get(partition);
    if (!shard) return;
    this.shards.delete(partition);
    this.timer.cancelAll(`${partition}/`);
    const now = this.deps.nowMs();
    for (const group of shard.groups.values()) this.unloadGroup(group, now);
    this.log.debug({ partition, groups: shard.groups.size }, 'unloaded group coordinator partition');
  }

  /** Partitions loaded or loading (tests and diagnostics). */
  shardStates(): Map<number, 'loading' | 'active'> {
    return new Map([...this.shards].map(([p, s]) => [p, s.state]));
  }

  private async load(shard: Shard): Promise<void> {
    const started = this.deps.nowMs();
    const stillOurs = () => this.shards.get(shard.partition) === shard;
    let stats: LoadStats;
    try {
      stats = await this.deps.readPartition(
        shard.partition,
        (rec, source) => {
          if (!stillOurs()) throw new LoadAbortedError();
          this.replay(shard, rec, true, source?.producerId ?? null);
        },
        (producerId, commit) => {
          if (!stillOurs()) throw new LoadAbortedError();
          this.applyTxnCompletion(shard, producerId, commit);
        },
      );
    } catch (err) {
      if (err instanceof LoadAbortedError || !stillOurs()) return;
      this.log.error({ err, partition: shard.partition }, 'loading group coordinator partition failed');
      this.shards.delete(shard.partition);
      return;
    }
    if (!stillOurs()) return;
    shard.state = 'active';
    for (const d of shard.deferredTxnCompletions.splice(0)) this.applyTxnCompletion(shard, d.producerId, d.commit);
    for (const group of shard.groups.values()) {
      for (const m of group.members.values()) this.rescheduleHeartbeat(shard, group, m);
      if (group.size > this.cfg.maxGroupSize) {
        this.prepareRebalance(shard, group, `freshly loaded group is over capacity ${this.cfg.maxGroupSize}`);
      }
    }
    const fields = { partition: shard.partition, groups: shard.groups.size, records: stats.records, ms: this.deps.nowMs() - started };
    if (stats.records > 0) this.log.info(fields, 'loaded group coordinator partition');
    else this.log.debug(fields, 'loaded group coordinator partition');
  }

  private unloadGroup(group: ClassicGroup, now: number): void {
    const previous = group.state;
    group.transitionTo('Dead', now);
    if (previous === 'PreparingRebalance') group.completeAllJoins(ErrorCode.NOT_COORDINATOR);
    else if (previous === 'Stable' || previous === 'CompletingRebalance') group.completeAllSyncs(ErrorCode.NOT_COORDINATOR);
  }

  // ---------------------------------------------------------------- replay

  /**
   * Applies one `__consumer_offsets` record. Offset records always (load and live writes);
   * group metadata records when loading: the live group already is what its record says.
   */
  private replay(shard: Shard, rec: OffsetsTopicRecord, loading: boolean, producerId: number | null = null): void {
    if (rec.type === 'offset' && producerId !== null) {
      // A transactional offset commit: pending until the producer's marker.
      if (rec.value === null) return;
      let byKey = shard.pendingTxnOffsets.get(producerId);
      if (!byKey) shard.pendingTxnOffsets.set(producerId, (byKey = new Map()));
      byKey.set(`${rec.group}\u0000${tpKey(rec.topic, rec.partition)}`, { group: rec.group, topic: rec.topic, partition: rec.partition, value: rec.value, seq: ++shard.replaySeq });
      if (!shard.groups.has(rec.group)) shard.groups.set(rec.group, new ClassicGroup(rec.group, 'Empty', this.deps.nowMs()));
      return;
    }
    if (rec.type === 'offset') {
      if (rec.value !== null) {
        shard.commitOrder.set(rec.value, ++shard.replaySeq);
        let byTopic = shard.offsets.get(rec.group);
        if (!byTopic) shard.offsets.set(rec.group, (byTopic = new Map()));
        let byPartition = byTopic.get(rec.topic);
        if (!byPartition) byTopic.set(rec.topic, (byPartition = new Map()));
        byPartition.set(rec.partition, rec.value);
        // A group that only commits offsets (no membership) is a "simple" Empty group.
        if (!shard.groups.has(rec.group)) shard.groups.set(rec.group, new ClassicGroup(rec.group, 'Empty', this.deps.nowMs()));
      } else {
        const byTopic = shard.offsets.get(rec.group);
        const byPartition = byTopic?.get(rec.topic);
        byPartition?.delete(rec.partition);
        if (byPartition && byPartition.size === 0) byTopic!.delete(rec.topic);
        if (byTopic && byTopic.size === 0) shard.offsets.delete(rec.group);
      }
      return;
    }
    if (!loading) return;
    if (rec.value === null) {
      shard.groups.delete(rec.group);
      if (shard.offsets.has(rec.group)) shard.groups.set(rec.group, new ClassicGroup(rec.group, 'Empty', this.deps.nowMs()));
      return;
    }
    shard.groups.set(rec.group, groupFromRecord(rec.group, rec.value));
  }

  // ---------------------------------------------------------------- writes

  /**
   * Appends `records` to the shard's partition. Completions are handled in log order; with
   * `replay`, each record is replayed once the write succeeded. Resolves with the append error.
   */
  private write(shard: Shard, records: readonly OffsetsTopicRecord[], replay: boolean, txn?: TxnProducer): Promise<number> {
    if (records.length === 0) return Promise.resolve(ErrorCode.NONE);
    let resolve!: (e: number) => void;
    const promise = new Promise<number>((r) => (resolve = r));
    const entry: InflightWrite = { records, replay, producerId: txn?.producerId ?? null, done: false, error: ErrorCode.NONE, resolve };
    shard.inflight.push(entry);
    let sent: Promise<number>;
    try {
      sent = txn ? this.deps.append(shard.partition, records, txn) : this.deps.append(shard.partition, records);
    } catch (err) {
      this.log.error({ err, partition: shard.partition }, 'append to __consumer_offsets failed');
      sent = Promise.resolve(ErrorCode.UNKNOWN_SERVER_ERROR);
    }
    const finish = (error: number) => {
      entry.done = true;
      entry.error = error;
      this.drain(shard);
    };
    sent.then(finish, (err: unknown) => {
      this.log.error({ err, partition: shard.partition }, 'append to __consumer_offsets failed');
      finish(ErrorCode.UNKNOWN_SERVER_ERROR);
    });
    return promise;
  }

  private drain(shard: Shard): void {
    while (shard.inflight.length > 0 && shard.inflight[0]!.done) {
      const w = shard.inflight.shift()!;
      if (w.error === ErrorCode.NONE && w.replay && this.shards.get(shard.partition) === shard) {
        for (const r of w.records) this.replay(shard, r, false, w.producerId);
      }
      w.resolve(w.error);
    }
  }

  private groupRecord(group: ClassicGroup, assignments: ReadonlyMap<string, Buffer>): OffsetsTopicRecord {
    const value: GroupMetadataValue = {
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      currentStateTimestamp: BigInt(group.currentStateTimestamp ?? -1),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: m.metadata(group.protocolName),
        assignment: assignments.get(m.memberId) ?? EMPTY_BYTES,
      })),
    };
    return groupMetadataRecord(group.groupId, value);
  }

  // ---------------------------------------------------------------- lookups

  /** The loaded shard of a group, or the error: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE. */
  private shardFor(groupId: string): Shard | number {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const n = this.deps.numPartitions();
    if (n <= 0) return ErrorCode.NOT_COORDINATOR;
    const shard = this.shards.get(partitionFor(groupId, n));
    if (!shard) return ErrorCode.NOT_COORDINATOR;
    if (shard.state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return shard;
  }

  /** The group as currently kept, or undefined (tests and diagnostics). */
  group(groupId: string): ClassicGroup | undefined {
    const s = this.shardFor(groupId);
    return typeof s === 'number' ? undefined : s.groups.get(groupId);
  }

  private live(shard: Shard, group: ClassicGroup): boolean {
    return this.shards.get(shard.partition) === shard && shard.groups.get(group.groupId) === group;
  }

  /** UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID, or null when the member (and instance id) match. */
  private validateMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number | null {
    if (groupInstanceId !== null) {
      const existing = group.staticMemberId(groupInstanceId);
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return group.has(memberId) ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // ---------------------------------------------------------------- timers

  private hbKey(shard: Shard, groupId: string, memberId: string): string {
    return `${shard.partition}/hb/${groupId}\u0000${memberId}`;
  }

  private joinKey(shard: Shard, groupId: string): string {
    return `${shard.partition}/join/${groupId}`;
  }

  private syncKey(shard: Shard, groupId: string): string {
    return `${shard.partition}/sync/${groupId}`;
  }

  private rescheduleHeartbeat(shard: Shard, group: ClassicGroup, member: GroupMember, timeoutMs = member.sessionTimeoutMs): void {
    const memberId = member.memberId;
    this.timer.schedule(this.hbKey(shard, group.groupId, memberId), timeoutMs, () => this.onHeartbeatExpired(shard, group, memberId));
  }

  private cancelHeartbeat(shard: Shard, group: ClassicGroup, memberId: string): void {
    this.timer.cancel(this.hbKey(shard, group.groupId, memberId));
  }

  private onHeartbeatExpired(shard: Shard, group: ClassicGroup, memberId: string): void {
    if (!this.live(shard, group) || group.is('Dead')) return;
    if (group.isPendingMember(memberId)) {
      this.log.info({ groupId: group.groupId, memberId }, 'pending member removed after session timeout');
      this.removePendingMemberAndUpdateGroup(shard, group, memberId);
      return;
    }
    const member = group.get(memberId);
    if (!member || member.hasSatisfiedHeartbeat) return;
    this.log.info({ groupId: group.groupId, memberId }, 'member failed (session timeout), removing it from the group');
    this.removeMemberAndUpdateGroup(shard, group, member, `removing member ${memberId} on heartbeat expiration`);
  }

  // ---------------------------------------------------------------- rebalance machinery

  private removeMemberAndUpdateGroup(shard: Shard, group: ClassicGroup, member: GroupMember, reason: string): void {
    // A new member may time out with its JoinGroup still parked: answer it so the client rejoins.
    group.completeJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
    this.cancelHeartbeat(shard, group, member.memberId);
    switch (group.state) {
      case 'Dead':
      case 'Empty':
        return;
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalanceOrCompleteJoin(shard, group, reason);
        return;
      case 'PreparingRebalance':
        this.maybeCompleteJoinPhase(shard, group);
        return;
    }
  }

  private removePendingMemberAndUpdateGroup(shard: Shard, group: ClassicGroup, memberId: string): void {
    group.remove(memberId);
    this.cancelHeartbeat(shard, group, memberId);
    if (group.is('PreparingRebalance')) this.maybeCompleteJoinPhase(shard, group);
  }

  private maybePrepareRebalanceOrCompleteJoin(shard: Shard, group: ClassicGroup, reason: string): void {
    if (group.canRebalance) this.prepareRebalance(shard, group, reason);
    else this.maybeCompleteJoinPhase(shard, group);
  }

  /** Completes the join phase once everyone rejoined, except during the initial delayed rebalance. */
  private maybeCompleteJoinPhase(shard: Shard, group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && group.hasAllMembersJoined && group.previousState !== 'Empty') {
      this.completeJoinPhase(shard, group);
    }
  }

  private prepareRebalance(shard: Shard, group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(shard, group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.timer.cancel(this.syncKey(shard, group.groupId));
    const initial = group.is('Empty');
    if (initial) {
      // A new group: give other members group.initial.rebalance.delay.ms to join, extended by the
      // same delay while members keep arriving, never past the rebalance timeout.
      const delay = this.cfg.initialRebalanceDelayMs;
      const remaining = Math.max(group.rebalanceTimeoutMs - delay, 0);
      this.timer.schedule(this.joinKey(shard, group.groupId), delay, () => this.tryCompleteInitialRebalance(shard, group, delay, remaining));
    }
    group.transitionTo('PreparingRebalance', this.deps.nowMs());
    this.log.info({ groupId: group.groupId, generationId: group.generationId, partition: shard.partition, reason }, 'preparing to rebalance group');
    if (!initial) this.maybeCompleteJoinElseSchedule(shard, group);
  }

  private maybeCompleteJoinElseSchedule(shard: Shard, group: ClassicGroup): void {
    if (group.hasAllMembersJoined) {
      this.completeJoinPhase(shard, group);
      return;
    }
    this.timer.schedule(this.joinKey(shard, group.groupId), group.rebalanceTimeoutMs, () => {
      if (this.live(shard, group) && group.is('PreparingRebalance')) this.completeJoinPhase(shard, group);
    });
  }

  private tryCompleteInitialRebalance(shard: Shard, group: ClassicGroup, delayMs: number, remainingMs: number): void {
    if (!this.live(shard, group) || !group.is('PreparingRebalance')) return;
    if (group.newMemberAdded && remainingMs !== 0) {
      group.newMemberAdded = false;
      const nextDelay = Math.min(this.cfg.initialRebalanceDelayMs, remainingMs);
      const nextRemaining = Math.max(remainingMs - delayMs, 0);
      this.timer.schedule(this.joinKey(shard, group.groupId), nextDelay, () => this.tryCompleteInitialRebalance(shard, group, nextDelay, nextRemaining));
      return;
    }
    this.completeJoinPhase(shard, group);
  }

  /** End of the join phase: drop dynamic members that did not rejoin, elect, next generation. */
  private completeJoinPhase(shard: Shard, group: ClassicGroup): void {
    this.timer.cancel(this.joinKey(shard, group.groupId));
    const dropped = group.notYetRejoinedMembers().filter((m) => !m.isStatic);
    for (const m of dropped) {
      group.remove(m.memberId);
      this.cancelHeartbeat(shard, group, m.memberId);
    }
    if (dropped.length > 0) this.log.info({ groupId: group.groupId, members: dropped.map((m) => m.memberId) }, 'removed members who did not rejoin');
    if (group.is('Dead')) return;
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only static members that have not rejoined are left: wait another rebalance timeout
      // (their session timeouts remove the ones that are gone).
      this.log.warn({ groupId: group.groupId }, 'could not complete rebalance because no members rejoined');
      this.timer.schedule(this.joinKey(shard, group.groupId), group.rebalanceTimeoutMs, () => {
        if (this.live(shard, group) && group.is('PreparingRebalance')) this.completeJoinPhase(shard, group);
      });
      return;
    }
    group.initNextGeneration(this.deps.nowMs());
    if (group.is('Empty')) {
      this.log.info({ groupId: group.groupId, generationId: group.generationId, partition: shard.partition }, 'group is now empty');
      void this.write(shard, [this.groupRecord(group, new Map())], false).then((err) => {
        // Without this record a restart brings back the previous generation, whose members
        // then time out: harmless, so only warn.
        if (err !== ErrorCode.NONE) this.log.warn({ groupId: group.groupId, errorCode: err }, 'failed to write empty group metadata');
      });
      return;
    }
    this.log.info(
      { groupId: group.groupId, generationId: group.generationId, protocol: group.protocolName, members: group.size, partition: shard.partition },
      'stabilized group (join phase complete)',
    );
    for (const m of [...group.members.values()]) {
      group.completeJoin(m, group.joinResponseFor(m.memberId, { withMembers: group.isLeader(m.memberId) }));
      this.rescheduleHeartbeat(shard, group, m);
      m.isNew = false;
      group.addPendingSyncMember(m.memberId);
    }
    const generation = group.generationId;
    this.timer.schedule(this.syncKey(shard, group.groupId), group.rebalanceTimeoutMs, () => this.expirePendingSync(shard, group, generation));
  }

  private expirePendingSync(shard: Shard, group: ClassicGroup, generationId: number): void {
    if (!this.live(shard, group) || generationId !== group.generationId) return;
    if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
    const pending = group.allPendingSyncMembers();
    for (const id of pending) {
      group.remove(id);
      this.cancelHeartbeat(shard, group, id);
    }
    group.clearPendingSyncMembers();
    this.log.info({ groupId: group.groupId, members: pending }, 'removed members who did not send SyncGroup in time');
    this.maybePrepareRebalanceOrCompleteJoin(shard, group, `removing ${pending.join(',')} on pending sync request expiration`);
  }

  private removePendingSyncMember(shard: Shard, group: ClassicGroup, memberId: string): void {
    group.removePendingSyncMember(memberId);
    const key = this.syncKey(shard, group.groupId);
    if (group.is('CompletingRebalance') || group.is('Stable')) {
      if (group.hasReceivedSyncFromAllMembers) this.timer.cancel(key);
    } else {
      this.timer.cancel(key);
    }
  }

  private resetAndPropagateAssignmentError(shard: Shard, group: ClassicGroup, errorCode: number): void {
    if (!group.is('CompletingRebalance')) throw new IllegalStateError(`group ${group.groupId}: resetting assignments in state ${group.state}`);
    for (const m of group.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(shard, group, errorCode);
  }

  private propagateAssignment(shard: Shard, group: ClassicGroup, errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of [...group.members.values()]) {
      const result: SyncResult = {
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: m.assignment,
      };
      // Restart the session timer of everyone answered: expirations while they waited were ignored.
      if (group.completeSync(m, result)) this.rescheduleHeartbeat(shard, group, m);
    }
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(req: JoinGroupInput): Promise<JoinResult> {
    const memberId = req.memberId;
    if (req.groupId === '' || Buffer.byteLength(req.groupId, 'utf8') > MAX_GROUP_ID_BYTES) {
      return Promise.resolve(joinError(memberId, ErrorCode.INVALID_GROUP_ID));
    }
    if (req.sessionTimeoutMs < this.cfg.minSessionTimeoutMs || req.sessionTimeoutMs > this.cfg.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const shard = this.shardFor(req.groupId);
    if (typeof shard === 'number') return Promise.resolve(joinError(memberId, shard));
    const isUnknownMember = memberId === '';
    let group = shard.groups.get(req.groupId);
    if (!group) {
      // A group is created by a new member's join; a known member id in an unknown group is stale.
      if (!isUnknownMember) return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new ClassicGroup(req.groupId, 'Empty', this.deps.nowMs());
      shard.groups.set(req.groupId, group);
    }
    const g = group;
    return new Promise<JoinResult>((resolve) => {
      if (!this.acceptJoiningMember(g, memberId)) {
        g.remove(memberId);
        resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      } else if (isUnknownMember) {
        this.joinNewMember(shard, g, req, resolve);
      } else {
        this.joinExistingMember(shard, g, req, resolve);
      }
    });
  }

  /** group.max.size: members already waiting are always let in; new ones up to the limit. */
  private acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (group.get(memberId)?.isAwaitingJoin ?? false) || group.numAwaitingJoinResponse < this.cfg.maxGroupSize;
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.size < this.cfg.maxGroupSize;
    }
  }

  private newMemberId(req: JoinGroupInput): string {
    return `${req.groupInstanceId ?? req.clientId}-${this.deps.randomUuid ? this.deps.randomUuid() : randomUUID()}`;
  }

  private joinNewMember(shard: Shard, group: ClassicGroup, req: JoinGroupInput, resolve: (r: JoinResult) => void): void {
    if (group.is('Dead')) {
      resolve(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!group.supportsProtocols(req.protocolType, req.protocols.map((p) => p.name))) {
      resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newMemberId = this.newMemberId(req);
    if (req.groupInstanceId !== null) {
      const existing = group.staticMemberId(req.groupInstanceId);
      if (existing !== undefined) {
        this.log.info({ groupId: group.groupId, groupInstanceId: req.groupInstanceId, oldMemberId: existing, newMemberId, state: group.state }, 'static member rejoins with a new member id');
        this.updateStaticMemberThenRebalanceOrCompleteJoin(shard, group, req, existing, newMemberId, resolve);
      } else {
        this.addMemberThenRebalanceOrCompleteJoin(shard, group, req, newMemberId, resolve);
      }
      return;
    }
    if (req.requireKnownMemberId) {
      // Hand out the member id first; the member joins for real with it (KIP-394).
      group.addPendingMember(newMemberId);
      this.timer.schedule(this.hbKey(shard, group.groupId, newMemberId), req.sessionTimeoutMs, () => this.onHeartbeatExpired(shard, group, newMemberId));
      resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
      return;
    }
    this.addMemberThenRebalanceOrCompleteJoin(shard, group, req, newMemberId, resolve);
  }

  private joinExistingMember(shard: Shard, group: ClassicGroup, req: JoinGroupInput, resolve: (r: JoinResult) => void): void {
    const memberId = req.memberId;
    if (group.is('Dead')) {
      resolve(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!group.supportsProtocols(req.protocolType, req.protocols.map((p) => p.name))) {
      resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (group.isPendingMember(memberId)) {
      // Pending ids are only handed to dynamic members (Kafka answers this combination with an
      // internal error too).
      if (req.groupInstanceId !== null) {
        resolve(joinError(memberId, ErrorCode.UNKNOWN_SERVER_ERROR));
        return;
      }
      this.addMemberThenRebalanceOrCompleteJoin(shard, group, req, memberId, resolve);
      return;
    }
    const error = this.validateMember(group, memberId, req.groupInstanceId);
    if (error !== null) {
      resolve(joinError(memberId, error));
      return;
    }
    const member = group.get(memberId)!;
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberThenRebalanceOrCompleteJoin(shard, group, member, req, resolve, `member ${memberId} joining during PreparingRebalance`);
        return;
      case 'CompletingRebalance':
        if (member.matches(req.protocols)) {
          // The member lost its JoinGroup response: answer again with the current generation.
          resolve(group.joinResponseFor(memberId, { withMembers: group.isLeader(memberId) }));
        } else {
          this.updateMemberThenRebalanceOrCompleteJoin(shard, group, member, req, resolve, `member ${memberId} changed metadata during CompletingRebalance`);
        }
        return;
      case 'Stable':
        if (group.isLeader(memberId)) {
          // The leader rejoining forces a rebalance (e.g. topic metadata changed).
          this.updateMemberThenRebalanceOrCompleteJoin(shard, group, member, req, resolve, `leader ${memberId} rejoining during Stable`);
        } else if (!member.matches(req.protocols)) {
          this.updateMemberThenRebalanceOrCompleteJoin(shard, group, member, req, resolve, `member ${memberId} changed metadata during Stable`);
        } else {
          resolve(group.joinResponseFor(memberId, { withMembers: false }));
        }
        return;
      case 'Empty':
        resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private addMemberThenRebalanceOrCompleteJoin(shard: Shard, group: ClassicGroup, req: JoinGroupInput, memberId: string, resolve: (r: JoinResult) => void): void {
    const member = new GroupMember(memberId, req.groupInstanceId, req.clientId, req.clientHost, req.rebalanceTimeoutMs, req.sessionTimeoutMs, req.protocolType, req.protocols);
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.previousState === 'Empty') group.newMemberAdded = true;
    group.add(member, resolve);
    // New members cannot heartbeat yet; a parked JoinGroup of a vanished client times out here.
    this.rescheduleHeartbeat(shard, group, member, this.cfg.newMemberJoinTimeoutMs);
    this.maybePrepareRebalanceOrCompleteJoin(shard, group, `adding new member ${memberId} with group instance id ${req.groupInstanceId}; client reason: ${req.reason ?? 'not provided'}`);
  }

  private updateMemberThenRebalanceOrCompleteJoin(shard: Shard, group: ClassicGroup, member: GroupMember, req: JoinGroupInput, resolve: (r: JoinResult) => void, reason: string): void {
    // A JoinGroup already parked for this member is superseded (its client gave up on it).
    group.completeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, resolve);
    this.maybePrepareRebalanceOrCompleteJoin(shard, group, `${reason}; client reason: ${req.reason ?? 'not provided'}`);
  }

  /** A known static member restarted (new member id): replace it, without a rebalance when possible. */
  private updateStaticMemberThenRebalanceOrCompleteJoin(
    shard: Shard,
    group: ClassicGroup,
    req: JoinGroupInput,
    oldMemberId: string,
    newMemberId: string,
    resolve: (r: JoinResult) => void,
  ): void {
    const instanceId = req.groupInstanceId!;
    const currentLeader = group.leaderId ?? '';
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.cancelHeartbeat(shard, group, oldMemberId);
    this.rescheduleHeartbeat(shard, group, member);
    const old = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs, resolve);
    switch (group.state) {
      case 'Stable': {
        if (group.protocolName !== group.selectProtocol()) {
          this.maybePrepareRebalanceOrCompleteJoin(shard, group, `static member ${newMemberId} with instance id ${instanceId} joined with a change of protocol`);
          return;
        }
        // Same protocol: persist the new member id and answer without a rebalance.
        const generation = group.generationId;
        void this.write(shard, [this.groupRecord(group, group.assignments())], false).then((err) => {
          const unchanged = this.live(shard, group) && group.is('Stable') && group.generationId === generation && group.get(newMemberId) === member;
          if (err !== ErrorCode.NONE) {
            this.log.warn({ groupId: group.groupId, errorCode: err }, 'failed to persist the replaced static member');
            if (unchanged && member.isAwaitingJoin) {
              // Put the previous member id back.
              group.updateMember(member, old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs, null);
              const restored = group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
              this.cancelHeartbeat(shard, group, newMemberId);
              this.rescheduleHeartbeat(shard, group, restored);
              resolve({ ...joinError('', groupAppendError(err)), generationId: group.generationId, protocolType: group.protocolType, protocolName: group.protocolName, leader: currentLeader });
            } else {
              group.completeJoin(member, joinError('', groupAppendError(err)));
            }
            return;
          }
          if (!unchanged) return; // a rebalance started meanwhile answers the parked join
          if (req.supportSkippingAssignment) {
            // v9+: the leader learns it leads but keeps the current assignment.
            const isLeader = group.isLeader(newMemberId);
            group.completeJoin(member, group.joinResponseFor(newMemberId, { withMembers: isLeader, skipAssignment: isLeader }));
          } else {
            // Older versions: answer with the previous leader id so this member does not think
            // it leads and runs no assignment a Stable group would ignore.
            group.completeJoin(member, group.joinResponseFor(newMemberId, { withMembers: false, leader: currentLeader }));
          }
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning with the old member id: start over.
        this.prepareRebalance(shard, group, `updating metadata for static member ${newMemberId} with instance id ${instanceId}`);
        return;
      case 'PreparingRebalance':
        this.maybeCompleteJoinPhase(shard, group);
        return;
      case 'Empty':
      case 'Dead':
        throw new IllegalStateError(`group ${group.groupId} in state ${group.state} has static member ${instanceId}`);
    }
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(req: SyncGroupInput): Promise<SyncResult> {
    if (req.groupId === '') return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    const shard = this.shardFor(req.groupId);
    if (typeof shard === 'number') {
      // The rebalance state was lost with the load: the member must rejoin.
      return Promise.resolve(syncError(shard === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.REBALANCE_IN_PROGRESS : shard));
    }
    const group = shard.groups.get(req.groupId);
    if (!group) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Dead')) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const memberError = this.validateMember(group, req.memberId, req.groupInstanceId);
    if (memberError !== null) return Promise.resolve(syncError(memberError));
    if (req.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (req.protocolType !== null && req.protocolType !== group.protocolType) return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (req.protocolName !== null && req.protocolName !== group.protocolName) return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    switch (group.state) {
      case 'Dead':
        return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      case 'Empty':
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable': {
        this.removePendingSyncMember(shard, group, req.memberId);
        const member = group.get(req.memberId)!;
        this.rescheduleHeartbeat(shard, group, member);
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      }
      case 'CompletingRebalance':
        return new Promise<SyncResult>((resolve) => {
          const member = group.get(req.memberId)!;
          group.completeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
          this.removePendingSyncMember(shard, group, req.memberId);
          if (group.isLeader(req.memberId)) this.storeLeaderAssignment(shard, group, req);
        });
    }
  }

  /** The leader's assignment: store the group with it, then answer everyone and become Stable. */
  private storeLeaderAssignment(shard: Shard, group: ClassicGroup, req: SyncGroupInput): void {
    const assignment = new Map<string, Buffer>();
    for (const a of req.assignments) assignment.set(a.memberId, a.assignment);
    const missing = [...group.members.keys()].filter((id) => !assignment.has(id));
    for (const id of missing) assignment.set(id, EMPTY_BYTES);
    if (missing.length > 0) this.log.warn({ groupId: group.groupId, generationId: group.generationId, members: missing }, 'empty assignments for members the leader left out');
    this.log.info({ groupId: group.groupId, generationId: group.generationId, members: group.size }, 'assignment received from the leader');
    const generation = group.generationId;
    void this.write(shard, [this.groupRecord(group, assignment)], false).then((err) => {
      // Another member may have joined meanwhile: only finish this generation's rebalance.
      if (!this.live(shard, group) || !group.is('CompletingRebalance') || group.generationId !== generation) return;
      if (err !== ErrorCode.NONE) {
        this.resetAndPropagateAssignmentError(shard, group, groupAppendError(err));
        this.maybePrepareRebalanceOrCompleteJoin(shard, group, `error ${err} storing the group assignment`);
        return;
      }
      for (const m of group.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
      this.propagateAssignment(shard, group, ErrorCode.NONE);
      group.transitionTo('Stable', this.deps.nowMs());
    });
  }

  // ---------------------------------------------------------------- Heartbeat / LeaveGroup

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const shard = this.shardFor(groupId);
    if (typeof shard === 'number') return shard === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.NONE : shard;
    const group = shard.groups.get(groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.validateMember(group, memberId, groupInstanceId);
    if (memberError !== null) return memberError;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Dead':
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.rescheduleHeartbeat(shard, group, group.get(memberId)!);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.rescheduleHeartbeat(shard, group, group.get(memberId)!);
        return ErrorCode.NONE;
    }
  }

  leaveGroup(groupId: string, members: readonly LeavingMember[]): LeaveGroupResult {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const shard = this.shardFor(groupId);
    if (typeof shard === 'number') return { errorCode: shard, members: [] };
    const result = (m: LeavingMember, errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
    const group = shard.groups.get(groupId);
    if (!group) return { errorCode: ErrorCode.NONE, members: members.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const out = members.map((m) => {
      const reason = `removing member ${m.memberId} on LeaveGroup; client reason: ${m.reason ?? 'not provided'}`;
      if (m.memberId === '') {
        // Administrative removal by group instance id.
        const current = m.groupInstanceId !== null ? group.staticMemberId(m.groupInstanceId) : undefined;
        if (current === undefined) return result(m, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(shard, group, group.get(current)!, reason);
        return result(m, ErrorCode.NONE);
      }
      if (group.isPendingMember(m.memberId)) {
        this.removePendingMemberAndUpdateGroup(shard, group, m.memberId);
        return result(m, ErrorCode.NONE);
      }
      const error = this.validateMember(group, m.memberId, m.groupInstanceId);
      if (error !== null) return result(m, error);
      this.removeMemberAndUpdateGroup(shard, group, group.get(m.memberId)!, reason);
      this.log.info({ groupId, memberId: m.memberId }, 'member left the group');
      return result(m, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members: out };
  }

  // ---------------------------------------------------------------- offsets

  /** OffsetCommit: validates against the group, writes the records, replays them once stored. */
  async commitOffsets(req: OffsetCommitInput): Promise<TopicPartitionErrors[]> {
    const all = (errorCode: number): TopicPartitionErrors[] =>
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
    if (Buffer.byteLength(req.groupId, 'utf8') > MAX_GROUP_ID_BYTES) return all(ErrorCode.INVALID_GROUP_ID);
    const shard = this.shardFor(req.groupId);
    if (typeof shard === 'number') return all(shard);
    const now = this.deps.nowMs();
    let group = shard.groups.get(req.groupId);
    if (!group) {
      if (req.generationId >= 0) {
        // A member of a group this coordinator does not know: its generation is gone.
        return all(req.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
      }
      // Admin clients and consumers without group management commit into a "simple" group.
      group = new ClassicGroup(req.groupId, 'Empty', now);
      shard.groups.set(req.groupId, group);
    }
    const error = this.validateOffsetCommit(group, req);
    if (error !== null) return all(error);
    if (group.is('Stable') || group.is('PreparingRebalance')) {
      const member = group.get(req.memberId);
      if (member) this.rescheduleHeartbeat(shard, group, member);
    }
    const expireTimestamp = req.retentionTimeMs === -1 ? null : now + req.retentionTimeMs;
    const records: OffsetsTopicRecord[] = [];
    const result: TopicPartitionErrors[] = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const metadata = p.committedMetadata ?? '';
        if (Buffer.byteLength(metadata, 'utf8') > this.cfg.offsetMetadataMaxBytes) {
          return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        }
        records.push(
          offsetCommitRecord(req.groupId, t.name, p.partitionIndex, {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
            commitTimestamp: p.commitTimestamp === -1 ? now : p.commitTimestamp,
            expireTimestamp,
          }),
        );
        return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
      }),
    }));
    const appendError = await this.write(shard, records, true);
    if (appendError !== ErrorCode.NONE) {
      const mapped = commitAppendError(appendError);
      for (const t of result) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = mapped;
    }
    return result;
  }

  private validateOffsetCommit(group: ClassicGroup, req: OffsetCommitInput): number | null {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 on an Empty group: admin clients, manual assignment.
    if (req.generationId < 0 && group.is('Empty')) return null;
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const memberError = this.validateMember(group, req.memberId, req.groupInstanceId);
      if (memberError !== null) return memberError;
      if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is('Empty')) {
      // Without member id and generation only an Empty group accepts commits.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // Members learnt the generation from JoinGroup but have no assignment yet. (During
    // PreparingRebalance commits are allowed: members commit before they give partitions up.)
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return null;
  }

  /**
   * OffsetFetch for one group: the requested partitions (-1 where nothing is committed) or,
   * with `topics` null, every committed offset. With `requireStable`, a requested partition
   * with a pending transactional commit answers UNSTABLE_OFFSET_COMMIT (the client retries).
   */
  fetchOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitions: readonly number[] }> | null, requireStable = false): OffsetFetchResult {
    const shard = this.shardFor(groupId);
    if (typeof shard === 'number') return { errorCode: shard, topics: [] };
    const group = shard.groups.get(groupId);
    const known = group !== undefined && !group.is('Dead');
    const byTopic = known ? shard.offsets.get(groupId) : undefined;
    const fetched = (partitionIndex: number, o: CommittedOffset | undefined): FetchedOffset =>
      o
        ? { partitionIndex, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE }
        : { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
    if (topics === null) {
      const out: OffsetFetchResult['topics'] = [];
      for (const [name, parts] of byTopic ?? new Map<string, Map<number, CommittedOffset>>()) {
        out.push({ name, partitions: [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([p, o]) => fetched(p, o)) });
      }
      return { errorCode: ErrorCode.NONE, topics: out };
    }
    const unstable = requireStable ? this.pendingTxnOffsetKeys(shard, groupId) : null;
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) =>
          unstable?.has(tpKey(t.name, p))
            ? { partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
            : fetched(p, byTopic?.get(t.name)?.get(p)),
        ),
      })),
    };
  }

  // ---------------------------------------------------------------- transactional offsets

  /** "topic\0partition" keys of `groupId`'s pending transactional offsets (any producer). */
  private pendingTxnOffsetKeys(shard: Shard, groupId: string): Set<string> {
    const out = new Set<string>();
    for (const byKey of shard.pendingTxnOffsets.values()) for (const p of byKey.values()) if (p.group === groupId) out.add(tpKey(p.topic, p.partition));
    return out;
  }

  /**
   * TxnOffsetCommit (the transaction coordinator already knows the group's partition is in the
   * transaction): validates against the group as Kafka does for transactional commits, writes
   * the offsets as a transactional batch of the producer; they stay pending until its marker.
   */
  async commitTxnOffsets(req: TxnOffsetCommitInput): Promise<TopicPartitionErrors[]> {
    const all = (errorCode: number): TopicPartitionErrors[] =>
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
    if (req.groupId === '' || Buffer.byteLength(req.groupId, 'utf8') > MAX_GROUP_ID_BYTES) return all(ErrorCode.INVALID_GROUP_ID);
    const shard = this.shardFor(req.groupId);
    if (typeof shard === 'number') return all(shard);
    const now = this.deps.nowMs();
    let group = shard.groups.get(req.groupId);
    if (!group) {
      group = new ClassicGroup(req.groupId, 'Empty', now);
      shard.groups.set(req.groupId, group);
    }
    // Kafka's validateOffsetCommit(isTransactional = true): member checks only when the client
    // named a member or generation; no REBALANCE_IN_PROGRESS for transactional commits.
    if (group.is('Dead')) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const memberError = this.validateMember(group, req.memberId, req.groupInstanceId);
      if (memberError !== null) return all(memberError);
      if (req.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
    }
    const records: OffsetsTopicRecord[] = [];
    const result: TopicPartitionErrors[] = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const metadata = p.committedMetadata ?? '';
        if (Buffer.byteLength(metadata, 'utf8') > this.cfg.offsetMetadataMaxBytes) {
          return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
        }
        records.push(
          offsetCommitRecord(req.groupId, t.name, p.partitionIndex, {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
            commitTimestamp: now,
            expireTimestamp: null,
          }),
        );
        return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
      }),
    }));
    const appendError = await this.write(shard, records, true, { producerId: req.producerId, producerEpoch: req.producerEpoch });
    if (appendError !== ErrorCode.NONE) {
      const mapped = commitAppendError(appendError);
      for (const t of result) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = mapped;
    }
    return result;
  }

  /**
   * A COMMIT or ABORT marker of `producerId` was written to `__consumer_offsets`-`partition`
   * (WriteTxnMarkers): its pending transactional offsets become committed, or are dropped.
   */
  completeTransaction(partition: number, producerId: number, commit: boolean): void {
    const shard = this.shards.get(partition);
    if (!shard) return;
    if (shard.state === 'loading') {
      shard.deferredTxnCompletions.push({ producerId, commit });
      return;
    }
    this.applyTxnCompletion(shard, producerId, commit);
  }

  private applyTxnCompletion(shard: Shard, producerId: number, commit: boolean): void {
    const pending = shard.pendingTxnOffsets.get(producerId);
    if (!pending) return;
    shard.pendingTxnOffsets.delete(producerId);
    if (!commit) return;
    for (const p of pending.values()) {
      const current = shard.committed(p.group, p.topic, p.partition);
      // A commit stored later in the log than the transactional one wins (Kafka's olderThan).
      if (current !== undefined && (shard.commitOrder.get(current) ?? 0) > p.seq) continue;
      let byTopic = shard.offsets.get(p.group);
      if (!byTopic) shard.offsets.set(p.group, (byTopic = new Map()));
      let byPartition = byTopic.get(p.topic);
      if (!byPartition) byTopic.set(p.topic, (byPartition = new Map()));
      byPartition.set(p.partition, p.value);
      shard.commitOrder.set(p.value, p.seq);
      if (!shard.groups.has(p.group)) shard.groups.set(p.group, new ClassicGroup(p.group, 'Empty', this.deps.nowMs()));
    }
  }

  // ---------------------------------------------------------------- ListGroups / DescribeGroups

  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): { errorCode: number; groups: ListedGroup[] } {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    let errorCode: number = ErrorCode.NONE;
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const shard of this.shards.values()) {
      if (shard.state === 'loading') {
        errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        continue;
      }
      if (types.size > 0 && !types.has('classic')) continue;
      for (const g of shard.groups.values()) {
        if (g.is('Dead')) continue;
        if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
        groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
      }
    }
    return { errorCode, groups };
  }

  describeGroup(groupId: string): DescribedGroup {
    const shard = this.shardFor(groupId);
    const base = { groupId, protocolType: '', protocolData: '', members: [] };
    if (typeof shard === 'number') return { ...base, errorCode: shard, groupState: '' };
    const group = shard.groups.get(groupId);
    if (!group || group.is('Dead')) return { ...base, errorCode: ErrorCode.NONE, groupState: 'Dead' };
    const stable = group.is('Stable');
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? (group.protocolName ?? '') : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadata(group.protocolName) : EMPTY_BYTES,
        memberAssignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  // ---------------------------------------------------------------- DeleteGroups / OffsetDelete

  /** Tombstones for every offset of `group` (committed or still being written). */
  private offsetTombstones(shard: Shard, groupId: string, filter?: (topic: string, partition: number) => boolean): OffsetsTopicRecord[] {
    const keys = shard.pendingOffsetKeys(groupId);
    for (const [topic, parts] of shard.offsets.get(groupId) ?? []) for (const p of parts.keys()) keys.add(tpKey(topic, p));
    const out: OffsetsTopicRecord[] = [];
    for (const k of keys) {
      const [topic, partition] = splitTpKey(k);
      if (!filter || filter(topic, partition)) out.push(offsetCommitRecord(groupId, topic, partition, null));
    }
    return out;
  }

  /** DeleteGroups: only Empty groups; their offsets and metadata become tombstones. */
  async deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    const unique = [...new Set(groupIds)];
    const now = this.deps.nowMs();
    return Promise.all(
      unique.map(async (groupId) => {
        const shard = this.shardFor(groupId);
        if (typeof shard === 'number') return { groupId, errorCode: shard };
        const group = shard.groups.get(groupId);
        if (!group || group.is('Dead')) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
        if (!group.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
        const records = [...this.offsetTombstones(shard, groupId), groupMetadataRecord(groupId, null)];
        group.transitionTo('Dead', now);
        shard.groups.delete(groupId);
        this.timer.cancel(this.joinKey(shard, groupId));
        const err = await this.write(shard, records, true);
        this.log.info({ groupId, offsets: records.length - 1, errorCode: err }, 'deleted group');
        return { groupId, errorCode: err === ErrorCode.NONE ? ErrorCode.NONE : groupAppendError(err) };
      }),
    );
  }

  /**
   * OffsetDelete: an Empty group loses the given offsets; a consumer group keeps the offsets of
   * topics it subscribes to (GROUP_SUBSCRIBED_TO_TOPIC); other active groups: NON_EMPTY_GROUP.
   */
  async deleteOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitions: readonly number[] }>): Promise<OffsetDeleteResult> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const shard = this.shardFor(groupId);
    if (typeof shard === 'number') return { errorCode: shard, topics: [] };
    const group = shard.groups.get(groupId);
    if (!group || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    if (!group.is('Empty') && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    const wanted = new Set<string>();
    const result: TopicPartitionErrors[] = topics.map((t) => {
      const subscribed = group.isSubscribedToTopic(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (subscribed) return { partitionIndex: p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          wanted.add(tpKey(t.name, p));
          return { partitionIndex: p, errorCode: ErrorCode.NONE };
        }),
      };
    });
    const records = this.offsetTombstones(shard, groupId, (topic, partition) => wanted.has(tpKey(topic, partition)));
    const err = await this.write(shard, records, true);
    if (err !== ErrorCode.NONE) return { errorCode: groupAppendError(err), topics: [] };
    return { errorCode: ErrorCode.NONE, topics: result };
  }

  // ---------------------------------------------------------------- deleted topics

  /**
   * Topics were deleted: every group forgets its offsets of them (tombstones), and an Empty
   * group left without offsets is deleted (Kafka's onPartitionsDeleted). Returns the number of
   * offsets removed.
   */
  async onTopicsDeleted(topics: ReadonlySet<string>): Promise<number> {
    if (topics.size === 0) return 0;
    const now = this.deps.nowMs();
    const writes: Promise<number>[] = [];
    let removed = 0;
    for (const shard of this.shards.values()) {
      if (shard.state !== 'active') continue;
      const records: OffsetsTopicRecord[] = [];
      const groupIds = new Set([...shard.groups.keys(), ...shard.offsets.keys()]);
      for (const groupId of groupIds) {
        const tombstones = this.offsetTombstones(shard, groupId, (topic) => topics.has(topic));
        if (tombstones.length === 0) continue;
        records.push(...tombstones);
        removed += tombstones.length;
        const group = shard.groups.get(groupId);
        const remaining = this.offsetTombstones(shard, groupId, (topic) => !topics.has(topic)).length;
        if (group && group.is('Empty') && remaining === 0) {
          records.push(groupMetadataRecord(groupId, null));
          group.transitionTo('Dead', now);
          shard.groups.delete(groupId);
          this.timer.cancel(this.joinKey(shard, groupId));
        }
      }
      if (records.length > 0) writes.push(this.write(shard, records, true));
    }
    await Promise.all(writes);
    if (removed > 0) this.log.info({ topics: [...topics], offsets: removed }, 'removed offsets of deleted topics');
    return removed;
  }

  // ---------------------------------------------------------------- expiration

  /**
   * offsets.retention: removes expired offsets and deletes Empty groups left without offsets
   * (Kafka 2.1+ semantics: an Empty group's offsets expire `retention` after it became Empty;
   * a Stable consumer group's offsets of topics it no longer subscribes to expire `retention`
   * after their commit; a simple group's offsets `retention` after their commit; a commit with
   * an explicit retention time expires at that time). Returns the number of offsets removed.
   */
  async cleanupGroupMetadata(): Promise<number> {
    const now = this.deps.nowMs();
    const writes: Promise<number>[] = [];
    let removed = 0;
    for (const shard of this.shards.values()) {
      if (shard.state !== 'active') continue;
      const records: OffsetsTopicRecord[] = [];
      const groupIds = new Set([...shard.groups.keys(), ...shard.offsets.keys()]);
      for (const groupId of groupIds) {
        const before = records.length;
        const allExpired = this.collectExpiredOffsets(shard, groupId, now, records);
        removed += records.length - before;
        const group = shard.groups.get(groupId);
        if (allExpired && group && group.is('Empty')) {
          records.push(groupMetadataRecord(groupId, null));
          group.transitionTo('Dead', now);
          shard.groups.delete(groupId);
          this.timer.cancel(this.joinKey(shard, groupId));
          this.log.info({ groupId, generationId: group.generationId }, 'group transitioned to Dead (no offsets left)');
        }
      }
      if (records.length > 0) writes.push(this.write(shard, records, true));
    }
    await Promise.all(writes);
    if (removed > 0) this.log.info({ offsets: removed }, 'removed expired offsets');
    return removed;
  }

  /** Appends tombstones of expired offsets of `groupId`; true when none of its offsets remain. */
  private collectExpiredOffsets(shard: Shard, groupId: string, now: number, records: OffsetsTopicRecord[]): boolean {
    const byTopic = shard.offsets.get(groupId);
    if (!byTopic || byTopic.size === 0) return shard.pendingOffsetKeys(groupId).size === 0 && this.pendingTxnOffsetKeys(shard, groupId).size === 0;
    const group = shard.groups.get(groupId);
    if (!group) return false;
    const base = expirationBase(group);
    if (base === null) return false;
    const pending = shard.pendingOffsetKeys(groupId);
    for (const k of this.pendingTxnOffsetKeys(shard, groupId)) pending.add(k);
    let allExpired = pending.size === 0;
    for (const [topic, parts] of byTopic) {
      if (group.isSubscribedToTopic(topic)) {
        allExpired = false;
        continue;
      }
      for (const [partition, o] of parts) {
        const expired = o.expireTimestamp !== null ? now >= o.expireTimestamp : now - base(o) >= this.cfg.offsetsRetentionMs;
        if (expired && !pending.has(tpKey(topic, partition))) records.push(offsetCommitRecord(groupId, topic, partition, null));
        else allExpired = false;
      }
    }
    return allExpired;
  }
}

/** The timestamp retention counts from for each offset of `group`, or null: nothing expires now. */
function expirationBase(group: ClassicGroup): ((o: CommittedOffset) => number) | null {
  if (group.protocolType === null) return (o) => o.commitTimestamp; // simple group: offsets only
  if (group.is('Empty')) return (o) => group.currentStateTimestamp ?? o.commitTimestamp;
  if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.subscribedTopics !== null && group.is('Stable')) return (o) => o.commitTimestamp;
  return null;
}

/** Rebuilds a group from its GroupMetadata record: Empty without members, else Stable. */
export function groupFromRecord(groupId: string, value: GroupMetadataValue): ClassicGroup {
  const ts = value.currentStateTimestamp ?? -1n;
  const group = new ClassicGroup(groupId, value.members.length === 0 ? 'Empty' : 'Stable', ts >= 0n ? Number(ts) : null);
  const protocolType = value.protocolType === '' ? null : value.protocolType;
  group.generationId = value.generation;
  group.protocolName = value.protocol;
  for (const m of value.members) {
    const rebalanceTimeout = m.rebalanceTimeout === undefined || m.rebalanceTimeout < 0 ? m.sessionTimeout : m.rebalanceTimeout;
    const protocols = value.protocol === null ? [] : [{ name: value.protocol, metadata: m.subscription }];
    group.loadMember(new GroupMember(m.memberId, m.groupInstanceId ?? null, m.clientId, m.clientHost, rebalanceTimeout, m.sessionTimeout, protocolType ?? '', protocols, m.assignment));
  }
  group.protocolType = protocolType;
  group.leaderId = value.leader;
  group.subscribedTopics = group.computeSubscribedTopics();
  return group;
}

class LoadAbortedError extends Error {}
