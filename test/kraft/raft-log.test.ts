// The Raft log view: epoch arithmetic (Kafka's endOffsetForEpoch, validateOffsetAndEpoch,
// truncateToEndOffset) and the unpersisted overlays behind ready()/advance().
import { describe, expect, it } from 'vitest';
import { IllegalStateError } from '../../kraft/raft/errors.js';
import { RaftLog } from '../../kraft/raft/log.js';
import { MemoryRaftStorage } from '../../kraft/raft/storage.js';
import type { Entry, Snapshot } from '../../kraft/raft/types.js';

const enc = new TextEncoder();

function entry(offset: number, epoch: number, text = `e${offset}`): Entry {
  return { kind: 'data', offset, epoch, data: enc.encode(text) };
}

/** A persisted log with the given epochs from offset `start` (after a snapshot if start > 0). */
function storageWith(epochs: number[], start = 0, snapshotEpoch = 0): MemoryRaftStorage {
  const s = new MemoryRaftStorage();
  if (start > 0) s.installSnapshot({ id: { endOffset: start, epoch: snapshotEpoch }, data: new Uint8Array([1]) });
  s.append(epochs.map((e, i) => entry(start + i, e)));
  return s;
}

function view(log: RaftLog): string {
  const out: string[] = [];
  for (let o = log.startOffset(); o < log.endOffset(); o++) out.push(`${o}@${log.epochAt(o)}`);
  return `[${log.startOffset()},${log.endOffset()}) ${out.join(' ')}`;
}

describe('endOffsetForEpoch', () => {
  // offsets 0..5 with epochs 1 1 2 2 2 4
  const log = new RaftLog(storageWith([1, 1, 2, 2, 2, 4]));
  it.each([
    [0, { offset: 0, epoch: 0 }], // the empty log at 0 counts as epoch 0
    [1, { offset: 2, epoch: 1 }],
    [2, { offset: 5, epoch: 2 }],
    [3, { offset: 5, epoch: 2 }], // largest epoch <= 3 is 2
    [4, { offset: 6, epoch: 4 }],
    [9, { offset: 6, epoch: 4 }],
  ])('epoch %i', (epoch, expected) => {
    expect(log.endOffsetForEpoch(epoch)).toEqual(expected);
  });

  it('counts the snapshot as an epoch ending at the log start', () => {
    const l = new RaftLog(storageWith([3, 3, 5], 10, 2));
    expect(l.endOffsetForEpoch(2)).toEqual({ offset: 10, epoch: 2 });
    expect(l.endOffsetForEpoch(4)).toEqual({ offset: 12, epoch: 3 });
    expect(l.endOffsetForEpoch(1)).toEqual({ offset: -1, epoch: -1 });
  });
});

describe('validateOffsetAndEpoch (the leader answering Fetch)', () => {
  const log = new RaftLog(storageWith([1, 1, 2, 2, 2, 4]));
  it.each([
    [0, 0, 'valid'],
    [2, 1, 'valid'],
    [6, 4, 'valid'],
    [5, 2, 'valid'],
    [7, 4, 'diverging 6@4'], // past the end
    [4, 3, 'diverging 5@2'], // an epoch the leader never had
    [3, 1, 'diverging 2@1'], // epoch 1 ended at 2 here
    [1, 0, 'diverging 0@0'],
  ])('fetch offset %i last epoch %i -> %s', (offset, epoch, expected) => {
    const v = log.validateOffsetAndEpoch(offset, epoch);
    const got = v.kind === 'diverging' ? `diverging ${v.endOffsetAndEpoch.offset}@${v.endOffsetAndEpoch.epoch}` : v.kind;
    expect(got).toBe(expected);
  });

  it('answers with the snapshot below the log start or for an older epoch', () => {
    const l = new RaftLog(storageWith([3, 3], 10, 2));
    const snap = (o: number, e: number) => l.validateOffsetAndEpoch(o, e).kind;
    expect(snap(5, 2)).toBe('snapshot'); // below the log start
    expect(snap(10, 1)).toBe('snapshot'); // at the start, other epoch
    expect(snap(12, 1)).toBe('snapshot'); // epoch older than the snapshot's
    expect(snap(10, 2)).toBe('valid');
    expect(snap(12, 3)).toBe('valid');
  });
});

