// The group coordinator on a fake clock with an in-memory __consumer_offsets: the join/sync
// protocol, timers, static membership, offsets, deletion, expiration, loading.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../wire/errors.js';
import {
  assignment,
  flush,
  joinInput,
  joinNew,
  newCoordinator,
  stabilize,
  subscription,
  track,
  type Harness,
} from './group-helpers.js';

async function commit(h: Harness, over: { groupId?: string; generationId?: number; memberId?: string; groupInstanceId?: string | null; apiVersion?: number; offset?: number; metadata?: string | null; retentionTimeMs?: number; topic?: string } = {}) {
  const r = await h.coordinator.commitOffsets({
    groupId: over.groupId ?? 'g',
    generationId: over.generationId ?? -1,
    memberId: over.memberId ?? '',
    groupInstanceId: over.groupInstanceId ?? null,
    retentionTimeMs: over.retentionTimeMs ?? -1,
    apiVersion: over.apiVersion ?? 8,
    topics: [{ name: over.topic ?? 't', partitions: [{ partitionIndex: 0, committedOffset: over.offset ?? 42, committedLeaderEpoch: 3, commitTimestamp: -1, committedMetadata: over.metadata ?? 'm' }] }],
  });
  return r[0]!.partitions[0]!.errorCode;
}

function fetched(h: Harness, groupId = 'g', topic = 't', partition = 0) {
  const r = h.coordinator.fetchOffsets(groupId, [{ name: topic, partitions: [partition] }]);
  return { ...r.topics[0]!.partitions[0]!, groupErrorCode: r.errorCode };
}

async function twoMemberGroup(h: Harness) {
  const a = await joinNew(h);
  h.timer.advance(0); // initial delay 0: the join phase completes with A alone
  await flush();
  expect(a.join.value!.errorCode).toBe(ErrorCode.NONE);
  const b = await joinNew(h); // B's join starts a rebalance; A must rejoin
  const s = await stabilize(h, 'g', [a.memberId, b.memberId]);
  return { a: a.memberId, b: b.memberId, ...s };
}

