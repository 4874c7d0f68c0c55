import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  formatLeaderEpochCheckpoint,
  LEADER_EPOCH_CHECKPOINT,
  LeaderEpochCache,
  LeaderEpochCheckpointFormatError,
  parseLeaderEpochCheckpoint,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
} from '../../log/leader-epoch-cache.js';
import { cleanupTempDirs, logger, tempDir } from './helpers.js';

afterEach(() => cleanupTempDirs());

function newCache(dir = tempDir('epoch-cache-'), errors: unknown[] = []): LeaderEpochCache {
  return new LeaderEpochCache({ dir, logger, onWriteError: (err) => errors.push(err) });
}

async function loadCache(dir: string, errors: unknown[] = []) {
  return LeaderEpochCache.load({ dir, logger, onWriteError: (err) => errors.push(err) });
}

function withEntries(...entries: Array<[number, number]>): LeaderEpochCache {
  const c = newCache();
  for (const [e, o] of entries) expect(c.assign(e, o)).toBe(true);
  return c;
}

const pairs = (c: LeaderEpochCache) => c.entries().map((e) => [e.epoch, e.startOffset]);

describe('LeaderEpochCache.assign (Kafka rules)', () => {
  it('appends entries increasing in epoch and start offset', () => {
    const c = withEntries([0, 0], [2, 10], [5, 40]);
    expect(pairs(c)).toEqual([[0, 0], [2, 10], [5, 40]]);
    expect(c.latestEpoch).toBe(5);
    expect(c.latestEntry()).toEqual({ epoch: 5, startOffset: 40 });
    expect(c.earliestEntry()).toEqual({ epoch: 0, startOffset: 0 });
  });

  it('an empty cache has latest epoch -1 (UNDEFINED_EPOCH)', () => {
    const c = newCache();
    expect(c.latestEpoch).toBe(UNDEFINED_EPOCH);
    expect(c.isEmpty).toBe(true);
    expect(c.entries()).toEqual([]);
  });

  it('ignores the latest epoch again at the same or a later offset', () => {
    const c = withEntries([3, 10]);
    expect(c.assign(3, 10)).toBe(false);
    expect(c.assign(3, 50)).toBe(false);
    expect(pairs(c)).toEqual([[3, 10]]);
  });

  it('moves the latest epoch earlier when assigned at a lower offset', () => {
    const c = withEntries([1, 0], [3, 10]);
    expect(c.assign(3, 5)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0], [3, 5]]);
  });

  it('a higher epoch at a lower-or-equal start offset removes the conflicting tail', () => {
    const c = withEntries([1, 0], [2, 10], [3, 20]);
    expect(c.assign(4, 10)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0], [4, 10]]);
    // Same start offset as the latest: that epoch never got data, it is replaced.
    expect(c.assign(5, 10)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0], [5, 10]]);
  });

  it('a lower epoch removes every entry with an epoch at or above it (as Kafka does)', () => {
    const c = withEntries([1, 0], [3, 10], [5, 20]);
    expect(c.assign(3, 30)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0], [3, 30]]);
  });

  it('refuses negative epochs and offsets (a caller bug)', () => {
    const c = newCache();
    expect(() => c.assign(-1, 0)).toThrow(RangeError);
    expect(() => c.assign(0, -1)).toThrow(RangeError);
    expect(c.entries()).toEqual([]);
  });
});

