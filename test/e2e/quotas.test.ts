// Client quotas (KIP-13 byte rates, KIP-219 throttling, KIP-546 APIs) on one broker
// (combined roles), with quota.window.num=3 × 1 s so a new client's burst allowance is 2 s of
// its quota (Kafka's default 11 windows would allow 10 s, making the test 5× longer):
// 1. @platformatic/kafka's Admin sets producer_byte_rate / consumer_byte_rate for client ids and
//    DescribeClientQuotas (exact, default, any, strict) returns them;
// 2. a kafkajs producer with client.id `slow-producer` (200 KB/s) sending 2 MB takes ≥ ~8 s,
//    while a producer with another client id, at the same time on the same broker, sends
//    2 MB quickly: one client cannot starve the others;
// 3. over the raw client: a Produce v9 over quota answers at once with throttle_time_ms > 0 and
//    the connection is muted (the next request waits it out); a Produce v5 (before KIP-219) is
//    answered only after the throttle time;
// 4. a consumer with consumer_byte_rate 100 KB/s reads 600 KB in ≥ ~3 s with throttled (empty)
//    responses, another client id reads it at once;
// 5. the quotas survive a broker restart (ClientQuotaRecords in the metadata log) and are enforced;
// 6. bad input: unknown key, negative value, unknown entity type → INVALID_REQUEST with
//    Kafka's messages; DescribeClientQuotas of an unknown entity type UNSUPPORTED_VERSION;
//    malformed AlterClientQuotas frames close the connection; the broker stays up.
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import type { AlterClientQuotasRequest } from '../../wire/generated/messages/alter-client-quotas-request.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, stopAllBrokers, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs } from '../support/clients.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { RawConnection } from '../support/raw-client.js';
import { topicName } from '../support/util.js';
import { recordsBuffer } from '../../wire/primitives.js';

const KB = 1024;
const TOPIC = topicName('quotas');
const FETCH_TOPIC = topicName('quotas-fetch');
let broker: BrokerHandle;

type Entity = Array<[string, string | null]>;
const entity = (e: Entity) => e.map(([entityType, entityName]) => ({ entityType, entityName }));

async function alterRaw(entries: Array<{ entity: Entity; ops: Array<[string, number | null]> }>, validateOnly = false) {
  const body: AlterClientQuotasRequest = {
    entries: entries.map((x) => ({ entity: entity(x.entity), ops: x.ops.map(([key, v]) => ({ key, value: v ?? 0, remove: v === null })) })),
    validateOnly,
  };
  return withClient(broker.port, (c) => c.send(ApiKey.AlterClientQuotas, 1, body, 20_000));
}

async function describeRaw(components: Array<[string, number, string | null]>, strict = false) {
  return withClient(broker.port, (c) =>
    c.send(ApiKey.DescribeClientQuotas, 1, { components: components.map(([entityType, matchType, match]) => ({ entityType, matchType, match })), strict }),
  );
}

function produceBody(topic: string, bytes: number, acks = 1) {
  const records = [{ key: null, value: Buffer.alloc(bytes, 7) }];
  return { transactionalId: null, acks, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records }) }] }] };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = Date.now();
  const value = await fn();
  return { ms: Date.now() - t0, value };
}

/** Sends `total` bytes in 16 KB messages with kafkajs (acks=1); the time it took. */
async function produceWithKafkajs(clientId: string, total: number): Promise<number> {
  const producer = kafkajs(broker.bootstrap, clientId).producer();
  await producer.connect();
  try {
    const value = Buffer.alloc(16 * KB, 1);
    const t0 = Date.now();
    for (let sent = 0; sent < total; sent += 4 * value.length) {
      await producer.send({ topic: TOPIC, acks: 1, messages: [{ value }, { value }, { value }, { value }] });
    }
    return Date.now() - t0;
  } finally {
    await producer.disconnect();
  }
}

/** Fetches [0, end) of FETCH_TOPIC-0 as `clientId` (Fetch v11); time and throttled responses. */
async function fetchAll(clientId: string, end: number): Promise<{ ms: number; throttled: number; maxThrottle: number }> {
  const c = await KafkaTestClient.connect(broker.port, clientId);
  try {
    let offset = 0;
    let throttled = 0;
    let maxThrottle = 0;
    const t0 = Date.now();
    for (let i = 0; i < 500 && offset < end; i++) {
      const r = await c.send(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1024 * KB, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: FETCH_TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 1024 * KB }] }],
        forgottenTopicsData: [], rackId: '',
      }, 30_000);
      const throttleMs = r.throttleTimeMs ?? 0;
      if (throttleMs > 0) {
        throttled++;
        maxThrottle = Math.max(maxThrottle, throttleMs);
        expect(r.responses).toEqual([]);
        continue;
      }
      const p = r.responses[0]?.partitions[0];
      expect(p?.errorCode).toBe(ErrorCode.NONE);
      const records = recordsBuffer(p!.records) ?? Buffer.alloc(0);
      // Each batch here holds one record: count batches to advance.
      let pos = 0;
      while (pos + 12 <= records.length) {
        const len = records.readInt32BE(pos + 8);
        if (pos + 12 + len > records.length) break;
        offset = Number(records.readBigInt64BE(pos)) + 1;
        pos += 12 + len;
      }
    }
    expect(offset).toBeGreaterThanOrEqual(end);
    return { ms: Date.now() - t0, throttled, maxThrottle };
  } finally {
    c.close();
  }
}

