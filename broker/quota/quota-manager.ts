// Client quota enforcement on a broker (KIP-13 byte-rate quotas, KIP-219 throttling), from the
// quotas in the metadata image (ClientQuotaRecord, set by AlterClientQuotas):
// - `producer_byte_rate`: the bytes of each Produce request, recorded once it is answered;
// - `consumer_byte_rate`: the bytes of each consumer Fetch response (follower fetches are
//   exempt, as in Kafka, where replication has its own quotas). A fetch that would exceed the
//   quota is answered empty and its bytes un-recorded, and a fetch never asks for more than
//   quota × (quota.window.num − 1) × window bytes.
// The quota of a client is the most specific entity that matches it (Kafka's order):
//   user+client-id, user+<default client-id>, user, <default user>+client-id,
//   <default user>+<default client-id>, <default user>, client-id, <default client-id>.
// The rate is measured per matched entity: a client-id quota is shared by every connection
// with that client id, a <default client-id> quota is measured per client id. Every client is
// the user ANONYMOUS here (no SASL yet).
// - `request_percentage` (KIP-124): the time a client's requests keep the broker busy, as a
//   percentage of one thread per second (Kafka: of one request-handler or network thread; the
//   broker's capacity is (num.io.threads + num.network.threads) × 100 %). Here there is one
//   thread, the event loop, so the capacity is 100 % and n means n % of the event loop. What
//   is measured is ./request-quotas.ts's; the throttle time is bounded by one quota window, as
//   in Kafka's ClientRequestQuotaManager.
// A client over its quota gets throttle_time_ms = Kafka's formula (./sensor.ts) and its
// connection is muted for that long (Connection, KIP-219); with no byte-rate quota configured
// the produce and fetch paths test one boolean (`enabled`), with no request quota every request
// tests one (`requestEnabled`).
import type { MetadataImage } from '../../kraft/image.js';
import { clientQuotaEntityKey } from '../../kraft/image.js';
import { CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, QUOTA_ENTITY_CLIENT_ID, QUOTA_ENTITY_USER, REQUEST_PERCENTAGE } from '../../kraft/client-quotas.js';
import { ApiKey } from '../../wire/generated/api.js';
import { RateSensor, recordAndGetThrottleTimeMs, type SensorConfig } from './sensor.js';

/** The principal of every client until SASL exists (Kafka's `KafkaPrincipal.ANONYMOUS`). */
export const ANONYMOUS_USER = 'ANONYMOUS';

export type QuotaType = 'produce' | 'fetch' | 'request';

const KEY_OF: Record<QuotaType, string> = { produce: PRODUCER_BYTE_RATE, fetch: CONSUMER_BYTE_RATE, request: REQUEST_PERCENTAGE };

/** Kafka's ClientRequestQuotaManager.NanosToPercentagePerSecond, per millisecond: 1 ms = 0.1 %·s. */
const MS_TO_PERCENT = 100 / 1000;

/** Kafka drops a client's sensors after an hour without traffic. */
const INACTIVE_SENSOR_MS = 3_600_000;
const SWEEP_EVERY_MS = 60_000;

export interface ResolvedQuota {
  /** Bytes per second. */
  readonly bound: number;
  /** The metric the rate is measured on: `<user>\0<client-id>` of the matched level. */
  readonly sensorKey: string;
}

type QuotaLookup = (entity: ReadonlyArray<readonly [string, string | null]>) => ReadonlyMap<string, number> | undefined;

/**
 * The quota of `(user, clientId)` for `key` by Kafka's precedence (DefaultQuotaCallback), or
 * null when no level sets it.
 */
