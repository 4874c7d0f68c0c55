// Producer state snapshot files (log/producer-snapshot.ts): format round trip and corruption.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CorruptSnapshotError,
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
  parseSnapshotFileName,
  readSnapshotFile,
  snapshotFile,
  writeSnapshotFile,
} from '../../log/producer-snapshot.js';
import type { ProducerStateEntry } from '../../log/producer-state.js';
import { cleanupTempDirs, tempDir } from './helpers.js';

afterEach(() => cleanupTempDirs());

const entries: ProducerStateEntry[] = [
  {
    producerId: 7,
    producerEpoch: 3,
    coordinatorEpoch: 12,
    lastTimestamp: 1_700_000_000_123,
    currentTxnFirstOffset: 40,
    batches: Array.from({ length: 5 }, (_, i) => ({ firstSeq: i * 10, lastSeq: i * 10 + 9, firstOffset: 100 + i * 10, lastOffset: 109 + i * 10, timestamp: 5 + i })),
  },
  { producerId: 2 ** 40, producerEpoch: -1, coordinatorEpoch: -1, lastTimestamp: -1, currentTxnFirstOffset: -1, batches: [] },
  {
    producerId: 9,
    producerEpoch: 32767,
    coordinatorEpoch: 0,
    lastTimestamp: 0,
    currentTxnFirstOffset: -1,
    batches: [{ firstSeq: 0x7fffffff, lastSeq: 1, firstOffset: 2 ** 50, lastOffset: 2 ** 50 + 2, timestamp: 2 ** 45 }],
  },
];

describe('producer state snapshots', () => {
  it('round-trips every field of every entry', () => {
    const buf = encodeSnapshot(150, entries);
    expect(buf.readInt16BE(0)).toBe(1);
    expect(decodeSnapshot(buf, 150)).toEqual({ offset: 150, entries });
    expect(decodeSnapshot(encodeSnapshot(0, []))).toEqual({ offset: 0, entries: [] });
  });

  it('detects corruption anywhere: CRC, version, truncation, trailing bytes, a wrong offset', () => {
    const buf = encodeSnapshot(150, entries);
    for (let i = 6; i < buf.length; i += 7) {
      const bad = Buffer.from(buf);
      bad[i] = bad[i]! ^ 0x40;
      expect(() => decodeSnapshot(bad)).toThrow(CorruptSnapshotError);
    }
    const crc = Buffer.from(buf);
    crc[3] = crc[3]! ^ 1;
    expect(() => decodeSnapshot(crc)).toThrow(/CRC/);
    const version = Buffer.from(buf);
    version.writeInt16BE(2, 0);
    expect(() => decodeSnapshot(version)).toThrow(/version/);
    expect(() => decodeSnapshot(buf.subarray(0, buf.length - 1))).toThrow(CorruptSnapshotError);
    expect(() => decodeSnapshot(buf.subarray(0, 10))).toThrow(CorruptSnapshotError);
    expect(() => decodeSnapshot(Buffer.concat([buf, Buffer.alloc(1)]))).toThrow(CorruptSnapshotError);
    expect(() => decodeSnapshot(buf, 151)).toThrow(/offset/);
  });

  it('writes `<20-digit offset>.snapshot` files atomically and lists them in order', async () => {
    const dir = tempDir();
    await writeSnapshotFile(dir, 300, encodeSnapshot(300, entries));
    await writeSnapshotFile(dir, 20, encodeSnapshot(20, []));
    writeFileSync(`${snapshotFile(dir, 400)}.tmp`, 'half');
    expect(snapshotFile(dir, 300).endsWith('00000000000000000300.snapshot')).toBe(true);
    expect(parseSnapshotFileName('00000000000000000300.snapshot')).toBe(300);
    expect(parseSnapshotFileName('00000000000000000300.log')).toBeNull();
    expect(await listSnapshots(dir)).toEqual([20, 300]); // the leftover tmp file is removed
    expect((await readSnapshotFile(dir, 300)).entries).toEqual(entries);
    const bytes = readFileSync(snapshotFile(dir, 300));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(snapshotFile(dir, 300), bytes);
    await expect(readSnapshotFile(dir, 300)).rejects.toThrow(CorruptSnapshotError);
  });
});
