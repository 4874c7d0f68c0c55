// The transition table, quorum arithmetic, and the RaftCore API contract (Ready/advance order,
// misuse, a quorum of one).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../kraft/raft/core.js';
import { LeaderState } from '../../kraft/raft/leader-state.js';
import { IllegalStateError } from '../../kraft/raft/errors.js';
import { majority, majorityEndOffset, voteOutcome } from '../../kraft/raft/quorum.js';
import { seededRandom } from '../../kraft/raft/rand.js';
import { checkTransition, TRANSITIONS, type StateKind } from '../../kraft/raft/state.js';
import { MemoryRaftStorage } from '../../kraft/raft/storage.js';
import type { HardState } from '../../kraft/raft/types.js';

const KINDS: StateKind[] = ['Unattached', 'Prospective', 'Candidate', 'Leader', 'Follower', 'Resigned'];
const enc = new TextEncoder();

describe('the transition table', () => {
  it('accepts exactly the listed transitions with their epoch rule', () => {
    for (const from of KINDS) {
      for (const to of KINDS) {
        const edge = TRANSITIONS[from][to];
        for (const delta of [-1, 0, 1, 2]) {
          const ok =
            edge !== undefined &&
            {
              same: delta === 0,
              higher: delta > 0,
              'same-or-higher': delta >= 0,
              next: delta === 1,
            }[edge.epoch];
          const attempt = () => checkTransition({ kind: from, epoch: 5 }, { kind: to, epoch: 5 + delta }, true);
          if (ok) expect(attempt, `${from} -> ${to} (${delta})`).not.toThrow();
          else expect(attempt, `${from} -> ${to} (${delta})`).toThrow(IllegalStateError);
        }
      }
    }
  });

  it('has Kafka’s shape: only Prospective becomes Candidate, only Candidate becomes Leader', () => {
    const into = (to: StateKind) => KINDS.filter((f) => TRANSITIONS[f][to] !== undefined);
    expect(into('Candidate')).toEqual(['Prospective']);
    expect(into('Leader')).toEqual(['Candidate']);
    expect(into('Resigned')).toEqual(['Leader']);
  });

  it('keeps observers to Unattached and Follower', () => {
    expect(() => checkTransition({ kind: 'Unattached', epoch: 1 }, { kind: 'Follower', epoch: 1 }, false)).not.toThrow();
    expect(() => checkTransition({ kind: 'Unattached', epoch: 1 }, { kind: 'Prospective', epoch: 1 }, false)).toThrow(IllegalStateError);
  });
});

describe('quorum arithmetic', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
  ])('majority of %i is %i', (n, m) => expect(majority(n)).toBe(m));

  it.each([
    [3, 2, 0, 'won'],
    [3, 1, 1, 'pending'],
    [3, 1, 2, 'lost'],
    [4, 2, 2, 'lost'],
    [4, 2, 1, 'pending'],
    [5, 3, 2, 'won'],
    [1, 1, 0, 'won'],
  ])('%i voters, %i granted, %i rejected: %s', (n, g, r, out) => expect(voteOutcome(n, g, r)).toBe(out));

  it.each([
    [[5, 3, 4], 4],
    [[5, null, 4], 4],
    [[5, null, null], null],
    [[7, 7, 2, 2, 2], 2],
    [[7, 7, 7, 2, 2], 7],
    [[9, 1, 5, 5], 5],
    [[3], 3],
  ])('majority end offset of %o is %o', (offsets, expected) => expect(majorityEndOffset(offsets)).toBe(expected));
});

function node(voters: number[], id: number, storage = new MemoryRaftStorage(), hardState: HardState | null = null): RaftCore {
  return new RaftCore({ config: { nodeId: id, voters }, storage, hardState, rand: seededRandom(id) });
}

describe('LeaderState', () => {
  it('check-quorum: a majority must have fetched within the last timeout ticks (sliding window)', () => {
    const l = new LeaderState(1, [1, 2, 3, 4, 5], [1, 2, 3], 0, 0, 30);
    expect(l.checkQuorumExpired(29)).toBe(false); // the epoch start counts as contact
    expect(l.checkQuorumExpired(30)).toBe(true);
    l.recordVoterContact(2, 5);
    l.recordVoterContact(3, 20);
    expect(l.checkQuorumExpired(34)).toBe(false); // 1, 2 (5), 3 (20)
    expect(l.checkQuorumExpired(35)).toBe(true); // 2's fetch is 30 ticks old
    l.recordVoterContact(9, 35); // an observer never counts
    expect(l.checkQuorumExpired(35)).toBe(true);
    expect(new LeaderState(1, [1], [1], 0, 0, 30).checkQuorumExpired(1000)).toBe(false);
  });

  it('high watermark: majority end offset, only past the epoch start, never backwards', () => {
    const l = new LeaderState(1, [1, 2, 3], [1, 2], 10, 0, 30);
    expect(l.updateLocalEnd(11)).toBe(false); // alone
    expect(l.updateReplica(2, 10, 0)).toBe(false); // a majority has 10: not past the epoch start
    expect(l.highWatermark).toBeNull();
    expect(l.updateReplica(2, 11, 0)).toBe(true);
    expect(l.highWatermark).toBe(11);
    expect(l.updateReplica(9, 50, 0)).toBe(false); // observers do not count
    expect(l.updateReplica(2, 5, 0)).toBe(false); // a late fetch changes nothing
    expect(l.highWatermark).toBe(11);
  });
});

