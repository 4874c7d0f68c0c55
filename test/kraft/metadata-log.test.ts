// The Raft core's storage on disk (kraft/metadata-log.ts, quorum-state.ts, snapshot.ts,
// entry-codec.ts): entries survive a reopen as one valid record batch each, with dense Kafka
// offsets K(e) and partitionLeaderEpoch = entry epoch; truncation, own snapshots (compaction)
// and installed snapshots keep the mapping; the quorum-state file is Kafka's JSON; malformed
// snapshots and files are clear errors.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProposal, encodeProposal, entryToBatch, batchToEntry, EntryDecodeError } from '../../kraft/entry-codec.js';
import { MetadataImage, replayRecords } from '../../kraft/image.js';
import { MetadataLogError, MetadataLogStore } from '../../kraft/metadata-log.js';
import { parseQuorumState, QuorumStateError, readQuorumState } from '../../kraft/quorum-state.js';
import type { Entry, HardState } from '../../kraft/raft/index.js';
import { decodeSnapshot, encodeSnapshot, listSnapshotFiles, snapshotFileName, SnapshotError } from '../../kraft/snapshot.js';
import { configRecord, encodeMetadataRecord, featureLevelRecord, producerIdsRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { PartitionLog } from '../../log/partition-log.js';
import { logConfig } from '../../log/config.js';
import { encodeRecordBatch, scanBatches, setBaseOffset, setPartitionLeaderEpoch, isControl } from '../../wire/record-batch.js';
import { brokerRecord, cleanupTempDirs, clusterImage, logger, tempDir, TestClock, topicConfig, topicRecords, uuid } from './helpers.js';

const clock = new TestClock();
afterEach(cleanupTempDirs);

const open = (dir: string) => MetadataLogStore.open({ dir, logger, clock, voters: [1, 2, 3] });

function data(offset: number, epoch: number, records: ApiMessageAndVersion[]): Entry {
  return { kind: 'data', offset, epoch, data: encodeProposal(records, clock.nowMs()) };
}

function leaderChange(offset: number, epoch: number, leaderId: number): Entry {
  return {
    kind: 'leader-change',
    offset,
    epoch,
    leaderChange: { version: 0, leaderId, voters: [1, 2, 3].map((voterId) => ({ voterId })), grantingVoters: [{ voterId: leaderId }, { voterId: 2 }] },
  };
}

/** Records compared as their framed bytes (decoding fills in defaults). */
const framed = (rs: readonly ApiMessageAndVersion[]) => rs.map((r) => encodeMetadataRecord(r).toString('hex'));

/** Persists a Ready's changes and makes them visible, as the driver does before advance(). */
async function persist(store: MetadataLogStore, rd: Parameters<MetadataLogStore['persist']>[0]) {
  const installed = await store.persist(rd);
  store.publish();
  return installed;
}

const none = { hardState: null, snapshot: null, truncateTo: null, entries: [] as Entry[], compaction: null };

/** Every batch of the on-disk log: base offset, epoch, record count, control or not. */
async function diskBatches(dir: string): Promise<Array<{ base: number; epoch: number; count: number; control: boolean }>> {
  const log = await PartitionLog.open({
    dir: path.join(dir, '__cluster_metadata-0'),
    topic: '__cluster_metadata',
    partition: 0,
    config: logConfig(),
    logger,
    clock,
    cleanShutdown: true,
  });
  try {
    const { records } = await log.read(log.logStartOffset, 1 << 24, log.logEndOffset, true);
    return scanBatches(records).batches.map((b) => ({
      base: b.header.baseOffset,
      epoch: b.header.partitionLeaderEpoch,
      count: b.header.lastOffsetDelta + 1,
      control: isControl(b.header.attributes),
    }));
  } finally {
    await log.close();
  }
}

const topicA = topicRecords('a', uuid(1), [[1], [1]]);
const topicB = topicRecords('b', uuid(2), [[1]]);

describe('entries as record batches', () => {
  it('a data entry is one batch of framed metadata records; a leader change a LEADER_CHANGE control batch', () => {
    const d = data(7, 3, topicA);
    const wire = entryToBatch(d, 7, clock.nowMs());
    const back = batchToEntry(wire, 0, 7).entry;
    expect(back).toMatchObject({ kind: 'data', offset: 7, epoch: 3 });
    expect(framed(decodeProposal((back as Extract<Entry, { kind: 'data' }>).data))).toEqual(framed(topicA));
    const lc = leaderChange(8, 3, 1);
    const lcBack = batchToEntry(entryToBatch(lc, 8, clock.nowMs()), 0, 8).entry;
    expect(lcBack).toMatchObject(lc);
  });

  it('refuses a corrupt batch, an undecodable record and a foreign control record', () => {
    const good = entryToBatch(data(0, 1, topicA), 0, 0);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1]! ^= 0xff;
    expect(() => batchToEntry(flipped, 0, 0)).toThrow(EntryDecodeError);
    const garbage = encodeRecordBatch({ records: [{ value: Buffer.from([9, 9, 9]) }] });
    setPartitionLeaderEpoch(garbage, 0, 1);
    expect(() => batchToEntry(garbage, 0, 0)).toThrow(/metadata record/);
    const commit = encodeRecordBatch({ isControl: true, records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }] });
    setBaseOffset(commit, 0, 0);
    setPartitionLeaderEpoch(commit, 0, 1);
    expect(() => batchToEntry(commit, 0, 0)).toThrow(/not LEADER_CHANGE/);
  });
});