export function resolveQuota(lookup: QuotaLookup, key: string, user: string, clientId: string): ResolvedQuota | null {
  const U = QUOTA_ENTITY_USER;
  const C = QUOTA_ENTITY_CLIENT_ID;
  // [entity, the metric tags (user, client-id) of that level]
  const levels: Array<[Array<readonly [string, string | null]>, string, string]> = [
    [[[U, user], [C, clientId]], user, clientId],
    [[[U, user], [C, null]], user, clientId],
    [[[U, user]], user, ''],
    [[[U, null], [C, clientId]], user, clientId],
    [[[U, null], [C, null]], user, clientId],
    [[[U, null]], user, ''],
    [[[C, clientId]], '', clientId],
    [[[C, null]], '', clientId],
  ];
  for (const [entity, tagUser, tagClient] of levels) {
    const v = lookup(entity)?.get(key);
    if (v !== undefined) return { bound: v, sensorKey: `${tagUser}\0${tagClient}` };
  }
  return null;
}

export class ClientQuotaManager {
  /** Some byte-rate quota is configured (the one test on the produce and fetch paths). */
  enabled = false;
  /** Some request_percentage is configured (the one test on every request's path). */
  requestEnabled = false;
  private quotas: MetadataImage['clientQuotas'] | null = null;
  private readonly resolved = new Map<string, ResolvedQuota | null>();
  private readonly sensors = new Map<string, RateSensor>();
  private lastSweepMs = 0;

