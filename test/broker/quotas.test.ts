// Client quotas: the rate sensor's arithmetic (Kafka's SampledStat/Rate and throttle time), the
// precedence of quota entities, the controller's AlterClientQuotas / DescribeClientQuotas
// decisions over the image, and request quotas (request_percentage: the manager's arithmetic,
// the exempt requests, the router's measuring and throttling).
import { describe, expect, it } from 'vitest';
import { decideAlterClientQuotas, describeClientQuotas, MatchType } from '../../kraft/client-quotas.js';
import { clientQuotaEntityKey, MetadataImage, replayRecords } from '../../kraft/image.js';
import { imageToRecords } from '../../kraft/snapshot.js';
import { ErrorCode } from '../../wire/errors.js';
import { ClientQuotaManager, clientThrottles, resolveQuota } from '../../broker/quota/quota-manager.js';
import { requestQuotaExempt } from '../../broker/quota/request-quotas.js';
import { RateSensor, recordAndGetThrottleTimeMs } from '../../broker/quota/sensor.js';
import { Router } from '../../broker/router.js';
import { defineHandler } from '../../broker/handler.js';
import { ThrottledResponse, type Connection } from '../../broker/network/connection.js';
import { ApiKey } from '../../wire/generated/api.js';
import { encodeRequestFrame } from '../../wire/header.js';
import pino from 'pino';

const KAFKA_DEFAULT = { samples: 11, windowMs: 1000 };

describe('RateSensor (Kafka Rate over 11 × 1 s samples)', () => {
  it('measures a new client over at least samples − 1 full windows', () => {
    const s = new RateSensor(KAFKA_DEFAULT);
    s.record(1000, 0);
    expect(s.windowSizeMs(0)).toBe(10_000);
    expect(s.rate(0)).toBe(100);
    expect(s.windowSizeMs(500)).toBe(10_500);
  });

  it('slides: samples older than samples × window stop counting', () => {
    const s = new RateSensor(KAFKA_DEFAULT);
    for (let t = 0; t < 20_000; t += 100) s.record(100, t); // 1000 B/s for 20 s
    expect(s.rate(19_950)).toBeGreaterThan(900);
    expect(s.rate(19_950)).toBeLessThan(1100);
    expect(s.rate(40_000)).toBe(0);
  });

  it('throttle time is (O − T) / T × W and 0 within quota', () => {
    const s = new RateSensor(KAFKA_DEFAULT);
    expect(recordAndGetThrottleTimeMs(s, 1_000_000, 200_000, 0)).toBe(0); // 100 KB/s over 10 s
    // 3 MB in the window: O = 300 KB/s, T = 200 KB/s, W = 10 s → 5 s
    expect(recordAndGetThrottleTimeMs(s, 2_000_000, 200_000, 0)).toBe(5000);
  });

  it('unrecording a throttled fetch restores the rate', () => {
    const s = new RateSensor(KAFKA_DEFAULT);
    s.record(500, 0);
    s.record(5000, 10);
    s.record(-5000, 10);
    expect(s.rate(10)).toBeCloseTo(500 / 10.01, 6);
  });
});

describe('quota precedence (Kafka DefaultQuotaCallback)', () => {
  const q = (entries: Array<[Array<[string, string | null]>, number]>) => {
    const m = new Map(entries.map(([e, v]) => [clientQuotaEntityKey(e), new Map([['producer_byte_rate', v]])]));
    return (entity: ReadonlyArray<readonly [string, string | null]>) => m.get(clientQuotaEntityKey(entity));
  };
  const all: Array<[Array<[string, string | null]>, number]> = [
    [[['user', 'U'], ['client-id', 'C']], 1],
    [[['user', 'U'], ['client-id', null]], 2],
    [[['user', 'U']], 3],
    [[['user', null], ['client-id', 'C']], 4],
    [[['user', null], ['client-id', null]], 5],
    [[['user', null]], 6],
    [[['client-id', 'C']], 7],
    [[['client-id', null]], 8],
  ];

  it('the most specific entity wins, in Kafka order', () => {
    for (let i = 0; i < all.length; i++) {
      const r = resolveQuota(q(all.slice(i)), 'producer_byte_rate', 'U', 'C');
      expect(r?.bound).toBe(i + 1);
    }
    expect(resolveQuota(q([]), 'producer_byte_rate', 'U', 'C')).toBeNull();
    expect(resolveQuota(q(all), 'consumer_byte_rate', 'U', 'C')).toBeNull();
  });

  it('a client-id quota is shared per client id, a user quota per user', () => {
    expect(resolveQuota(q([all[6]!]), 'producer_byte_rate', 'U', 'C')!.sensorKey).toBe('\0C');
    expect(resolveQuota(q([all[7]!]), 'producer_byte_rate', 'U', 'D')!.sensorKey).toBe('\0D');
    expect(resolveQuota(q([all[2]!]), 'producer_byte_rate', 'U', 'C')!.sensorKey).toBe('U\0');
  });

  it('KIP-219 versions: Produce v6+, Fetch v8+', () => {
    expect([clientThrottles(0, 5), clientThrottles(0, 6), clientThrottles(1, 7), clientThrottles(1, 8)]).toEqual([false, true, false, true]);
  });
});

