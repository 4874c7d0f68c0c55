// Client quotas: the rate sensor's arithmetic (Kafka's SampledStat/Rate and throttle time), the
// precedence of quota entities, and the controller's AlterClientQuotas / DescribeClientQuotas
// decisions over the image.
import { describe, expect, it } from 'vitest';
import { decideAlterClientQuotas, describeClientQuotas, MatchType } from '../../kraft/client-quotas.js';
import { clientQuotaEntityKey, MetadataImage, replayRecords } from '../../kraft/image.js';
import { imageToRecords } from '../../kraft/snapshot.js';
import { ErrorCode } from '../../wire/errors.js';
import { ClientQuotaManager, clientThrottles, resolveQuota } from '../../broker/quota/quota-manager.js';
import { RateSensor, recordAndGetThrottleTimeMs } from '../../broker/quota/sensor.js';

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
