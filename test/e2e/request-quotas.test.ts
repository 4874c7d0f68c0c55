// Request quotas (`request_percentage`, KIP-124) on one broker (combined roles), with
// quota.window.num=3 × 1 s (a new client is measured over ≥ 2 s; a throttle is at most one
// window, 1 s):
// 1. a client id hammering the broker (Metadata v12, ApiVersions v3 and small acks=1 Produce v9
//    in turn, each sent as soon as the previous answer arrived) with no quota: its baseline rate;
// 2. @platformatic/kafka's Admin sets request_percentage 0.5 (fractional, as Kafka allows) for
//    that client id; DescribeClientQuotas returns 0.5;
// 3. the same client and another client id hammer at the same time: the first gets
//    throttle_time_ms > 0 (≤ 1 s), its connection is muted, and its rate falls far under its
//    baseline and under the other's; the other client id is never throttled;
// 4. Metadata v5 (before KIP-219) over quota: the response itself is held for the throttle time;
// 5. a kafkajs producer with the throttled client id still works (it waits the throttle out);
// 6. removing the quota lifts it; a negative value is INVALID_REQUEST.
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, stopAllBrokers, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs } from '../support/clients.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { topicName } from '../support/util.js';

const TOPIC = topicName('request-quotas');
const BUSY = 'busy-client';
const FREE = 'free-client';
let broker: BrokerHandle;

interface HammerResult {
  requests: number;
  throttled: number;
  maxThrottle: number;
  ms: number;
}

function produceBody() {
  const records = [{ key: null, value: Buffer.from('x') }];
  return { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records }) }] }] };
}

