/**
 * The metadata image: an immutable view of the cluster built by replaying metadata records,
 * and the delta that produces the next image from a base image (Kafka's `MetadataImage` /
 * `MetadataDelta`). Handlers read only images; nothing mutates a published image.
 *
 * Copy-on-write: a delta copies a map (or a topic's partition map) the first time it changes it
 * and reuses every untouched part of the base image, so replaying a batch costs O(changes).
 *
 * Replay follows Kafka's image code:
 * - RegisterBrokerRecord replaces the registration; Unregister/Fence/Unfence/RegistrationChange
 *   require the registration to exist with the record's epoch.
 * - PartitionChangeRecord merges like `PartitionRegistration.merge`: null fields mean "no
 *   change", leader -2 (`NO_LEADER_CHANGE`) keeps the leader; any other leader value (including
 *   -1) is a leader change and bumps `leaderEpoch`; every change record bumps `partitionEpoch`;
 *   leaderRecoveryState -1 keeps the state.
 * - RemoveTopicRecord drops the topic, its partitions and its topic configs.
 * - ConfigRecord with a null value deletes the key; an emptied resource disappears.
 * - FeatureLevelRecord with level 0 removes the feature.
 * - ClientQuotaRecord sets or removes one key of one quota entity (KIP-546); an emptied entity
 *   disappears.
 * A record that cannot apply (unknown topic, epoch mismatch, ...) throws `MetadataReplayError`.
 */
import {
  MetadataRecordType as T,
  recordTypeName,
  type ApiMessageAndVersion,
  type BrokerRegistrationChangeRecord,
  type ClientQuotaRecord,
  type ConfigRecord,
  type FeatureLevelRecord,
  type PartitionChangeRecord,
  type PartitionRecord,
  type ProducerIdsRecord,
  type RegisterBrokerRecord,
  type RemoveTopicRecord,
  type TopicRecord,
} from './records.js';

/** Leader id meaning "no leader". */
export const NO_LEADER = -1;
/** Leader value of a PartitionChangeRecord meaning "the leader did not change". */
export const NO_LEADER_CHANGE = -2;
/** `LeaderRecoveryState`: elected from the ISR, or recovered from an unclean election. */
export const LEADER_RECOVERED = 0;
/** `LeaderRecoveryState`: elected uncleanly and still recovering. */
export const LEADER_RECOVERING = 1;

/** `ConfigResource.Type` ids. */
export const ConfigResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/** The metadata.version feature name. */
export const METADATA_VERSION_FEATURE = 'metadata.version';

export interface BrokerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `SecurityProtocol` id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL. */
  readonly securityProtocol: number;
}

export interface BrokerFeatureRange {
  readonly minSupportedVersion: number;
  readonly maxSupportedVersion: number;
}

export interface BrokerRegistration {
  readonly id: number;
  /** The broker epoch the controller assigned at registration (the record's offset). */
  readonly epoch: number;
  readonly incarnationId: string;
  readonly listeners: readonly BrokerEndpoint[];
  readonly features: ReadonlyMap<string, BrokerFeatureRange>;
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
  readonly logDirs: readonly string[];
}

export interface PartitionRegistration {
  /** Preferred order; the first is the preferred leader. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly addingReplicas: readonly number[];
  /** Log directory per replica (same order as `replicas`), or empty when not tracked. */
  readonly directories: readonly string[];
  readonly elr: readonly number[];
  readonly lastKnownElr: readonly number[];
  /** Leader broker id or `NO_LEADER` (-1). */
  readonly leader: number;
  readonly leaderRecoveryState: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  readonly name: string;
  readonly id: string;
  readonly partitions: ReadonlyMap<number, PartitionRegistration>;
}

/** One partition of one topic, as returned by the per-node helpers. */
export interface TopicPartitionRef {
  readonly topic: TopicImage;
  readonly partition: number;
  readonly registration: PartitionRegistration;
}