describe('JoinGroup', () => {
  it('round trip: MEMBER_ID_REQUIRED, then the join completes with this member as leader', async () => {
    const h = await newCoordinator();
    const first = await h.coordinator.joinGroup(joinInput());
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toBe('client-uuid1');
    expect(h.coordinator.group('g')!.state).toBe('Empty');
    const join = track(h.coordinator.joinGroup(joinInput({ memberId: first.memberId })));
    await flush();
    expect(join.done).toBe(false);
    expect(h.coordinator.group('g')!.state).toBe('PreparingRebalance');
    h.timer.advance(0);
    await flush();
    expect(join.value).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'client-uuid1', leader: 'client-uuid1', generationId: 1, protocolName: 'range', protocolType: 'consumer' });
    expect(join.value!.members.map((m) => m.memberId)).toEqual(['client-uuid1']);
    expect(h.coordinator.group('g')!.state).toBe('CompletingRebalance');
  });

  it('without requireKnownMemberId (v0–v3) a new member joins directly', async () => {
    const h = await newCoordinator();
    const join = track(h.coordinator.joinGroup(joinInput({ requireKnownMemberId: false })));
    h.timer.advance(0);
    await flush();
    expect(join.value).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'client-uuid1', generationId: 1 });
  });

  it('a pending member that never rejoins is dropped after the session timeout', async () => {
    const h = await newCoordinator();
    const first = await h.coordinator.joinGroup(joinInput());
    h.timer.advance(10_000);
    const again = await h.coordinator.joinGroup(joinInput({ memberId: first.memberId }));
    expect(again.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID); // Empty group, unknown member
  });

  it('initial rebalance delay: members joining a new group within the delay share the first generation', async () => {
    const h = await newCoordinator({ config: { initialRebalanceDelayMs: 3_000 } });
    const a = await joinNew(h);
    h.timer.advance(1_000);
    const b = await joinNew(h);
    h.timer.advance(2_000); // t=3000: a member arrived meanwhile, so the delay is extended
    await flush();
    expect(a.join.done).toBe(false);
    h.timer.advance(3_000); // t=6000
    await flush();
    expect(a.join.value!.generationId).toBe(1);
    expect(b.join.value!.generationId).toBe(1);
    expect(a.join.value!.members).toHaveLength(2); // A leads and sees both
    expect(b.join.value!.members).toHaveLength(0);
  });

  it('the initial delay applies only to a group that was Empty', async () => {
    const h = await newCoordinator({ config: { initialRebalanceDelayMs: 3_000 } });
    const a = await joinNew(h);
    h.timer.advance(3_000);
    await flush();
    expect(a.join.value!.generationId).toBe(1);
    const b = await joinNew(h); // Stable→PreparingRebalance: waits for A's rejoin, no delay
    const rejoin = track(h.coordinator.joinGroup(joinInput({ memberId: a.memberId })));
    await flush();
    expect(b.join.value!.generationId).toBe(2);
    expect(rejoin.value!.generationId).toBe(2);
  });

  it('elects a member that rejoined when the leader does not, after the rebalance timeout', async () => {
    const h = await newCoordinator();
    const { a, b } = await twoMemberGroup(h);
    const g = h.coordinator.group('g')!;
    expect(g.leaderId).toBe(a);
    // B changes its metadata: a rebalance; A never rejoins (but keeps heartbeating).
    const rejoin = track(h.coordinator.joinGroup(joinInput({ memberId: b, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] })));
    await flush();
    expect(g.state).toBe('PreparingRebalance');
    for (let t = 0; t < 30_000; t += 5_000) {
      h.timer.advance(5_000);
      expect(h.coordinator.heartbeat('g', a, null, 2)).toBe(t + 5_000 >= 30_000 ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.REBALANCE_IN_PROGRESS);
    }
    await flush();
    expect(rejoin.value).toMatchObject({ errorCode: ErrorCode.NONE, leader: b, generationId: 3 });
    expect(g.has(a)).toBe(false);
  });

  it('selects the protocol every member supports, by their preferences', async () => {
    const h = await newCoordinator();
    const m = (names: string[]) => names.map((name) => ({ name, metadata: subscription(['t']) }));
    const a = await joinNew(h, { protocols: m(['range', 'roundrobin']) });
    h.timer.advance(0);
    await flush();
    const b = await joinNew(h, { protocols: m(['roundrobin', 'range']) });
    const c = await joinNew(h, { protocols: m(['roundrobin']) });
    const ra = track(h.coordinator.joinGroup(joinInput({ memberId: a.memberId, protocols: m(['range', 'roundrobin']) })));
    await flush();
    expect(ra.value!.protocolName).toBe('roundrobin');
    expect(b.join.value!.protocolName).toBe('roundrobin');
    expect(c.join.value!.protocolName).toBe('roundrobin');
  });

  it('refuses inconsistent protocols, bad session timeouts, bad group ids', async () => {
    const h = await newCoordinator();
    await twoMemberGroup(h);
    const bad = await h.coordinator.joinGroup(joinInput({ protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] }));
    expect(bad).toMatchObject({ errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL, memberId: '' });
    expect((await h.coordinator.joinGroup(joinInput({ protocolType: 'connect' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await h.coordinator.joinGroup(joinInput({ groupId: 'other', protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await h.coordinator.joinGroup(joinInput({ groupId: 'other', protocolType: '' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await h.coordinator.joinGroup(joinInput({ sessionTimeoutMs: 5_999 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await h.coordinator.joinGroup(joinInput({ sessionTimeoutMs: 1_800_001 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await h.coordinator.joinGroup(joinInput({ groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await h.coordinator.joinGroup(joinInput({ groupId: 'x'.repeat(32_768) }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await h.coordinator.joinGroup(joinInput({ groupId: 'nope', memberId: 'ghost' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('group.max.size: new members beyond the limit get GROUP_MAX_SIZE_REACHED', async () => {
    const h = await newCoordinator({ config: { maxGroupSize: 2 } });
    await twoMemberGroup(h);
    const third = await h.coordinator.joinGroup(joinInput({ requireKnownMemberId: false }));
    expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(h.coordinator.group('g')!.size).toBe(2);
  });

  it('a follower rejoining a Stable group with the same metadata gets the current generation back', async () => {
    const h = await newCoordinator();
    const { b, generationId } = await twoMemberGroup(h);
    const r = await h.coordinator.joinGroup(joinInput({ memberId: b }));
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, generationId, members: [] });
    expect(h.coordinator.group('g')!.state).toBe('Stable');
  });
});

describe('SyncGroup', () => {
  it('parks followers until the leader assignment is stored, then the group is Stable', async () => {
    const h = await newCoordinator();
    const a = await joinNew(h);
    h.timer.advance(0);
    await flush();
    const b = await joinNew(h);
    const ra = track(h.coordinator.joinGroup(joinInput({ memberId: a.memberId })));
    await flush();
    const gen = ra.value!.generationId;
    expect(gen).toBe(2);
    h.log.hold = true;
    const fb = track(h.coordinator.syncGroup({ groupId: 'g', generationId: gen, memberId: b.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] }));
    await flush();
    expect(fb.done).toBe(false);
    const la = track(
      h.coordinator.syncGroup({
        groupId: 'g',
        generationId: gen,
        memberId: a.memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [{ memberId: b.memberId, assignment: assignment('t', [1]) }],
      }),
    );
    await flush();
    expect(la.done).toBe(false); // waiting for the record to be replicated
    expect(h.coordinator.group('g')!.state).toBe('CompletingRebalance');
    h.log.release();
    await flush();
    expect(fb.value).toMatchObject({ errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range' });
    expect(fb.value!.assignment.equals(assignment('t', [1]))).toBe(true);
    expect(la.value!.assignment.length).toBe(0); // the leader left itself out: empty assignment
    expect(h.coordinator.group('g')!.state).toBe('Stable');
    const stored = h.log.all().filter((r) => r.type === 'group');
    const last = stored[stored.length - 1]!;
    expect(last.type === 'group' && last.value!.generation).toBe(2);
    expect(last.type === 'group' && last.value!.members.map((m) => [m.memberId, m.assignment.length > 0])).toEqual([
      [a.memberId, false],
      [b.memberId, true],
    ]);
  });

  it('errors: unknown member, wrong generation, protocol mismatch, rebalance in progress', async () => {
    const h = await newCoordinator();
    const { a, b, generationId } = await twoMemberGroup(h);
    const sync = (over: Partial<Parameters<typeof h.coordinator.syncGroup>[0]>) =>
      h.coordinator.syncGroup({ groupId: 'g', generationId, memberId: b, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [], ...over });
    expect((await sync({ memberId: 'ghost' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync({ groupId: 'nope' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await sync({ generationId: generationId + 1 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await sync({ protocolType: 'connect' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await sync({ protocolName: 'roundrobin' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await sync({})).errorCode).toBe(ErrorCode.NONE); // Stable: current assignment again
    track(h.coordinator.joinGroup(joinInput({ memberId: a }))); // leader rejoins: rebalance
    await flush();
    expect((await sync({})).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await sync({ groupId: '' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });

  it('a failed store of the assignment answers everyone and starts over', async () => {
    const h = await newCoordinator();
    const a = await joinNew(h);
    h.timer.advance(0);
    await flush();
    h.log.failures = [ErrorCode.NOT_LEADER_OR_FOLLOWER];
    const r = await h.coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(r.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(h.coordinator.group('g')!.state).toBe('PreparingRebalance');
  });

  it('members that do not sync within the rebalance timeout are removed', async () => {
    const h = await newCoordinator();
    const timeouts = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 };
    const a = await joinNew(h, timeouts);
    h.timer.advance(0);
    await flush();
    const b = await joinNew(h, timeouts);
    track(h.coordinator.joinGroup(joinInput({ memberId: a.memberId, ...timeouts })));
    await flush();
    expect(b.join.value!.generationId).toBe(2);
    // Only the leader syncs.
    void h.coordinator.syncGroup({ groupId: 'g', generationId: 2, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    await flush();
    const g = h.coordinator.group('g')!;
    expect(g.state).toBe('Stable');
    h.timer.advance(19_999);
    expect(g.has(b.memberId)).toBe(true);
    h.timer.advance(1);
    expect(g.has(b.memberId)).toBe(false);
    expect(g.state).toBe('PreparingRebalance');
  });
});

describe('Heartbeat and session timeouts', () => {
  it('answers REBALANCE_IN_PROGRESS during a rebalance and checks member and generation', async () => {
    const h = await newCoordinator();
    const { a, b, generationId } = await twoMemberGroup(h);
    expect(h.coordinator.heartbeat('g', a, null, generationId)).toBe(ErrorCode.NONE);
    expect(h.coordinator.heartbeat('g', a, null, generationId - 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(h.coordinator.heartbeat('g', 'ghost', null, generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(h.coordinator.heartbeat('nope', a, null, generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(h.coordinator.heartbeat('', a, null, generationId)).toBe(ErrorCode.INVALID_GROUP_ID);
    track(h.coordinator.joinGroup(joinInput({ memberId: a })));
    await flush();
    expect(h.coordinator.heartbeat('g', b, null, generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('a silent member is removed after its session timeout and the others rebalance', async () => {
    const h = await newCoordinator();
    const { a, b, generationId } = await twoMemberGroup(h);
    for (let i = 0; i < 3; i++) {
      h.timer.advance(3_000);
      expect(h.coordinator.heartbeat('g', a, null, generationId)).toBe(ErrorCode.NONE);
    }
    const g = h.coordinator.group('g')!;
    expect(g.has(b)).toBe(true);
    h.timer.advance(3_000);
    expect(g.has(b)).toBe(false); // 12 s without a heartbeat > 10 s session timeout
    expect(g.state).toBe('PreparingRebalance');
    expect(h.coordinator.heartbeat('g', a, null, generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await h.coordinator.joinGroup(joinInput({ memberId: a }));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: generationId + 1, leader: a });
    expect(rejoin.members).toHaveLength(1);
  });

  it('the last member leaving makes the group Empty with a new generation, stored', async () => {
    const h = await newCoordinator();
    const { a, b, generationId } = await twoMemberGroup(h);
    const r = h.coordinator.leaveGroup('g', [
      { memberId: a, groupInstanceId: null, reason: null },
      { memberId: b, groupInstanceId: null, reason: 'bye' },
      { memberId: 'ghost', groupInstanceId: null, reason: null },
    ]);
    expect(r).toEqual({
      errorCode: ErrorCode.NONE,
      members: [
        { memberId: a, groupInstanceId: null, errorCode: ErrorCode.NONE },
        { memberId: b, groupInstanceId: null, errorCode: ErrorCode.NONE },
        { memberId: 'ghost', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
      ],
    });
    await flush();
    const g = h.coordinator.group('g')!;
    expect(g.state).toBe('Empty');
    expect(g.generationId).toBe(generationId + 1);
    const last = h.log.all().at(-1)!;
    expect(last.type === 'group' && last.value).toMatchObject({ generation: generationId + 1, protocol: null, members: [] });
    expect(h.coordinator.leaveGroup('nope', [{ memberId: 'x', groupInstanceId: null, reason: null }]).members[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('static membership', () => {
  async function staticGroup(h: Harness) {
    const j1 = track(h.coordinator.joinGroup(joinInput({ groupInstanceId: 'i1', clientId: 'c1' })));
    await flush();
    h.timer.advance(0);
    await flush();
    const j2 = track(h.coordinator.joinGroup(joinInput({ groupInstanceId: 'i2', clientId: 'c2' })));
    const r1 = track(h.coordinator.joinGroup(joinInput({ memberId: j1.value!.memberId, groupInstanceId: 'i1' })));
    await flush();
    const m1 = r1.value!.memberId;
    const m2 = j2.value!.memberId;
    expect(m1).toBe('i1-uuid1'); // static members get no MEMBER_ID_REQUIRED; ids start with the instance id
    const gen = r1.value!.generationId;
    const follower = track(h.coordinator.syncGroup({ groupId: 'g', generationId: gen, memberId: m2, groupInstanceId: 'i2', protocolType: null, protocolName: null, assignments: [] }));
    await Promise.all([
      h.coordinator.syncGroup({
        groupId: 'g',
        generationId: gen,
        memberId: m1,
        groupInstanceId: 'i1',
        protocolType: null,
        protocolName: null,
        assignments: [
          { memberId: m1, assignment: assignment('t', [0]) },
          { memberId: m2, assignment: assignment('t', [1]) },
        ],
      }),
    ]);
    await flush();
    expect(follower.value!.assignment.equals(assignment('t', [1]))).toBe(true);
    expect(h.coordinator.group('g')!.state).toBe('Stable');
    return { m1, m2, gen };
  }

  it('a restarted static member rejoins without a rebalance and keeps its assignment', async () => {
    const h = await newCoordinator();
    const { m1, m2, gen } = await staticGroup(h);
    const before = h.log.appends;
    const rejoin = await h.coordinator.joinGroup(joinInput({ groupInstanceId: 'i2', clientId: 'c2' })); // restart: no member id
    const g = h.coordinator.group('g')!;
    expect(g.state).toBe('Stable');
    expect(g.generationId).toBe(gen);
    expect(rejoin.errorCode).toBe(ErrorCode.NONE);
    expect(rejoin.memberId).not.toBe(m2);
    expect(rejoin.generationId).toBe(gen);
    expect(rejoin.leader).toBe(m1); // the old leader: this member will not run an assignment
    expect(h.log.appends).toBe(before + 1); // the new member id is persisted
    const sync = await h.coordinator.syncGroup({ groupId: 'g', generationId: gen, memberId: rejoin.memberId, groupInstanceId: 'i2', protocolType: null, protocolName: null, assignments: [] });
    expect(sync.errorCode).toBe(ErrorCode.NONE);
    expect(sync.assignment.equals(assignment('t', [1]))).toBe(true);
    // The previous incarnation is fenced everywhere.
    expect(h.coordinator.heartbeat('g', m2, 'i2', gen)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect((await h.coordinator.syncGroup({ groupId: 'g', generationId: gen, memberId: m2, groupInstanceId: 'i2', protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await commit(h, { generationId: gen, memberId: m2, groupInstanceId: 'i2' })).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect((await h.coordinator.joinGroup(joinInput({ memberId: m2, groupInstanceId: 'i2' }))).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(h.coordinator.leaveGroup('g', [{ memberId: m2, groupInstanceId: 'i2', reason: null }]).members[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(h.coordinator.heartbeat('g', rejoin.memberId, 'i2', gen)).toBe(ErrorCode.NONE);
  });

  it('v9: a restarted static leader is told it leads but must skip the assignment', async () => {
    const h = await newCoordinator();
    const { gen } = await staticGroup(h);
    const rejoin = await h.coordinator.joinGroup(joinInput({ groupInstanceId: 'i1', supportSkippingAssignment: true }));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, generationId: gen, leader: rejoin.memberId, skipAssignment: true });
    expect(rejoin.members).toHaveLength(2);
  });

  it('leave by instance id; static members are not dropped for missing a rebalance', async () => {
    const h = await newCoordinator();
    const { m1, m2 } = await staticGroup(h);
    const r = h.coordinator.leaveGroup('g', [{ memberId: '', groupInstanceId: 'i2', reason: null }]);
    expect(r.members[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(h.coordinator.group('g')!.has(m2)).toBe(false);
    expect(h.coordinator.leaveGroup('g', [{ memberId: '', groupInstanceId: 'i9', reason: null }]).members[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const g = h.coordinator.group('g')!;
    expect(g.state).toBe('PreparingRebalance');
    // m1 is static: it is not dropped when the rebalance timeout passes without its rejoin.
    for (let i = 0; i < 8; i++) {
      h.timer.advance(5_000);
      expect(h.coordinator.heartbeat('g', m1, 'i1', g.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    expect(g.has(m1)).toBe(true);
    const rejoin = await h.coordinator.joinGroup(joinInput({ memberId: m1, groupInstanceId: 'i1' }));
    expect(rejoin).toMatchObject({ errorCode: ErrorCode.NONE, leader: m1 });
  });
});

describe('offsets', () => {
  it('a simple (generation -1) commit creates an Empty group; fetch returns what was committed', async () => {
    const h = await newCoordinator();
    expect(fetched(h, 'g')).toMatchObject({ groupErrorCode: ErrorCode.NONE, errorCode: ErrorCode.NONE, committedOffset: -1, metadata: '' });
    expect(await commit(h, { offset: 42, metadata: 'hello' })).toBe(ErrorCode.NONE);
    expect(fetched(h)).toMatchObject({ committedOffset: 42, committedLeaderEpoch: 3, metadata: 'hello' });
    expect(h.coordinator.group('g')!.state).toBe('Empty');
    const all = h.coordinator.fetchOffsets('g', null);
    expect(all.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, metadata: 'hello', errorCode: 0 }] }]);
  });

  it('member commits: generation, membership and rebalance state are checked', async () => {
    const h = await newCoordinator();
    expect(await commit(h, { generationId: 1, memberId: 'm', apiVersion: 8 })).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(h, { generationId: 1, memberId: 'm', apiVersion: 9 })).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const { a, b, generationId } = await twoMemberGroup(h);
    expect(await commit(h, { generationId, memberId: a, offset: 7 })).toBe(ErrorCode.NONE);
    expect(fetched(h).committedOffset).toBe(7);
    expect(await commit(h, { generationId: generationId - 1, memberId: a })).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(h, { generationId, memberId: 'ghost' })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(h, {})).toBe(ErrorCode.UNKNOWN_MEMBER_ID); // simple commit into an active group
    expect(await commit(h, { generationId, memberId: a, metadata: 'x'.repeat(4097) })).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
    // PreparingRebalance: members still commit (before giving partitions up).
    const rejoinA = track(h.coordinator.joinGroup(joinInput({ memberId: a })));
    await flush();
    expect(h.coordinator.group('g')!.state).toBe('PreparingRebalance');
    expect(await commit(h, { generationId, memberId: b, offset: 8 })).toBe(ErrorCode.NONE);
    // CompletingRebalance: REBALANCE_IN_PROGRESS.
    const rejoinB = track(h.coordinator.joinGroup(joinInput({ memberId: b })));
    await flush();
    expect(rejoinA.done && rejoinB.done).toBe(true);
    expect(h.coordinator.group('g')!.state).toBe('CompletingRebalance');
    expect(await commit(h, { generationId: generationId + 1, memberId: b })).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(fetched(h).committedOffset).toBe(8);
  });

  it('a failed append is reported (mapped) and nothing is applied', async () => {
    const h = await newCoordinator();
    h.log.failures = [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.MESSAGE_TOO_LARGE];
    expect(await commit(h)).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await commit(h)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await commit(h)).toBe(ErrorCode.INVALID_COMMIT_OFFSET_SIZE);
    expect(fetched(h).committedOffset).toBe(-1);
  });

  it('commits are applied in log order even when their appends complete out of order', async () => {
    const h = await newCoordinator();
    h.log.hold = true;
    const c1 = commit(h, { offset: 1 });
    const c2 = commit(h, { offset: 2 });
    await flush();
    expect(fetched(h).committedOffset).toBe(-1); // nothing visible before it is replicated
    h.log.release(true);
    await Promise.all([c1, c2]);
    expect(fetched(h).committedOffset).toBe(2);
  });

  it('survives a restart: offsets and groups are rebuilt from the log', async () => {
    const h = await newCoordinator();
    const { a, b, generationId } = await twoMemberGroup(h);
    expect(await commit(h, { generationId, memberId: a, offset: 99 })).toBe(ErrorCode.NONE);
    expect(await commit(h, { groupId: 'simple', offset: 5 })).toBe(ErrorCode.NONE);
    h.coordinator.shutdown();
    const h2 = await newCoordinator({ log: h.log, timer: h.timer });
    expect(fetched(h2).committedOffset).toBe(99);
    expect(fetched(h2, 'simple').committedOffset).toBe(5);
    const g = h2.coordinator.group('g')!;
    expect(g.state).toBe('Stable');
    expect(g.generationId).toBe(generationId);
    expect([...g.members.keys()]).toEqual([a, b]);
    expect(g.get(b)!.assignment.equals(assignment('t', [1]))).toBe(true);
    expect(h2.coordinator.heartbeat('g', a, null, generationId)).toBe(ErrorCode.NONE);
    const sync = await h2.coordinator.syncGroup({ groupId: 'g', generationId, memberId: b, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(sync.assignment.equals(assignment('t', [1]))).toBe(true);
    // Loaded members that stay silent time out like any other.
    h.timer.advance(10_000);
    expect(h2.coordinator.group('g')).toMatchObject({ state: 'Empty', generationId: generationId + 1 });
  });
});

describe('DeleteGroups and OffsetDelete', () => {
  it('deletes Empty groups only, with their offsets', async () => {
    const h = await newCoordinator();
    await commit(h, { groupId: 'empty', offset: 3 });
    await twoMemberGroup(h);
    const r = await h.coordinator.deleteGroups(['empty', 'g', 'nope', 'empty']);
    expect(r).toEqual([
      { groupId: 'empty', errorCode: ErrorCode.NONE },
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    expect(fetched(h, 'empty').committedOffset).toBe(-1);
    expect(h.coordinator.group('empty')).toBeUndefined();
    const tail = h.log.all().slice(-2);
    expect(tail).toEqual([
      { type: 'offset', group: 'empty', topic: 't', partition: 0, value: null },
      { type: 'group', group: 'empty', value: null },
    ]);
    // After a restart the group stays deleted.
    const h2 = await newCoordinator({ log: h.log });
    expect(h2.coordinator.group('empty')).toBeUndefined();
    expect(fetched(h2, 'empty').committedOffset).toBe(-1);
  });

  it('OffsetDelete: Empty groups lose offsets; consumer groups keep subscribed topics', async () => {
    const h = await newCoordinator();
    const { a, generationId } = await twoMemberGroup(h);
    expect(await commit(h, { generationId, memberId: a, topic: 't' })).toBe(ErrorCode.NONE);
    expect(await commit(h, { generationId, memberId: a, topic: 'old' })).toBe(ErrorCode.NONE);
    const r = await h.coordinator.deleteOffsets('g', [
      { name: 't', partitions: [0] },
      { name: 'old', partitions: [0] },
    ]);
    expect(r).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }] },
        { name: 'old', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }] },
      ],
    });
    expect(fetched(h, 'g', 'old').committedOffset).toBe(-1);
    expect(fetched(h, 'g', 't').committedOffset).toBe(42);
    expect((await h.coordinator.deleteOffsets('nope', [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect((await h.coordinator.deleteOffsets('', [])).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    // A non-consumer group with members: NON_EMPTY_GROUP.
    const j = track(h.coordinator.joinGroup(joinInput({ groupId: 'connect', protocolType: 'connect', requireKnownMemberId: false })));
    h.timer.advance(0);
    await flush();
    expect(j.value!.errorCode).toBe(ErrorCode.NONE);
    expect((await h.coordinator.deleteOffsets('connect', [{ name: 't', partitions: [0] }])).errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
  });
});

describe('deleted topics', () => {
  it("removes every group's offsets of the topics; an Empty group left without offsets is deleted", async () => {
    const h = await newCoordinator();
    const { a, generationId } = await twoMemberGroup(h);
    await commit(h, { generationId, memberId: a, topic: 't' });
    await commit(h, { generationId, memberId: a, topic: 'gone' });
    await commit(h, { groupId: 'only-gone', topic: 'gone' });
    await commit(h, { groupId: 'keeps', topic: 't' });
    expect(await h.coordinator.onTopicsDeleted(new Set(['gone']))).toBe(2);
    expect(fetched(h, 'g', 'gone').committedOffset).toBe(-1);
    expect(fetched(h, 'g', 't').committedOffset).toBe(42);
    expect(h.coordinator.group('g')!.state).toBe('Stable');
    expect(h.coordinator.group('only-gone')).toBeUndefined();
    expect(fetched(h, 'keeps', 't').committedOffset).toBe(42);
    const h2 = await newCoordinator({ log: h.log });
    expect(fetched(h2, 'g', 'gone').committedOffset).toBe(-1);
    expect(h2.coordinator.group('only-gone')).toBeUndefined();
  });
});

describe('offset expiration', () => {
  const RETENTION = 60_000;

  it("an Empty group's offsets expire retention after it became Empty; a Stable group keeps subscribed topics' offsets", async () => {
    const h = await newCoordinator({ config: { offsetsRetentionMs: RETENTION } });
    const { a, b, generationId } = await twoMemberGroup(h);
    await commit(h, { generationId, memberId: a, topic: 't' });
    await commit(h, { generationId, memberId: a, topic: 'old' }); // a topic nobody subscribes to
    for (let i = 0; i < 12; i++) {
      h.timer.advance(5_000);
      h.coordinator.heartbeat('g', a, null, generationId);
      h.coordinator.heartbeat('g', b, null, generationId);
    }
    expect(await h.coordinator.cleanupGroupMetadata()).toBe(1); // 'old' only
    expect(fetched(h, 'g', 'old').committedOffset).toBe(-1);
    expect(fetched(h, 'g', 't').committedOffset).toBe(42);
    h.coordinator.leaveGroup('g', [a, b].map((memberId) => ({ memberId, groupInstanceId: null, reason: null })));
    await flush();
    expect(h.coordinator.group('g')!.state).toBe('Empty');
    h.timer.advance(RETENTION - 1);
    expect(await h.coordinator.cleanupGroupMetadata()).toBe(0);
    h.timer.advance(1);
    expect(await h.coordinator.cleanupGroupMetadata()).toBe(1);
    expect(fetched(h).committedOffset).toBe(-1);
    expect(h.coordinator.group('g')).toBeUndefined();
    expect(h.log.all().at(-1)).toEqual({ type: 'group', group: 'g', value: null });
  });

  it('simple groups expire by commit time; explicit retention times by their expiry', async () => {
    const h = await newCoordinator({ config: { offsetsRetentionMs: RETENTION } });
    await commit(h, { groupId: 's' });
    await commit(h, { groupId: 'r', retentionTimeMs: 30_000 });
    h.timer.advance(30_000);
    expect(await h.coordinator.cleanupGroupMetadata()).toBe(1);
    expect(fetched(h, 'r').committedOffset).toBe(-1);
    expect(h.coordinator.group('r')).toBeUndefined();
    expect(fetched(h, 's').committedOffset).toBe(42);
    h.timer.advance(30_000);
    expect(await h.coordinator.cleanupGroupMetadata()).toBe(1);
    expect(fetched(h, 's').committedOffset).toBe(-1);
  });
});

describe('loading and leadership', () => {
  it('answers COORDINATOR_LOAD_IN_PROGRESS while loading and NOT_COORDINATOR elsewhere', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const h = await newCoordinator({ loadGate: gate, partitions: 2, elect: false });
    // 'g' hashes to partition 1 of 2 ("g".hashCode() = 103).
    const loading = h.coordinator.onElection(1, 0);
    expect((await h.coordinator.joinGroup(joinInput())).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(h.coordinator.heartbeat('g', 'm', null, 1)).toBe(ErrorCode.NONE); // blindly, as Kafka does
    expect((await h.coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(h.coordinator.listGroups([], []).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(h.coordinator.fetchOffsets('h', null).errorCode).toBe(ErrorCode.NOT_COORDINATOR); // "h" → partition 0
    open();
    await loading;
    expect((await h.coordinator.joinGroup(joinInput())).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  });

  it('losing leadership answers parked joins with NOT_COORDINATOR and forgets the groups', async () => {
    const h = await newCoordinator();
    const a = await joinNew(h, { groupId: 'g' });
    h.timer.advance(0);
    await flush();
    const b = await joinNew(h);
    expect(b.join.done).toBe(false);
    h.coordinator.onResignation(0);
    await flush();
    expect(b.join.value!.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(h.timer.pendingKeys).toEqual([]);
    expect(h.coordinator.heartbeat('g', a.memberId, null, 1)).toBe(ErrorCode.NOT_COORDINATOR);
  });

  it('ListGroups and DescribeGroups', async () => {
    const h = await newCoordinator();
    const { a } = await twoMemberGroup(h);
    await commit(h, { groupId: 'simple' });
    expect(h.coordinator.listGroups([], []).groups.map((g) => [g.groupId, g.groupState, g.protocolType]).sort()).toEqual([
      ['g', 'Stable', 'consumer'],
      ['simple', 'Empty', ''],
    ]);
    expect(h.coordinator.listGroups(['stable'], []).groups.map((g) => g.groupId)).toEqual(['g']);
    expect(h.coordinator.listGroups([], ['consumer']).groups).toEqual([]);
    const d = h.coordinator.describeGroup('g');
    expect(d).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(d.members[0]).toMatchObject({ memberId: a, clientId: 'client', clientHost: '/127.0.0.1' });
    expect(d.members[1]!.memberAssignment.equals(assignment('t', [1]))).toBe(true);
    expect(h.coordinator.describeGroup('nope')).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Dead', members: [] });
  });
});
