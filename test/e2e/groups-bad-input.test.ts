// Consumer-group requests a real client should not send (or sends only when something went
// wrong), over the typed raw client (KafkaTestClient, the generated codecs). Each case is its own
// test; after each one the broker process is still running, logged no error, serves a new
// connection, and another group on the same broker ("keeper", a Stable static member with
// committed offsets) keeps working: it heartbeats, its committed offsets are intact, and it
// commits again.
//
// What Kafka 3.9 answers, and so what is asserted (classic group protocol, GroupMetadataManager /
// ClassicGroup / GroupCoordinatorService):
// - Heartbeat / SyncGroup of an unknown member, or of an unknown group: UNKNOWN_MEMBER_ID; an
//   OffsetCommit without member or generation into a group with members: UNKNOWN_MEMBER_ID;
// - a known member with an old generation: ILLEGAL_GENERATION (Heartbeat, SyncGroup, OffsetCommit);
// - OffsetCommit by a member while the group awaits its assignment (CompletingRebalance):
//   REBALANCE_IN_PROGRESS; Heartbeat while the group prepares a rebalance: REBALANCE_IN_PROGRESS
//   (commits are still accepted then: members commit before giving partitions up);
// - JoinGroup with another protocol type, no common protocol, or an empty protocol list / type
//   for a new group: INCONSISTENT_GROUP_PROTOCOL; SyncGroup v5 naming another type: same;
// - OffsetCommit of a partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION for that
//   partition only;
// - the empty group id: INVALID_GROUP_ID for JoinGroup, SyncGroup, Heartbeat, LeaveGroup and
//   OffsetDelete; OffsetCommit / OffsetFetch accept it ("for backwards compatibility",
//   GroupCoordinatorService.commitOffsets / fetchOffsets);
// - an over-long group id: Kafka has no group id length limit (KAFKA-7160 was closed without a
//   change), only the protocol's: a string is at most 32767 bytes, so a group id of 32767 bytes
//   works, and a 32768-byte one (only expressible in a flexible version's compact string) fails
//   to parse and the connection is closed, as for any malformed request;
// - JoinGroup v4+ without a member id (dynamic member): MEMBER_ID_REQUIRED with a member id,
//   then a join with that id succeeds; a made-up member id: UNKNOWN_MEMBER_ID (KIP-394);
// - a second instance with the same group.instance.id takes the static member over (same
//   generation, no rebalance); the old member id is then FENCED_INSTANCE_ID (KIP-345).

import { AssignerProtocol } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { JoinGroupResponse } from '../../wire/generated/messages/join-group-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { probeApiVersions, RawConnection } from '../support/raw-client.js';
import { sleep, waitFor, withTimeout } from '../support/util.js';

const TOPIC = 'groups-bad';
const PARTITIONS = 2;
const SESSION_MS = 10_000;
const KEEPER = 'keeper';
const KEEPER_INSTANCE = 'keeper-1';

const subscription = (topics: string[] = [TOPIC]) => AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) });
const assignment = (partitions: number[]) => AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { [TOPIC]: partitions }, userData: Buffer.alloc(0) });

interface JoinOptions {
  memberId?: string;
  instanceId?: string | null;
  protocolType?: string;
  protocols?: Array<{ name: string; metadata: Buffer }>;
  version?: number;
  sessionTimeoutMs?: number;
}

function join(c: KafkaTestClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
  return c.send(
    ApiKey.JoinGroup,
    o.version ?? 5,
    {
      groupId,
      sessionTimeoutMs: o.sessionTimeoutMs ?? SESSION_MS,
      rebalanceTimeoutMs: o.sessionTimeoutMs ?? SESSION_MS,
      memberId: o.memberId ?? '',
      groupInstanceId: o.instanceId ?? null,
      protocolType: o.protocolType ?? 'consumer',
      protocols: o.protocols ?? [{ name: 'range', metadata: subscription() }],
      reason: null,
    },
    30_000,
  );
}