/** configs by resource type, then resource name, then key. */
export type ConfigData = ReadonlyMap<number, ReadonlyMap<string, ReadonlyMap<string, string>>>;

/**
 * One client-quota entity (KIP-546) and its quota values: entity type ("user", "client-id",
 * "ip") → name, where null is the type's default entity (`<default>`).
 */
export interface ClientQuotaImage {
  readonly entity: ReadonlyMap<string, string | null>;
  /** Quota key (e.g. `producer_byte_rate`) → value. Never empty in an image. */
  readonly values: ReadonlyMap<string, number>;
}

/** The canonical key of a quota entity (its components sorted by type). */
export function clientQuotaEntityKey(entity: Iterable<readonly [string, string | null]>): string {
  return JSON.stringify([...entity].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A record that cannot be applied to the image (the log is inconsistent). */
export class MetadataReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataReplayError';
  }
}

const EMPTY_MAP: ReadonlyMap<never, never> = new Map<never, never>();
const EMPTY_REFS: readonly TopicPartitionRef[] = Object.freeze([]);

interface ImageParts {
  readonly offset: number;
  readonly features: ReadonlyMap<string, number>;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly configData: ConfigData;
  readonly nextProducerId: number;
  readonly clientQuotas?: ReadonlyMap<string, ClientQuotaImage>;
}

export class MetadataImage {
  /** The image before any record: offset -1, nothing registered. */
  static readonly EMPTY: MetadataImage = new MetadataImage({
    offset: -1,
    features: EMPTY_MAP,
    brokers: EMPTY_MAP,
    topicsById: EMPTY_MAP,
    topicsByName: EMPTY_MAP,
    configData: EMPTY_MAP,
    nextProducerId: 0,
    clientQuotas: EMPTY_MAP,
  });

  /** Offset of the last metadata log record applied; -1 for the empty image. */
  readonly offset: number;
  /** Finalized feature levels (FeatureLevelRecord), e.g. `metadata.version` → 21. */
  readonly features: ReadonlyMap<string, number>;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly configData: ConfigData;
  /** First producer id of the next block the controller hands out (ProducerIdsRecord). */
  readonly nextProducerId: number;
  /** Client quotas (ClientQuotaRecord) by `clientQuotaEntityKey`. */
  readonly clientQuotas: ReadonlyMap<string, ClientQuotaImage>;

  private readonly ledBy = new Map<number, readonly TopicPartitionRef[]>();
  private readonly replicasByNode = new Map<number, readonly TopicPartitionRef[]>();

  constructor(parts: ImageParts) {
    this.offset = parts.offset;
    this.features = parts.features;
    this.brokers = parts.brokers;
    this.topicsById = parts.topicsById;
    this.topicsByName = parts.topicsByName;
    this.configData = parts.configData;
    this.nextProducerId = parts.nextProducerId;
    this.clientQuotas = parts.clientQuotas ?? EMPTY_MAP;
  }

  /** The finalized metadata.version feature level, 0 when not bootstrapped. */
  get metadataVersion(): number {
    return this.features.get(METADATA_VERSION_FEATURE) ?? 0;
  }

  isEmpty(): boolean {
    return (
      this.features.size === 0 &&
      this.brokers.size === 0 &&
      this.topicsById.size === 0 &&
      this.configData.size === 0 &&
      this.clientQuotas.size === 0 &&
      this.nextProducerId === 0
    );
  }

  /** Every topic, in no particular order. */
  topics(): IterableIterator<TopicImage> {
    return this.topicsById.values();
  }

  topicByName(name: string): TopicImage | undefined {
    return this.topicsByName.get(name);
  }

  topicById(id: string): TopicImage | undefined {
    return this.topicsById.get(id);
  }

  partition(topicName: string, partition: number): PartitionRegistration | undefined {
    return this.topicsByName.get(topicName)?.partitions.get(partition);
  }