describe('MetadataLogStore', () => {
  it('persists the hard state as Kafka\'s quorum-state JSON and entries as a valid Kafka log (K offsets)', async () => {
    const dir = tempDir();
    const store = await open(dir);
    expect(store.initialHardState).toBeNull();
    const hs: HardState = { epoch: 2, votedId: 1, leaderId: 1 };
    const entries = [leaderChange(0, 1, 1), data(1, 1, topicA), data(2, 2, topicB), leaderChange(3, 2, 1)];
    await persist(store, { ...none, hardState: hs, entries });
    expect(store.endOffset()).toBe(4);
    // K(0)=0, K(1)=1 (leader change: one record), K(2)=1+3 (topic a: 3 records), K(3)=4+2.
    expect([0, 1, 2, 3, 4].map((o) => store.kafkaOffsetOf(o))).toEqual([0, 1, 4, 6, 7]);
    await store.close();

    const json = JSON.parse(await fsp.readFile(path.join(dir, '__cluster_metadata-0', 'quorum-state'), 'utf8'));
    expect(json).toMatchObject({ leaderId: 1, leaderEpoch: 2, votedId: 1, data_version: 0, currentVoters: [{ voterId: 1 }, { voterId: 2 }, { voterId: 3 }] });
    expect(await diskBatches(dir)).toEqual([
      { base: 0, epoch: 1, count: 1, control: true },
      { base: 1, epoch: 1, count: 3, control: false },
      { base: 4, epoch: 2, count: 2, control: false },
      { base: 6, epoch: 2, count: 1, control: true },
    ]);

    const again = await open(dir);
    expect(again.initialHardState).toEqual(hs);
    expect(again.endOffset()).toBe(4);
    expect(again.entryAt(1)).toMatchObject({ kind: 'data', epoch: 1 });
    expect(framed(decodeProposal((again.entryAt(2) as Extract<Entry, { kind: 'data' }>).data))).toEqual(framed(topicB));
    expect(again.entryAt(3)).toMatchObject(entries[3]!);
    expect(again.kafkaOffsetOf(4)).toBe(7);
    await again.close();
  });

  it('truncates by entry and appends after the cut (a follower\'s divergent tail)', async () => {
    const dir = tempDir();
    const store = await open(dir);
    await persist(store, { ...none, entries: [leaderChange(0, 1, 1), data(1, 1, topicA), data(2, 1, topicB)] });
    await persist(store, { ...none, truncateTo: 2, entries: [leaderChange(2, 2, 2)] });
    expect(store.endOffset()).toBe(3);
    expect(store.entryAt(2)).toMatchObject({ kind: 'leader-change', epoch: 2 });
    await store.close();
    expect(await diskBatches(dir)).toEqual([
      { base: 0, epoch: 1, count: 1, control: true },
      { base: 1, epoch: 1, count: 3, control: false },
      { base: 4, epoch: 2, count: 1, control: true },
    ]);
    const again = await open(dir);
    expect(again.endOffset()).toBe(3);
    await again.close();
  });

  it('compaction writes <offset>-<epoch>.checkpoint; a reopen starts after the snapshot with the same K offsets', async () => {
    const dir = tempDir();
    const store = await open(dir);
    const entries = [leaderChange(0, 1, 1), data(1, 1, topicA), data(2, 1, topicB), data(3, 2, [topicConfig('a', 'retention.ms', '1000')])];
    await persist(store, { ...none, entries });
    const image = replayRecords(MetadataImage.EMPTY, [...topicA, ...topicB], 2);
    const snap = { id: { endOffset: 3, epoch: 1 }, data: encodeSnapshot(image, { epoch: 1, logEndOffset: store.kafkaOffsetOf(3), timestampMs: 0 }) };
    await persist(store, { ...none, compaction: snap });
    expect(store.snapshot()?.id).toEqual({ endOffset: 3, epoch: 1 });
    expect(() => store.entryAt(2)).toThrow(RangeError);
    expect(store.entryAt(3)).toMatchObject({ epoch: 2 });
    await store.close();
    expect((await listSnapshotFiles(path.join(dir, '__cluster_metadata-0'))).map(snapshotFileName)).toEqual(['00000000000000000003-0000000001.checkpoint']);

    const again = await open(dir);
    expect(again.snapshot()?.id).toEqual({ endOffset: 3, epoch: 1 });
    expect(again.snapshotImage.topicByName('a')?.partitions.size).toBe(2);
    expect(again.snapshotImage.offset).toBe(2);
    expect(again.endOffset()).toBe(4);
    expect(again.kafkaOffsetOf(3)).toBe(6);
    expect(again.kafkaOffsetOf(4)).toBe(7);
    await persist(again, { ...none, entries: [leaderChange(4, 3, 2)] });
    expect(again.kafkaOffsetOf(5)).toBe(8);
    await again.close();
  });

  it('installing a leader\'s snapshot restarts the log at the snapshot\'s Kafka offset', async () => {
    const dir = tempDir();
    const store = await open(dir);
    await persist(store, { ...none, entries: [leaderChange(0, 1, 1)] });
    const image = replayRecords(clusterImage(2), [...topicA], 99);
    const snap = { id: { endOffset: 100, epoch: 4 }, data: encodeSnapshot(image, { epoch: 4, logEndOffset: 555, timestampMs: 0 }) };
    const installed = await persist(store, { ...none, snapshot: snap, entries: [leaderChange(100, 5, 2)] });
    expect(installed?.topicByName('a')?.id).toBe(uuid(1));
    expect(installed?.brokers.size).toBe(2);
    expect(store.kafkaOffsetOf(100)).toBe(555);
    expect(store.endOffset()).toBe(101);
    await store.close();
    expect(await diskBatches(dir)).toEqual([{ base: 555, epoch: 5, count: 1, control: true }]);
    const again = await open(dir);
    expect(again.snapshot()?.id).toEqual({ endOffset: 100, epoch: 4 });
    expect(again.entryAt(100)).toMatchObject({ kind: 'leader-change', epoch: 5 });
    await again.close();
  });

  it('refuses to open on a malformed snapshot file or quorum-state', async () => {
    const dir = tempDir();
    const store = await open(dir);
    await store.close();
    const d = path.join(dir, '__cluster_metadata-0');
    await fsp.writeFile(path.join(d, 'quorum-state'), '{"leaderEpoch":"x"}');
    await expect(open(dir)).rejects.toThrow(MetadataLogError);
    await fsp.writeFile(path.join(d, 'quorum-state'), '{"leaderEpoch":1,"leaderId":-1,"votedId":2,"data_version":1}');
    expect(await readQuorumState(d)).toEqual({ epoch: 1, leaderId: null, votedId: 2 });
    await fsp.writeFile(path.join(d, snapshotFileName({ endOffset: 5, epoch: 1 })), Buffer.from('not a snapshot'));
    await expect(open(dir)).rejects.toThrow(/cannot load the metadata snapshot/);
  });
});