/** A dynamic member's join: MEMBER_ID_REQUIRED first (v4+), then the join with the given id. */
async function joinDynamic(c: KafkaTestClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
  const first = await join(c, groupId, o);
  expect(first.errorCode, 'first join of a dynamic member').toBe(ErrorCode.MEMBER_ID_REQUIRED);
  expect(first.memberId).not.toBe('');
  return join(c, groupId, { ...o, memberId: first.memberId });
}

function sync(c: KafkaTestClient, groupId: string, generationId: number, memberId: string, assignments: Array<{ memberId: string; assignment: Buffer }> = [], instanceId: string | null = null) {
  return c.send(ApiKey.SyncGroup, 5, { groupId, generationId, memberId, groupInstanceId: instanceId, protocolType: 'consumer', protocolName: 'range', assignments }, 30_000);
}

async function heartbeat(c: KafkaTestClient, groupId: string, generationId: number, memberId: string, instanceId: string | null = null): Promise<number> {
  return (await c.send(ApiKey.Heartbeat, 4, { groupId, generationId, memberId, groupInstanceId: instanceId })).errorCode;
}

/** OffsetCommit v8; per-partition error codes in request order. */
async function commit(
  c: KafkaTestClient,
  groupId: string,
  offsets: Array<{ topic?: string; partition: number; offset: number }>,
  member: { generationId: number; memberId: string; instanceId?: string | null } = { generationId: -1, memberId: '' },
): Promise<number[]> {
  const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
  for (const o of offsets) {
    const t = o.topic ?? TOPIC;
    if (!byTopic.has(t)) byTopic.set(t, []);
    byTopic.get(t)!.push(o);
  }
  const r = await c.send(ApiKey.OffsetCommit, 8, {
    groupId,
    generationIdOrMemberEpoch: member.generationId,
    memberId: member.memberId,
    groupInstanceId: member.instanceId ?? null,
    topics: [...byTopic].map(([name, ps]) => ({
      name,
      partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: BigInt(p.offset), committedLeaderEpoch: -1, committedMetadata: `m${p.offset}` })),
    })),
  });
  const codes = new Map<string, number>();
  for (const t of r.topics) for (const p of t.partitions) codes.set(`${t.name}/${p.partitionIndex}`, p.errorCode);
  return offsets.map((o) => codes.get(`${o.topic ?? TOPIC}/${o.partition}`) ?? -999);
}

/** Committed offsets of `groupId` for TOPIC's partitions (OffsetFetch v8), -1 where none. */
async function committed(c: KafkaTestClient, groupId: string, topic = TOPIC, partitions = [0, 1]): Promise<number[]> {
  const r = await c.send(ApiKey.OffsetFetch, 8, { groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }], requireStable: false });
  const g = r.groups![0]!;
  expect(g.errorCode, `OffsetFetch ${groupId.slice(0, 40)}`).toBe(ErrorCode.NONE);
  const got = new Map(g.topics[0]!.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)]));
  return partitions.map((p) => got.get(p) ?? -999);
}