  broker(id: number): BrokerRegistration | undefined {
    return this.brokers.get(id);
  }

  /** Registered, not fenced and not in controlled shutdown (Kafka's `isActive`). */
  isActive(brokerId: number): boolean {
    const b = this.brokers.get(brokerId);
    return b !== undefined && !b.fenced && !b.inControlledShutdown;
  }

  /** Configs of one resource; an empty map when none are set. */
  configs(resourceType: number, resourceName: string): ReadonlyMap<string, string> {
    return this.configData.get(resourceType)?.get(resourceName) ?? EMPTY_MAP;
  }

  topicConfigs(topicName: string): ReadonlyMap<string, string> {
    return this.configs(ConfigResourceType.TOPIC, topicName);
  }

  /** Dynamic configs of one broker, or the cluster-wide defaults for `''`. */
  brokerConfigs(brokerId: number | ''): ReadonlyMap<string, string> {
    return this.configs(ConfigResourceType.BROKER, String(brokerId));
  }

  /** Partitions whose leader is `nodeId`, ordered by topic name then partition. */
  partitionsLedBy(nodeId: number): readonly TopicPartitionRef[] {
    let refs = this.ledBy.get(nodeId);
    if (refs === undefined) {
      refs = this.collect((p) => p.leader === nodeId);
      this.ledBy.set(nodeId, refs);
    }
    return refs;
  }

  /** Partitions that have `nodeId` among their replicas, ordered by topic name then partition. */
  replicasOf(nodeId: number): readonly TopicPartitionRef[] {
    let refs = this.replicasByNode.get(nodeId);
    if (refs === undefined) {
      refs = this.collect((p) => p.replicas.includes(nodeId));
      this.replicasByNode.set(nodeId, refs);
    }
    return refs;
  }

  private collect(pred: (p: PartitionRegistration) => boolean): readonly TopicPartitionRef[] {
    const out: TopicPartitionRef[] = [];
    const names = [...this.topicsByName.keys()].sort();
    for (const name of names) {
      const topic = this.topicsByName.get(name)!;
      const ids = [...topic.partitions.keys()].sort((a, b) => a - b);
      for (const partition of ids) {
        const registration = topic.partitions.get(partition)!;
        if (pred(registration)) out.push({ topic, partition, registration });
      }
    }
    return out.length === 0 ? EMPTY_REFS : Object.freeze(out);
  }
}

/** A mutable topic owned by one delta until it builds. */
interface TopicDraft {
  readonly name: string;
  readonly id: string;
  readonly partitions: Map<number, PartitionRegistration>;
}

function configKey(type: number, name: string): string {
  return `${type}:${name}`;
}

function ints(a: readonly number[] | null | undefined): readonly number[] {
  return a == null ? [] : a;
}

/**
 * Changes on top of a base image. `replay` each record in log order, then `build(offset)`.
 * The delta also records what changed, for listeners that react to new images.
 */
export class MetadataDelta {
  readonly base: MetadataImage;

  private features: Map<string, number> | undefined;
  private brokers: Map<number, BrokerRegistration> | undefined;
  private topicsById: Map<string, TopicImage> | undefined;
  private topicsByName: Map<string, TopicImage> | undefined;
  private configData: Map<number, ReadonlyMap<string, ReadonlyMap<string, string>>> | undefined;
  private nextProducerId: number;
  private clientQuotas: Map<string, ClientQuotaImage> | undefined;
  /** Maps and drafts created by this delta since the last build: safe to mutate in place. */
  private owned = new WeakSet<object>();

  private readonly _createdTopics = new Set<string>();
  private readonly _deletedTopics = new Map<string, TopicImage>();
  private readonly _changedPartitions = new Map<string, Set<number>>();
  private readonly _changedBrokers = new Set<number>();
  private readonly _changedConfigs = new Set<string>();
  private _featuresChanged = false;
  private _producerIdsChanged = false;
  private _clientQuotasChanged = false;
  private _records = 0;