describe('client quotas', () => {
  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_QUOTA_WINDOW_NUM: '3', KAFKA_QUOTA_WINDOW_SIZE_SECONDS: '1', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
    await createTopics(kafkajs(broker.bootstrap), [{ topic: TOPIC, numPartitions: 1 }, { topic: FETCH_TOPIC, numPartitions: 1 }]);
  }, 60_000);

  afterAll(async () => {
    await stopAllBrokers();
  });

  it('@platformatic/kafka sets quotas; DescribeClientQuotas returns them (exact, default, any, strict)', async () => {
    const admin = new Admin({ clientId: 'e2e-quota-admin', bootstrapBrokers: [broker.bootstrap], retries: 2, timeout: 20_000 });
    try {
      const res = await admin.alterClientQuotas({
        entries: [
          { entities: [{ entityType: 'client-id', entityName: 'slow-producer' }], ops: [{ key: 'producer_byte_rate', value: 200 * KB, remove: false }] },
          { entities: [{ entityType: 'client-id', entityName: 'slow-consumer' }], ops: [{ key: 'consumer_byte_rate', value: 100 * KB, remove: false }] },
          { entities: [{ entityType: 'client-id', entityName: 'raw-producer' }], ops: [{ key: 'producer_byte_rate', value: 10 * KB, remove: false }] },
          { entities: [{ entityType: 'user', entityName: null }], ops: [{ key: 'request_percentage', value: 50, remove: false }] },
        ],
      });
      expect(res.map((e) => e.errorCode)).toEqual([0, 0, 0, 0]);
      const exact = await admin.describeClientQuotas({ components: [{ entityType: 'client-id', matchType: 0, match: 'slow-producer' }] });
      expect(exact).toEqual([{ entity: [{ entityType: 'client-id', entityName: 'slow-producer' }], values: [{ key: 'producer_byte_rate', value: 200 * KB }] }]);
      const any = await admin.describeClientQuotas({ components: [{ entityType: 'client-id', matchType: 2 }] });
      expect(any.map((e) => e.entity[0]!.entityName).sort()).toEqual(['raw-producer', 'slow-consumer', 'slow-producer']);
      const def = await admin.describeClientQuotas({ components: [{ entityType: 'user', matchType: 1 }], strict: true });
      expect(def).toEqual([{ entity: [{ entityType: 'user', entityName: null }], values: [{ key: 'request_percentage', value: 50 }] }]);
    } finally {
      await admin.close();
    }
  }, 60_000);

  it('a throttled producer takes ≥ ~8 s for 2 MB while another client id on the same broker is unaffected', async () => {
    const [slow, fast] = await Promise.all([produceWithKafkajs('slow-producer', 2048 * KB), produceWithKafkajs('fast-producer', 2048 * KB)]);
    console.log(`2 MB: slow-producer (200 KB/s) ${slow} ms, fast-producer (no quota) ${fast} ms`);
    // Burst allowance 2 × 200 KB, the remaining ~1.6 MB at 200 KB/s.
    expect(slow).toBeGreaterThanOrEqual(7_000);
    expect(fast).toBeLessThan(slow / 2);
  }, 90_000);

  it('raw Produce: v9 answers at once with throttle_time_ms and mutes the connection; v5 is answered after it', async () => {
    const c = await KafkaTestClient.connect(broker.port, 'raw-producer');
    try {
      // 10 KB/s over ≥ 2 s windows: 50 KB → O ≈ 25 KB/s, throttle ≈ (25 − 10) / 10 × 2 s ≈ 3 s.
      const first = await timed(() => c.send(ApiKey.Produce, 9, produceBody(TOPIC, 50 * KB)));
      expect(first.value.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
      expect(first.value.throttleTimeMs).toBeGreaterThan(1_000);
      expect(first.ms).toBeLessThan(first.value.throttleTimeMs!);
      // The muted connection reads the next request only once the throttle time has passed.
      const second = await timed(() => c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' }, 30_000));
      console.log(`throttle ${first.value.throttleTimeMs!} ms; first answer in ${first.ms} ms, the next request waited ${second.ms} ms`);
      expect(second.ms + first.ms).toBeGreaterThanOrEqual(first.value.throttleTimeMs! - 200);
    } finally {
      c.close();
    }
    const old = await KafkaTestClient.connect(broker.port, 'raw-producer');
    try {
      const r = await timed(() => old.send(ApiKey.Produce, 5, produceBody(TOPIC, 30 * KB), 60_000));
      console.log(`Produce v5 throttle ${r.value.throttleTimeMs!} ms, answered after ${r.ms} ms`);
      // 30 KB over the 2 s minimum window: O ≈ 15 KB/s, about 1 s of throttle.
      expect(r.value.throttleTimeMs!).toBeGreaterThan(500);
      expect(r.ms).toBeGreaterThanOrEqual(r.value.throttleTimeMs! - 50);
    } finally {
      old.close();
    }
  }, 90_000);

  it('a consumer over consumer_byte_rate gets throttled (empty) fetches; another client id reads at once', async () => {
    const n = 40;
    await withClient(broker.port, async (c) => {
      for (let i = 0; i < n; i++) expect((await c.send(ApiKey.Produce, 9, produceBody(FETCH_TOPIC, 15 * KB))).responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    });
    const fast = await fetchAll('fast-consumer', n);
    const slow = await fetchAll('slow-consumer', n);
    console.log(`600 KB: slow-consumer (100 KB/s) ${slow.ms} ms with ${slow.throttled} throttled fetches (max ${slow.maxThrottle} ms), fast-consumer ${fast.ms} ms`);
    expect(fast.throttled).toBe(0);
    expect(slow.throttled).toBeGreaterThan(0);
    expect(slow.ms).toBeGreaterThanOrEqual(2_500);
    expect(fast.ms).toBeLessThan(slow.ms / 2);
  }, 90_000);

  it('bad input: Kafka errors per entry, malformed frames close the connection, the broker stays up', async () => {
    const r = await alterRaw([
      { entity: [['client-id', 'x']], ops: [['producer_bytes_rate', 100]] },
      { entity: [['client-id', 'y']], ops: [['producer_byte_rate', -100]] },
      { entity: [['group', 'x']], ops: [['producer_byte_rate', 100]] },
    ]);
    expect(r.entries.map((e) => [e.errorCode, e.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, 'Invalid configuration key producer_bytes_rate'],
      [ErrorCode.INVALID_REQUEST, 'Quota producer_byte_rate must be greater than 0'],
      [ErrorCode.INVALID_REQUEST, 'Unhandled client quota entity type: group'],
    ]);
    expect(r.entries[2]!.entity).toEqual([{ entityType: 'group', entityName: 'x' }]);
    expect((await describeRaw([['client-id', 0, 'x']])).entries).toEqual([]);
    const bad = await describeRaw([['group', 2, null]]);
    expect([bad.errorCode, bad.entries]).toEqual([ErrorCode.UNSUPPORTED_VERSION, null]);
    // Malformed: a truncated body, and an entity count past the frame.
    const good = encodeRequestFrame(ApiKey.AlterClientQuotas, 1, 9, 'bad', { entries: [{ entity: [{ entityType: 'client-id', entityName: 'm' }], ops: [{ key: 'producer_byte_rate', value: 1, remove: false }] }], validateOnly: false });
    const truncated = Buffer.from(good.subarray(0, good.length - 6));
    truncated.writeInt32BE(truncated.length - 4, 0);
    const huge = Buffer.from(good);
    huge[huge.indexOf(Buffer.from('bad')) + 3 + 1] = 0x7f; // the entries count (compact array) after the header's tagged fields
    for (const frame of [truncated, huge]) {
      const conn = await RawConnection.connect(broker.port);
      try {
        await conn.write(frame);
        expect(await conn.waitClosed(5_000)).toBe(true);
      } finally {
        conn.destroy();
      }
    }
    expect((await describeRaw([['client-id', 0, 'm']])).entries).toEqual([]);
    expect((await describeRaw([['client-id', 0, 'slow-producer']])).entries).toHaveLength(1);
  }, 60_000);

  it('quotas survive a restart (metadata log) and are enforced again', async () => {
    await broker.restart();
    const d = await describeRaw([['client-id', 2, null]]);
    expect(d.entries!.map((e) => [e.entity[0]!.entityName, e.values[0]!.key, e.values[0]!.value]).sort()).toEqual([
      ['raw-producer', 'producer_byte_rate', 10 * KB],
      ['slow-consumer', 'consumer_byte_rate', 100 * KB],
      ['slow-producer', 'producer_byte_rate', 200 * KB],
    ]);
    const r = await withClient(broker.port, async () => {
      const c = await KafkaTestClient.connect(broker.port, 'raw-producer');
      try {
        return await c.send(ApiKey.Produce, 9, produceBody(TOPIC, 50 * KB));
      } finally {
        c.close();
      }
    });
    expect(r.throttleTimeMs).toBeGreaterThan(0);
    // Removing the quota lifts it.
    const rm = await alterRaw([{ entity: [['client-id', 'raw-producer']], ops: [['producer_byte_rate', null]] }]);
    expect(rm.entries[0]!.errorCode).toBe(ErrorCode.NONE);
    const c = await KafkaTestClient.connect(broker.port, 'raw-producer');
    try {
      expect((await c.send(ApiKey.Produce, 9, produceBody(TOPIC, 50 * KB))).throttleTimeMs).toBe(0);
    } finally {
      c.close();
    }
  }, 90_000);
});
