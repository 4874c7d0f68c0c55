import { describe, expect, it } from 'vitest';
import {
  MetadataDelta,
  MetadataImage,
  MetadataReplayError,
  replayRecords,
  type PartitionRegistration,
} from '../../kraft/image.js';
import {
  brokerRegistrationChangeRecord,
  configRecord,
  featureLevelRecord,
  fenceBrokerRecord,
  noOpRecord,
  partitionChangeRecord,
  producerIdsRecord,
  removeTopicRecord,
  topicRecord,
  unfenceBrokerRecord,
  unregisterBrokerRecord,
  type ApiMessageAndVersion,
} from '../../kraft/records.js';
import { brokerRecord, clusterImage, partitionRec, topicConfig, topicRecords, uuid } from './helpers.js';

const T1 = uuid(1);
const T2 = uuid(2);

function apply(base: MetadataImage, ...records: ApiMessageAndVersion[]): MetadataImage {
  return replayRecords(base, records);
}

function replayError(base: MetadataImage, rec: ApiMessageAndVersion): string {
  try {
    apply(base, rec);
  } catch (err) {
    expect(err).toBeInstanceOf(MetadataReplayError);
    return (err as Error).message;
  }
  throw new Error('expected a MetadataReplayError');
}

describe('MetadataImage replay: features, brokers, producer ids', () => {
  it('starts empty at offset -1', () => {
    const img = MetadataImage.EMPTY;
    expect(img.offset).toBe(-1);
    expect(img.isEmpty()).toBe(true);
    expect(img.metadataVersion).toBe(0);
    expect(img.topicByName('x')).toBeUndefined();
    expect(img.topicConfigs('x').size).toBe(0);
  });

  it('FeatureLevelRecord sets a level; level 0 removes the feature', () => {
    const a = apply(MetadataImage.EMPTY, featureLevelRecord({ name: 'metadata.version', featureLevel: 21 }));
    expect(a.metadataVersion).toBe(21);
    expect(a.offset).toBe(0);
    const b = apply(a, featureLevelRecord({ name: 'group.version', featureLevel: 1 }));
    expect(b.features).toEqual(new Map([['metadata.version', 21], ['group.version', 1]]));
    const c = apply(b, featureLevelRecord({ name: 'group.version', featureLevel: 0 }));
    expect([...c.features.keys()]).toEqual(['metadata.version']);
    expect(b.features.size).toBe(2);
  });

  it('RegisterBrokerRecord registers a broker with its listeners, rack, epoch and state', () => {
    const img = apply(MetadataImage.EMPTY, brokerRecord(1, { rack: 'r1', epoch: 42 }), brokerRecord(2, { fenced: true }));
    const b1 = img.broker(1)!;
    expect(b1).toMatchObject({
      id: 1,
      epoch: 42,
      incarnationId: uuid(501),
      rack: 'r1',
      fenced: false,
      inControlledShutdown: false,
      listeners: [{ name: 'PLAINTEXT', host: 'host1', port: 9093, securityProtocol: 0 }],
    });
    expect(b1.features.get('metadata.version')).toEqual({ minSupportedVersion: 1, maxSupportedVersion: 21 });
    expect(img.broker(2)!.fenced).toBe(true);
    expect(img.isActive(1)).toBe(true);
    expect(img.isActive(2)).toBe(false);
    // Re-registration replaces the registration.
    const again = apply(img, brokerRecord(1, { rack: 'r9', epoch: 50, incarnation: 7 }));
    expect(again.broker(1)).toMatchObject({ epoch: 50, rack: 'r9', incarnationId: uuid(507) });
    expect(img.broker(1)!.epoch).toBe(42);
  });

  it('Fence/Unfence/BrokerRegistrationChange/Unregister need the registered epoch', () => {
    const img = apply(MetadataImage.EMPTY, brokerRecord(1, { epoch: 7 }));
    const fenced = apply(img, fenceBrokerRecord({ id: 1, epoch: 7n }));
    expect(fenced.broker(1)!.fenced).toBe(true);
    const unfenced = apply(fenced, unfenceBrokerRecord({ id: 1, epoch: 7n }));
    expect(unfenced.broker(1)!.fenced).toBe(false);

    const shutdown = apply(unfenced, brokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 7n, inControlledShutdown: 1 }));
    expect(shutdown.broker(1)).toMatchObject({ fenced: false, inControlledShutdown: true });
    expect(shutdown.isActive(1)).toBe(false);
    const viaChange = apply(unfenced, brokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 7n, fenced: 1 }));
    expect(viaChange.broker(1)!.fenced).toBe(true);
    const back = apply(viaChange, brokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 7n, fenced: -1 }));
    expect(back.broker(1)!.fenced).toBe(false);
    const noChange = apply(viaChange, brokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 7n }));
    expect(noChange.broker(1)!.fenced).toBe(true);

    const gone = apply(img, unregisterBrokerRecord({ brokerId: 1, brokerEpoch: 7n }));
    expect(gone.broker(1)).toBeUndefined();
    expect(img.broker(1)).toBeDefined();

    expect(replayError(img, fenceBrokerRecord({ id: 1, epoch: 8n }))).toMatch(/epoch 8 does not match registered epoch 7/);
    expect(replayError(img, unfenceBrokerRecord({ id: 2, epoch: 7n }))).toMatch(/broker 2: it is not registered/);
    expect(replayError(img, unregisterBrokerRecord({ brokerId: 1, brokerEpoch: 1n }))).toMatch(/does not match/);
    expect(replayError(img, brokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 7n, fenced: 5 }))).toMatch(
      /bad fenced value 5/,
    );
  });

  it('ProducerIdsRecord moves the next producer id forward only', () => {
    const img = apply(
      MetadataImage.EMPTY,
      brokerRecord(1),
      producerIdsRecord({ brokerId: 1, brokerEpoch: 11n, nextProducerId: 1000n }),
    );
    expect(img.nextProducerId).toBe(1000);
    expect(apply(img, producerIdsRecord({ brokerId: 1, brokerEpoch: 11n, nextProducerId: 2000n })).nextProducerId).toBe(2000);
    expect(replayError(img, producerIdsRecord({ brokerId: 1, brokerEpoch: 11n, nextProducerId: 1000n }))).toMatch(
      /not above the current 1000/,
    );
  });

  it('NoOpRecord changes nothing but the offset', () => {
    const img = clusterImage(1);
    const next = apply(img, noOpRecord());
    expect(next.offset).toBe(img.offset + 1);
    expect(next.brokers).toBe(img.brokers);
    expect(next.topicsById).toBe(img.topicsById);
  });
});