  constructor(base: MetadataImage) {
    this.base = base;
    this.nextProducerId = base.nextProducerId;
  }

  /** Topic ids created by this delta (and still present). */
  get createdTopics(): ReadonlySet<string> {
    return this._createdTopics;
  }
  /** Topics of the base image removed by this delta, by id. */
  get deletedTopics(): ReadonlyMap<string, TopicImage> {
    return this._deletedTopics;
  }
  /** Partitions created or changed, by topic id (includes every partition of created topics). */
  get changedPartitions(): ReadonlyMap<string, ReadonlySet<number>> {
    return this._changedPartitions;
  }
  get changedBrokers(): ReadonlySet<number> {
    return this._changedBrokers;
  }
  /** Resources whose configs changed, as `"<type>:<name>"` (e.g. `"2:orders"`, `"4:"`). */
  get changedConfigs(): ReadonlySet<string> {
    return this._changedConfigs;
  }
  get featuresChanged(): boolean {
    return this._featuresChanged;
  }
  get producerIdsChanged(): boolean {
    return this._producerIdsChanged;
  }
  /** A ClientQuotaRecord was replayed. */
  get clientQuotasChanged(): boolean {
    return this._clientQuotasChanged;
  }
  /** Number of records replayed. */
  get recordCount(): number {
    return this._records;
  }

  /** Applies one record; throws `MetadataReplayError` when it cannot apply. */
  replay(rec: ApiMessageAndVersion): void {
    switch (rec.apiKey) {
      case T.RegisterBroker:
        this.replayRegisterBroker(rec.message);
        break;
      case T.UnregisterBroker: {
        const b = this.brokerOrThrow(rec.message.brokerId, rec.message.brokerEpoch, 'unregister');
        this.ownBrokers().delete(b.id);
        this._changedBrokers.add(b.id);
        break;
      }
      case T.FenceBroker: {
        const b = this.brokerOrThrow(rec.message.id, rec.message.epoch, 'fence');
        this.putBroker({ ...b, fenced: true });
        break;
      }
      case T.UnfenceBroker: {
        const b = this.brokerOrThrow(rec.message.id, rec.message.epoch, 'unfence');
        this.putBroker({ ...b, fenced: false });
        break;
      }
      case T.BrokerRegistrationChange:
        this.replayBrokerRegistrationChange(rec.message);
        break;
      case T.Topic:
        this.replayTopic(rec.message);
        break;
      case T.Partition:
        this.replayPartition(rec.message);
        break;
      case T.PartitionChange:
        this.replayPartitionChange(rec.message);
        break;
      case T.RemoveTopic:
        this.replayRemoveTopic(rec.message);
        break;
      case T.Config:
        this.replayConfig(rec.message);
        break;
      case T.FeatureLevel:
        this.replayFeatureLevel(rec.message);
        break;
      case T.ProducerIds:
        this.replayProducerIds(rec.message);
        break;
      case T.ClientQuota:
        this.replayClientQuota(rec.message);
        break;
      default:
        // NoOpRecord carries nothing. ACLs, SCRAM credentials, delegation tokens,
        // controller registrations, ZK migration and transaction markers are not part of this
        // image yet: they are valid records and are skipped.
        break;
    }
    this._records++;
  }

  /** Replays many records. */
  replayAll(records: Iterable<ApiMessageAndVersion>): void {
    for (const rec of records) this.replay(rec);
  }

  /**
   * The next image, with `offset` as its last applied offset. The delta stays usable: further
   * records copy again, so the built image is never touched afterwards.
   */
  build(offset: number): MetadataImage {
    const b = this.base;
    const image = new MetadataImage({
      offset,
      features: this.features ?? b.features,
      brokers: this.brokers ?? b.brokers,
      topicsById: this.topicsById ?? b.topicsById,
      topicsByName: this.topicsByName ?? b.topicsByName,
      configData: this.configData ?? b.configData,
      nextProducerId: this.nextProducerId,
      clientQuotas: this.clientQuotas ?? b.clientQuotas,
    });
    this.owned = new WeakSet<object>();
    return image;
  }

