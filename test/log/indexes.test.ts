import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OffsetIndex } from '../../log/offset-index.js';
import { TimeIndex } from '../../log/time-index.js';
import { cleanupTempDirs, tempDir } from './helpers.js';

afterEach(cleanupTempDirs);

describe('OffsetIndex', () => {
  it('looks up the floor entry, truncates by position, persists incrementally and reloads', async () => {
    const idx = new OffsetIndex(100, 1000, 2);
    expect(idx.lookup(150)).toBe(0);
    for (let i = 1; i <= 50; i++) idx.append(100 + i * 10, i * 4096);
    expect(() => idx.append(100 + 500, 300_000)).toThrow(); // not increasing
    expect(idx.lookup(109)).toBe(0);
    expect(idx.lookup(110)).toBe(4096);
    expect(idx.lookup(119)).toBe(4096);
    expect(idx.lookup(10_000)).toBe(50 * 4096);
    const file = path.join(tempDir(), 'x.index');
    await idx.persist(file);
    idx.append(100 + 510, 51 * 4096);
    await idx.persist(file);
    expect(readFileSync(file).length).toBe(51 * 8);
    expect(readFileSync(file).readInt32BE(8)).toBe(20); // relative offset
    expect(readFileSync(file).readInt32BE(12)).toBe(2 * 4096);
    idx.truncateToPosition(10 * 4096);
    expect(idx.entries).toBe(9);
    await idx.persist(file); // rewritten after the truncation
    expect(readFileSync(file).length).toBe(9 * 8);
    const loaded = await OffsetIndex.load(file, 100, 1000, 1 << 30);
    expect(loaded!.entries).toBe(9);
    expect(loaded!.lookup(195)).toBe(9 * 4096);
    // Sanity checks: positions beyond the log, non-increasing entries, odd sizes.
    expect(await OffsetIndex.load(file, 100, 1000, 9 * 4096)).toBeNull();
    writeFileSync(file, Buffer.alloc(12));
    expect(await OffsetIndex.load(file, 100, 1000, 1 << 30)).toBeNull();
    writeFileSync(file, Buffer.alloc(16));
    expect(await OffsetIndex.load(file, 100, 1000, 1 << 30)).toBeNull();
    expect(await OffsetIndex.load(file + '.missing', 100, 1000, 1 << 30)).toBeNull();
  });
});

describe('TimeIndex', () => {
  it('keeps strictly increasing timestamps and finds the entry at or before a timestamp', async () => {
    const idx = new TimeIndex(0, 1000);
    idx.maybeAppend(100, 5);
    idx.maybeAppend(100, 9); // not larger: ignored
    idx.maybeAppend(300, 20);
    idx.maybeAppend(200, 25); // smaller: ignored
    idx.maybeAppend(400, 30);
    expect(idx.entries).toBe(3);
    expect(idx.lookup(50)).toBe(0);
    expect(idx.lookup(100)).toBe(5);
    expect(idx.lookup(399)).toBe(20);
    expect(idx.lookup(1000)).toBe(30);
    const file = path.join(tempDir(), 'x.timeindex');
    await idx.persist(file);
    expect(readFileSync(file).length).toBe(36);
    expect(Number(readFileSync(file).readBigInt64BE(12))).toBe(300);
    const loaded = await TimeIndex.load(file, 0, 1000);
    expect(loaded!.lastTimestamp()).toBe(400);
    expect(loaded!.lastOffset()).toBe(30);
    loaded!.truncateToOffset(20);
    expect(loaded!.entries).toBe(1);
    await loaded!.persist(file);
    expect(readFileSync(file).length).toBe(12);
    writeFileSync(file, Buffer.concat([readFileSync(file), readFileSync(file)])); // repeated timestamp
    expect(await TimeIndex.load(file, 0, 1000)).toBeNull();
  });
});
