import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapRecords, createTopics, registerBroker } from '../../kraft/controller.js';
import type { MetadataDelta, MetadataImage } from '../../kraft/image.js';
import { LocalMetadataQuorum, MetadataLogError } from '../../kraft/local-quorum.js';
import { encodeMetadataRecord, topicRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { logConfig } from '../../log/config.js';
import { PartitionLog } from '../../log/partition-log.js';
import { ErrorCode } from '../../wire/errors.js';
import { ControlRecordType, encodeRecordBatch } from '../../wire/record-batch.js';
import { cleanupTempDirs, logger, partitionRec, tempDir, TestClock, topicConfig, topicRecords, uuid, uuidSequence } from './helpers.js';

const clock = new TestClock();
const open = (dir: string, bootstrap?: ApiMessageAndVersion[]) => LocalMetadataQuorum.open({ dir, logger, clock, bootstrap });
const listeners = [{ name: 'PLAINTEXT', host: 'localhost', port: 9092, securityProtocol: 0 }];
const segmentFile = (dir: string) => path.join(dir, '__cluster_metadata-0', '00000000000000000000.log');

/** A comparable form of an image (Maps as entries). */
function plain(image: MetadataImage): unknown {
  return JSON.parse(
    JSON.stringify(
      {
        offset: image.offset,
        features: image.features,
        brokers: image.brokers,
        topics: image.topicsById,
        configs: image.configData,
        nextProducerId: image.nextProducerId,
      },
      (_k, v) => (v instanceof Map ? [...v].sort() : v),
    ),
  );
}

/** Appends raw batches to the metadata log as if written by an earlier run. */
async function appendRaw(dir: string, batch: Buffer): Promise<void> {
  const log = await PartitionLog.open({
    dir: path.join(dir, '__cluster_metadata-0'),
    topic: '__cluster_metadata',
    partition: 0,
    config: logConfig(),
    logger,
    clock,
  });
  await log.appendAsLeader(batch, 0).written;
  await log.close();
}

function batchOf(values: Buffer[]): Buffer {
  return encodeRecordBatch({ baseTimestamp: clock.nowMs(), records: values.map((value) => ({ value })) });
}

afterEach(() => cleanupTempDirs());

describe('LocalMetadataQuorum', () => {
  it('bootstraps an empty log, commits, publishes, and reopens to the same image', async () => {
    const dir = tempDir();
    const q = await open(dir, bootstrapRecords());
    expect(q.image.metadataVersion).toBe(21);
    expect(q.image.offset).toBe(0);

    const seen: Array<[number, MetadataDelta | undefined]> = [];
    q.onImage((img, delta) => seen.push([img.offset, delta]));

    const epoch = await q.runExclusive((img) => {
      const r = registerBroker(img, { brokerId: 1, incarnationId: uuid(1), listeners, rack: null });
      return { records: r.records, result: r.results.brokerEpoch };
    });
    expect(epoch).toBe(1);
    expect(q.image.broker(1)!.epoch).toBe(1); // the epoch is the record's offset
    const created = await q.runExclusive((img) => {
      const r = createTopics(
        img,
        [{ name: 'orders', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '9' }] }],
        { defaultNumPartitions: 1, defaultReplicationFactor: 1, validateConfig: () => null, randomUuid: uuidSequence(), validateOnly: false },
      );
      return { records: r.records, result: r.results };
    });
    expect(created[0]!.errorCode).toBe(ErrorCode.NONE);
    const image = q.image;
    expect(image.offset).toBe(1 + 1 + 3 + 1); // bootstrap, broker, topic + 3 partitions + config
    expect(image.topicByName('orders')!.partitions.size).toBe(3);
    expect(seen.map(([o]) => o)).toEqual([1, 6]);
    expect(seen[1]![1]!.createdTopics.size).toBe(1);
    expect(await q.commit([])).toBe(image);
    await q.close();

    const again = await open(dir, bootstrapRecords());
    expect(plain(again.image)).toEqual(plain(image));
    expect(again.image.offset).toBe(6);
    expect(again.nextOffset).toBe(7);
    // Commits continue after the replayed offset.
    const next = await again.commit(topicRecords('more', uuid(50), [[1]]));
    expect(next.offset).toBe(8);
    await again.close();
  });

  it('serializes decisions: each one sees the image left by the previous commit', async () => {
    const dir = tempDir();
    const q = await open(dir, bootstrapRecords());
    await q.commit(registerBroker(q.image, { brokerId: 1, incarnationId: uuid(1), listeners, rack: null }).records);
    const ids = uuidSequence();
    const create = () =>
      q.runExclusive((img) => {
        const r = createTopics(
          img,
          [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          { defaultNumPartitions: 1, defaultReplicationFactor: 1, validateConfig: () => null, randomUuid: ids, validateOnly: false },
        );
        return { records: r.records, result: r.results[0]!.errorCode };
      });
    const results = await Promise.all([create(), create(), create()]);
    expect(results).toEqual([ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.TOPIC_ALREADY_EXISTS]);
    expect(q.image.topicByName('t')).toBeDefined();
    await q.close();
  });

  it('refuses records that would not replay, without writing them, and keeps working', async () => {
    const dir = tempDir();
    const q = await open(dir);
    await expect(q.commit([partitionRec(uuid(9), 0, [1])])).rejects.toThrow(/no topic with id/);
    expect(q.nextOffset).toBe(0);
    await expect(q.runExclusive(() => { throw new Error('decision bug'); })).rejects.toThrow('decision bug');
    const img = await q.commit(topicRecords('ok', uuid(1), [[1]]));
    expect(img.offset).toBe(1);
    await q.close();
    await expect(q.commit([])).rejects.toThrow(MetadataLogError);
  });

  it('a torn tail keeps the last complete batch', async () => {
    const dir = tempDir();
    const q = await open(dir, bootstrapRecords());
    await q.commit(topicRecords('first', uuid(1), [[1]]));
    const afterFirst = plain(q.image);
    await q.commit([...topicRecords('second', uuid(2), [[1]]), topicConfig('second', 'a', 'b')]);
    await q.close();

    const file = segmentFile(dir);
    const { size } = await fsp.stat(file);
    await fsp.truncate(file, size - 7); // the last batch is cut short, as by a crash mid-write

    const again = await open(dir, bootstrapRecords());
    expect(plain(again.image)).toEqual(afterFirst);
    expect(again.image.topicByName('second')).toBeUndefined();
    // New commits go where the torn batch was.
    expect((await again.commit(topicRecords('third', uuid(3), [[1]]))).offset).toBe(4);
    await again.close();
    const third = await open(dir);
    expect(third.image.topicByName('third')).toBeDefined();
    expect(third.image.topicByName('first')).toBeDefined();
    await third.close();
  });

  it('refuses to start on a record it cannot decode, naming the offset', async () => {
    const dir = tempDir();
    const q = await open(dir, bootstrapRecords());
    await q.close();
    const good = encodeMetadataRecord(topicRecord({ name: 'x', topicId: uuid(1) }));
    await appendRaw(dir, batchOf([good, Buffer.from([1, 99, 0, 0])]));
    const err = await open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetadataLogError);
    expect((err as Error).message).toBe(
      'cannot decode the metadata record at offset 2: unknown metadata record type 99',
    );
  });

  it('refuses to start on a record that cannot apply, and on a record without a value', async () => {
    const dir = tempDir();
    await appendRaw(dir, batchOf([encodeMetadataRecord(partitionRec(uuid(5), 0, [1]))]));
    await expect(open(dir)).rejects.toThrow(/cannot apply the PartitionRecord at offset 0: .*no topic with id/);

    const dir2 = tempDir();
    await appendRaw(dir2, encodeRecordBatch({ baseTimestamp: 1, records: [{ value: null }] }));
    await expect(open(dir2)).rejects.toThrow(/offset 0 has no value/);
  });

  it('skips control batches', async () => {
    const dir = tempDir();
    const control = encodeRecordBatch({
      baseTimestamp: 1,
      isControl: true,
      records: [{ key: Buffer.from([0, 0, 0, ControlRecordType.LEADER_CHANGE]), value: Buffer.from([0, 0, 0, 0]) }],
    });
    await appendRaw(dir, control);
    await appendRaw(dir, batchOf(bootstrapRecords().map(encodeMetadataRecord)));
    const q = await open(dir);
    expect(q.image.metadataVersion).toBe(21);
    expect(q.image.offset).toBe(1);
    await q.close();
  });
});