describe('RaftCore', () => {
  it('a quorum of one leads at once and commits after persisting', () => {
    const storage = new MemoryRaftStorage();
    const core = node([1], 1, storage);
    expect(core.status().kind).toBe('Leader');
    let rd = core.ready();
    expect(rd.hardState).toEqual({ epoch: 1, votedId: 1, leaderId: 1 });
    expect(rd.entries.map((e) => e.kind)).toEqual(['leader-change']);
    expect(rd.committed).toEqual([]); // not durable yet
    storage.persist(rd);
    core.advance();
    expect(core.propose(enc.encode('x'))).toEqual({ ok: true, offset: 1, epoch: 1 });
    rd = core.ready();
    expect(rd.highWatermark).toBe(1);
    expect(rd.committed.map((e) => e.offset)).toEqual([0]);
    storage.persist(rd);
    core.advance();
    rd = core.ready();
    expect(rd.highWatermark).toBe(2);
    expect(rd.committed.map((e) => e.offset)).toEqual([1]);
    storage.persist(rd);
    core.advance();
    expect(core.hasReady()).toBe(false);
  });

  it('enforces ready → advance', () => {
    const core = node([1], 1);
    expect(() => core.advance()).toThrow(IllegalStateError);
    core.ready();
    expect(core.hasReady()).toBe(false);
    expect(() => core.ready()).toThrow(IllegalStateError);
    core.advance();
  });

  it('refuses a snapshot of entries not handed out as committed', () => {
    const storage = new MemoryRaftStorage();
    const core = node([1], 1, storage);
    storage.persist(core.ready());
    core.advance();
    expect(() => core.takeSnapshot(1, new Uint8Array())).toThrow(IllegalStateError);
    const rd = core.ready();
    storage.persist(rd);
    core.advance();
    expect(core.takeSnapshot(1, new Uint8Array([7]))).toEqual({ endOffset: 1, epoch: 1 });
    expect(core.takeSnapshot(1, new Uint8Array([7]))).toBeNull();
  });

  it('restarts a leader as Resigned, a voted candidate as Candidate, a follower as Follower', () => {
    expect(node([1, 2, 3], 1, undefined, { epoch: 4, votedId: 1, leaderId: 1 }).status().kind).toBe('Resigned');
    expect(node([1, 2, 3], 1, undefined, { epoch: 4, votedId: 1, leaderId: null }).status().kind).toBe('Candidate');
    const f = node([1, 2, 3], 1, undefined, { epoch: 4, votedId: 1, leaderId: 2 }).status();
    expect([f.kind, f.leaderId, f.votedId]).toEqual(['Follower', 2, 1]);
    const u = node([1, 2, 3], 1, undefined, { epoch: 4, votedId: 3, leaderId: null }).status();
    expect([u.kind, u.votedId]).toEqual(['Unattached', 3]);
  });

  it('starts in the log’s epoch when the hard state lags the log', () => {
    const storage = new MemoryRaftStorage();
    storage.append([{ kind: 'data', offset: 0, epoch: 6, data: new Uint8Array() }]);
    const s = node([1, 2, 3], 2, storage, { epoch: 3, votedId: 1, leaderId: 1 }).status();
    expect([s.kind, s.epoch, s.votedId]).toEqual(['Unattached', 6, null]);
  });

  it('validates its configuration', () => {
    expect(() => new RaftCore({ config: { nodeId: 1, voters: [] }, storage: new MemoryRaftStorage(), hardState: null, rand: seededRandom(1) })).toThrow(RangeError);
    expect(
      () =>
        new RaftCore({
          config: { nodeId: 1, voters: [1, 2, 3], requestTimeoutTicks: 2, fetchMaxWaitTicks: 2 },
          storage: new MemoryRaftStorage(),
          hardState: null,
          rand: seededRandom(1),
        }),
    ).toThrow(RangeError);
  });
});

describe('purity', () => {
  it('kraft/raft has no clock, global randomness, timers or I/O', () => {
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../kraft/raft');
    const forbidden = /\b(Date\.now|new Date|Math\.random|setTimeout|setInterval|setImmediate|queueMicrotask|process\.|performance\.now)\b|from 'node:|require\(/;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const code = readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l));
      for (const line of code) expect(forbidden.test(line), `${f}: ${line}`).toBe(false);
    }
  });
});