describe('MetadataImage replay: topics and partitions', () => {
  const base = clusterImage(3);

  it('TopicRecord + PartitionRecords create a topic, found by name and by id', () => {
    const img = apply(base, ...topicRecords('orders', T1, [[1, 2, 3], [2, 3, 1]]));
    const t = img.topicByName('orders')!;
    expect(t).toBe(img.topicById(T1));
    expect(t.id).toBe(T1);
    expect([...t.partitions.keys()]).toEqual([0, 1]);
    expect(img.partition('orders', 1)).toMatchObject({
      replicas: [2, 3, 1],
      isr: [2, 3, 1],
      leader: 2,
      leaderEpoch: 0,
      partitionEpoch: 0,
      leaderRecoveryState: 0,
      removingReplicas: [],
      addingReplicas: [],
    });
    expect([...img.topics()].map((x) => x.name)).toEqual(['orders']);
    expect(base.topicByName('orders')).toBeUndefined();
  });

  it('refuses inconsistent topic records', () => {
    const img = apply(base, ...topicRecords('orders', T1, [[1]]));
    expect(replayError(img, topicRecord({ name: 'other', topicId: T1 }))).toMatch(/already exists/);
    expect(replayError(img, topicRecord({ name: 'orders', topicId: T2 }))).toMatch(/name is taken/);
    expect(replayError(img, partitionRec(T2, 0, [1]))).toMatch(/no topic with id/);
    expect(replayError(img, partitionChangeRecord({ topicId: T1, partitionId: 5, isr: [1] }))).toMatch(/no partition orders-5/);
    expect(replayError(img, removeTopicRecord({ topicId: T2 }))).toMatch(/no topic with id/);
  });

  describe('PartitionChangeRecord merges as Kafka does', () => {
    const img = apply(base, ...topicRecords('orders', T1, [[1, 2, 3]]));
    const change = (m: Omit<Parameters<typeof partitionChangeRecord>[0], 'topicId' | 'partitionId'>): PartitionRegistration =>
      apply(img, partitionChangeRecord({ topicId: T1, partitionId: 0, ...m })).partition('orders', 0)!;

    it('an ISR-only change bumps the partition epoch, not the leader epoch', () => {
      expect(change({ isr: [1, 2] })).toMatchObject({ isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 1 });
    });
    it('a leader change bumps both epochs', () => {
      expect(change({ leader: 2, isr: [2, 3] })).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
    });
    it('leader -1 (no leader) is a leader change; -2 means no change', () => {
      expect(change({ leader: -1 })).toMatchObject({ leader: -1, leaderEpoch: 1, partitionEpoch: 1 });
      expect(change({ leader: -2 })).toMatchObject({ leader: 1, leaderEpoch: 0, partitionEpoch: 1 });
      expect(change({})).toMatchObject({ leader: 1, isr: [1, 2, 3], leaderEpoch: 0, partitionEpoch: 1 });
    });
    it('replicas, adding and removing replicas change only when given', () => {
      expect(change({ replicas: [1, 2, 3, 4], addingReplicas: [4], removingReplicas: [1] })).toMatchObject({
        replicas: [1, 2, 3, 4],
        addingReplicas: [4],
        removingReplicas: [1],
        isr: [1, 2, 3],
      });
    });
    it('leaderRecoveryState -1 keeps the state; 1 marks recovering', () => {
      expect(change({ leaderRecoveryState: 1 }).leaderRecoveryState).toBe(1);
      expect(change({ leaderRecoveryState: -1 }).leaderRecoveryState).toBe(0);
      expect(replayError(img, partitionChangeRecord({ topicId: T1, partitionId: 0, leaderRecoveryState: 3 }))).toMatch(
        /bad leaderRecoveryState 3/,
      );
    });
    it('successive changes accumulate', () => {
      const next = apply(
        img,
        partitionChangeRecord({ topicId: T1, partitionId: 0, isr: [1, 2] }),
        partitionChangeRecord({ topicId: T1, partitionId: 0, leader: 2 }),
        partitionChangeRecord({ topicId: T1, partitionId: 0, isr: [2] }),
      );
      expect(next.partition('orders', 0)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 1, partitionEpoch: 3 });
    });
  });

  it('a PartitionRecord for an existing partition replaces it', () => {
    const img = apply(base, ...topicRecords('orders', T1, [[1, 2]]));
    const next = apply(img, partitionRec(T1, 0, [3], { leaderEpoch: 5, partitionEpoch: 9 }));
    expect(next.partition('orders', 0)).toMatchObject({ replicas: [3], leader: 3, leaderEpoch: 5, partitionEpoch: 9 });
  });

  it('RemoveTopicRecord removes the topic, its partitions and its configs', () => {
    const img = apply(
      base,
      ...topicRecords('orders', T1, [[1], [2]]),
      ...topicRecords('users', T2, [[3]]),
      topicConfig('orders', 'retention.ms', '1000'),
      topicConfig('users', 'retention.ms', '2000'),
    );
    const next = apply(img, removeTopicRecord({ topicId: T1 }));
    expect(next.topicByName('orders')).toBeUndefined();
    expect(next.topicById(T1)).toBeUndefined();
    expect(next.topicConfigs('orders').size).toBe(0);
    expect(next.topicConfigs('users').get('retention.ms')).toBe('2000');
    expect(next.topicByName('users')).toBe(img.topicByName('users'));
    // Recreating the name with a new id is fine.
    const again = apply(next, ...topicRecords('orders', uuid(3), [[1]]));
    expect(again.topicByName('orders')!.id).toBe(uuid(3));
  });

  it('partitionsLedBy / replicasOf list a node\'s partitions by topic then partition', () => {
    const img = apply(base, ...topicRecords('b', T1, [[1, 2], [2, 3], [3, 1]]), ...topicRecords('a', T2, [[2, 1]]));
    const led = (n: number): string[] => img.partitionsLedBy(n).map((r) => `${r.topic.name}-${r.partition}`);
    const reps = (n: number): string[] => img.replicasOf(n).map((r) => `${r.topic.name}-${r.partition}`);
    expect(led(1)).toEqual(['b-0']);
    expect(led(2)).toEqual(['a-0', 'b-1']);
    expect(led(4)).toEqual([]);
    expect(reps(1)).toEqual(['a-0', 'b-0', 'b-2']);
    expect(img.partitionsLedBy(2)).toBe(img.partitionsLedBy(2)); // memoized per image
    expect(img.partitionsLedBy(2)[0]!.registration.leader).toBe(2);
  });
});

