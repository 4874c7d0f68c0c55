// A group coordinator on a fake clock and an in-memory `__consumer_offsets`: appends land in a
// per-partition array (optionally failing), loading replays that array, timers are a ManualTimer.
import pino from 'pino';
import { GroupCoordinator, type GroupCoordinatorConfig, type JoinGroupInput } from '../../broker/group/coordinator.js';
import type { JoinResult, SyncResult } from '../../broker/group/group.js';
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsTopicRecord } from '../../broker/group/offsets-topic.js';
import { ManualTimer } from '../../broker/group/timer.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeConsumerProtocolAssignment } from '../../wire/generated/messages/consumer-protocol-assignment.js';
import { encodeConsumerProtocolSubscription } from '../../wire/generated/messages/consumer-protocol-subscription.js';
import { Writer } from '../../wire/primitives.js';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

export const DEFAULT_CONFIG: GroupCoordinatorConfig = {
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 0,
  maxGroupSize: 1_000,
  newMemberJoinTimeoutMs: 300_000,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  offsetMetadataMaxBytes: 4096,
};

/** Consumer-protocol subscription metadata (version 0 prefix + body) for `topics`. */
export function subscription(topics: string[], version = 1): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolSubscription(w, version, { topics, userData: null, ownedPartitions: [] });
  return w.toBuffer();
}

export function assignment(topic: string, partitions: number[]): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [{ topic, partitions }], userData: null });
  return w.toBuffer();
}

/** The store behind the fake coordinator: survives "restarts" (a new coordinator on the same store). */
export class FakeOffsetsLog {
  /** partition → records (encoded and decoded again, as the log would). */
  readonly records = new Map<number, OffsetsTopicRecord[]>();
  /** Errors to answer the next appends with (consumed in order). */
  failures: number[] = [];
  /** When set, appends wait until release() is called. */
  hold = false;
  private held: Array<() => void> = [];
  appends = 0;

  append(partition: number, recs: readonly OffsetsTopicRecord[]): Promise<number> {
    this.appends++;
    const failure = this.failures.shift();
    if (failure !== undefined && failure !== ErrorCode.NONE) return Promise.resolve(failure);
    let list = this.records.get(partition);
    if (!list) this.records.set(partition, (list = []));
    for (const r of recs) {
      const { key, value } = encodeOffsetsRecord(r);
      list.push(decodeOffsetsRecord(key, value)!);
    }
    if (!this.hold) return Promise.resolve(ErrorCode.NONE);
    return new Promise((resolve) => this.held.push(() => resolve(ErrorCode.NONE)));
  }

  /** Completes the held appends (in reverse order: replication finishing out of order). */
  release(reverse = false): void {
    const h = reverse ? this.held.reverse() : this.held;
    this.held = [];
    for (const f of h) f();
  }

  all(partition = 0): OffsetsTopicRecord[] {
    return this.records.get(partition) ?? [];
  }
}

export interface Harness {
  coordinator: GroupCoordinator;
  timer: ManualTimer;
  log: FakeOffsetsLog;
}

/** A started coordinator; unless `elect` is false it leads (and has loaded) every partition. */
export async function newCoordinator(
  opts: { config?: Partial<GroupCoordinatorConfig>; log?: FakeOffsetsLog; timer?: ManualTimer; partitions?: number; loadGate?: Promise<void>; elect?: boolean } = {},
): Promise<Harness> {
  const timer = opts.timer ?? new ManualTimer(1_000_000);
  const log = opts.log ?? new FakeOffsetsLog();
  let ids = 0;
  const coordinator = new GroupCoordinator({
    config: { ...DEFAULT_CONFIG, ...opts.config },
    timer,
    nowMs: () => timer.nowMs(),
    logger,
    numPartitions: () => opts.partitions ?? 1,
    append: (p, recs) => log.append(p, recs),
    readPartition: async (p, onRecord) => {
      if (opts.loadGate) await opts.loadGate;
      const recs = log.all(p);
      for (const r of recs) onRecord(r);
      return { records: recs.length, batches: recs.length, skipped: 0 };
    },
    randomUuid: () => `uuid${++ids}`,
  });
  coordinator.start();
  if (opts.elect !== false) {
    for (let p = 0; p < (opts.partitions ?? 1); p++) await coordinator.onElection(p, 0);
  }
  return { coordinator, timer, log };
}

/** Lets promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A promise whose settlement can be checked synchronously. */
export function track<T>(p: Promise<T>): { done: boolean; value: T | undefined; promise: Promise<T> } {
  const t = { done: false, value: undefined as T | undefined, promise: p };
  void p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

export function joinInput(overrides: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    clientId: 'client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: true,
    supportSkippingAssignment: false,
    reason: null,
    ...overrides,
  };
}

/** JoinGroup with the MEMBER_ID_REQUIRED round trip; returns the parked second join. */
export async function joinNew(h: Harness, overrides: Partial<JoinGroupInput> = {}): Promise<{ memberId: string; join: ReturnType<typeof track<JoinResult>> }> {
  const first = await h.coordinator.joinGroup(joinInput(overrides));
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
  const join = track(h.coordinator.joinGroup(joinInput({ ...overrides, memberId: first.memberId })));
  await flush();
  return { memberId: first.memberId, join };
}

/** Runs a whole rebalance: everyone (re)joins, the leader assigns partition i to member i. */
export async function stabilize(h: Harness, groupId: string, memberIds: string[]): Promise<{ generationId: number; leader: string; syncs: SyncResult[] }> {
  const joins = memberIds.map((m) => track(h.coordinator.joinGroup(joinInput({ groupId, memberId: m }))));
  await flush();
  h.timer.advance(0);
  await flush();
  const results = joins.map((j) => {
    if (!j.done) throw new Error('join not answered');
    return j.value!;
  });
  const leader = results[0]!.leader;
  const generationId = results[0]!.generationId;
  const syncs = memberIds.map((m, i) =>
    track(
      h.coordinator.syncGroup({
        groupId,
        generationId,
        memberId: m,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: m === leader ? memberIds.map((id, k) => ({ memberId: id, assignment: assignment('t', [k]) })) : [],
      }),
    ),
  );
  await flush();
  await flush();
  assertAllDone(syncs);
  return { generationId, leader, syncs: syncs.map((s) => s.value!) };
}

function assertAllDone(list: Array<{ done: boolean }>): void {
  if (!list.every((s) => s.done)) throw new Error('sync not answered');
}
