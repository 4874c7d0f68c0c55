// Topic administration through unmodified clients: kafkajs 2.2.4 (CreateTopics with configs,
// DescribeConfigs, CreatePartitions, DeleteRecords, ListOffsets by timestamp, DescribeCluster,
// DeleteTopics) and @platformatic/kafka 1.35 (DescribeLogDirs v4, IncrementalAlterConfigs,
// DescribeConfigs v4), plus the errors Kafka gives for bad requests.
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { withTimeout } from '../support/util.js';

/** The Kafka error type (e.g. 'INVALID_CONFIG') a kafkajs call failed with, digging into aggregate errors. */
async function kafkaErrorType(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    let err = e as { type?: string; errors?: unknown[]; partitions?: Array<{ error?: unknown }>; originalError?: unknown; cause?: unknown };
    for (let depth = 0; depth < 5; depth++) {
      if (err.type && err.type !== 'UNKNOWN') return err.type;
      const next = err.errors?.[0] ?? err.partitions?.[0]?.error ?? err.originalError ?? err.cause;
      if (!next) break;
      err = next as typeof err;
    }
    return `untyped: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('topic administration', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('kafkajs: create with configs, describe configs, grow partitions, delete records, offsets by time, delete', async () => {
    const kafka = kafkajs(broker.bootstrap, 'e2e-admin');
    await withAdmin(kafka, async (admin) => {
      const created = await admin.createTopics({
        topics: [{ topic: 'adm', numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
        waitForLeaders: true,
      });
      expect(created).toBe(true);

      // CreateTopics errors: exists, bad config, bad partition count.
      await expect(admin.createTopics({ topics: [{ topic: 'adm', numPartitions: 1 }] })).resolves.toBe(false);
      expect(await kafkaErrorType(admin.createTopics({ topics: [{ topic: 'adm-badcfg', numPartitions: 1, configEntries: [{ name: 'no.such.config', value: '1' }] }] }))).toBe('INVALID_CONFIG');
      expect(await kafkaErrorType(admin.createTopics({ topics: [{ topic: 'adm-zero', numPartitions: 0 }] }))).toBe('INVALID_PARTITIONS');

      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'adm' }] });
      const entries = described.resources[0]!.configEntries;
      const retention = entries.find((e) => e.configName === 'retention.ms')!;
      expect(retention.configValue).toBe('3600000');
      expect(retention.isDefault).toBe(false);
      expect(entries.find((e) => e.configName === 'cleanup.policy')!.configValue).toBe('delete');

      await admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 4 }] });
      const md = await admin.fetchTopicMetadata({ topics: ['adm'] });
      expect(md.topics[0]!.partitions.length).toBe(4);
      expect(await kafkaErrorType(admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 3 }] }))).toBe('INVALID_PARTITIONS');

      const t0 = Date.now();
      await withProducer(kafka, async (p) => {
        await p.send({ topic: 'adm', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `old-${i}`, timestamp: String(t0 - 60_000 + i) })) });
        await p.send({ topic: 'adm', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `new-${i}`, timestamp: String(t0 + i) })) });
      });
      const byTime = await admin.fetchTopicOffsetsByTimestamp('adm', t0);
      expect(byTime.find((o) => o.partition === 0)!.offset).toBe('10');

      await admin.deleteTopicRecords({ topic: 'adm', partitions: [{ partition: 0, offset: '5' }] });
      const offsets = await admin.fetchTopicOffsets('adm');
      const p0 = offsets.find((o) => o.partition === 0)!;
      expect(p0.low).toBe('5');
      expect(p0.high).toBe('20');
      // Past the high watermark: OFFSET_OUT_OF_RANGE.
      expect(await kafkaErrorType(admin.deleteTopicRecords({ topic: 'adm', partitions: [{ partition: 0, offset: '999' }] }))).toBe('OFFSET_OUT_OF_RANGE');

      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: broker.port }]);
      expect(cluster.controller).toBe(1);
      expect(cluster.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);

      await admin.deleteTopics({ topics: ['adm'] });
      expect(await admin.listTopics()).not.toContain('adm');
      expect(await kafkaErrorType(admin.deleteTopics({ topics: ['adm'], timeout: 2000 }))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    });
  });

  it('@platformatic/kafka: DescribeLogDirs, IncrementalAlterConfigs and DescribeConfigs', async () => {
    const admin = new PlatformaticAdmin({ clientId: 'e2e-platformatic-admin', bootstrapBrokers: [broker.bootstrap], retries: 1, timeout: 10_000 });
    try {
      await withTimeout(admin.createTopics({ topics: ['pl-adm'], partitions: 3, replicas: 1 }), 20_000, 'createTopics');
      await withTimeout(
        admin.incrementalAlterConfigs({ resources: [{ resourceType: 2, resourceName: 'pl-adm', configs: [{ name: 'retention.bytes', configOperation: 0, value: '123456' }] }] }),
        20_000,
        'incrementalAlterConfigs',
      );
      const described = await withTimeout(admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'pl-adm', configurationKeys: ['retention.bytes'] }] }), 20_000, 'describeConfigs');
      expect(described[0]!.configs.map((c) => [c.name, c.value])).toEqual([['retention.bytes', '123456']]);
      // An invalid value is refused (INVALID_CONFIG) and changes nothing.
      await expect(
        admin.incrementalAlterConfigs({ resources: [{ resourceType: 2, resourceName: 'pl-adm', configs: [{ name: 'retention.bytes', configOperation: 0, value: 'lots' }] }] }),
      ).rejects.toThrow();
      const dirs = await withTimeout(admin.describeLogDirs({ topics: [{ name: 'pl-adm', partitions: [0, 1, 2] }] }), 20_000, 'describeLogDirs');
      expect(dirs.length).toBe(1);
      const result = dirs[0]!.results[0]!;
      expect(result.logDir).toBe(broker.dataDir);
      expect(result.topics.find((t) => t.name === 'pl-adm')!.partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
      expect(Number(result.totalBytes)).toBeGreaterThan(0);
    } finally {
      await admin.close();
    }
  });
});