describe('MetadataImage replay: configs', () => {
  it('ConfigRecord sets and deletes keys; an emptied resource disappears', () => {
    let img = apply(
      MetadataImage.EMPTY,
      configRecord({ resourceType: 4, resourceName: '', name: 'log.retention.ms', value: '100' }),
      configRecord({ resourceType: 4, resourceName: '1', name: 'log.cleaner.threads', value: '2' }),
      topicConfig('t', 'cleanup.policy', 'compact'),
      topicConfig('t', 'retention.ms', '5'),
    );
    expect(img.brokerConfigs('')).toEqual(new Map([['log.retention.ms', '100']]));
    expect(img.brokerConfigs(1)).toEqual(new Map([['log.cleaner.threads', '2']]));
    expect(img.topicConfigs('t')).toEqual(new Map([['cleanup.policy', 'compact'], ['retention.ms', '5']]));
    img = apply(img, topicConfig('t', 'retention.ms', null), topicConfig('t', 'nothing', null));
    expect(img.topicConfigs('t')).toEqual(new Map([['cleanup.policy', 'compact']]));
    img = apply(img, topicConfig('t', 'cleanup.policy', null));
    expect(img.configData.get(2)).toBeUndefined();
    expect(img.configs(2, 't').size).toBe(0);
  });
});