async function describeGroup(c: KafkaTestClient, groupId: string) {
  const r = await c.send(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
  return r.groups[0]!;
}

describe('consumer-group bad input (raw client)', () => {
  let broker: BrokerHandle;
  let keeper: KafkaTestClient;
  let keeperMember = { memberId: '', generationId: -1 };
  let keeperOffsets = [0, 0];
  const clients: KafkaTestClient[] = [];

  /** A fresh connection, closed after the test file. */
  async function client(): Promise<KafkaTestClient> {
    const c = await KafkaTestClient.connect(broker.port);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
    keeper = await client();
    const ct = await keeper.send(ApiKey.CreateTopics, 7, {
      topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    expect(ct.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    // The first FindCoordinator creates __consumer_offsets; wait until the keeper's partition is loaded.
    const fc = await keeper.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [KEEPER] });
    expect(fc.coordinators![0]!.errorCode).toBe(ErrorCode.NONE);
    await waitFor('the group coordinator', async () => {
      const r = await keeper.send(ApiKey.OffsetFetch, 8, { groups: [{ groupId: KEEPER, topics: null }], requireStable: false });
      return r.groups![0]!.errorCode === ErrorCode.NONE;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // The keeper: one static member (long session), Stable, offsets committed.
    const j = await join(keeper, KEEPER, { instanceId: KEEPER_INSTANCE, sessionTimeoutMs: 120_000 });
    expect(j.errorCode).toBe(ErrorCode.NONE);
    const s = await sync(keeper, KEEPER, j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment([0, 1]) }], KEEPER_INSTANCE);
    expect(s.errorCode).toBe(ErrorCode.NONE);
    keeperMember = { memberId: j.memberId, generationId: j.generationId };
    keeperOffsets = [17, 23];
    const codes = await commit(keeper, KEEPER, [{ partition: 0, offset: 17 }, { partition: 1, offset: 23 }], { ...keeperMember, instanceId: KEEPER_INSTANCE });
    expect(codes).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await broker?.stop();
  });

  afterEach(async () => {
    // Nothing crashed or logged an error; a new connection is served.
    expect(broker.exitStatus(), 'broker process exited').toBeUndefined();
    const errors = broker.output().split('\n').filter((l) => /"level":(50|60)/.test(l) || /uncaught|unhandled/i.test(l));
    expect(errors, 'broker logged errors').toEqual([]);
    const av = await probeApiVersions(broker.port, 0);
    expect(av.errorCode).toBe(ErrorCode.NONE);
    // The other group keeps working: same member, same generation, Stable, offsets intact; it commits again.
    await withClient(broker.port, async (c) => {
      expect(await heartbeat(c, KEEPER, keeperMember.generationId, keeperMember.memberId, KEEPER_INSTANCE)).toBe(ErrorCode.NONE);
      const g = await describeGroup(c, KEEPER);
      expect([g.errorCode, g.groupState, g.members.map((m) => m.memberId)]).toEqual([ErrorCode.NONE, 'Stable', [keeperMember.memberId]]);
      expect(await committed(c, KEEPER)).toEqual(keeperOffsets);
      const next = keeperOffsets.map((o) => o + 1);
      const codes = await commit(c, KEEPER, [{ partition: 0, offset: next[0]! }, { partition: 1, offset: next[1]! }], { ...keeperMember, instanceId: KEEPER_INSTANCE });
      expect(codes).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
      keeperOffsets = next;
      expect(await committed(c, KEEPER)).toEqual(keeperOffsets);
    });
  });

  it('heartbeat, sync and commit from an unknown member: UNKNOWN_MEMBER_ID', async () => {
    const c = await client();
    const g = 'unknown-member';
    const j = await joinDynamic(c, g);
    expect(j.errorCode).toBe(ErrorCode.NONE);
    expect((await sync(c, g, j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment([0, 1]) }])).errorCode).toBe(ErrorCode.NONE);
    expect(await heartbeat(c, g, j.generationId, j.memberId)).toBe(ErrorCode.NONE);

    expect(await heartbeat(c, g, j.generationId, 'nobody')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await heartbeat(c, 'no-such-group', 1, 'nobody')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync(c, g, j.generationId, 'nobody')).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(c, g, [{ partition: 0, offset: 5 }], { generationId: j.generationId, memberId: 'nobody' })).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    // A commit without member and generation into a group with members (not a "simple" group).
    expect(await commit(c, KEEPER, [{ partition: 0, offset: 999 }])).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    // A join with a member id the group never handed out.
    expect((await join(c, g, { memberId: 'made-up' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // Leave of an unknown member: per-member UNKNOWN_MEMBER_ID (v3+), the real member is still there.
    const leave = await c.send(ApiKey.LeaveGroup, 5, { groupId: g, members: [{ memberId: 'nobody', groupInstanceId: null, reason: 'test' }] });
    expect([leave.errorCode, leave.members!.map((m) => m.errorCode)]).toEqual([ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID]]);
    expect(await heartbeat(c, g, j.generationId, j.memberId)).toBe(ErrorCode.NONE);
    expect(await committed(c, g)).toEqual([-1, -1]);
  });

  it('a stale generation: ILLEGAL_GENERATION for heartbeat, sync and commit', async () => {
    const c = await client();
    const g = 'stale-generation';
    const j1 = await joinDynamic(c, g);
    expect((await sync(c, g, j1.generationId, j1.memberId, [{ memberId: j1.memberId, assignment: assignment([0, 1]) }])).errorCode).toBe(ErrorCode.NONE);
    // The leader rejoining a Stable group starts the next generation.
    const j2 = await join(c, g, { memberId: j1.memberId });
    expect([j2.errorCode, j2.generationId]).toEqual([ErrorCode.NONE, j1.generationId + 1]);
    expect((await sync(c, g, j2.generationId, j2.memberId, [{ memberId: j2.memberId, assignment: assignment([0, 1]) }])).errorCode).toBe(ErrorCode.NONE);

    expect(await heartbeat(c, g, j1.generationId, j1.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await heartbeat(c, g, j2.generationId + 5, j1.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await sync(c, g, j1.generationId, j1.memberId)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(c, g, [{ partition: 0, offset: 3 }], { generationId: j1.generationId, memberId: j1.memberId })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(await committed(c, g)).toEqual([-1, -1]);
    // The current generation still works.
    expect(await heartbeat(c, g, j2.generationId, j2.memberId)).toBe(ErrorCode.NONE);
    expect(await commit(c, g, [{ partition: 0, offset: 3 }], { generationId: j2.generationId, memberId: j2.memberId })).toEqual([ErrorCode.NONE]);
    expect(await committed(c, g)).toEqual([3, -1]);
  });

  it('a commit while the group awaits its assignment: REBALANCE_IN_PROGRESS (heartbeat too while it prepares a rebalance)', async () => {
    const a = await client();
    const b = await client();
    const admin = await client();
    const g = 'rebalancing';
    const ja = await joinDynamic(a, g);
    expect(ja.errorCode).toBe(ErrorCode.NONE);
    expect((await describeGroup(admin, g)).groupState).toBe('CompletingRebalance');
    // Generation known from JoinGroup, no assignment yet.
    expect(await commit(a, g, [{ partition: 0, offset: 1 }], { generationId: ja.generationId, memberId: ja.memberId })).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);
    expect((await sync(a, g, ja.generationId, ja.memberId, [{ memberId: ja.memberId, assignment: assignment([0, 1]) }])).errorCode).toBe(ErrorCode.NONE);
    expect(await commit(a, g, [{ partition: 0, offset: 1 }], { generationId: ja.generationId, memberId: ja.memberId })).toEqual([ErrorCode.NONE]);

    // B joins: the group prepares a rebalance; B's JoinGroup is parked until A rejoins.
    const bFirst = await join(b, g);
    expect(bFirst.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const bJoin = join(b, g, { memberId: bFirst.memberId });
    await waitFor('PreparingRebalance', async () => (await describeGroup(admin, g)).groupState === 'PreparingRebalance', { timeoutMs: 10_000, intervalMs: 50 });
    expect(await heartbeat(a, g, ja.generationId, ja.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // Kafka accepts commits of the current generation while preparing (members commit before revoking).
    expect(await commit(a, g, [{ partition: 0, offset: 2 }], { generationId: ja.generationId, memberId: ja.memberId })).toEqual([ErrorCode.NONE]);

    // A rejoins: both get the next generation; until the leader's SyncGroup, commits are refused.
    const ja2 = await join(a, g, { memberId: ja.memberId });
    const jb = await withTimeout(bJoin, 10_000, 'B join');
    expect([ja2.errorCode, jb.errorCode]).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    expect(ja2.generationId).toBe(ja.generationId + 1);
    expect(jb.generationId).toBe(ja2.generationId);
    const leader = ja2.leader === ja2.memberId ? { c: a, j: ja2 } : { c: b, j: jb };
    const follower = leader.c === a ? { c: b, j: jb } : { c: a, j: ja2 };
    expect(leader.j.members.map((m) => m.memberId).sort()).toEqual([ja2.memberId, jb.memberId].sort());
    for (const m of [ja2, jb]) {
      expect(await commit(admin, g, [{ partition: 1, offset: 9 }], { generationId: m.generationId, memberId: m.memberId })).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);
    }
    expect(await commit(admin, g, [{ partition: 1, offset: 9 }], { generationId: ja.generationId, memberId: ja.memberId })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    const followerSync = sync(follower.c, g, follower.j.generationId, follower.j.memberId);
    const leaderSync = await sync(leader.c, g, leader.j.generationId, leader.j.memberId, [
      { memberId: leader.j.memberId, assignment: assignment([0]) },
      { memberId: follower.j.memberId, assignment: assignment([1]) },
    ]);
    expect(leaderSync.errorCode).toBe(ErrorCode.NONE);
    const fs = await withTimeout(followerSync, 10_000, 'follower SyncGroup');
    expect(fs.errorCode).toBe(ErrorCode.NONE);
    expect(AssignerProtocol.MemberAssignment.decode(Buffer.from(fs.assignment))?.assignment).toEqual({ [TOPIC]: [1] });
    expect(await commit(a, g, [{ partition: 1, offset: 9 }], { generationId: ja2.generationId, memberId: ja2.memberId })).toEqual([ErrorCode.NONE]);
    expect(await committed(admin, g)).toEqual([2, 9]);
    expect((await describeGroup(admin, g)).groupState).toBe('Stable');
  });

  it('a join with another protocol type or no common protocol: INCONSISTENT_GROUP_PROTOCOL', async () => {
    const c = await client();
    const g = 'protocols';
    const j = await joinDynamic(c, g);
    expect((await sync(c, g, j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment([0, 1]) }])).errorCode).toBe(ErrorCode.NONE);

    const other = await client();
    expect((await join(other, g, { protocolType: 'connect' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await join(other, g, { protocols: [{ name: 'roundrobin', metadata: subscription() }] })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // A static member (no MEMBER_ID_REQUIRED round trip) is checked the same way.
    expect((await join(other, g, { instanceId: 'other-1', protocolType: 'connect' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // A new group needs a protocol type and at least one protocol.
    expect((await join(other, 'protocols-empty', { protocols: [] })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await join(other, 'protocols-empty', { protocolType: '' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // SyncGroup v5 naming another protocol type or name.
    const bad = await c.send(ApiKey.SyncGroup, 5, { groupId: g, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'connect', protocolName: 'range', assignments: [] });
    expect(bad.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const badName = await c.send(ApiKey.SyncGroup, 5, { groupId: g, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
    expect(badName.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // The group is untouched: one member, same generation, Stable.
    const d = await describeGroup(other, g);
    expect([d.groupState, d.protocolType, d.protocolData, d.members.map((m) => m.memberId)]).toEqual(['Stable', 'consumer', 'range', [j.memberId]]);
    expect(await heartbeat(c, g, j.generationId, j.memberId)).toBe(ErrorCode.NONE);
    // The refused joins left no member behind (Kafka keeps the group it created for them as Empty).
    const e = await describeGroup(other, 'protocols-empty');
    expect([e.errorCode, e.members]).toEqual([ErrorCode.NONE, []]);
    expect(['Empty', 'Dead']).toContain(e.groupState);
  });

  it('a commit for a partition or topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION for it alone', async () => {
    const c = await client();
    const g = 'missing-partition';
    const codes = await commit(c, g, [
      { partition: 0, offset: 11 },
      { partition: PARTITIONS, offset: 12 },
      { partition: 99, offset: 13 },
      { topic: 'no-such-topic', partition: 0, offset: 14 },
    ]);
    expect(codes).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(await committed(c, g, TOPIC, [0, 1, PARTITIONS, 99])).toEqual([11, -1, -1, -1]);
    expect(await committed(c, g, 'no-such-topic', [0])).toEqual([-1]);
    // Same for a member of a Stable group.
    const j = await joinDynamic(c, 'missing-partition-member');
    expect((await sync(c, 'missing-partition-member', j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment([0, 1]) }])).errorCode).toBe(ErrorCode.NONE);
    const member = { generationId: j.generationId, memberId: j.memberId };
    expect(await commit(c, 'missing-partition-member', [{ partition: 1, offset: 4 }, { partition: 7, offset: 4 }], member)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(await committed(c, 'missing-partition-member')).toEqual([-1, 4]);
    // Nothing of it shows in the full listing.
    const all = await c.send(ApiKey.OffsetFetch, 8, { groups: [{ groupId: g, topics: null }], requireStable: false });
    expect(all.groups![0]!.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)])])).toEqual([[TOPIC, [[0, 11]]]]);
  });

  it('an empty group id: INVALID_GROUP_ID for the membership APIs (commit and fetch accept it, as Kafka does)', async () => {
    const c = await client();
    expect((await join(c, '')).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await join(c, '', { instanceId: 'x' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await sync(c, '', 1, 'm')).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(await heartbeat(c, '', 1, 'm')).toBe(ErrorCode.INVALID_GROUP_ID);
    const leave = await c.send(ApiKey.LeaveGroup, 5, { groupId: '', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] });
    expect(leave.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    const od = await c.send(ApiKey.OffsetDelete, 0, { groupId: '', topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
    expect(od.errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    // "For backwards compatibility, we support offset commits for the empty groupId."
    expect(await commit(c, '', [{ partition: 0, offset: 8 }])).toEqual([ErrorCode.NONE]);
    expect(await committed(c, '')).toEqual([8, -1]);
  });

  it('an over-long group id: 32767 bytes (the protocol maximum) works; 32768 closes the connection', async () => {
    const c = await client();
    const longest = `g${'x'.repeat(32_766)}`;
    expect(Buffer.byteLength(longest)).toBe(32_767);
    const fc = await c.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [longest] });
    expect(fc.coordinators![0]!.errorCode).toBe(ErrorCode.NONE);
    expect(await commit(c, longest, [{ partition: 1, offset: 32_767 }])).toEqual([ErrorCode.NONE]);
    expect(await committed(c, longest)).toEqual([-1, 32_767]);
    const j = await join(c, longest, { instanceId: 'long-1' });
    expect(j.errorCode).toBe(ErrorCode.NONE);
    expect((await sync(c, longest, j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment([1]) }], 'long-1')).errorCode).toBe(ErrorCode.NONE);
    expect((await describeGroup(c, longest)).groupState).toBe('Stable');
    const leave = await c.send(ApiKey.LeaveGroup, 5, { groupId: longest, members: [{ memberId: j.memberId, groupInstanceId: 'long-1', reason: null }] });
    expect([leave.errorCode, leave.members!.map((m) => m.errorCode)]).toEqual([ErrorCode.NONE, [ErrorCode.NONE]]);

    // One byte more: JoinGroup v9 (compact strings) with a 32768-byte group id, patched by hand
    // since the encoder refuses it. The 32767-byte id's length prefix is uvarint(32768) =
    // 80 80 02; 32768 bytes need uvarint(32769) = 81 80 02 and one more byte.
    const frame = encodeRequestFrame(ApiKey.JoinGroup, 9, 1, 'test-client', {
      groupId: longest, sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: SESSION_MS, memberId: '', groupInstanceId: 'long-2',
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription() }], reason: null,
    });
    const at = frame.indexOf(Buffer.concat([Buffer.from([0x80, 0x80, 0x02]), Buffer.from(longest.slice(0, 16))]));
    expect(at).toBeGreaterThan(0);
    const patched = Buffer.concat([frame.subarray(0, at), Buffer.from([0x81, 0x80, 0x02]), Buffer.from('y'), frame.subarray(at + 3)]);
    patched.writeInt32BE(patched.length - 4, 0);
    const raw = await RawConnection.connect(broker.port);
    try {
      await raw.write(patched);
      const out = await raw.read(5_000);
      expect(out.kind, 'a 32768-byte group id is not a request').toBe('closed');
    } finally {
      raw.destroy();
    }
  });

  it('JoinGroup v4+ without a member id: MEMBER_ID_REQUIRED, then the join with that id succeeds', async () => {
    for (const version of [4, 9]) {
      const c = await client();
      const g = `member-id-required-v${version}`;
      const first = await join(c, g, { version });
      expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      expect(first.memberId).toMatch(/^test-client-/); // client id + uuid, as Kafka makes them
      expect(first.generationId).toBe(-1);
      // The pending member is not a member yet.
      const d = await describeGroup(c, g);
      expect(d.members).toEqual([]);
      const j = await join(c, g, { version, memberId: first.memberId });
      expect([j.errorCode, j.memberId, j.leader, j.generationId, j.protocolName]).toEqual([ErrorCode.NONE, first.memberId, first.memberId, 1, 'range']);
      expect(j.members.map((m) => m.memberId)).toEqual([first.memberId]);
      const s = await sync(c, g, j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment([0, 1]) }]);
      expect(s.errorCode).toBe(ErrorCode.NONE);
      expect(await heartbeat(c, g, j.generationId, j.memberId)).toBe(ErrorCode.NONE);
      const leave = await c.send(ApiKey.LeaveGroup, 5, { groupId: g, members: [{ memberId: j.memberId, groupInstanceId: null, reason: 'done' }] });
      expect(leave.members!.map((m) => m.errorCode)).toEqual([ErrorCode.NONE]);
      expect((await describeGroup(c, g)).groupState).toBe('Empty');
    }
    // Before v4 a new member joins at once.
    const c = await client();
    const j = await join(c, 'member-id-v3', { version: 3 });
    expect([j.errorCode, j.generationId]).toEqual([ErrorCode.NONE, 1]);
    expect(j.memberId).not.toBe('');
  });

  it('a second instance with the same group.instance.id fences the first: FENCED_INSTANCE_ID', async () => {
    const g = 'static-dup';
    const first = await client();
    const j1 = await join(first, g, { instanceId: 'inst-1' });
    expect(j1.errorCode).toBe(ErrorCode.NONE);
    expect((await sync(first, g, j1.generationId, j1.memberId, [{ memberId: j1.memberId, assignment: assignment([0, 1]) }], 'inst-1')).errorCode).toBe(ErrorCode.NONE);
    expect(await commit(first, g, [{ partition: 0, offset: 6 }], { generationId: j1.generationId, memberId: j1.memberId, instanceId: 'inst-1' })).toEqual([ErrorCode.NONE]);

    // The duplicate: same instance id, no member id. It takes the member over without a rebalance.
    const second = await client();
    const j2 = await join(second, g, { instanceId: 'inst-1' });
    expect(j2.errorCode).toBe(ErrorCode.NONE);
    expect(j2.memberId).not.toBe(j1.memberId);
    expect(j2.generationId).toBe(j1.generationId);
    const s2 = await sync(second, g, j2.generationId, j2.memberId, [], 'inst-1');
    expect(s2.errorCode).toBe(ErrorCode.NONE);
    expect(AssignerProtocol.MemberAssignment.decode(Buffer.from(s2.assignment))?.assignment).toEqual({ [TOPIC]: [0, 1] });

    // The first instance is fenced everywhere.
    expect(await heartbeat(first, g, j1.generationId, j1.memberId, 'inst-1')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect((await sync(first, g, j1.generationId, j1.memberId, [], 'inst-1')).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await commit(first, g, [{ partition: 0, offset: 99 }], { generationId: j1.generationId, memberId: j1.memberId, instanceId: 'inst-1' })).toEqual([ErrorCode.FENCED_INSTANCE_ID]);
    expect((await join(first, g, { memberId: j1.memberId, instanceId: 'inst-1' })).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const leave = await first.send(ApiKey.LeaveGroup, 5, { groupId: g, members: [{ memberId: j1.memberId, groupInstanceId: 'inst-1', reason: null }] });
    expect(leave.members!.map((m) => m.errorCode)).toEqual([ErrorCode.FENCED_INSTANCE_ID]);

    // The second one is the member; nothing else changed.
    expect(await heartbeat(second, g, j2.generationId, j2.memberId, 'inst-1')).toBe(ErrorCode.NONE);
    const d = await describeGroup(second, g);
    expect([d.groupState, d.members.map((m) => [m.memberId, m.groupInstanceId])]).toEqual(['Stable', [[j2.memberId, 'inst-1']]]);
    expect(await committed(second, g)).toEqual([6, -1]);
    // A short pause, then still Stable and the same generation (the fenced member's session does not count).
    await sleep(200);
    expect(await heartbeat(second, g, j1.generationId, j2.memberId, 'inst-1')).toBe(ErrorCode.NONE);
  });
});
