// The active controller's view of broker liveness (Kafka's `BrokerHeartbeatManager`) and its
// decisions on BrokerRegistration, BrokerHeartbeat and session expiry (Kafka's
// `ClusterControlManager` / `ReplicationControlManager`), as pure functions of the image:
//
// - Registration writes a RegisterBrokerRecord; the broker starts fenced. Its broker epoch is
//   the entry offset of that record. A different incarnation of a broker id whose session is
//   still alive gets DUPLICATE_BROKER_REGISTRATION (the old process may still run).
// - Heartbeat: a broker unknown or with another epoch gets STALE_BROKER_EPOCH. A fenced broker
//   whose `currentMetadataOffset` has reached its registration (it replayed the log up to its
//   own registration) is unfenced (BrokerRegistrationChangeRecord fenced=-1), and partitions
//   without a leader elect one from their ISR (it may now be acceptable). `wantShutDown` from
//   an unfenced broker starts a controlled shutdown: BrokerRegistrationChangeRecord
//   inControlledShutdown=1, and the broker leaves every ISR and leadership (PartitionChange
//   records, as for fencing); once it leads nothing and has replayed that change it is told
//   `shouldShutDown` and fenced. A fenced broker asking to shut down may do so at once.
// - A broker whose heartbeats stopped for `broker.session.timeout.ms` is fenced: it leaves every
//   ISR (the last member stays, leaderless) and leadership moves to another ISR member.
// Sessions are memory only: a new active controller gives every unfenced broker a fresh
// session; a fenced broker has none (as Kafka's BrokerHeartbeatManager.hasValidSession).
import { MetadataDelta, type MetadataImage } from '../../kraft/image.js';
import { registerBroker } from '../../kraft/controller.js';
import { brokerRegistrationChangeRecord, type ApiMessageAndVersion } from '../../kraft/records.js';
import { ErrorCode } from '../../wire/errors.js';
import type { BrokerHeartbeatRequest } from '../../wire/generated/messages/broker-heartbeat-request.js';
import type { BrokerHeartbeatResponse } from '../../wire/generated/messages/broker-heartbeat-response.js';
import type { BrokerRegistrationRequest } from '../../wire/generated/messages/broker-registration-request.js';
import type { BrokerRegistrationResponse } from '../../wire/generated/messages/broker-registration-response.js';
import { partitionChangeRecord } from '../../kraft/records.js';
import { buildPartitionChange, leaderAndIsrUpdates } from './partition-change.js';

/** BrokerRegistrationChangeRecord.fenced values. */
const FENCE = 1;
const UNFENCE = -1;
const IN_CONTROLLED_SHUTDOWN = 1;

interface Session {
  readonly epoch: number;
  lastContactMs: number;
}

/** Heartbeat sessions of the registered brokers (memory only, on the active controller). */
export class BrokerSessions {
  private readonly sessions = new Map<number, Session>();
  private readonly shutdownOffsets = new Map<number, number>();

  constructor(readonly sessionTimeoutMs: number) {}

  /** A new active controller: every unfenced broker gets a full session from now (a fenced one has none). */
  reset(image: MetadataImage, nowMs: number): void {
    this.sessions.clear();
    this.shutdownOffsets.clear();
    for (const b of image.brokers.values()) if (!b.fenced) this.sessions.set(b.id, { epoch: b.epoch, lastContactMs: nowMs });
  }

  touch(brokerId: number, epoch: number, nowMs: number): void {
    const s = this.sessions.get(brokerId);
    if (s !== undefined && s.epoch === epoch) s.lastContactMs = nowMs;
    else this.sessions.set(brokerId, { epoch, lastContactMs: nowMs });
  }

  remove(brokerId: number): void {
    this.sessions.delete(brokerId);
    this.shutdownOffsets.delete(brokerId);
  }

  hasLiveSession(brokerId: number, nowMs: number): boolean {
    const s = this.sessions.get(brokerId);
    return s !== undefined && nowMs - s.lastContactMs < this.sessionTimeoutMs;
  }

  /** Unfenced brokers of the image (incl. those shutting down) whose session expired. */
  expired(image: MetadataImage, nowMs: number): number[] {
    const out: number[] = [];
    for (const b of image.brokers.values()) {
      if (b.fenced) continue;
      const s = this.sessions.get(b.id);
      if (s === undefined) {
        // Registered before this controller saw it: its session starts now.
        this.sessions.set(b.id, { epoch: b.epoch, lastContactMs: nowMs });
        continue;
      }
      if (nowMs - s.lastContactMs >= this.sessionTimeoutMs) out.push(b.id);
    }
    return out.sort((a, b) => a - b);
  }

  setShutdownOffset(brokerId: number, offset: number): void {
    this.shutdownOffsets.set(brokerId, offset);
  }

  shutdownOffset(brokerId: number): number | undefined {
    return this.shutdownOffsets.get(brokerId);
  }
}