describe('copy-on-write', () => {
  it('never changes a published image and shares what did not change', () => {
    const before = apply(
      clusterImage(3),
      ...topicRecords('orders', T1, [[1, 2], [2, 3]]),
      ...topicRecords('users', T2, [[3]]),
      topicConfig('orders', 'retention.ms', '1'),
    );
    const snapshot = JSON.stringify(before, (_k, v) => (v instanceof Map ? [...v] : typeof v === 'bigint' ? String(v) : v));
    const ordersPartitions = before.topicByName('orders')!.partitions;

    const after = apply(
      before,
      partitionChangeRecord({ topicId: T1, partitionId: 0, leader: 2, isr: [2] }),
      topicConfig('orders', 'retention.ms', '2'),
      fenceBrokerRecord({ id: 3, epoch: 13n }),
      featureLevelRecord({ name: 'metadata.version', featureLevel: 20 }),
      ...topicRecords('new', uuid(9), [[1]]),
    );

    // The old image is exactly as it was.
    expect(JSON.stringify(before, (_k, v) => (v instanceof Map ? [...v] : typeof v === 'bigint' ? String(v) : v))).toBe(
      snapshot,
    );
    expect(before.partition('orders', 0)).toMatchObject({ leader: 1, isr: [1, 2], leaderEpoch: 0 });
    expect(before.topicByName('orders')!.partitions).toBe(ordersPartitions);
    expect(before.topicConfigs('orders').get('retention.ms')).toBe('1');
    expect(before.broker(3)!.fenced).toBe(false);
    expect(before.metadataVersion).toBe(21);
    expect(before.topicByName('new')).toBeUndefined();

    // The new image has the changes; unchanged parts are shared, not copied.
    expect(after.partition('orders', 0)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 1, partitionEpoch: 1 });
    expect(after.topicByName('orders')!.partitions.get(1)).toBe(before.topicByName('orders')!.partitions.get(1));
    expect(after.topicByName('users')).toBe(before.topicByName('users'));
    expect(after.broker(1)).toBe(before.broker(1));
    expect(after.metadataVersion).toBe(20);
  });

  it('a delta keeps working after build without touching the built image', () => {
    const base = clusterImage(2, topicRecords('orders', T1, [[1]]));
    const delta = new MetadataDelta(base);
    delta.replay(partitionChangeRecord({ topicId: T1, partitionId: 0, isr: [1, 2] }));
    const first = delta.build(base.offset + 1);
    delta.replay(partitionChangeRecord({ topicId: T1, partitionId: 0, leader: 2 }));
    delta.replay(topicConfig('orders', 'a', 'b'));
    const second = delta.build(base.offset + 2);
    expect(first.partition('orders', 0)).toMatchObject({ leader: 1, isr: [1, 2], partitionEpoch: 1 });
    expect(first.topicConfigs('orders').size).toBe(0);
    expect(second.partition('orders', 0)).toMatchObject({ leader: 2, leaderEpoch: 1, partitionEpoch: 2 });
    expect(base.partition('orders', 0)).toMatchObject({ isr: [1], partitionEpoch: 0 });
  });

  it('the delta reports what changed', () => {
    const base = clusterImage(2, [...topicRecords('old', T1, [[1], [2]]), topicConfig('old', 'x', 'y')]);
    const delta = new MetadataDelta(base);
    delta.replayAll([
      ...topicRecords('fresh', T2, [[1], [2]]),
      removeTopicRecord({ topicId: T1 }),
      fenceBrokerRecord({ id: 2, epoch: 12n }),
      topicConfig('fresh', 'a', '1'),
    ]);
    expect([...delta.createdTopics]).toEqual([T2]);
    expect([...delta.deletedTopics.keys()]).toEqual([T1]);
    expect(delta.deletedTopics.get(T1)!.name).toBe('old');
    expect([...delta.changedPartitions.get(T2)!]).toEqual([0, 1]);
    expect(delta.changedPartitions.has(T1)).toBe(false);
    expect([...delta.changedBrokers]).toEqual([2]);
    expect([...delta.changedConfigs].sort()).toEqual(['2:fresh', '2:old']);
    expect(delta.recordCount).toBe(6);
  });
});