  // --- brokers -------------------------------------------------------------------------------

  private currentBrokers(): ReadonlyMap<number, BrokerRegistration> {
    return this.brokers ?? this.base.brokers;
  }

  private ownBrokers(): Map<number, BrokerRegistration> {
    if (this.brokers === undefined || !this.owned.has(this.brokers)) {
      this.brokers = new Map(this.currentBrokers());
      this.owned.add(this.brokers);
    }
    return this.brokers;
  }

  private putBroker(b: BrokerRegistration): void {
    this.ownBrokers().set(b.id, b);
    this._changedBrokers.add(b.id);
  }

  private brokerOrThrow(id: number, epoch: bigint, action: string): BrokerRegistration {
    const b = this.currentBrokers().get(id);
    if (b === undefined) {
      throw new MetadataReplayError(`cannot ${action} broker ${id}: it is not registered`);
    }
    if (BigInt(b.epoch) !== epoch) {
      throw new MetadataReplayError(
        `cannot ${action} broker ${id}: record epoch ${epoch} does not match registered epoch ${b.epoch}`,
      );
    }
    return b;
  }

  private replayRegisterBroker(m: RegisterBrokerRecord): void {
    const features = new Map<string, BrokerFeatureRange>();
    for (const f of m.features) {
      features.set(f.name, { minSupportedVersion: f.minSupportedVersion, maxSupportedVersion: f.maxSupportedVersion });
    }
    this.putBroker({
      id: m.brokerId,
      epoch: Number(m.brokerEpoch),
      incarnationId: m.incarnationId,
      listeners: m.endPoints.map((e) => ({
        name: e.name,
        host: e.host,
        port: e.port,
        securityProtocol: e.securityProtocol,
      })),
      features,
      rack: m.rack ?? null,
      fenced: m.fenced ?? true,
      inControlledShutdown: m.inControlledShutdown ?? false,
      logDirs: m.logDirs ?? [],
    });
  }

  private replayBrokerRegistrationChange(m: BrokerRegistrationChangeRecord): void {
    const b = this.brokerOrThrow(m.brokerId, m.brokerEpoch, 'change');
    let fenced = b.fenced;
    switch (m.fenced ?? 0) {
      case -1:
        fenced = false;
        break;
      case 0:
        break;
      case 1:
        fenced = true;
        break;
      default:
        throw new MetadataReplayError(`BrokerRegistrationChangeRecord for broker ${m.brokerId}: bad fenced value ${m.fenced}`);
    }
    let inControlledShutdown = b.inControlledShutdown;
    switch (m.inControlledShutdown ?? 0) {
      case 0:
        break;
      case 1:
        inControlledShutdown = true;
        break;
      default:
        throw new MetadataReplayError(
          `BrokerRegistrationChangeRecord for broker ${m.brokerId}: bad inControlledShutdown value ${m.inControlledShutdown}`,
        );
    }
    const logDirs = m.logDirs != null && m.logDirs.length > 0 ? m.logDirs : b.logDirs;
    this.putBroker({ ...b, fenced, inControlledShutdown, logDirs });
  }

  // --- topics --------------------------------------------------------------------------------

  private currentTopicsById(): ReadonlyMap<string, TopicImage> {
    return this.topicsById ?? this.base.topicsById;
  }

  private currentTopicsByName(): ReadonlyMap<string, TopicImage> {
    return this.topicsByName ?? this.base.topicsByName;
  }

