import { describe, expect, it } from 'vitest';
import {
  AlterConfigOp,
  allocateProducerIds,
  alterConfigs,
  bootstrapRecords,
  createPartitions,
  createTopics,
  deleteTopics,
  incrementalAlterConfigs,
  registerBroker,
  type CreatableTopic,
  type CreateTopicsOptions,
  MAX_RECORDS_PER_USER_OP,
} from '../../kraft/controller.js';
import { MetadataImage, replayRecords } from '../../kraft/image.js';
import { fenceBrokerRecord, MetadataRecordType, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode } from '../../wire/errors.js';
import { ZERO_UUID } from '../../wire/primitives.js';
import { clusterImage, topicConfig, topicRecords, uuid, uuidSequence } from './helpers.js';

function opts(over: Partial<CreateTopicsOptions> = {}): CreateTopicsOptions {
  return {
    defaultNumPartitions: 2,
    defaultReplicationFactor: 1,
    validateConfig: (name, value) => (name === 'retention.ms' && !/^-?\d+$/.test(value) ? `Invalid value ${value} for configuration retention.ms` : null),
    randomUuid: uuidSequence(),
    validateOnly: false,
    ...over,
  };
}

function topic(name: string, over: Partial<CreatableTopic> = {}): CreatableTopic {
  return { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [], ...over };
}

function commit(image: MetadataImage, records: ApiMessageAndVersion[]): MetadataImage {
  return replayRecords(image, records);
}

const three = clusterImage(3);

