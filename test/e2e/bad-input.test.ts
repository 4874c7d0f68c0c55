// Malformed and hostile input over a raw socket. Each case is its own test; after each one the
// broker must still serve a new connection (ApiVersions, Metadata) and the data stored before
// must be intact (read back with kcat, byte for byte, same offsets).
//
// What Kafka does, and so what is asserted:
// - a frame size over socket.request.max.bytes, or negative: the connection is closed
//   (Kafka's NetworkReceive throws InvalidReceiveException and the selector closes the channel);
// - an unknown API key: RequestHeader.parse throws InvalidRequestException and SocketServer's
//   processCompletedReceives closes the connection without a response;
// - ApiVersions with a version the broker does not know: an ApiVersions *v0* response body with
//   error UNSUPPORTED_VERSION (35) and the list of supported APIs (RequestContext treats it as v0);
// - a produce whose batch CRC is wrong: CORRUPT_MESSAGE (2) for that partition;
// - a batch larger than max.message.bytes: MESSAGE_TOO_LARGE (10);
// - produce/metadata for an unknown topic when auto-creation is off: UNKNOWN_TOPIC_OR_PARTITION (3);
// - CreateTopics with an illegal name: INVALID_TOPIC_EXCEPTION (17).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withProducer } from '../support/clients.js';
import { withClient } from '../support/kafka-client.js';
import { kcatConsume, kcatPath, type KcatRecord } from '../support/kcat.js';
import {
  ApiKeys,
  apiVersionsRequest,
  BATCH_HEADER_SIZE,
  decodeApiVersionsResponse,
  encodeRecordBatch,
  Err,
  requestHeader,
  responseCorrelationId,
} from '../support/protocol.js';
import { probeApiVersions, probeMetadata, RawConnection, withConnection } from '../support/raw-client.js';

// Well-formed requests go through the project's generated codecs (KafkaTestClient); malformed
// ones are built by hand (support/protocol.ts), since no codec would produce them.