describe('snapshots', () => {
  it('round-trip an image (brokers with their fencing, topics, partitions, configs, features, producer ids)', () => {
    const image = replayRecords(MetadataImage.EMPTY, [
      featureLevelRecord({ name: 'metadata.version', featureLevel: 21 }),
      brokerRecord(1, { rack: 'r1' }),
      brokerRecord(2, { fenced: true }),
      ...topicA,
      ...topicB,
      topicConfig('a', 'cleanup.policy', 'compact'),
      configRecord({ resourceType: 4, resourceName: '', name: 'log.retention.ms', value: '5' }),
      producerIdsRecord({ brokerId: 1, brokerEpoch: 11n, nextProducerId: 3000n }),
    ], 41);
    const bytes = encodeSnapshot(image, { epoch: 7, logEndOffset: 123, timestampMs: 5 });
    const batches = scanBatches(bytes).batches;
    expect(batches[0]!.header.baseOffset).toBe(123);
    expect(batches.every((b) => b.header.partitionLeaderEpoch === 7)).toBe(true);
    const back = decodeSnapshot(bytes, 42);
    expect(back.logEndOffset).toBe(123);
    const plain = (i: MetadataImage) =>
      JSON.parse(
        JSON.stringify({ o: i.offset, f: i.features, b: i.brokers, t: i.topicsById, c: i.configData, p: i.nextProducerId }, (_k, v) => (v instanceof Map ? [...v].sort() : v)),
      );
    expect(plain(back.image)).toEqual(plain(image));
  });

  it('a malformed snapshot is a SnapshotError naming the defect', () => {
    const image = clusterImage(1);
    const good = encodeSnapshot(image, { epoch: 1, logEndOffset: 0, timestampMs: 0 });
    expect(() => decodeSnapshot(good.subarray(0, good.length - 3), 1)).toThrow(SnapshotError);
    // A data batch whose record is not a metadata record.
    const bad = encodeRecordBatch({ records: [{ value: encodeMetadataRecord(featureLevelRecord({ name: 'x', featureLevel: 1 })).subarray(0, 2) }] });
    const batches = scanBatches(good).batches;
    const header = good.subarray(0, batches[0]!.size);
    const footer = good.subarray(batches[batches.length - 1]!.pos);
    expect(() => decodeSnapshot(Buffer.concat([header, bad, footer]), 1)).toThrow(/snapshot record 0/);
    expect(() => decodeSnapshot(Buffer.concat([bad, footer]), 1)).toThrow(/SNAPSHOT_HEADER/);
    expect(() => parseQuorumState('[1]')).toThrow(QuorumStateError);
  });
});
