import { describe, expect, it } from 'vitest';
import {
  brokerRegistrationChangeRecord,
  configRecord,
  decodeMetadataRecord,
  encodeMetadataRecord,
  featureLevelRecord,
  fenceBrokerRecord,
  latestVersion,
  MetadataRecordError,
  MetadataRecordType,
  noOpRecord,
  partitionChangeRecord,
  producerIdsRecord,
  recordTypeName,
  removeTopicRecord,
  topicRecord,
  unfenceBrokerRecord,
  unregisterBrokerRecord,
  type ApiMessageAndVersion,
} from '../../kraft/records.js';
import { brokerRecord, partitionRec, uuid } from './helpers.js';

const samples: ApiMessageAndVersion[] = [
  brokerRecord(1, { rack: 'r1' }),
  unregisterBrokerRecord({ brokerId: 1, brokerEpoch: 11n }),
  topicRecord({ name: 'orders', topicId: uuid(1) }),
  partitionRec(uuid(1), 0, [1, 2, 3]),
  configRecord({ resourceType: 2, resourceName: 'orders', name: 'cleanup.policy', value: 'compact' }),
  configRecord({ resourceType: 4, resourceName: '', name: 'log.retention.ms', value: null }),
  partitionChangeRecord({ partitionId: 0, topicId: uuid(1), isr: [1, 2], leader: 2 }),
  fenceBrokerRecord({ id: 1, epoch: 11n }),
  unfenceBrokerRecord({ id: 1, epoch: 11n }),
  removeTopicRecord({ topicId: uuid(1) }),
  featureLevelRecord({ name: 'metadata.version', featureLevel: 21 }),
  producerIdsRecord({ brokerId: 1, brokerEpoch: 11n, nextProducerId: 2000n }),
  brokerRegistrationChangeRecord({ brokerId: 1, brokerEpoch: 11n, fenced: -1, inControlledShutdown: 1 }),
  noOpRecord(),
];

describe('metadata record framing', () => {
  it.each(samples.map((s) => [recordTypeName(s.apiKey), s] as const))('round-trips %s', (_name, rec) => {
    const buf = encodeMetadataRecord(rec);
    expect(buf[0]).toBe(1); // frame version
    expect(buf[1]).toBe(rec.apiKey);
    expect(buf[2]).toBe(rec.version);
    const back = decodeMetadataRecord(buf);
    expect(back.apiKey).toBe(rec.apiKey);
    expect(back.version).toBe(rec.version);
    expect(back.message).toMatchObject(rec.message as object);
    // Encoding the decoded record gives the same bytes.
    expect(encodeMetadataRecord(back)).toEqual(buf);
  });

  it('builders use the latest version', () => {
    expect(brokerRecord(1).version).toBe(3);
    expect(partitionRec(uuid(1), 0, [1]).version).toBe(2);
    expect(latestVersion(MetadataRecordType.BrokerRegistrationChange)).toBe(2);
    expect(topicRecord({ name: 'a', topicId: uuid(1) }).version).toBe(0);
  });

  it('decodes the PartitionChangeRecord defaults: null lists, leader -2 (no change)', () => {
    const rec = decodeMetadataRecord(encodeMetadataRecord(partitionChangeRecord({ partitionId: 3, topicId: uuid(1) })));
    expect(rec.apiKey).toBe(MetadataRecordType.PartitionChange);
    if (rec.apiKey !== MetadataRecordType.PartitionChange) return;
    expect(rec.message.leader).toBe(-2);
    expect(rec.message.isr ?? null).toBeNull();
    expect(rec.message.replicas ?? null).toBeNull();
    expect(rec.message.leaderRecoveryState).toBe(-1);
  });

  it('knows a hand-built frame (Kafka bytes for TopicRecord v0)', () => {
    const id = Buffer.alloc(16, 7);
    const frame = Buffer.concat([
      Buffer.from([1, 2, 0]), // frame version, apiKey TopicRecord, version 0
      Buffer.from([4]), // compact string length + 1
      Buffer.from('abc'),
      id,
      Buffer.from([0]), // no tagged fields
    ]);
    const rec = decodeMetadataRecord(frame);
    expect(rec).toEqual({ apiKey: 2, version: 0, message: { name: 'abc', topicId: id.toString('base64url') } });
  });

  const good = encodeMetadataRecord(topicRecord({ name: 'orders', topicId: uuid(1) }));
  const malformed: Array<[string, Buffer, RegExp]> = [
    ['an empty buffer', Buffer.alloc(0), /truncated metadata record header/],
    ['an unknown frame version', Buffer.concat([Buffer.from([2]), good.subarray(1)]), /frame version 2/],
    ['an unknown record type', Buffer.from([1, 6, 0]), /unknown metadata record type 6/],
    ['an unknown record type beyond the table', Buffer.from([1, 99, 0]), /unknown metadata record type 99/],
    ['an unsupported version', Buffer.from([1, 2, 1, 0]), /unsupported TopicRecord version 1/],
    ['a truncated body', good.subarray(0, good.length - 3), /malformed TopicRecord v0/],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0])]), /1 trailing byte/],
    ['an over-long varint', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /truncated metadata record header/],
    ['a huge string length', Buffer.from([1, 2, 0, 0xff, 0xff, 0x03]), /malformed TopicRecord/],
  ];
  it.each(malformed)('rejects %s with MetadataRecordError', (_what, buf, message) => {
    let err: unknown;
    try {
      decodeMetadataRecord(buf);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MetadataRecordError);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses to encode an unsupported version or a bad uuid with MetadataRecordError', () => {
    const bad = { ...topicRecord({ name: 'a', topicId: uuid(1) }), version: 5 } as ApiMessageAndVersion;
    expect(() => encodeMetadataRecord(bad)).toThrow(MetadataRecordError);
    expect(() => encodeMetadataRecord(topicRecord({ name: 'a', topicId: 'not-a-uuid' }))).toThrow(MetadataRecordError);
  });
});