/** Produce v3 of one batch to one partition; returns the partition's error code. */
async function produceV3(port: number, topic: string, records: Buffer): Promise<{ name: string; errorCode: number }> {
  return withClient(port, async (c) => {
    const resp = await c.send(ApiKey.Produce, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    expect(resp.responses).toHaveLength(1);
    expect(resp.responses[0]!.partitionResponses).toHaveLength(1);
    return { name: resp.responses[0]!.name, errorCode: resp.responses[0]!.partitionResponses[0]!.errorCode };
  });
}

/** Metadata v1 for the given topics (null = all). */
async function metadataV1(port: number, topics: string[] | null) {
  return withClient(port, (c) => c.send(ApiKey.Metadata, 1, { topics: topics === null ? null : topics.map((name) => ({ name })) }));
}

const SOCKET_REQUEST_MAX_BYTES = 1_048_576;
const MESSAGE_MAX_BYTES = 65_536;
const KEEP = 'keep-data';
const STORED = 200;

describe('bad input over raw connections', () => {
  let broker: BrokerHandle;
  let stored: KcatRecord[] = [];

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({
      env: {
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_SOCKET_REQUEST_MAX_BYTES: String(SOCKET_REQUEST_MAX_BYTES),
        KAFKA_MESSAGE_MAX_BYTES: String(MESSAGE_MAX_BYTES),
      },
    });
    const kafka = kafkajs(broker.bootstrap, 'e2e-bad-input-setup');
    await createTopics(kafka, [{ topic: KEEP, numPartitions: 1 }]);
    await withProducer(kafka, async (p) => {
      for (let start = 0; start < STORED; start += 50) {
        await p.send({
          topic: KEEP,
          acks: -1,
          messages: Array.from({ length: 50 }, (_, k) => ({ key: `k${start + k}`, value: Buffer.from([start + k, 0, 10, 255, 13]) })),
        });
      }
    });
    stored = await kcatConsume(broker.bootstrap, KEEP);
    expect(stored.length).toBe(STORED);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  afterEach(async () => {
    // The broker survived, serves a new connection, and the stored data is intact.
    expect(broker.exitStatus(), 'broker process exited').toBeUndefined();
    const av = await probeApiVersions(broker.port, 0);
    expect(av.errorCode).toBe(Err.NONE);
    expect(av.apiKeys.map((a) => a.apiKey)).toEqual(expect.arrayContaining([ApiKeys.Produce, ApiKeys.Metadata, ApiKeys.ApiVersions]));
    const md = await probeMetadata(broker.port, [KEEP]);
    expect(md.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([[KEEP, Err.NONE, 1]]);
    const now = await kcatConsume(broker.bootstrap, KEEP);
    expect(now.map((r) => [r.offset, r.key?.toString('hex'), r.value?.toString('hex')])).toEqual(
      stored.map((r) => [r.offset, r.key?.toString('hex'), r.value?.toString('hex')]),
    );
  });

  it('garbage bytes (an HTTP request): connection closed', async () => {
    await withConnection(broker.port, async (c) => {
      // "GET " read as a frame size is 1195725856, far over socket.request.max.bytes.
      await c.write(Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n'));
      const out = await c.read(5_000);
      expect(out.kind).toBe('closed');
    });
  });

  it('garbage bytes (a 2-byte frame, shorter than any request header): connection closed', async () => {
    await withConnection(broker.port, async (c) => {
      await c.sendFrame(Buffer.from([0xde, 0xad]));
      const out = await c.read(5_000);
      expect(out.kind).toBe('closed');
    });
  });

  it('a truncated frame, then the client closes: nothing breaks', async () => {
    const req = apiVersionsRequest(0, 1);
    const c = await RawConnection.connect(broker.port);
    const size = Buffer.alloc(4);
    size.writeInt32BE(req.length + 100); // announces more than is sent
    await c.write(Buffer.concat([size, req]));
    const out = await c.read(500);
    expect(out.kind, 'no response to an incomplete frame').not.toBe('frame');
    c.end();
    c.destroy();
    // A truncated header (size prefix and 3 bytes) as well.
    const c2 = await RawConnection.connect(broker.port);
    await c2.write(Buffer.from([0, 0, 0, 20, 0, 18, 0]));
    c2.destroy();
  });

  it('a frame over socket.request.max.bytes: connection closed without reading the body', async () => {
    await withConnection(broker.port, async (c) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(SOCKET_REQUEST_MAX_BYTES + 1);
      // Send only the size and a little: the broker must close on the size alone.
      await c.write(Buffer.concat([size, apiVersionsRequest(0, 1), Buffer.alloc(1024)]));
      const out = await c.read(5_000);
      expect(out.kind).toBe('closed');
    });
  });

  it('a negative frame length: connection closed', async () => {
    for (const bytes of [[0xff, 0xff, 0xff, 0xff], [0x80, 0, 0, 0]]) {
      await withConnection(broker.port, async (c) => {
        await c.write(Buffer.concat([Buffer.from(bytes), apiVersionsRequest(0, 1)]));
        const out = await c.read(5_000);
        expect(out.kind, `size ${Buffer.from(bytes).readInt32BE(0)}`).toBe('closed');
      });
    }
  });

  it('an unknown API key: connection closed without a response (as Kafka)', async () => {
    await withConnection(broker.port, async (c) => {
      await c.sendFrame(requestHeader(32_000, 0, 7));
      const out = await c.read(5_000);
      expect(out.kind).toBe('closed');
    });
  });

  it('ApiVersions v99: an ApiVersions v0 body with UNSUPPORTED_VERSION and the API list', async () => {
    await withConnection(broker.port, async (c) => {
      const payload = await c.request(apiVersionsRequest(99, 42));
      const resp = decodeApiVersionsResponse(payload, 0);
      expect(resp.correlationId).toBe(42);
      expect(resp.errorCode).toBe(Err.UNSUPPORTED_VERSION);
      const av = resp.apiKeys.find((a) => a.apiKey === ApiKeys.ApiVersions);
      expect(av, 'ApiVersions itself is listed').toBeDefined();
      expect(av!.minVersion).toBe(0);
      expect(av!.maxVersion).toBeGreaterThanOrEqual(3);
      // The connection stays usable: a supported version negotiates normally.
      const ok = decodeApiVersionsResponse(await c.request(apiVersionsRequest(3, 43)), 3);
      expect(ok.errorCode).toBe(Err.NONE);
      const generated = await withClient(broker.port, (k) => k.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' }));
      expect(generated.apiKeys).toEqual(ok.apiKeys);
      // And it advertises the versions the raw tests below use.
      const range = (k: number) => ok.apiKeys.find((a) => a.apiKey === k);
      for (const [key, v] of [[ApiKeys.Produce, 3], [ApiKeys.Metadata, 1], [ApiKeys.CreateTopics, 2]] as const) {
        const r = range(key);
        expect(r, `api key ${key} advertised`).toBeDefined();
        expect(r!.minVersion <= v && v <= r!.maxVersion, `api key ${key} v${v} within ${r!.minVersion}..${r!.maxVersion}`).toBe(true);
      }
    });
  });

  it('Metadata v99 (unsupported version of another API): closed as Kafka does, or UNSUPPORTED_VERSION', async () => {
    await withConnection(broker.port, async (c) => {
      await c.sendFrame(Buffer.concat([requestHeader(ApiKeys.Metadata, 99, 5, { flexible: true }), Buffer.from([0, 0])]));
      const out = await c.read(5_000);
      expect(out.kind).not.toBe('timeout');
      if (out.kind === 'frame') {
        expect(responseCorrelationId(out.payload)).toBe(5);
        // Whatever body layout the broker chose, the error code 35 must be in it.
        const body = out.payload.subarray(4);
        expect(body.includes(Buffer.from([0, Err.UNSUPPORTED_VERSION])), `body ${body.toString('hex')}`).toBe(true);
      }
    });
  });

  it('a produce whose batch CRC is wrong: CORRUPT_MESSAGE, nothing appended', async () => {
    const batch = encodeRecordBatch([
      { key: Buffer.from('bad'), value: Buffer.from('crc one') },
      { key: Buffer.from('bad'), value: Buffer.from('crc two') },
    ]);
    batch[BATCH_HEADER_SIZE + 6] = batch[BATCH_HEADER_SIZE + 6]! ^ 0x5a; // inside the records, covered by the CRC
    expect(await produceV3(broker.port, KEEP, batch)).toEqual({ name: KEEP, errorCode: Err.CORRUPT_MESSAGE });
  });

  it('a batch over max.message.bytes: MESSAGE_TOO_LARGE, nothing appended', async () => {
    const batch = encodeRecordBatch([{ key: null, value: Buffer.alloc(MESSAGE_MAX_BYTES + 1024, 0x61) }]);
    expect(batch.length).toBeLessThan(SOCKET_REQUEST_MAX_BYTES);
    expect(await produceV3(broker.port, KEEP, batch)).toEqual({ name: KEEP, errorCode: Err.MESSAGE_TOO_LARGE });
  });

  it('metadata and produce for an unknown topic with auto-create off: UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const topic = 'no-such-topic';
    const md = await metadataV1(broker.port, [topic]);
    expect(md.topics.map((t) => [t.name, t.errorCode])).toEqual([[topic, Err.UNKNOWN_TOPIC_OR_PARTITION]]);
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from('nowhere') }]);
    expect(await produceV3(broker.port, topic, batch)).toEqual({ name: topic, errorCode: Err.UNKNOWN_TOPIC_OR_PARTITION });
    // Still not created.
    const md2 = await metadataV1(broker.port, [topic]);
    expect(md2.topics.map((t) => [t.name, t.errorCode])).toEqual([[topic, Err.UNKNOWN_TOPIC_OR_PARTITION]]);
  });

  it('CreateTopics with an invalid name: INVALID_TOPIC_EXCEPTION', async () => {
    const names = ['bad/name', 'x'.repeat(250), '..', 'spaces are bad'];
    const resp = await withClient(broker.port, (c) =>
      c.send(ApiKey.CreateTopics, 2, {
        topics: names.map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
        timeoutMs: 10_000,
        validateOnly: false,
      }),
    );
    expect(resp.topics.map((t) => [t.name, t.errorCode])).toEqual(names.map((n) => [n, Err.INVALID_TOPIC_EXCEPTION]));
    const md = await metadataV1(broker.port, null);
    for (const n of names) expect(md.topics.map((t) => t.name)).not.toContain(n);
  });
});