/** Sends Metadata / ApiVersions / Produce in turn for `ms` as `clientId`, one at a time. */
async function hammer(clientId: string, ms: number): Promise<HammerResult> {
  const c = await KafkaTestClient.connect(broker.port, clientId);
  try {
    const t0 = Date.now();
    const end = t0 + ms;
    let requests = 0;
    let throttled = 0;
    let maxThrottle = 0;
    while (Date.now() < end && requests < 500_000) {
      let throttle: number;
      switch (requests % 3) {
        case 0: {
          const r = await c.send(ApiKey.Metadata, 12, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
          expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
          throttle = r.throttleTimeMs ?? 0;
          break;
        }
        case 1: {
          const r = await c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' });
          expect(r.errorCode).toBe(ErrorCode.NONE);
          throttle = r.throttleTimeMs ?? 0;
          break;
        }
        default: {
          const r = await c.send(ApiKey.Produce, 9, produceBody());
          expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
          throttle = r.throttleTimeMs ?? 0;
        }
      }
      requests++;
      if (throttle > 0) {
        throttled++;
        maxThrottle = Math.max(maxThrottle, throttle);
      }
    }
    return { requests, throttled, maxThrottle, ms: Date.now() - t0 };
  } finally {
    c.close();
  }
}

const rate = (h: HammerResult) => Math.round((h.requests * 1000) / h.ms);

async function setQuota(clientId: string, value: number | null) {
  const admin = new Admin({ clientId: 'e2e-request-quota-admin', bootstrapBrokers: [broker.bootstrap], retries: 2, timeout: 20_000 });
  try {
    return await admin.alterClientQuotas({
      entries: [{ entities: [{ entityType: 'client-id', entityName: clientId }], ops: [{ key: 'request_percentage', value: value ?? 0, remove: value === null }] }],
    });
  } finally {
    await admin.close();
  }
}

describe('request quotas (request_percentage)', () => {
  let baseline: HammerResult;

  beforeAll(async () => {
    broker = await startBroker({ env: { KAFKA_QUOTA_WINDOW_NUM: '3', KAFKA_QUOTA_WINDOW_SIZE_SECONDS: '1', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false' } });
    await createTopics(kafkajs(broker.bootstrap), [{ topic: TOPIC, numPartitions: 1 }]);
  }, 60_000);

  afterAll(async () => {
    await stopAllBrokers();
  });

  it('without a quota a hammering client is never throttled (baseline rate)', async () => {
    await hammer(BUSY, 500); // warm-up
    baseline = await hammer(BUSY, 2_000);
    console.log(`baseline ${BUSY}: ${baseline.requests} requests in ${baseline.ms} ms (${rate(baseline)}/s)`);
    expect(baseline.throttled).toBe(0);
    expect(baseline.requests).toBeGreaterThan(300);
  }, 30_000);

  it('@platformatic/kafka sets request_percentage 0.5 (fractional); DescribeClientQuotas returns it', async () => {
    const res = await setQuota(BUSY, 0.5);
    expect(res.map((e) => e.errorCode)).toEqual([0]);
    const admin = new Admin({ clientId: 'e2e-request-quota-admin', bootstrapBrokers: [broker.bootstrap], retries: 2, timeout: 20_000 });
    try {
      const d = await admin.describeClientQuotas({ components: [{ entityType: 'client-id', matchType: 0, match: BUSY }] });
      expect(d).toEqual([{ entity: [{ entityType: 'client-id', entityName: BUSY }], values: [{ key: 'request_percentage', value: 0.5 }] }]);
    } finally {
      await admin.close();
    }
  }, 60_000);

  it('the client over its quota gets throttle_time_ms and its rate drops; another client id on the same broker is unaffected', async () => {
    const [busy, free] = await Promise.all([hammer(BUSY, 4_000), hammer(FREE, 4_000)]);
    console.log(
      `4 s side by side: ${BUSY} (0.5 %) ${busy.requests} requests (${rate(busy)}/s, baseline ${rate(baseline)}/s), ${busy.throttled} throttled (max ${busy.maxThrottle} ms); ` +
        `${FREE} ${free.requests} requests (${rate(free)}/s), ${free.throttled} throttled`,
    );
    expect(busy.throttled).toBeGreaterThan(0);
    expect(busy.maxThrottle).toBeLessThanOrEqual(1_000); // Kafka bounds a request-quota throttle to one window
    expect(free.throttled).toBe(0);
    expect(rate(busy)).toBeLessThan(rate(baseline) / 3);
    expect(busy.requests).toBeLessThan(free.requests / 3);
  }, 30_000);

  it('Metadata v5 (before KIP-219) over quota: the response is held for the throttle time', async () => {
    const c = await KafkaTestClient.connect(broker.port, BUSY);
    try {
      let seen: { throttle: number; ms: number } | null = null;
      for (let i = 0; i < 2_000 && seen === null; i++) {
        const t0 = Date.now();
        const r = await c.send(ApiKey.Metadata, 5, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false }, 10_000);
        if ((r.throttleTimeMs ?? 0) > 0) seen = { throttle: r.throttleTimeMs!, ms: Date.now() - t0 };
      }
      expect(seen).not.toBeNull();
      console.log(`Metadata v5: throttle ${seen!.throttle} ms, answered after ${seen!.ms} ms`);
      expect(seen!.ms).toBeGreaterThanOrEqual(seen!.throttle - 50);
    } finally {
      c.close();
    }
  }, 60_000);

  it('a kafkajs producer with the throttled client id still delivers', async () => {
    const producer = kafkajs(broker.bootstrap, BUSY).producer();
    await producer.connect();
    try {
      for (let i = 0; i < 20; i++) await producer.send({ topic: TOPIC, acks: 1, messages: [{ value: `k${i}` }] });
    } finally {
      await producer.disconnect();
    }
  }, 60_000);

  it('removing the quota lifts it; a negative request_percentage is INVALID_REQUEST', async () => {
    const bad = await withClient(broker.port, (c) =>
      c.send(ApiKey.AlterClientQuotas, 1, { entries: [{ entity: [{ entityType: 'client-id', entityName: BUSY }], ops: [{ key: 'request_percentage', value: -1, remove: false }] }], validateOnly: false }, 20_000),
    );
    expect(bad.entries.map((e) => [e.errorCode, e.errorMessage])).toEqual([[ErrorCode.INVALID_REQUEST, 'Quota request_percentage must be greater than 0']]);
    expect((await setQuota(BUSY, null)).map((e) => e.errorCode)).toEqual([0]);
    const after = await hammer(BUSY, 1_000);
    expect(after.throttled).toBe(0);
  }, 60_000);
});