describe('truncationOffsetFor (the follower given a diverging epoch)', () => {
  // follower: 0..6 with epochs 1 1 2 2 3 3 3
  const log = new RaftLog(storageWith([1, 1, 2, 2, 3, 3, 3]));
  it.each([
    [{ offset: 3, epoch: 2 }, 3], // same epoch: the smaller end
    [{ offset: 9, epoch: 2 }, 4],
    [{ offset: 2, epoch: 1 }, 2],
    [{ offset: 0, epoch: 0 }, 0],
  ])('%o -> %i', (div, expected) => {
    expect(log.truncationOffsetFor(div)).toBe(expected);
  });

  it('drops a local epoch the leader never had', () => {
    // follower 1 1 3 3; the leader's largest epoch <= 3 is 2, ending at 5: the follower keeps
    // what precedes its first epoch above 1 and fetches again.
    const f = new RaftLog(storageWith([1, 1, 3, 3]));
    expect(f.truncationOffsetFor({ offset: 5, epoch: 2 })).toBe(2);
  });
});

describe('overlays: what ready() hands out and advance() retires', () => {
  it('reads through unpersisted appends, truncations and installs; storage ends equal', () => {
    const storage = storageWith([1, 1, 1]);
    const log = new RaftLog(storage);
    log.truncate(1);
    log.append(entry(1, 2));
    expect(view(log)).toBe('[0,2) 0@1 1@2');
    expect(log.durableEndOffset()).toBe(1);
    const changes = log.takePendingChanges();
    expect(changes.truncateTo).toBe(1);
    expect(changes.entries.map((e) => e.offset)).toEqual([1]);
    // More changes while the first batch is being persisted.
    log.append(entry(2, 2));
    expect(() => log.takePendingChanges()).toThrow(IllegalStateError);
    storage.persist(changes);
    log.persisted();
    expect(view(log)).toBe('[0,3) 0@1 1@2 2@2');
    expect(log.durableEndOffset()).toBe(2);
    storage.persist(log.takePendingChanges());
    log.persisted();
    expect(storage.endOffset()).toBe(3);
    expect(log.hasPendingChanges()).toBe(false);
  });

  it('a truncation below pending entries drops them; an install replaces everything', () => {
    const storage = storageWith([1, 1]);
    const log = new RaftLog(storage);
    log.append(entry(2, 1));
    log.append(entry(3, 2));
    log.truncate(3);
    expect(view(log)).toBe('[0,3) 0@1 1@1 2@1');
    log.truncate(1);
    expect(view(log)).toBe('[0,1) 0@1');
    const snap: Snapshot = { id: { endOffset: 7, epoch: 3 }, data: new Uint8Array([9]) };
    log.installSnapshot(snap);
    log.append(entry(7, 3));
    expect(view(log)).toBe('[7,8) 7@3');
    expect(log.baseId()).toEqual({ endOffset: 7, epoch: 3 });
    expect(log.durableEndOffset()).toBe(0);
    const changes = log.takePendingChanges();
    expect(changes.snapshot).toBe(snap);
    expect(changes.truncateTo).toBeNull();
    storage.persist(changes);
    log.persisted();
    expect(storage.startOffset()).toBe(7);
    expect(view(log)).toBe('[7,8) 7@3');
  });

  it('compaction moves the log start; refuses a point outside the log', () => {
    const storage = storageWith([1, 1, 2, 2]);
    const log = new RaftLog(storage);
    expect(() => log.compact({ id: { endOffset: 0, epoch: 0 }, data: new Uint8Array() })).toThrow(IllegalStateError);
    expect(() => log.compact({ id: { endOffset: 5, epoch: 2 }, data: new Uint8Array() })).toThrow(IllegalStateError);
    log.compact({ id: { endOffset: 3, epoch: 2 }, data: new Uint8Array([1]) });
    expect(view(log)).toBe('[3,4) 3@2');
    storage.persist(log.takePendingChanges());
    log.persisted();
    expect(storage.startOffset()).toBe(3);
    expect(storage.all().map((e) => e.offset)).toEqual([3]);
  });

  it('refuses appends that skip offsets or go back in epoch', () => {
    const log = new RaftLog(storageWith([2]));
    expect(() => log.append(entry(2, 2))).toThrow(IllegalStateError);
    expect(() => log.append(entry(1, 1))).toThrow(IllegalStateError);
  });

  it('reads at least one entry, then up to maxBytes', () => {
    const log = new RaftLog(storageWith([1, 1, 1, 1]));
    expect(log.read(0, 1).length).toBe(1);
    expect(log.read(0, 4).length).toBe(2); // "e0" and "e1" are 2 bytes each
    expect(log.read(2, 1 << 20).map((e) => e.offset)).toEqual([2, 3]);
    expect(log.read(4, 1 << 20)).toEqual([]);
  });
});