  private ownTopicMaps(): { byId: Map<string, TopicImage>; byName: Map<string, TopicImage> } {
    if (this.topicsById === undefined || !this.owned.has(this.topicsById)) {
      this.topicsById = new Map(this.currentTopicsById());
      this.owned.add(this.topicsById);
    }
    if (this.topicsByName === undefined || !this.owned.has(this.topicsByName)) {
      this.topicsByName = new Map(this.currentTopicsByName());
      this.owned.add(this.topicsByName);
    }
    return { byId: this.topicsById, byName: this.topicsByName };
  }

  /** A draft of the topic that this delta may mutate (copies the partition map once). */
  private draftTopic(topicId: string, what: string): TopicDraft {
    const current = this.currentTopicsById().get(topicId);
    if (current === undefined) {
      throw new MetadataReplayError(`${what}: no topic with id ${topicId}`);
    }
    if (this.owned.has(current)) return current as TopicDraft;
    const draft: TopicDraft = { name: current.name, id: current.id, partitions: new Map(current.partitions) };
    this.owned.add(draft);
    const maps = this.ownTopicMaps();
    maps.byId.set(topicId, draft);
    maps.byName.set(draft.name, draft);
    return draft;
  }

  private markPartition(topicId: string, partition: number): void {
    let set = this._changedPartitions.get(topicId);
    if (set === undefined) {
      set = new Set();
      this._changedPartitions.set(topicId, set);
    }
    set.add(partition);
  }

  private replayTopic(m: TopicRecord): void {
    if (this.currentTopicsById().has(m.topicId)) {
      throw new MetadataReplayError(`TopicRecord for ${m.name}: topic id ${m.topicId} already exists`);
    }
    const sameName = this.currentTopicsByName().get(m.name);
    if (sameName !== undefined) {
      throw new MetadataReplayError(`TopicRecord for ${m.name}: the name is taken by topic id ${sameName.id}`);
    }
    const draft: TopicDraft = { name: m.name, id: m.topicId, partitions: new Map() };
    this.owned.add(draft);
    const maps = this.ownTopicMaps();
    maps.byId.set(draft.id, draft);
    maps.byName.set(draft.name, draft);
    this._createdTopics.add(draft.id);
  }

  private replayPartition(m: PartitionRecord): void {
    const topic = this.draftTopic(m.topicId, `PartitionRecord ${m.partitionId}`);
    if (m.partitionId < 0) {
      throw new MetadataReplayError(`PartitionRecord for ${topic.name}: bad partition id ${m.partitionId}`);
    }
    const directories = m.directories ?? [];
    if (directories.length > 0 && directories.length !== m.replicas.length) {
      throw new MetadataReplayError(
        `PartitionRecord for ${topic.name}-${m.partitionId}: ${m.replicas.length} replicas but ${directories.length} directories`,
      );
    }
    topic.partitions.set(m.partitionId, {
      replicas: m.replicas,
      isr: m.isr,
      removingReplicas: m.removingReplicas,
      addingReplicas: m.addingReplicas,
      directories,
      elr: ints(m.eligibleLeaderReplicas),
      lastKnownElr: ints(m.lastKnownElr),
      leader: m.leader,
      leaderRecoveryState: m.leaderRecoveryState ?? LEADER_RECOVERED,
      leaderEpoch: m.leaderEpoch,
      partitionEpoch: m.partitionEpoch,
    });
    this.markPartition(topic.id, m.partitionId);
  }

  private replayPartitionChange(m: PartitionChangeRecord): void {
    const topic = this.draftTopic(m.topicId, `PartitionChangeRecord ${m.partitionId}`);
    const prev = topic.partitions.get(m.partitionId);
    if (prev === undefined) {
      throw new MetadataReplayError(`PartitionChangeRecord: no partition ${topic.name}-${m.partitionId}`);
    }
    topic.partitions.set(m.partitionId, mergePartitionChange(prev, m, `${topic.name}-${m.partitionId}`));
    this.markPartition(topic.id, m.partitionId);
  }