  constructor(
    private readonly config: SensorConfig,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Takes the quotas of a newly published image. */
  onImage(image: MetadataImage): void {
    if (image.clientQuotas === this.quotas) return;
    this.quotas = image.clientQuotas;
    this.resolved.clear();
    let enabled = false;
    let requestEnabled = false;
    for (const q of image.clientQuotas.values()) {
      if (q.values.has(PRODUCER_BYTE_RATE) || q.values.has(CONSUMER_BYTE_RATE)) enabled = true;
      if (q.values.has(REQUEST_PERCENTAGE)) requestEnabled = true;
    }
    this.enabled = enabled;
    this.requestEnabled = requestEnabled;
  }

  /** The quota that applies to `clientId` (user ANONYMOUS), or null. */
  quotaFor(type: QuotaType, clientId: string): ResolvedQuota | null {
    const cacheKey = `${type}\0${clientId}`;
    let r = this.resolved.get(cacheKey);
    if (r === undefined) {
      const quotas = this.quotas;
      r = quotas === null ? null : resolveQuota((entity) => quotas.get(clientQuotaEntityKey(entity))?.values, KEY_OF[type], ANONYMOUS_USER, clientId);
      this.resolved.set(cacheKey, r);
    }
    return r;
  }

  /** Records `bytes` for the client; the throttle time in ms when it is over its quota, else 0. */
  record(type: QuotaType, clientId: string, bytes: number): number {
    const q = this.quotaFor(type, clientId);
    if (q === null) return 0;
    const now = this.nowMs();
    this.maybeSweep(now);
    return recordAndGetThrottleTimeMs(this.sensor(type, q), bytes, q.bound, now);
  }

  /**
   * Records `ms` of request time for the client (Kafka's `maybeRecordAndGetThrottleTimeMs` of
   * the request quota); the throttle time when it is over its request_percentage, at most one
   * quota window (Kafka's `boundedThrottleTime`), else 0.
   */
  recordRequestTime(clientId: string, ms: number): number {
    const q = this.quotaFor('request', clientId);
    if (q === null) return 0;
    const now = this.nowMs();
    this.maybeSweep(now);
    return Math.min(recordAndGetThrottleTimeMs(this.sensor('request', q), ms * MS_TO_PERCENT, q.bound, now), this.config.windowMs);
  }

  /** Records request time that cannot throttle this response any more (Kafka's network-thread time: `recordNoThrottle`). */
  recordRequestTimeNoThrottle(clientId: string, ms: number): void {
    const q = this.quotaFor('request', clientId);
    if (q !== null) this.sensor('request', q).record(ms * MS_TO_PERCENT, this.nowMs());
  }

  /** Takes back bytes recorded for a fetch that is answered empty because it is throttled. */
  unrecord(type: QuotaType, clientId: string, bytes: number): void {
    const q = this.quotaFor(type, clientId);
    if (q !== null) this.sensor(type, q).record(-bytes, this.nowMs());
  }

  /**
   * The most a single response may carry before it is throttled for sure (Kafka's
   * `getMaxValueInQuotaWindow`): quota × (samples − 1) × window; unbounded without a quota.
   */
  maxValueInQuotaWindow(type: QuotaType, clientId: string): number {
    const q = this.quotaFor(type, clientId);
    if (q === null) return Number.MAX_SAFE_INTEGER;
    return Math.floor((q.bound * (this.config.samples - 1) * this.config.windowMs) / 1000);
  }

  private sensor(type: QuotaType, q: ResolvedQuota): RateSensor {
    const key = `${type}\0${q.sensorKey}`;
    let s = this.sensors.get(key);
    if (s === undefined) {
      s = new RateSensor(this.config);
      this.sensors.set(key, s);
    }
    return s;
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return;
    this.lastSweepMs = now;
    for (const [k, s] of this.sensors) if (now - s.lastRecordMs > INACTIVE_SENSOR_MS) this.sensors.delete(k);
  }
}

/**
 * KIP-219: from these request versions the client itself waits out throttle_time_ms, so the
 * broker answers at once and mutes the connection; older versions get the response delayed.
 * Kafka's `AbstractResponse.shouldClientThrottle` per response class: the APIs older than
 * KIP-219 (Kafka 2.0) from the version that says "on quota violation, brokers send out
 * responses before throttling"; every later API from v0 (`true`); never for the APIs below.
 */
const FIRST_CLIENT_THROTTLING_VERSION: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 6],
  [ApiKey.Fetch, 8],
  [ApiKey.ListOffsets, 3],
  [ApiKey.Metadata, 6],
  [ApiKey.OffsetCommit, 4],
  [ApiKey.OffsetFetch, 4],
  [ApiKey.FindCoordinator, 2],
  [ApiKey.JoinGroup, 3],
  [ApiKey.Heartbeat, 2],
  [ApiKey.LeaveGroup, 2],
  [ApiKey.SyncGroup, 2],
  [ApiKey.DescribeGroups, 2],
  [ApiKey.ListGroups, 2],
  [ApiKey.ApiVersions, 2],
  [ApiKey.CreateTopics, 3],
  [ApiKey.DeleteTopics, 2],
  [ApiKey.DeleteRecords, 1],
  [ApiKey.InitProducerId, 1],
  [ApiKey.AddPartitionsToTxn, 1],
  [ApiKey.AddOffsetsToTxn, 1],
  [ApiKey.EndTxn, 1],
  [ApiKey.TxnOffsetCommit, 1],
  [ApiKey.DescribeAcls, 1],
  [ApiKey.CreateAcls, 1],
  [ApiKey.DeleteAcls, 1],
  [ApiKey.DescribeConfigs, 2],
  [ApiKey.AlterConfigs, 1],
  [ApiKey.AlterReplicaLogDirs, 1],
  [ApiKey.DescribeLogDirs, 1],
  [ApiKey.CreatePartitions, 1],
  [ApiKey.CreateDelegationToken, 1],
  [ApiKey.RenewDelegationToken, 1],
  [ApiKey.ExpireDelegationToken, 1],
  [ApiKey.DescribeDelegationToken, 1],
  [ApiKey.DeleteGroups, 1],
]);

/** Responses that never tell the client to throttle (no override of shouldClientThrottle, or no throttle field). */
const NEVER_CLIENT_THROTTLING: ReadonlySet<number> = new Set([
  ApiKey.LeaderAndIsr,
  ApiKey.StopReplica,
  ApiKey.UpdateMetadata,
  ApiKey.ControlledShutdown,
  ApiKey.SaslHandshake,
  ApiKey.OffsetForLeaderEpoch,
  ApiKey.WriteTxnMarkers,
  ApiKey.SaslAuthenticate,
]);

export function clientThrottles(apiKey: number, version: number): boolean {
  const v = FIRST_CLIENT_THROTTLING_VERSION.get(apiKey);
  if (v !== undefined) return version >= v;
  return !NEVER_CLIENT_THROTTLING.has(apiKey);
}