describe('createTopics', () => {
  it('creates a topic: TopicRecord, PartitionRecords (leader = first replica, isr = replicas), ConfigRecords', () => {
    const r = createTopics(
      three,
      [topic('orders', { numPartitions: 3, replicationFactor: 2, configs: [{ name: 'retention.ms', value: '1000' }] })],
      opts(),
    );
    expect(r.results).toEqual([
      { name: 'orders', topicId: uuid(1000), errorCode: 0, errorMessage: null, numPartitions: 3, replicationFactor: 2 },
    ]);
    expect(r.records.map((x) => x.apiKey)).toEqual([
      MetadataRecordType.Topic,
      MetadataRecordType.Partition,
      MetadataRecordType.Partition,
      MetadataRecordType.Partition,
      MetadataRecordType.Config,
    ]);
    const img = commit(three, r.records);
    const t = img.topicByName('orders')!;
    expect(t.id).toBe(uuid(1000));
    for (const [, p] of t.partitions) {
      expect(p.replicas).toHaveLength(2);
      expect(p.isr).toEqual(p.replicas);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.leaderEpoch).toBe(0);
      expect(p.partitionEpoch).toBe(0);
    }
    expect(img.topicConfigs('orders').get('retention.ms')).toBe('1000');
  });

  it('uses the defaults for -1', () => {
    const r = createTopics(three, [topic('t')], opts({ defaultNumPartitions: 4, defaultReplicationFactor: 3 }));
    expect(r.results[0]).toMatchObject({ errorCode: 0, numPartitions: 4, replicationFactor: 3 });
  });

  it('validateOnly computes the results and returns no records', () => {
    const r = createTopics(three, [topic('t'), topic('bad name')], opts({ validateOnly: true }));
    expect(r.records).toEqual([]);
    expect(r.results.map((x) => x.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_TOPIC_EXCEPTION]);
  });

  it('3 brokers, RF 3, 6 partitions: leaders spread evenly', () => {
    const r = createTopics(three, [topic('t', { numPartitions: 6, replicationFactor: 3 })], opts());
    const img = commit(three, r.records);
    const leaders = [...img.topicByName('t')!.partitions.values()].map((p) => p.leader);
    for (const b of [1, 2, 3]) expect(leaders.filter((l) => l === b)).toHaveLength(2);
    for (const b of [1, 2, 3]) expect(img.partitionsLedBy(b)).toHaveLength(2);
  });

  it('rack-aware placement puts each partition\'s replicas in different racks', () => {
    const racks = ['east', 'west', 'north', 'east', 'west', 'north'];
    const img0 = clusterImage(racks);
    const r = createTopics(img0, [topic('t', { numPartitions: 12, replicationFactor: 3 })], opts());
    const img = commit(img0, r.records);
    for (const p of img.topicByName('t')!.partitions.values()) {
      expect(new Set(p.replicas.map((id) => img.broker(id)!.rack)).size).toBe(3);
    }
    const leaders = [...img.topicByName('t')!.partitions.values()].map((p) => p.leader);
    for (const b of [1, 2, 3, 4, 5, 6]) expect(leaders.filter((l) => l === b)).toHaveLength(2);
  });

  const invalid: Array<[string, string, ErrorCode, string]> = [
    ['empty', '', ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name is invalid: the empty string is not allowed'],
    ['"."', '.', ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is invalid: '.' is not allowed"],
    ['".."', '..', ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is invalid: '..' is not allowed"],
    ['too long', 'x'.repeat(250), ErrorCode.INVALID_TOPIC_EXCEPTION, 'is longer than the max allowed length 249'],
    ['a bad character', 'a/b', ErrorCode.INVALID_TOPIC_EXCEPTION, "'a/b' contains one or more characters other than"],
    ['the metadata topic', '__cluster_metadata', ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'],
  ];
  it.each(invalid)('rejects a name that is %s', (_what, name, code, message) => {
    const r = createTopics(three, [topic(name)], opts());
    expect(r.results[0]!.errorCode).toBe(code);
    expect(r.results[0]!.errorMessage).toContain(message);
    expect(r.results[0]!.topicId).toBe(ZERO_UUID);
    expect(r.records).toEqual([]);
  });

  it('accepts a 249-character name', () => {
    expect(createTopics(three, [topic('x'.repeat(249))], opts()).results[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('rejects a name colliding with an existing one after . -> _', () => {
    const img = commit(three, topicRecords('a.b', uuid(1), [[1]]));
    const r = createTopics(img, [topic('a_b'), topic('a-b')], opts());
    expect(r.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
      errorMessage: "Topic 'a_b' collides with existing topic: a.b",
    });
    expect(r.results[1]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('TOPIC_ALREADY_EXISTS for an existing topic', () => {
    const img = commit(three, topicRecords('orders', uuid(1), [[1]]));
    const r = createTopics(img, [topic('orders')], opts());
    expect(r.results[0]).toMatchObject({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: "Topic 'orders' already exists." });
  });

  it('INVALID_REQUEST for names repeated in one request, the others still created', () => {
    const r = createTopics(three, [topic('a'), topic('b'), topic('a')], opts());
    expect(r.results).toHaveLength(2);
    expect(r.results[0]).toMatchObject({ name: 'a', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' });
    expect(r.results[1]).toMatchObject({ name: 'b', errorCode: ErrorCode.NONE });
    const img = commit(three, r.records);
    expect(img.topicByName('a')).toBeUndefined();
    expect(img.topicByName('b')).toBeDefined();
  });

  it.each([0, -2, -100])('INVALID_PARTITIONS for numPartitions %i', (n) => {
    const r = createTopics(three, [topic('t', { numPartitions: n })], opts());
    expect(r.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: 'Number of partitions was set to an invalid non-positive value.',
    });
  });

  it.each([0x7fffffff, 10_000, 1 << 24])('POLICY_VIOLATION for %i partitions (over MAX_RECORDS_PER_USER_OP), decided before placing any', (n) => {
    const t0 = Date.now();
    const r = createTopics(three, [topic('ok'), topic('t', { numPartitions: n }), topic('later')], opts());
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.records).toEqual([]);
    expect(r.results.map((x) => [x.name, x.errorCode, x.errorMessage])).toEqual(
      ['ok', 't', 'later'].map((name) => [name, ErrorCode.POLICY_VIOLATION, 'Unable to perform excessively large batch operation.']),
    );
    // 9,999 partitions + the topic record fit.
    expect(createTopics(three, [topic('t', { numPartitions: MAX_RECORDS_PER_USER_OP - 1 })], opts()).results[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it.each([0, -2])('INVALID_REPLICATION_FACTOR for replicationFactor %i', (rf) => {
    const r = createTopics(three, [topic('t', { replicationFactor: rf })], opts());
    expect(r.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      errorMessage: 'Replication factor must be larger than 0, or -1 to use the default value.',
    });
  });

  it('INVALID_REPLICATION_FACTOR when the factor exceeds the brokers', () => {
    const r = createTopics(three, [topic('t', { replicationFactor: 4 })], opts());
    expect(r.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      errorMessage:
        'Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered.',
    });
    const none = createTopics(MetadataImage.EMPTY, [topic('t')], opts());
    expect(none.results[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  });

  it('fenced brokers count toward the factor (as in Kafka) but stay out of the ISR and leadership', () => {
    const img = commit(three, [fenceBrokerRecord({ id: 3, epoch: 13n })]);
    const r = createTopics(img, [topic('t', { numPartitions: 4, replicationFactor: 3 })], opts());
    expect(r.results[0]!.errorCode).toBe(ErrorCode.NONE);
    const after = commit(img, r.records);
    for (const p of after.topicByName('t')!.partitions.values()) {
      expect(p.isr).not.toContain(3);
      expect(p.leader).not.toBe(3);
    }
    const allFenced = commit(img, [fenceBrokerRecord({ id: 1, epoch: 11n }), fenceBrokerRecord({ id: 2, epoch: 12n })]);
    const r2 = createTopics(allFenced, [topic('u')], opts());
    expect(r2.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
      errorMessage: 'Unable to replicate the partition 1 time(s): All brokers are currently fenced.',
    });
  });

  describe('manual assignments', () => {
    const assign = (...lists: number[][]) => lists.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds }));

    it('creates partitions as assigned', () => {
      const r = createTopics(three, [topic('t', { assignments: assign([3, 1], [1, 2]) })], opts());
      expect(r.results[0]).toMatchObject({ errorCode: 0, numPartitions: 2, replicationFactor: 2 });
      const img = commit(three, r.records);
      expect(img.partition('t', 0)).toMatchObject({ replicas: [3, 1], leader: 3, isr: [3, 1] });
      expect(img.partition('t', 1)).toMatchObject({ replicas: [1, 2], leader: 1 });
    });

    it('INVALID_REQUEST together with numPartitions or replicationFactor', () => {
      const a = createTopics(three, [topic('t', { replicationFactor: 2, assignments: assign([1, 2]) })], opts());
      expect(a.results[0]).toMatchObject({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'A manual partition assignment was specified, but replication factor was not set to -1.',
      });
      const b = createTopics(three, [topic('t', { numPartitions: 1, assignments: assign([1, 2]) })], opts());
      expect(b.results[0]).toMatchObject({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'A manual partition assignment was specified, but numPartitions was not set to -1.',
      });
    });

    const bad: Array<[string, Array<{ partitionIndex: number; brokerIds: number[] }>, string]> = [
      ['an unknown broker', assign([1, 9]), 'The manual partition assignment includes broker 9, but no such broker is registered.'],
      ['a repeated broker', assign([2, 2]), 'The manual partition assignment includes the broker 2 more than once.'],
      ['an empty list', assign([]), 'The manual partition assignment includes an empty replica list.'],
      [
        'inconsistent replica counts',
        assign([1, 2], [1]),
        'The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).',
      ],
      ['a gap in partition ids', [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [2] }], 'partitions should be a consecutive 0-based integer sequence'],
      ['a repeated partition', [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [2] }], 'Found multiple manual partition assignments for partition 0'],
    ];
    it.each(bad)('INVALID_REPLICA_ASSIGNMENT for %s', (_what, assignments, message) => {
      const r = createTopics(three, [topic('t', { assignments })], opts());
      expect(r.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: message });
      expect(r.records).toEqual([]);
    });
  });

  it('INVALID_CONFIG for a null config value or one the validator refuses', () => {
    const r = createTopics(
      three,
      [
        topic('a', { configs: [{ name: 'x', value: null }, { name: 'y', value: null }] }),
        topic('b', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      ],
      opts(),
    );
    expect(r.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: 'Null value not supported for topic configs: x,y',
    });
    expect(r.results[1]).toMatchObject({
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: 'Invalid value soon for configuration retention.ms',
    });
    expect(r.records).toEqual([]);
  });

  it('never reuses a topic id', () => {
    const img = commit(three, topicRecords('x', uuid(1000), [[1]]));
    const r = createTopics(img, [topic('y')], opts({ randomUuid: uuidSequence(1000) }));
    expect(r.results[0]!.topicId).toBe(uuid(1001));
  });
});

describe('deleteTopics', () => {
  const img = commit(three, [
    ...topicRecords('a', uuid(1), [[1]]),
    ...topicRecords('b', uuid(2), [[2]]),
    ...topicRecords('__consumer_offsets', uuid(3), [[3]]),
    topicConfig('a', 'retention.ms', '5'),
  ]);

  it('deletes by name and by id: RemoveTopicRecord, partitions and configs gone', () => {
    const r = deleteTopics(img, [{ name: 'a' }, { topicId: uuid(2) }]);
    expect(r.results).toEqual([
      { name: 'a', topicId: uuid(1), errorCode: 0, errorMessage: null },
      { name: 'b', topicId: uuid(2), errorCode: 0, errorMessage: null },
    ]);
    expect(r.records.map((x) => x.apiKey)).toEqual([MetadataRecordType.RemoveTopic, MetadataRecordType.RemoveTopic]);
    const after = commit(img, r.records);
    expect(after.topicByName('a')).toBeUndefined();
    expect(after.topicById(uuid(2))).toBeUndefined();
    expect(after.topicConfigs('a').size).toBe(0);
  });

  it('UNKNOWN_TOPIC_OR_PARTITION by name, UNKNOWN_TOPIC_ID by id', () => {
    const r = deleteTopics(img, [{ name: 'nope' }, { topicId: uuid(77) }]);
    expect(r.records).toEqual([]);
    // Answers come back in request order.
    expect(r.results).toEqual([
      expect.objectContaining({ name: 'nope', topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }),
      expect.objectContaining({ name: null, topicId: uuid(77), errorCode: ErrorCode.UNKNOWN_TOPIC_ID }),
    ]);
  });

  it('INVALID_REQUEST for duplicates, both or neither of name and id, and a name that maps to a given id', () => {
    const r = deleteTopics(img, [
      { name: 'a' },
      { name: 'a' },
      { topicId: uuid(2) },
      { topicId: uuid(2) },
      { name: 'b', topicId: uuid(2) },
      {},
    ]);
    expect(r.records).toEqual([]);
    const messages = r.results.map((x) => [x.errorCode, x.errorMessage]);
    expect(messages).toEqual(
      expect.arrayContaining([
        [ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'],
        [ErrorCode.INVALID_REQUEST, 'Duplicate topic id.'],
        [ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.'],
        [ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.'],
      ]),
    );
    const mapped = deleteTopics(img, [{ topicId: uuid(1) }, { name: 'a' }]);
    expect(mapped.records).toEqual([]);
    expect(mapped.results).toEqual([
      {
        name: 'a',
        topicId: uuid(1),
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'The provided topic name maps to an ID that was already supplied.',
      },
    ]);
  });

  it('internal topics can be deleted, as Kafka\'s controller allows', () => {
    const r = deleteTopics(img, [{ name: '__consumer_offsets' }]);
    expect(r.results[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('createPartitions', () => {
  const img = commit(three, topicRecords('t', uuid(1), [[1, 2], [2, 3]]));

  it('POLICY_VIOLATION when the new partitions exceed MAX_RECORDS_PER_USER_OP (a count of 2^31-1), nothing placed', () => {
    const t0 = Date.now();
    const r = createPartitions(img, [{ name: 't', count: 0x7fffffff, assignments: null }], { validateOnly: false });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r).toEqual({ records: [], results: [{ name: 't', errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: 'Unable to perform excessively large batch operation.' }] });
  });

  it('adds PartitionRecords up to the new count, with the topic\'s replication factor', () => {
    const r = createPartitions(img, [{ name: 't', count: 5, assignments: null }], { validateOnly: false });
    expect(r.results).toEqual([{ name: 't', errorCode: 0, errorMessage: null }]);
    expect(r.records).toHaveLength(3);
    const after = commit(img, r.records);
    expect([...after.topicByName('t')!.partitions.keys()]).toEqual([0, 1, 2, 3, 4]);
    for (const p of [2, 3, 4]) {
      const reg = after.partition('t', p)!;
      expect(reg.replicas).toHaveLength(2);
      expect(reg.leader).toBe(reg.replicas[0]);
      expect(reg.leaderEpoch).toBe(0);
    }
    expect(createPartitions(img, [{ name: 't', count: 5, assignments: null }], { validateOnly: true }).records).toEqual([]);
  });

  it('uses given assignments', () => {
    const r = createPartitions(img, [{ name: 't', count: 3, assignments: [{ brokerIds: [3, 1] }] }], { validateOnly: false });
    expect(r.results[0]!.errorCode).toBe(0);
    expect(commit(img, r.records).partition('t', 2)).toMatchObject({ replicas: [3, 1], leader: 3 });
  });

  it('errors: unknown topic, no increase, bad assignments, duplicate topic', () => {
    const r = createPartitions(
      img,
      [
        { name: 'nope', count: 3, assignments: null },
        { name: 't', count: 2, assignments: null },
        { name: 'dup', count: 3, assignments: null },
        { name: 'dup', count: 4, assignments: null },
      ],
      { validateOnly: false },
    );
    expect(r.results).toEqual([
      expect.objectContaining({ name: 'nope', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }),
      { name: 't', errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 2 partition(s).' },
      { name: 'dup', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' },
    ]);
    const fewer = createPartitions(img, [{ name: 't', count: 1, assignments: null }], { validateOnly: false });
    expect(fewer.results[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: 'The topic t currently has 2 partition(s); 1 would not be an increase.',
    });
    const cases: Array<[Array<{ brokerIds: number[] }>, string]> = [
      [[{ brokerIds: [1, 2] }], 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.'],
      [[{ brokerIds: [1, 9] }, { brokerIds: [1, 2] }], 'The manual partition assignment includes broker 9, but no such broker is registered.'],
      [[{ brokerIds: [1] }, { brokerIds: [1, 2] }], 'The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).'],
    ];
    for (const [assignments, message] of cases) {
      const bad = createPartitions(img, [{ name: 't', count: 4, assignments }], { validateOnly: false });
      expect(bad.results[0]).toEqual({ name: 't', errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: message });
      expect(bad.records).toEqual([]);
    }
  });
});

describe('alterConfigs and incrementalAlterConfigs', () => {
  const img = commit(three, [
    ...topicRecords('t', uuid(1), [[1]]),
    topicConfig('t', 'retention.ms', '100'),
    topicConfig('t', 'segment.ms', '200'),
  ]);
  const cfgOpts = {
    validateOnly: false,
    validateConfig: (name: string, value: string) => (name === 'retention.ms' && !/^\d+$/.test(value) ? `bad ${name}` : null),
  };

  it('legacy AlterConfigs replaces the whole set of a topic', () => {
    const r = alterConfigs(img, [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '300' }, { name: 'x', value: '1' }] }], cfgOpts);
    expect(r.results).toEqual([{ resourceType: 2, resourceName: 't', errorCode: 0, errorMessage: null }]);
    const after = commit(img, r.records);
    expect(after.topicConfigs('t')).toEqual(new Map([['retention.ms', '300'], ['x', '1']]));
    expect(alterConfigs(img, [{ resourceType: 2, resourceName: 't', configs: [] }], { ...cfgOpts, validateOnly: true }).records).toEqual([]);
    // Unchanged topic values are not rewritten.
    const same = alterConfigs(img, [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '100' }, { name: 'segment.ms', value: '200' }] }], cfgOpts);
    expect(same.records).toEqual([]);
  });

  it('incremental SET / DELETE / APPEND / SUBTRACT', () => {
    const r = incrementalAlterConfigs(
      img,
      [
        {
          resourceType: 2,
          resourceName: 't',
          configs: [
            { name: 'retention.ms', configOperation: AlterConfigOp.SET, value: '5' },
            { name: 'segment.ms', configOperation: AlterConfigOp.DELETE, value: null },
            { name: 'cleanup.policy', configOperation: AlterConfigOp.APPEND, value: 'compact' },
          ],
        },
      ],
      cfgOpts,
    );
    expect(r.results[0]!.errorCode).toBe(0);
    const after = commit(img, r.records);
    expect(after.topicConfigs('t')).toEqual(new Map([['retention.ms', '5'], ['cleanup.policy', 'delete,compact']]));
    const sub = incrementalAlterConfigs(
      after,
      [{ resourceType: 2, resourceName: 't', configs: [{ name: 'cleanup.policy', configOperation: AlterConfigOp.SUBTRACT, value: 'delete' }] }],
      cfgOpts,
    );
    expect(commit(after, sub.records).topicConfigs('t').get('cleanup.policy')).toBe('compact');
  });

  it('errors per resource; one bad key fails the whole resource', () => {
    const r = incrementalAlterConfigs(
      img,
      [
        { resourceType: 2, resourceName: 'nope', configs: [{ name: 'a', configOperation: 0, value: '1' }] },
        {
          resourceType: 2,
          resourceName: 't',
          configs: [
            { name: 'segment.ms', configOperation: 0, value: '1' },
            { name: 'retention.ms', configOperation: 0, value: 'x' },
          ],
        },
        { resourceType: 2, resourceName: 't2', configs: [] },
        { resourceType: 2, resourceName: 't2', configs: [] },
        { resourceType: 1, resourceName: 'x', configs: [] },
      ],
      cfgOpts,
    );
    expect(r.records).toEqual([]);
    expect(r.results).toEqual([
      { resourceType: 2, resourceName: 'nope', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: "The topic 'nope' does not exist." },
      { resourceType: 2, resourceName: 't', errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'bad retention.ms' },
      { resourceType: 2, resourceName: 't2', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate resource.' },
      { resourceType: 1, resourceName: 'x', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Unexpected resource type 1.' },
    ]);
    const notList = incrementalAlterConfigs(img, [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', configOperation: 2, value: '1' }] }], cfgOpts);
    expect(notList.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: "Can't APPEND to key retention.ms because its type is not LIST." });
    const nullSet = incrementalAlterConfigs(img, [{ resourceType: 2, resourceName: 't', configs: [{ name: 'a', configOperation: 0, value: null }] }], cfgOpts);
    expect(nullSet.results[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const dupKeys = incrementalAlterConfigs(img, [{ resourceType: 2, resourceName: 't', configs: [{ name: 'a', configOperation: 0, value: '1' }, { name: 'a', configOperation: 1, value: null }] }], cfgOpts);
    expect(dupKeys.results[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const legacyUnknown = alterConfigs(img, [{ resourceType: 2, resourceName: 'nope', configs: [] }], cfgOpts);
    expect(legacyUnknown.results[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('broker resources: per broker id or "" for the cluster default, always written', () => {
    const r = incrementalAlterConfigs(
      img,
      [
        { resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1' }] },
        { resourceType: 4, resourceName: '2', configs: [{ name: 'log.cleaner.threads', configOperation: 0, value: '3' }] },
        { resourceType: 4, resourceName: '9', configs: [{ name: 'a', configOperation: 0, value: '3' }] },
        { resourceType: 4, resourceName: 'abc', configs: [{ name: 'a', configOperation: 0, value: '3' }] },
        { resourceType: 4, resourceName: '1', configs: [{ name: '', configOperation: 0, value: '3' }] },
      ],
      cfgOpts,
    );
    expect(r.results.map((x) => x.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.NONE,
      ErrorCode.BROKER_ID_NOT_REGISTERED,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_CONFIG,
    ]);
    const after = commit(img, r.records);
    expect(after.brokerConfigs('').get('log.retention.ms')).toBe('1');
    expect(after.brokerConfigs(2).get('log.cleaner.threads')).toBe('3');
    // Same value again: broker configs are rewritten anyway (brokers reload on the record).
    const again = incrementalAlterConfigs(after, [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1' }] }], cfgOpts);
    expect(again.records).toHaveLength(1);
  });
});

describe('brokers, bootstrap, producer ids', () => {
  const boot = replayRecords(MetadataImage.EMPTY, bootstrapRecords());
  const listeners = [{ name: 'PLAINTEXT', host: 'localhost', port: 9092, securityProtocol: 0 }];

  it('bootstraps metadata.version 21 (3.9-IV0)', () => {
    expect(bootstrapRecords()).toEqual([
      { apiKey: MetadataRecordType.FeatureLevel, version: 0, message: { name: 'metadata.version', featureLevel: 21 } },
    ]);
    expect(boot.metadataVersion).toBe(21);
  });

  it('registers a broker unfenced with epoch = the record\'s offset', () => {
    const r = registerBroker(boot, { brokerId: 1, incarnationId: uuid(5), listeners, rack: null });
    expect(r.results).toEqual({ errorCode: 0, errorMessage: null, brokerEpoch: 1 });
    const img = replayRecords(boot, r.records);
    expect(img.broker(1)).toMatchObject({ id: 1, epoch: 1, fenced: false, incarnationId: uuid(5), listeners });
    // A restart registers again with a new incarnation and a new epoch.
    const again = registerBroker(img, { brokerId: 1, incarnationId: uuid(6), listeners, rack: 'r' });
    expect(again.results.brokerEpoch).toBe(2);
    expect(replayRecords(img, again.records).broker(1)).toMatchObject({ epoch: 2, rack: 'r', incarnationId: uuid(6) });
    const fenced = registerBroker(boot, { brokerId: 2, incarnationId: uuid(7), listeners, rack: null, fenced: true });
    expect(replayRecords(boot, fenced.records).broker(2)!.fenced).toBe(true);
  });

  it('refuses a second live broker with the same id, and an unsupported metadata.version', () => {
    const img = replayRecords(boot, registerBroker(boot, { brokerId: 1, incarnationId: uuid(5), listeners, rack: null }).records);
    const dup = registerBroker(img, { brokerId: 1, incarnationId: uuid(6), listeners, rack: null }, { hasLiveSession: () => true });
    expect(dup.records).toEqual([]);
    expect(dup.results).toMatchObject({ errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION, brokerEpoch: -1 });
    const old = registerBroker(boot, {
      brokerId: 2,
      incarnationId: uuid(8),
      listeners,
      rack: null,
      features: [{ name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 20 }],
    });
    expect(old.results).toMatchObject({
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      errorMessage:
        'Unable to register because the broker does not support finalized version 21 of metadata.version. The broker wants a version between 1 and 20, inclusive.',
    });
  });

  it('allocates producer id blocks of 1000 and checks the broker epoch', () => {
    let img = replayRecords(boot, registerBroker(boot, { brokerId: 1, incarnationId: uuid(5), listeners, rack: null }).records);
    const a = allocateProducerIds(img, 1, 1);
    expect(a.results).toEqual({ errorCode: 0, errorMessage: null, producerIdStart: 0, producerIdLen: 1000 });
    img = replayRecords(img, a.records);
    expect(img.nextProducerId).toBe(1000);
    expect(allocateProducerIds(img, 1, 1).results.producerIdStart).toBe(1000);
    expect(allocateProducerIds(img, 1, 99).results.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(allocateProducerIds(img, 7, 1).results.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
  });
});