  private replayRemoveTopic(m: RemoveTopicRecord): void {
    const topic = this.currentTopicsById().get(m.topicId);
    if (topic === undefined) {
      throw new MetadataReplayError(`RemoveTopicRecord: no topic with id ${m.topicId}`);
    }
    const maps = this.ownTopicMaps();
    maps.byId.delete(topic.id);
    maps.byName.delete(topic.name);
    if (this._createdTopics.has(topic.id)) {
      this._createdTopics.delete(topic.id);
    } else {
      const original = this.base.topicsById.get(topic.id);
      if (original !== undefined) this._deletedTopics.set(topic.id, original);
    }
    this._changedPartitions.delete(topic.id);
    this.removeConfigResource(ConfigResourceType.TOPIC, topic.name);
  }

  // --- configs -------------------------------------------------------------------------------

  private currentConfigData(): ReadonlyMap<number, ReadonlyMap<string, ReadonlyMap<string, string>>> {
    return this.configData ?? this.base.configData;
  }

  private ownConfigType(type: number): Map<string, ReadonlyMap<string, string>> {
    if (this.configData === undefined || !this.owned.has(this.configData)) {
      this.configData = new Map(this.currentConfigData());
      this.owned.add(this.configData);
    }
    const current = this.configData.get(type);
    if (current !== undefined && this.owned.has(current)) return current as Map<string, ReadonlyMap<string, string>>;
    const copy = new Map(current ?? EMPTY_MAP);
    this.owned.add(copy);
    this.configData.set(type, copy);
    return copy;
  }

  private removeConfigResource(type: number, name: string): void {
    if (this.currentConfigData().get(type)?.has(name) !== true) return;
    const byName = this.ownConfigType(type);
    byName.delete(name);
    if (byName.size === 0) this.configData!.delete(type);
    this._changedConfigs.add(configKey(type, name));
  }

  private replayConfig(m: ConfigRecord): void {
    const current = this.currentConfigData().get(m.resourceType)?.get(m.resourceName);
    if (m.value == null && current?.has(m.name) !== true) {
      this._changedConfigs.add(configKey(m.resourceType, m.resourceName));
      return;
    }
    const byName = this.ownConfigType(m.resourceType);
    let entries = byName.get(m.resourceName);
    if (entries === undefined || !this.owned.has(entries)) {
      entries = new Map(entries ?? EMPTY_MAP);
      this.owned.add(entries);
      byName.set(m.resourceName, entries);
    }
    const mutable = entries as Map<string, string>;
    if (m.value == null) mutable.delete(m.name);
    else mutable.set(m.name, m.value);
    if (mutable.size === 0) byName.delete(m.resourceName);
    if (byName.size === 0) this.configData!.delete(m.resourceType);
    this._changedConfigs.add(configKey(m.resourceType, m.resourceName));
  }

  // --- client quotas -------------------------------------------------------------------------

  private replayClientQuota(m: ClientQuotaRecord): void {
    const pairs = m.entity.map((e) => [e.entityType, e.entityName] as const);
    const key = clientQuotaEntityKey(pairs);
    const current = (this.clientQuotas ?? this.base.clientQuotas).get(key);
    this._clientQuotasChanged = true;
    if (m.remove && current?.values.has(m.key) !== true) return;
    if (this.clientQuotas === undefined || !this.owned.has(this.clientQuotas)) {
      this.clientQuotas = new Map(this.clientQuotas ?? this.base.clientQuotas);
      this.owned.add(this.clientQuotas);
    }
    const values = new Map(current?.values ?? EMPTY_MAP);
    if (m.remove) values.delete(m.key);
    else values.set(m.key, m.value);
    if (values.size === 0) this.clientQuotas.delete(key);
    else this.clientQuotas.set(key, { entity: current?.entity ?? new Map(pairs), values });
  }

  // --- features, producer ids ----------------------------------------------------------------