/** The records that fence `brokerId`: it leaves every ISR and leadership, then is fenced. */
export function fenceBrokerRecords(image: MetadataImage, brokerId: number): ApiMessageAndVersion[] {
  const b = image.broker(brokerId);
  if (b === undefined || b.fenced) return [];
  return [
    ...leaderAndIsrUpdates(image, { brokerToRemove: brokerId, brokerToAdd: -1, partitions: 'with-broker-in-isr' }),
    brokerRegistrationChangeRecord({ brokerId, brokerEpoch: BigInt(b.epoch), fenced: FENCE, inControlledShutdown: 0 }),
  ];
}

/** The records that unfence `brokerId` and give leaderless partitions a leader from their ISR. */
export function unfenceBrokerRecords(image: MetadataImage, brokerId: number): ApiMessageAndVersion[] {
  const b = image.broker(brokerId);
  if (b === undefined || !b.fenced) return [];
  return [
    brokerRegistrationChangeRecord({ brokerId, brokerEpoch: BigInt(b.epoch), fenced: UNFENCE, inControlledShutdown: 0 }),
    ...leaderAndIsrUpdates(image, { brokerToRemove: -1, brokerToAdd: brokerId, partitions: 'without-leader' }),
  ];
}

/** The records that start a controlled shutdown of `brokerId`. */
export function controlledShutdownRecords(image: MetadataImage, brokerId: number): ApiMessageAndVersion[] {
  const b = image.broker(brokerId);
  if (b === undefined || b.fenced) return [];
  const out: ApiMessageAndVersion[] = [];
  if (!b.inControlledShutdown) {
    out.push(brokerRegistrationChangeRecord({ brokerId, brokerEpoch: BigInt(b.epoch), fenced: 0, inControlledShutdown: IN_CONTROLLED_SHUTDOWN }));
  }
  out.push(...leaderAndIsrUpdates(image, { brokerToRemove: brokerId, brokerToAdd: -1, partitions: 'with-broker-in-isr' }));
  return out;
}

/**
 * Issue 8 (Kafka's `ReplicationControlManager.handleDirectoriesOffline`, KIP-858): log dirs the
 * broker reports offline in its heartbeat leave its registration (BrokerRegistrationChangeRecord
 * logDirs = the online ones), and every partition whose replica on this broker lives in one of
 * them loses this broker from its ISR and leadership (another ISR member leads). Nothing when
 * every reported dir is already known offline, or when none would stay online (the broker then
 * shuts itself down and its controlled shutdown moves everything).
 */
export function offlineDirRecords(image: MetadataImage, brokerId: number, offlineDirs: readonly string[]): ApiMessageAndVersion[] {
  const b = image.broker(brokerId);
  if (b === undefined || b.fenced || offlineDirs.length === 0) return [];
  const newlyOffline = b.logDirs.filter((d) => offlineDirs.includes(d));
  if (newlyOffline.length === 0) return [];
  const online = b.logDirs.filter((d) => !offlineDirs.includes(d));
  if (online.length === 0) return [];
  const out: ApiMessageAndVersion[] = [
    brokerRegistrationChangeRecord({ brokerId, brokerEpoch: BigInt(b.epoch), fenced: 0, inControlledShutdown: 0, logDirs: online }),
  ];
  const acceptable = (r: number) => r !== brokerId && image.isActive(r);
  const topics = [...image.topicsById.values()].sort((x, y) => (x.name < y.name ? -1 : 1));
  for (const topic of topics) {
    for (const [partitionId, reg] of [...topic.partitions].sort(([x], [y]) => x - y)) {
      const i = reg.replicas.indexOf(brokerId);
      if (i < 0 || !newlyOffline.includes(reg.directories[i] ?? '')) continue;
      if (!reg.isr.includes(brokerId) && reg.leader !== brokerId) continue;
      const rec = buildPartitionChange({ topicId: topic.id, partitionId, current: reg, targetIsr: reg.isr.filter((r) => r !== brokerId), isAcceptableLeader: acceptable });
      if (rec !== null) out.push(partitionChangeRecord(rec));
    }
  }
  return out;
}

function after(image: MetadataImage, records: readonly ApiMessageAndVersion[]): MetadataImage {
  if (records.length === 0) return image;
  const d = new MetadataDelta(image);
  d.replayAll(records);
  return d.build(image.offset + 1);
}

export interface RegistrationContext {
  readonly clusterId: string;
  hasLiveSession(brokerId: number): boolean;
}

export interface Decision<R> {
  readonly records: ApiMessageAndVersion[];
  readonly response: R;
}