function alter(image: MetadataImage, entries: Array<{ entity: Array<[string, string | null]>; ops: Array<[string, number | null]> }>, validateOnly = false) {
  return decideAlterClientQuotas(image, {
    entries: entries.map((e) => ({
      entity: e.entity.map(([entityType, entityName]) => ({ entityType, entityName })),
      ops: e.ops.map(([key, v]) => ({ key, value: v ?? 0, remove: v === null })),
    })),
    validateOnly,
  });
}

describe('AlterClientQuotas / DescribeClientQuotas over the image', () => {
  it('sets, describes, removes, survives a snapshot', () => {
    const d = alter(MetadataImage.EMPTY, [
      { entity: [['client-id', 'slow']], ops: [['producer_byte_rate', 204800], ['consumer_byte_rate', 1024]] },
      { entity: [['user', null], ['client-id', null]], ops: [['request_percentage', 12.5]] },
    ]);
    expect(d.response.entries.map((e) => e.errorCode)).toEqual([0, 0]);
    expect(d.records).toHaveLength(3);
    let image = replayRecords(MetadataImage.EMPTY, d.records);
    const describeAll = (img: MetadataImage, components: Array<[string, number, string | null]>, strict = false) =>
      describeClientQuotas(img, { components: components.map(([entityType, matchType, match]) => ({ entityType, matchType, match })), strict });
    const r = describeAll(image, [['client-id', MatchType.EXACT, 'slow']]);
    expect(r.entries).toEqual([{ entity: [{ entityType: 'client-id', entityName: 'slow' }], values: [{ key: 'producer_byte_rate', value: 204800 }, { key: 'consumer_byte_rate', value: 1024 }] }]);
    expect(describeAll(image, [['client-id', MatchType.DEFAULT, null]]).entries).toHaveLength(1);
    expect(describeAll(image, [['client-id', MatchType.DEFAULT, null]], true).entries).toHaveLength(0);
    expect(describeAll(image, [['client-id', MatchType.SPECIFIED, null]]).entries).toHaveLength(2);
    expect(describeAll(image, [['user', MatchType.SPECIFIED, null]]).entries).toHaveLength(1);
    expect(describeAll(image, []).entries).toHaveLength(2);
    expect(describeAll(image, [], true).entries).toHaveLength(0);
    // Snapshot round trip.
    expect(replayRecords(MetadataImage.EMPTY, imageToRecords(image)).clientQuotas).toEqual(image.clientQuotas);
    // Same value: no record; remove of an unset key: no record.
    expect(alter(image, [{ entity: [['client-id', 'slow']], ops: [['producer_byte_rate', 204800], ['request_percentage', null]] }]).records).toHaveLength(0);
    const rm = alter(image, [{ entity: [['client-id', 'slow']], ops: [['producer_byte_rate', null], ['consumer_byte_rate', null]] }]);
    image = replayRecords(image, rm.records);
    expect(describeAll(image, [['client-id', MatchType.EXACT, 'slow']]).entries).toEqual([]);
    // validateOnly: no records.
    expect(alter(image, [{ entity: [['client-id', 'x']], ops: [['producer_byte_rate', 1]] }], true).records).toHaveLength(0);
  });

  it('bad input is INVALID_REQUEST per entry with Kafka messages', () => {
    const d = alter(MetadataImage.EMPTY, [
      { entity: [['client-id', 'a']], ops: [['producer_bytes_rate', 1]] },
      { entity: [['client-id', 'b']], ops: [['producer_byte_rate', -5]] },
      { entity: [['group', 'c']], ops: [['producer_byte_rate', 5]] },
      { entity: [], ops: [['producer_byte_rate', 5]] },
      { entity: [['client-id', 'd']], ops: [['producer_byte_rate', 1.5]] },
      { entity: [['client-id', 'e']], ops: [['producer_byte_rate', 1], ['producer_byte_rate', 2]] },
      { entity: [['ip', '10.0.0.1'], ['user', 'x']], ops: [['connection_creation_rate', 1]] },
      { entity: [['client-id', '']], ops: [['producer_byte_rate', 1]] },
      { entity: [['client-id', 'ok']], ops: [['producer_byte_rate', 1]] },
    ]);
    expect(d.response.entries.map((e) => [e.errorCode, e.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, 'Invalid configuration key producer_bytes_rate'],
      [ErrorCode.INVALID_REQUEST, 'Quota producer_byte_rate must be greater than 0'],
      [ErrorCode.INVALID_REQUEST, 'Unhandled client quota entity type: group'],
      [ErrorCode.INVALID_REQUEST, 'Invalid empty client quota entity'],
      [ErrorCode.INVALID_REQUEST, 'producer_byte_rate cannot be a fractional value.'],
      [ErrorCode.INVALID_REQUEST, expect.stringContaining('Duplicate quota key producer_byte_rate')],
      [ErrorCode.INVALID_REQUEST, 'Invalid quota entity combination, IP entity should not be combined with User or ClientId'],
      [ErrorCode.INVALID_REQUEST, 'Empty client-id not supported'],
      [ErrorCode.NONE, null],
    ]);
    expect(d.records).toHaveLength(1);
    const bad = describeClientQuotas(MetadataImage.EMPTY, { components: [{ entityType: 'group', matchType: 0, match: 'x' }], strict: false });
    expect(bad.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(describeClientQuotas(MetadataImage.EMPTY, { components: [{ entityType: 'user', matchType: 7, match: null }], strict: false }).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('the broker quota manager follows the image', () => {
    let now = 0;
    const m = new ClientQuotaManager(KAFKA_DEFAULT, () => now);
    m.onImage(MetadataImage.EMPTY);
    expect(m.enabled).toBe(false);
    const image = replayRecords(MetadataImage.EMPTY, alter(MetadataImage.EMPTY, [{ entity: [['client-id', null]], ops: [['consumer_byte_rate', 1000]] }]).records);
    m.onImage(image);
    expect(m.enabled).toBe(true);
    expect(m.maxValueInQuotaWindow('fetch', 'any')).toBe(10_000);
    expect(m.maxValueInQuotaWindow('produce', 'any')).toBe(Number.MAX_SAFE_INTEGER);
    expect(m.record('fetch', 'a', 10_000)).toBe(0);
    expect(m.record('fetch', 'a', 10_000)).toBe(10_000);
    expect(m.record('fetch', 'b', 10_000)).toBe(0); // <default> client-id: measured per client id
    now = 30_000;
    expect(m.record('fetch', 'a', 1)).toBe(0);
  });
});

function imageWith(entries: Array<{ entity: Array<[string, string | null]>; ops: Array<[string, number | null]> }>, base = MetadataImage.EMPTY): MetadataImage {
  const d = alter(base, entries);
  expect(d.response.entries.every((e) => e.errorCode === ErrorCode.NONE)).toBe(true);
  return replayRecords(base, d.records);
}

describe('request quotas (request_percentage, KIP-124)', () => {
  it('time in % of one thread, Kafka throttle time bounded by one window (ClientRequestQuotaManagerTest)', () => {
    let now = 0;
    const m = new ClientQuotaManager(KAFKA_DEFAULT, () => now);
    m.onImage(imageWith([{ entity: [['user', 'ANONYMOUS'], ['client-id', 'test-client']], ops: [['request_percentage', 1]] }]));
    expect([m.enabled, m.requestEnabled]).toEqual([false, true]);
    // 1 % = 10 ms per second; 4 ms per second is within it.
    for (let i = 0; i < 10; i++) {
      expect(m.recordRequestTime('test-client', 4)).toBe(0);
      now += 1000;
    }
    // Half a window later, a 67.1 ms spike: (40 + 67.1) ms / 10.5 s = 10.2 ms/s → (10.2 − 10) / 10 × 10.5 s = 210 ms.
    now += 500;
    expect(m.recordRequestTime('test-client', 67.1)).toBe(210);
    now += 210;
    // Throttled until the bursty sample rolls out of the 11 samples.
    for (let i = 0; i < 11; i++) {
      m.recordRequestTime('test-client', 4);
      now += 1000;
    }
    expect(m.recordRequestTime('test-client', 0)).toBe(0);
    // A spike that needs more than one window to come back within quota: at most one window (1 s) each time.
    expect(m.recordRequestTime('test-client', 500)).toBe(1000);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      expect(m.recordRequestTime('test-client', 0)).toBe(1000);
    }
    now += 1000;
    expect(m.recordRequestTime('test-client', 0)).toBe(0);
    // Another client id has no quota (only user ANONYMOUS + test-client is set).
    expect(m.recordRequestTime('other', 10_000)).toBe(0);
  });

  it('network-thread time (the encode) is recorded without throttling but counts for the next request', () => {
    let now = 0;
    const m = new ClientQuotaManager(KAFKA_DEFAULT, () => now);
    m.onImage(imageWith([{ entity: [['client-id', 'c']], ops: [['request_percentage', 1]] }]));
    m.recordRequestTimeNoThrottle('c', 150); // 150 ms over 10 s = 15 ms/s > 10 ms/s
    expect(m.recordRequestTime('c', 0)).toBe(1000); // (15 − 10) / 10 × 10 s = 5 s, bounded to 1 s
  });

  it('a fractional request_percentage (0.5) is accepted and enforced; precedence as for byte rates', () => {
    let now = 0;
    const image = imageWith([
      { entity: [['client-id', 'half']], ops: [['request_percentage', 0.5]] },
      { entity: [['client-id', null]], ops: [['request_percentage', 200]] },
    ]);
    expect(describeClientQuotas(image, { components: [{ entityType: 'client-id', matchType: MatchType.EXACT, match: 'half' }], strict: false }).entries).toEqual([
      { entity: [{ entityType: 'client-id', entityName: 'half' }], values: [{ key: 'request_percentage', value: 0.5 }] },
    ]);
    const m = new ClientQuotaManager(KAFKA_DEFAULT, () => now);
    m.onImage(image);
    expect(m.quotaFor('request', 'half')).toEqual({ bound: 0.5, sensorKey: '\0half' });
    expect(m.quotaFor('request', 'x')).toEqual({ bound: 200, sensorKey: '\0x' }); // <default client-id>: per client id
    expect(m.quotaFor('produce', 'half')).toBeNull();
    // 0.5 % = 5 ms/s over the 10 s minimum window: 40 ms is within, 60 ms over:
    // (0.6 − 0.5) / 0.5 × 10 s = 2 s, bounded to one window.
    expect(m.recordRequestTime('half', 40)).toBe(0);
    expect(m.recordRequestTime('half', 20)).toBe(1000);
    now += 10_000;
    expect(m.recordRequestTime('half', 0)).toBe(1000); // 60 ms over 10 s: still over
    now += 1_000;
    expect(m.recordRequestTime('half', 0)).toBe(0); // the sample has expired (11 × 1 s)
    // A <default user> quota is more specific than a client-id one (Kafka's order).
    const lookup = (e: ReadonlyArray<readonly [string, string | null]>) =>
      new Map([
        [clientQuotaEntityKey([['user', null]]), new Map([['request_percentage', 50]])],
        [clientQuotaEntityKey([['client-id', 'half']]), new Map([['request_percentage', 0.5]])],
      ]).get(clientQuotaEntityKey(e));
    expect(resolveQuota(lookup, 'request_percentage', 'ANONYMOUS', 'half')).toEqual({ bound: 50, sensorKey: 'ANONYMOUS\0' });
    // Removing the last request_percentage turns the measuring off.
    m.onImage(replayRecords(image, alter(image, [
      { entity: [['client-id', 'half']], ops: [['request_percentage', null]] },
      { entity: [['client-id', null]], ops: [['request_percentage', null]] },
    ]).records));
    expect(m.requestEnabled).toBe(false);
    expect(m.recordRequestTime('half', 10_000)).toBe(0);
  });

  it('exempt: cluster actions, SASL, Envelope, follower fetches; KIP-219 versions for every API', () => {
    for (const k of [ApiKey.WriteTxnMarkers, ApiKey.Vote, ApiKey.BrokerHeartbeat, ApiKey.Envelope, ApiKey.SaslAuthenticate]) expect(requestQuotaExempt(k, 0, {})).toBe(true);
    for (const k of [ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.Produce, ApiKey.DescribeQuorum, ApiKey.AlterClientQuotas]) expect(requestQuotaExempt(k, 0, {})).toBe(false);
    expect(requestQuotaExempt(ApiKey.Fetch, 11, { replicaId: 2 })).toBe(true);
    expect(requestQuotaExempt(ApiKey.Fetch, 11, { replicaId: -1 })).toBe(false);
    expect(requestQuotaExempt(ApiKey.Fetch, 15, { replicaState: { replicaId: 3, replicaEpoch: 1n } })).toBe(true);
    expect(requestQuotaExempt(ApiKey.Fetch, 15, { replicaState: { replicaId: -1, replicaEpoch: -1n } })).toBe(false);
    const t = (k: number, v: number) => clientThrottles(k, v);
    expect([t(ApiKey.Metadata, 5), t(ApiKey.Metadata, 6), t(ApiKey.ApiVersions, 1), t(ApiKey.ApiVersions, 2), t(ApiKey.CreateTopics, 2), t(ApiKey.CreateTopics, 3)]).toEqual([false, true, false, true, false, true]);
    expect([t(ApiKey.OffsetForLeaderEpoch, 4), t(ApiKey.DescribeClientQuotas, 0), t(ApiKey.IncrementalAlterConfigs, 0), t(ApiKey.DescribeCluster, 0)]).toEqual([false, true, true, true]);
  });
});

describe('Router with a request quota', () => {
  const logger = pino({ level: 'silent' });
  /** A Metadata v0 handler that burns `busyMs` of event-loop time; its response is an int32 throttle time. */
  function router(quotas: ClientQuotaManager | null, busyMs: () => number, shared: { throttleTimeMs: number }) {
    const h = defineHandler<unknown, { throttleTimeMs: number }, unknown>({
      apiKey: ApiKey.Metadata,
      name: 'Metadata',
      minVersion: 0,
      maxVersion: 12,
      codec: {
        decodeRequest: () => ({}),
        encodeResponse: (w, _v, res) => w.int32(res.throttleTimeMs),
      },
      handle() {
        const end = performance.now() + busyMs();
        while (performance.now() < end) {
          /* busy */
        }
        return shared;
      },
    });
    return new Router<unknown>({}, new Map([[ApiKey.Metadata, h]]), 'PLAINTEXT', logger, quotas);
  }
  const conn = { clientId: null, logger } as unknown as Connection;
  // The router gets frames without their size prefix (the connection cuts them).
  const frame = (clientId: string, version: number) => encodeRequestFrame(ApiKey.Metadata, version, 1, clientId, { topics: [], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }).subarray(4);
  const throttleOf = (frames: Buffer | Buffer[] | null) => Buffer.concat(([] as Buffer[]).concat(frames ?? [])).readInt32BE(8);

  it('a client over its request_percentage gets throttle_time_ms and a muted connection; others and exempt listeners do not', () => {
    let now = 0;
    const m = new ClientQuotaManager({ samples: 3, windowMs: 1000 }, () => now);
    m.onImage(imageWith([{ entity: [['client-id', 'busy']], ops: [['request_percentage', 0.5]] }]));
    const shared = { throttleTimeMs: 0 };
    const r = router(m, () => 5, shared);
    // 0.5 % over the 2 s minimum window = 10 ms; each request burns ≥ 5 ms.
    const first = r.dispatch(conn, frame('busy', 6));
    expect(first).not.toBeInstanceOf(ThrottledResponse);
    let throttled: unknown = null;
    for (let i = 0; i < 5 && throttled === null; i++) {
      const res = r.dispatch(conn, frame('busy', 6));
      if (res instanceof ThrottledResponse) throttled = res;
    }
    expect(throttled).toBeInstanceOf(ThrottledResponse);
    const t = throttled as ThrottledResponse;
    expect(t.throttleMs).toBeGreaterThan(0);
    expect(t.throttleMs).toBeLessThanOrEqual(1000);
    expect(t.delay).toBe(false); // Metadata v6+: the client waits, the broker mutes
    expect(throttleOf(t.frames)).toBe(t.throttleMs);
    expect(shared.throttleTimeMs).toBe(0); // the handler's object is not changed
    // Metadata v5 (before KIP-219): the response is held.
    const old = r.dispatch(conn, frame('busy', 5));
    expect(old).toBeInstanceOf(ThrottledResponse);
    expect((old as ThrottledResponse).delay).toBe(true);
    // Another client id: never throttled.
    for (let i = 0; i < 5; i++) expect(r.dispatch(conn, frame('calm', 6))).not.toBeInstanceOf(ThrottledResponse);
    // A listener without quotas (the controller's) does not measure.
    const c = router(null, () => 5, shared);
    for (let i = 0; i < 5; i++) expect(c.dispatch(conn, frame('busy', 6))).not.toBeInstanceOf(ThrottledResponse);
    // Windows later the client is within quota again.
    now += 10_000;
    expect(router(m, () => 0, shared).dispatch(conn, frame('busy', 6))).not.toBeInstanceOf(ThrottledResponse);
  });
});