  private replayFeatureLevel(m: FeatureLevelRecord): void {
    if (this.features === undefined || !this.owned.has(this.features)) {
      this.features = new Map(this.features ?? this.base.features);
      this.owned.add(this.features);
    }
    if (m.featureLevel === 0) this.features.delete(m.name);
    else this.features.set(m.name, m.featureLevel);
    this._featuresChanged = true;
  }

  private replayProducerIds(m: ProducerIdsRecord): void {
    const next = Number(m.nextProducerId);
    if (next <= this.nextProducerId) {
      throw new MetadataReplayError(
        `ProducerIdsRecord: next producer id ${next} is not above the current ${this.nextProducerId}`,
      );
    }
    this.nextProducerId = next;
    this._producerIdsChanged = true;
  }
}

/** Kafka's `PartitionRegistration.merge(PartitionChangeRecord)`. */
export function mergePartitionChange(
  prev: PartitionRegistration,
  m: PartitionChangeRecord,
  description = `partition ${m.partitionId}`,
): PartitionRegistration {
  const replicas = m.replicas ?? prev.replicas;
  let directories: readonly string[];
  if (m.directories != null && m.directories.length > 0) {
    if (m.replicas != null && m.replicas.length !== m.directories.length) {
      throw new MetadataReplayError(
        `PartitionChangeRecord for ${description}: ${m.replicas.length} replicas but ${m.directories.length} directories`,
      );
    }
    directories = m.directories;
  } else if (m.replicas != null) {
    // Keep the directory of replicas that stay; new replicas have none yet.
    directories =
      prev.directories.length === 0
        ? []
        : m.replicas.map((r) => {
            const i = prev.replicas.indexOf(r);
            return i >= 0 && i < prev.directories.length ? prev.directories[i]! : UNASSIGNED_DIRECTORY;
          });
  } else {
    directories = prev.directories;
  }
  const leaderChanged = (m.leader ?? NO_LEADER_CHANGE) !== NO_LEADER_CHANGE;
  let leaderRecoveryState = prev.leaderRecoveryState;
  const lrs = m.leaderRecoveryState ?? -1;
  if (lrs !== -1) {
    if (lrs !== LEADER_RECOVERED && lrs !== LEADER_RECOVERING) {
      throw new MetadataReplayError(`PartitionChangeRecord for ${description}: bad leaderRecoveryState ${lrs}`);
    }
    leaderRecoveryState = lrs;
  }
  return {
    replicas,
    isr: m.isr ?? prev.isr,
    removingReplicas: m.removingReplicas ?? prev.removingReplicas,
    addingReplicas: m.addingReplicas ?? prev.addingReplicas,
    directories,
    elr: m.eligibleLeaderReplicas ?? prev.elr,
    lastKnownElr: m.lastKnownElr ?? prev.lastKnownElr,
    leader: leaderChanged ? m.leader! : prev.leader,
    leaderRecoveryState,
    leaderEpoch: leaderChanged ? prev.leaderEpoch + 1 : prev.leaderEpoch,
    partitionEpoch: prev.partitionEpoch + 1,
  };
}

/** Kafka's `DirectoryId.UNASSIGNED` (the uuid 0x...01): a replica not yet placed in a log dir. */
export const UNASSIGNED_DIRECTORY = 'AAAAAAAAAAAAAAAAAAAAAQ';

/** Replays `records` onto `base` and returns the new image (for tests and snapshots). */
export function replayRecords(
  base: MetadataImage,
  records: Iterable<ApiMessageAndVersion>,
  offset?: number,
): MetadataImage {
  const delta = new MetadataDelta(base);
  delta.replayAll(records);
  return delta.build(offset ?? base.offset + delta.recordCount);
}

/** A short description of a record for log lines: "TopicRecord v0". */
export function describeRecord(rec: ApiMessageAndVersion): string {
  return `${recordTypeName(rec.apiKey)} v${rec.version}`;
}
