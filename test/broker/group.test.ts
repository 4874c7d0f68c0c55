// The pure classic-group state machine (broker/group/group.ts).
import { describe, expect, it } from 'vitest';
import { ClassicGroup, GROUP_STATES, GroupMember, IllegalStateError, TRANSITIONS, type GroupState } from '../../broker/group/group.js';
import { subscription } from './group-helpers.js';

function member(id: string, protocols: string[], instanceId: string | null = null): GroupMember {
  return new GroupMember(id, instanceId, 'client', '/127.0.0.1', 30_000, 10_000, 'consumer', protocols.map((name) => ({ name, metadata: subscription(['t']) })));
}

describe('ClassicGroup transitions', () => {
  it('follows the written-down table and refuses every other move', () => {
    // Kafka's validPreviousStates, read backwards.
    expect(TRANSITIONS).toEqual({
      Empty: ['PreparingRebalance', 'Dead'],
      PreparingRebalance: ['CompletingRebalance', 'Empty', 'Dead'],
      CompletingRebalance: ['Stable', 'PreparingRebalance', 'Dead'],
      Stable: ['PreparingRebalance', 'Dead'],
      Dead: ['Dead'],
    });
    for (const from of GROUP_STATES) {
      for (const to of GROUP_STATES) {
        const g = new ClassicGroup('g', from, 0);
        if (TRANSITIONS[from].includes(to)) {
          g.transitionTo(to, 5);
          expect(g.state).toBe(to);
          expect(g.previousState).toBe(from);
          expect(g.currentStateTimestamp).toBe(5);
        } else {
          expect(() => g.transitionTo(to, 5)).toThrow(IllegalStateError);
          expect(g.state).toBe(from);
        }
      }
    }
  });

  it('can rebalance only from Empty, Stable and CompletingRebalance', () => {
    const can = (s: GroupState) => new ClassicGroup('g', s, 0).canRebalance;
    expect(GROUP_STATES.filter(can)).toEqual(['Empty', 'CompletingRebalance', 'Stable']);
  });
});

describe('ClassicGroup protocols', () => {
  it('an Empty group accepts any non-empty protocol type with protocols', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    expect(g.supportsProtocols('consumer', ['range'])).toBe(true);
    expect(g.supportsProtocols('', ['range'])).toBe(false);
    expect(g.supportsProtocols('consumer', [])).toBe(false);
  });

  it('selects the protocol all members support, by preference votes', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.add(member('a', ['range', 'roundrobin']), null);
    g.transitionTo('PreparingRebalance', 1);
    g.add(member('b', ['roundrobin', 'range']), null);
    g.add(member('c', ['range', 'roundrobin', 'sticky']), null);
    expect(g.selectProtocol()).toBe('range'); // a and c vote range, b roundrobin
    g.add(member('d', ['roundrobin']), null);
    expect(g.selectProtocol()).toBe('roundrobin'); // the only protocol all four support
    expect(g.supportsProtocols('consumer', ['range'])).toBe(false);
    expect(g.supportsProtocols('consumer', ['sticky', 'roundrobin'])).toBe(true);
    expect(g.supportsProtocols('connect', ['roundrobin'])).toBe(false);
  });

  it('keeps the leader while it stays, and elects a rejoined member otherwise', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    g.add(member('a', ['range']), null);
    g.add(member('b', ['range']), () => undefined);
    expect(g.leaderId).toBe('a');
    expect(g.hasAllMembersJoined).toBe(false);
    expect(g.maybeElectNewJoinedLeader()).toBe(true);
    expect(g.leaderId).toBe('b');
    g.remove('b');
    expect(g.leaderId).toBe('a');
    expect(g.maybeElectNewJoinedLeader()).toBe(false); // nobody rejoined
  });

  it('computes the subscribed topics from consumer metadata', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    const a = member('a', []);
    a.protocols = [{ name: 'range', metadata: subscription(['x', 'y'], 3) }];
    const b = member('b', []);
    b.protocols = [{ name: 'range', metadata: subscription(['y', 'z'], 0) }];
    g.add(a, () => undefined);
    g.transitionTo('PreparingRebalance', 1);
    g.add(b, () => undefined);
    g.initNextGeneration(2);
    expect(g.state).toBe('CompletingRebalance');
    expect(g.generationId).toBe(1);
    expect([...g.subscribedTopics!].sort()).toEqual(['x', 'y', 'z']);
    expect(g.isSubscribedToTopic('z')).toBe(true);
    expect(g.isSubscribedToTopic('w')).toBe(false);
  });

  it('replaces a static member, fencing a request parked under the old id', () => {
    const g = new ClassicGroup('g', 'Empty', 0);
    let fenced = -1;
    g.add(member('old', ['range'], 'i1'), (r) => (fenced = r.errorCode));
    const fresh = g.replaceStaticMember('i1', 'old', 'new');
    expect(fenced).toBe(82); // FENCED_INSTANCE_ID
    expect(g.staticMemberId('i1')).toBe('new');
    expect(g.leaderId).toBe('new');
    expect(g.has('old')).toBe(false);
    expect(fresh.groupInstanceId).toBe('i1');
    expect(() => g.add(member('x', ['range'], 'i1'), null)).toThrow(IllegalStateError);
  });
});