/** BrokerRegistration (key 62). */
export function decideRegistration(image: MetadataImage, req: BrokerRegistrationRequest, ctx: RegistrationContext): Decision<BrokerRegistrationResponse> {
  const fail = (errorCode: ErrorCode): Decision<BrokerRegistrationResponse> => ({ records: [], response: { throttleTimeMs: 0, errorCode, brokerEpoch: -1n } });
  if (req.clusterId !== ctx.clusterId) return fail(ErrorCode.INCONSISTENT_CLUSTER_ID);
  if (req.brokerId < 0) return fail(ErrorCode.INVALID_REQUEST);
  const r = registerBroker(
    image,
    {
      brokerId: req.brokerId,
      incarnationId: req.incarnationId,
      listeners: req.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port, securityProtocol: l.securityProtocol })),
      rack: req.rack,
      features: req.features.map((f) => ({ name: f.name, minSupportedVersion: f.minSupportedVersion, maxSupportedVersion: f.maxSupportedVersion })),
      logDirs: req.logDirs ?? [],
      fenced: true,
    },
    { hasLiveSession: (id) => ctx.hasLiveSession(id) },
  );
  if (r.results.errorCode !== ErrorCode.NONE) return fail(r.results.errorCode);
  // A broker that registers again while still in ISRs did not shut down cleanly (a controlled
  // shutdown takes it out of them first): it may have lost its un-fsynced tail, so it leaves
  // every ISR and leadership before it can lead again (Kafka's handleBrokerUncleanShutdown,
  // KIP-966). As its last ISR member it stays in the ISR, leaderless, and is elected again with a
  // new epoch when unfenced, so a lone replica comes back (cleanly) as before.
  const unclean = image.broker(req.brokerId) !== undefined ? leaderAndIsrUpdates(image, { brokerToRemove: req.brokerId, brokerToAdd: -1, partitions: 'with-broker-in-isr' }) : [];
  return { records: [...unclean, ...r.records], response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, brokerEpoch: BigInt(r.results.brokerEpoch) } };
}

export interface HeartbeatContext {
  /** Offset at which this broker's controlled shutdown was recorded, if this controller saw it. */
  readonly shutdownOffset: number | undefined;
}

export interface HeartbeatDecision extends Decision<BrokerHeartbeatResponse> {
  /** This decision starts the broker's controlled shutdown (its records' offset is worth keeping). */
  readonly startsControlledShutdown: boolean;
  /** The broker is being fenced or told to shut down: its session ends. */
  readonly endsSession: boolean;
}

/** BrokerHeartbeat (key 63). */
export function decideHeartbeat(image: MetadataImage, req: BrokerHeartbeatRequest, ctx: HeartbeatContext): HeartbeatDecision {
  const b = image.broker(req.brokerId);
  const respond = (errorCode: ErrorCode, isCaughtUp: boolean, isFenced: boolean, shouldShutDown: boolean): BrokerHeartbeatResponse => ({
    throttleTimeMs: 0,
    errorCode,
    isCaughtUp,
    isFenced,
    shouldShutDown,
  });
  if (b === undefined || BigInt(b.epoch) !== req.brokerEpoch) {
    return { records: [], response: respond(ErrorCode.STALE_BROKER_EPOCH, false, true, false), startsControlledShutdown: false, endsSession: false };
  }
  const offset = Number(req.currentMetadataOffset);
  const caughtUp = offset >= b.epoch;
  if (req.wantShutDown) {
    if (b.fenced) return { records: [], response: respond(ErrorCode.NONE, caughtUp, true, true), startsControlledShutdown: false, endsSession: true };
    const records = controlledShutdownRecords(image, b.id);
    const next = after(image, records);
    const starts = !b.inControlledShutdown;
    const replayedChange = !starts && offset >= (ctx.shutdownOffset ?? 0);
    if (next.partitionsLedBy(b.id).length === 0 && replayedChange) {
      records.push(...fenceBrokerRecords(next, b.id));
      return { records, response: respond(ErrorCode.NONE, caughtUp, true, true), startsControlledShutdown: false, endsSession: true };
    }
    return { records, response: respond(ErrorCode.NONE, caughtUp, false, false), startsControlledShutdown: starts, endsSession: false };
  }
  if (b.fenced) {
    if (caughtUp && !req.wantFence) {
      return { records: unfenceBrokerRecords(image, b.id), response: respond(ErrorCode.NONE, true, false, false), startsControlledShutdown: false, endsSession: false };
    }
    return { records: [], response: respond(ErrorCode.NONE, caughtUp, true, false), startsControlledShutdown: false, endsSession: false };
  }
  if (req.wantFence) {
    return { records: fenceBrokerRecords(image, b.id), response: respond(ErrorCode.NONE, caughtUp, true, false), startsControlledShutdown: false, endsSession: true };
  }
  const offline = offlineDirRecords(image, b.id, req.offlineLogDirs ?? []);
  if (offline.length > 0) return { records: offline, response: respond(ErrorCode.NONE, caughtUp, false, false), startsControlledShutdown: false, endsSession: false };
  return { records: [], response: respond(ErrorCode.NONE, caughtUp, false, false), startsControlledShutdown: false, endsSession: false };
}
