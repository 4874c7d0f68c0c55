// Cross-checks of the raw-socket codecs used by the bad-input tests: the hand-written request
// encoders must produce the same body bytes as kafkajs's encoders, and the project's record
// batch encoder must agree byte for byte with an independent hand-written one (and decode with
// kafkajs's decoder).

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { encodeRequestFrame } from '../../wire/header.js';
import {
  apiVersionsRequest,
  createTopicsV2Request,
  crc32c,
  encodeRecordBatch,
  handEncodeRecordBatch,
  metadataV1Request,
  produceV3Request,
  type RawRecord,
} from './protocol.js';

const require = createRequire(import.meta.url);

interface KafkajsEncoded {
  encode(): Promise<{ buffer: Buffer }>;
}
type Loader = (args: Record<string, unknown>) => KafkajsEncoded;

const HEADER_LEN = 2 + 2 + 4 + 2 + 'e2e-raw'.length;
const body = (req: Buffer) => req.subarray(HEADER_LEN).toString('hex');

describe('raw protocol codecs', () => {
  it('CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('Metadata v1, CreateTopics v2, Produce v3 request bodies match kafkajs', async () => {
    const metadata = require('kafkajs/src/protocol/requests/metadata/v1/request.js') as Loader;
    expect(body(metadataV1Request(1, ['a', 'topic-b']))).toBe((await metadata({ topics: ['a', 'topic-b'] }).encode()).buffer.toString('hex'));

    const createTopics = require('kafkajs/src/protocol/requests/createTopics/v2/request.js') as Loader;
    const ct = createTopics({ topics: [{ topic: 'bad/name', numPartitions: 3, replicationFactor: 1 }], timeout: 10_000, validateOnly: false });
    expect(body(createTopicsV2Request(1, [{ name: 'bad/name', numPartitions: 3 }]))).toBe((await ct.encode()).buffer.toString('hex'));

    // kafkajs builds the batch itself; compare everything but the records bytes.
    const records = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    const mine = produceV3Request(1, { acks: -1, timeoutMs: 10_000, topic: 't', partition: 0, records });
    const prefix = body(mine).slice(0, -2 * (records.length + 4)); // strip records (int32 size + bytes)
    const expectedPrefix = Buffer.concat([
      Buffer.from([0xff, 0xff]), // null transactional id
      Buffer.from([0xff, 0xff]), // acks -1
      Buffer.from([0, 0, 0x27, 0x10]), // timeout 10000
      Buffer.from([0, 0, 0, 1, 0, 1, 0x74]), // [ "t"
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]), //   [ partition 0
    ]).toString('hex');
    expect(prefix).toBe(expectedPrefix);
  });

  it('the generated codecs encode the same request bytes as the hand-written ones', () => {
    const gen = (key: number, version: number, corr: number, b: unknown) => encodeRequestFrame(key, version, corr, 'e2e-raw', b).subarray(4).toString('hex');
    expect(gen(ApiKey.Metadata, 1, 9, { topics: [{ name: 'a' }, { name: 'topic-b' }] })).toBe(metadataV1Request(9, ['a', 'topic-b']).toString('hex'));
    expect(gen(ApiKey.Metadata, 1, 9, { topics: null })).toBe(metadataV1Request(9, null).toString('hex'));
    const records = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    expect(
      gen(ApiKey.Produce, 3, 5, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: 't', partitionData: [{ index: 2, records }] }] }),
    ).toBe(produceV3Request(5, { topic: 't', partition: 2, records }).toString('hex'));
    expect(
      gen(ApiKey.CreateTopics, 2, 3, {
        topics: [{ name: 'bad/name', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10_000,
        validateOnly: false,
      }),
    ).toBe(createTopicsV2Request(3, [{ name: 'bad/name' }]).toString('hex'));
    expect(gen(ApiKey.ApiVersions, 3, 4, { clientSoftwareName: 'kafka-ts-e2e', clientSoftwareVersion: '0.1.0' })).toBe(apiVersionsRequest(3, 4).toString('hex'));
    expect(gen(ApiKey.ApiVersions, 0, 4, {})).toBe(apiVersionsRequest(0, 4).toString('hex'));
  });

  it("wire/record-batch's encoder agrees with the hand-written one and with kafkajs's decoder", async () => {
    const recs: RawRecord[] = [
      { key: Buffer.from('rk'), value: Buffer.from('rv\n|x'), headers: [['h1', Buffer.from('v1')], ['h2', null]] },
      { key: null, value: null },
      { key: Buffer.alloc(0), value: Buffer.alloc(300, 7) },
    ];
    const opts = { baseTimestamp: 1_700_000_000_000 };
    const project = encodeRecordBatch(recs, opts);
    expect(project.toString('hex')).toBe(handEncodeRecordBatch(recs, opts).toString('hex'));

    const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
      records: Array<{ key: Buffer | null; value: Buffer | null; offset: string }>;
    }>;
    const decoded = await decodeBatch(new Decoder(project));
    expect(decoded.records.map((r) => [r.offset, r.key?.toString(), r.value?.length])).toEqual([
      ['0', 'rk', 5],
      ['1', undefined, undefined],
      ['2', '', 300],
    ]);
  });
});