describe('LeaderEpochCache.endOffsetFor (Kafka rules)', () => {
  const c = withEntries([2, 10], [4, 25], [7, 40]);

  it('UNDEFINED_EPOCH asks for nothing: (-1, -1)', () => {
    expect(c.endOffsetFor(UNDEFINED_EPOCH, 100)).toEqual({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
  });

  it('the latest epoch ends at the log end offset', () => {
    expect(c.endOffsetFor(7, 100)).toEqual({ epoch: 7, endOffset: 100 });
  });

  it('a known older epoch ends where the next one starts', () => {
    expect(c.endOffsetFor(2, 100)).toEqual({ epoch: 2, endOffset: 25 });
    expect(c.endOffsetFor(4, 100)).toEqual({ epoch: 4, endOffset: 40 });
  });

  it('an unknown epoch between entries answers the largest epoch below it and the start of the next', () => {
    expect(c.endOffsetFor(3, 100)).toEqual({ epoch: 2, endOffset: 25 });
    expect(c.endOffsetFor(6, 100)).toEqual({ epoch: 4, endOffset: 40 });
  });

  it('an epoch below the first answers itself and the start of the first epoch', () => {
    expect(c.endOffsetFor(1, 100)).toEqual({ epoch: 1, endOffset: 10 });
    expect(c.endOffsetFor(0, 100)).toEqual({ epoch: 0, endOffset: 10 });
  });

  it('an epoch above the latest is undefined', () => {
    expect(c.endOffsetFor(8, 100)).toEqual({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
  });

  it('an empty cache answers undefined for every epoch', () => {
    const empty = newCache();
    for (const e of [-1, 0, 5]) expect(empty.endOffsetFor(e, 100)).toEqual({ epoch: -1, endOffset: -1 });
  });
});

describe('LeaderEpochCache truncation', () => {
  it('truncateFromEnd removes entries starting at or after the offset', () => {
    const c = withEntries([1, 0], [2, 10], [3, 20]);
    expect(c.truncateFromEnd(21)).toBe(false);
    expect(c.truncateFromEnd(20)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0], [2, 10]]);
    expect(c.truncateFromEnd(5)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0]]);
    expect(c.truncateFromEnd(0)).toBe(true);
    expect(pairs(c)).toEqual([]);
    expect(c.truncateFromEnd(0)).toBe(false);
  });

  it('truncateFromEnd with a negative offset does nothing', () => {
    const c = withEntries([1, 0]);
    expect(c.truncateFromEnd(-1)).toBe(false);
    expect(pairs(c)).toEqual([[1, 0]]);
  });

  it('truncateFromStart drops entries wholly before the offset and moves the one covering it', () => {
    const c = withEntries([1, 0], [2, 10], [3, 20]);
    expect(c.truncateFromStart(15)).toBe(true);
    expect(pairs(c)).toEqual([[2, 15], [3, 20]]);
    // Exactly at an entry's start: that entry stays as it is, earlier ones go.
    expect(c.truncateFromStart(20)).toBe(true);
    expect(pairs(c)).toEqual([[3, 20]]);
    expect(c.truncateFromStart(20)).toBe(false);
    expect(c.truncateFromStart(5)).toBe(false);
    expect(c.truncateFromStart(100)).toBe(true);
    expect(pairs(c)).toEqual([[3, 100]]);
  });

  it('truncateFromStart keeps endOffsetFor answering for the epoch that still covers the start', () => {
    const c = withEntries([1, 0], [2, 10], [3, 20]);
    c.truncateFromStart(12);
    expect(c.endOffsetFor(2, 30)).toEqual({ epoch: 2, endOffset: 20 });
    expect(c.endOffsetFor(1, 30)).toEqual({ epoch: 1, endOffset: 12 });
  });

  it('clearAndFlush empties the cache and the file', async () => {
    const dir = tempDir('epoch-cache-');
    const c = newCache(dir);
    c.assign(1, 0);
    await c.clearAndFlush();
    expect(c.entries()).toEqual([]);
    expect(readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8')).toBe('0\n0\n');
  });
});

describe('leader-epoch-checkpoint file', () => {
  it("is Kafka's format: version 0, count, then `epoch startOffset` lines", async () => {
    const dir = tempDir('epoch-cache-');
    const c = newCache(dir);
    c.assign(0, 0);
    c.assign(3, 120);
    c.assign(4, 7000);
    await c.flushed();
    expect(readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8')).toBe('0\n3\n0 0\n3 120\n4 7000\n');
    expect(existsSync(path.join(dir, LEADER_EPOCH_CHECKPOINT + '.tmp'))).toBe(false);
  });

  it('records every change: truncation and clearing rewrite it', async () => {
    const dir = tempDir('epoch-cache-');
    const c = newCache(dir);
    c.assign(1, 0);
    c.assign(2, 10);
    c.truncateFromEnd(10);
    c.assign(3, 10);
    c.truncateFromStart(4);
    await c.flushed();
    expect(readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8')).toBe('0\n2\n1 4\n3 10\n');
  });

  it('loads what was written', async () => {
    const dir = tempDir('epoch-cache-');
    const c = newCache(dir);
    c.assign(2, 5);
    c.assign(9, 50);
    await c.flushed();
    const { cache, status } = await loadCache(dir);
    expect(status).toBe('loaded');
    expect(pairs(cache)).toEqual([[2, 5], [9, 50]]);
  });

  it('a missing file is an empty cache', async () => {
    const { cache, status } = await loadCache(tempDir('epoch-cache-'));
    expect(status).toBe('missing');
    expect(cache.entries()).toEqual([]);
  });

  it.each([
    ['empty file', ''],
    ['wrong version', '1\n1\n0 0\n'],
    ['count too high', '0\n2\n0 0\n'],
    ['count too low', '0\n1\n0 0\n1 5\n'],
    ['count not a number', '0\nx\n'],
    ['garbage line', '0\n1\nhello\n'],
    ['three fields', '0\n1\n0 0 0\n'],
    ['negative epoch', '0\n1\n-1 0\n'],
    ['negative offset', '0\n1\n0 -5\n'],
    ['fractional offset', '0\n1\n0 1.5\n'],
    ['binary junk', '\u0000\u0001\u0002'],
  ])('a corrupt file (%s) is an empty cache and gets rewritten', async (_name, text) => {
    const dir = tempDir('epoch-cache-');
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    writeFileSync(file, text);
    expect(() => parseLeaderEpochCheckpoint(text)).toThrow(LeaderEpochCheckpointFormatError);
    const errors: unknown[] = [];
    const { cache, status } = await loadCache(dir, errors);
    expect(status).toBe('corrupt');
    expect(cache.entries()).toEqual([]);
    await cache.flushed();
    expect(readFileSync(file, 'utf8')).toBe('0\n0\n');
    expect(errors).toEqual([]);
  });

  it('a file that is not monotonic is repaired through assign on load (as Kafka reads it)', async () => {
    const dir = tempDir('epoch-cache-');
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    writeFileSync(file, '0\n3\n1 0\n5 30\n4 20\n');
    const { cache } = await loadCache(dir);
    expect(pairs(cache)).toEqual([[1, 0], [4, 20]]);
    await cache.flushed();
    expect(readFileSync(file, 'utf8')).toBe('0\n2\n1 0\n4 20\n');
  });

  it('accepts the file without a trailing newline and round-trips format/parse', () => {
    expect(parseLeaderEpochCheckpoint('0\n1\n3 7')).toEqual([{ epoch: 3, startOffset: 7 }]);
    const entries = [{ epoch: 0, startOffset: 0 }, { epoch: 12, startOffset: 2 ** 40 }];
    expect(parseLeaderEpochCheckpoint(formatLeaderEpochCheckpoint(entries))).toEqual(entries);
  });

  it('a failed write is reported, never thrown', async () => {
    const dir = path.join(tempDir('epoch-cache-'), 'gone');
    const errors: unknown[] = [];
    const c = newCache(dir, errors);
    expect(c.assign(1, 0)).toBe(true);
    await c.flushed();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('after drop() nothing more is written', async () => {
    const dir = tempDir('epoch-cache-');
    const errors: unknown[] = [];
    const c = newCache(dir, errors);
    c.assign(1, 0);
    await c.flushed();
    c.assign(2, 5); // queued, not yet written: dropped too
    await c.drop();
    c.assign(3, 9);
    await c.flushed();
    expect(readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT), 'utf8')).toBe('0\n1\n1 0\n');
    expect(errors).toEqual([]);
  });

  it('an unreadable file (not a format problem) fails the load', async () => {
    if (process.getuid?.() === 0) return; // root reads anything
    const dir = tempDir('epoch-cache-');
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    writeFileSync(file, '0\n0\n');
    chmodSync(file, 0o000);
    await expect(loadCache(dir)).rejects.toMatchObject({ code: 'EACCES' });
    chmodSync(file, 0o600);
  });

  it('a directory in place of the file fails the load', async () => {
    const dir = tempDir('epoch-cache-');
    mkdirSync(path.join(dir, LEADER_EPOCH_CHECKPOINT));
    await expect(loadCache(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
