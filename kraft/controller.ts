/**
 * The active controller's decisions, as pure functions of (image, request, options):
 * each returns the metadata records to commit and the per-item results, and does no I/O.
 * Randomness (topic ids, placement offsets) is injected. Validation, order of checks, error
 * codes and messages follow Kafka 3.9's `ControllerApis`, `ReplicationControlManager`,
 * `ConfigurationControlManager`, `ClusterControlManager` and `ProducerIdControlManager`.
 *
 * A decision sees one image; to decide and commit atomically run it inside
 * `LocalMetadataQuorum.runExclusive`. With `validateOnly` the results are computed and no
 * record is returned.
 */
import { ErrorCode, errorMessage } from '../wire/errors.js';
import { ZERO_UUID } from '../wire/primitives.js';
import {
  ConfigResourceType,
  METADATA_VERSION_FEATURE,
  UNASSIGNED_DIRECTORY,
  type BrokerEndpoint,
  type MetadataImage,
  type TopicImage,
} from './image.js';
import { placeReplicas, seededRandomInt, type RandomInt, type UsableBroker } from './placement.js';
import {
  configRecord,
  featureLevelRecord,
  partitionRecord,
  producerIdsRecord,
  registerBrokerRecord,
  removeTopicRecord,
  topicRecord,
  type ApiMessageAndVersion,
} from './records.js';

/** Records to commit, and the answer per item of the request. */
export interface ControllerResult<T> {
  readonly records: ApiMessageAndVersion[];
  readonly results: T;
}

/** `MetadataVersion.IBP_3_9_IV0.featureLevel()`. */
export const METADATA_VERSION_3_9_IV0 = 21;
/** The metadata.version this build bootstraps new clusters with. */
export const LATEST_METADATA_VERSION = METADATA_VERSION_3_9_IV0;
/** `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export const GROUP_METADATA_TOPIC_NAME = '__consumer_offsets';
export const TRANSACTION_STATE_TOPIC_NAME = '__transaction_state';
export const CLUSTER_METADATA_TOPIC_NAME = '__cluster_metadata';
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Kafka's `DirectoryId.MIGRATING` (the zero uuid): replica of a broker that reports no log dirs. */
export const MIGRATING_DIRECTORY = ZERO_UUID;

// ---------------------------------------------------------------------------------------------
// Topic names (Kafka's `Topic`)

/** Why a topic name is invalid (Kafka's `Topic.validate` message), or null when it is valid. */
export function topicNameError(name: string): string | null {
  let reason: string | null = null;
  if (name.length === 0) reason = 'the empty string is not allowed';
  else if (name === '.') reason = "'.' is not allowed";
  else if (name === '..') reason = "'..' is not allowed";
  else if (name.length > MAX_TOPIC_NAME_LENGTH) {
    reason = `the length of '${name}' is longer than the max allowed length ${MAX_TOPIC_NAME_LENGTH}`;
  } else if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    reason = `'${name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return reason === null ? null : `Topic name is invalid: ${reason}`;
}

/** Topics whose names differ only by '.' vs '_' collide in metric names. */
export function hasCollisionChars(name: string): boolean {
  return name.includes('_') || name.includes('.');
}

export function unifyCollisionChars(name: string): string {
  return name.replaceAll('.', '_');
}

export function isInternalTopic(name: string): boolean {
  return name === GROUP_METADATA_TOPIC_NAME || name === TRANSACTION_STATE_TOPIC_NAME;
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface ApiError {
  readonly code: ErrorCode;
  readonly message: string | null;
}

/**
 * At most this many records per user operation (Kafka's `QuorumController.MAX_RECORDS_PER_USER_OP`):
 * a CreateTopics or CreatePartitions that would produce more fails as a whole with
 * POLICY_VIOLATION ("Unable to perform excessively large batch operation.", Kafka's answer to a
 * `BoundedListTooLongException`). Checked *before* replicas are placed, so a partition count of
 * 2^31-1 from a hostile or damaged request is refused at once instead of building 2^31
 * assignments (which ran the broker out of heap: found by test/e2e/fuzz-live.test.ts).
 */
export const MAX_RECORDS_PER_USER_OP = 10_000;
const TOO_LARGE_OP_MESSAGE = 'Unable to perform excessively large batch operation.';

function apiError(code: ErrorCode, message?: string): ApiError {
  return { code, message: message ?? errorMessage(code) };
}

const NONE: ApiError = { code: ErrorCode.NONE, message: null };

/** Brokers the placer may use: registered and not in controlled shutdown, by id. */
function usableBrokers(image: MetadataImage): UsableBroker[] {
  const out: UsableBroker[] = [];
  for (const b of image.brokers.values()) {
    if (b.inControlledShutdown) continue;
    out.push({ id: b.id, rack: b.rack, fenced: b.fenced });
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * Kafka's `ClusterControlManager.defaultDir`, except for a broker with several online log dirs:
 * Kafka records UNASSIGNED and the broker reports its choice (AssignReplicasToDirs); here the
 * controller picks one (spread by topic id and partition) and the broker creates the log there,
 * so the controller always knows which partitions a failed dir takes offline (issue 8).
 */
function defaultDirectory(image: MetadataImage, brokerId: number, topicId = '', partitionId = 0): string {
  const dirs = image.broker(brokerId)?.logDirs ?? [];
  if (dirs.length === 1) return dirs[0]!;
  if (dirs.length === 0) return MIGRATING_DIRECTORY;
  let h = partitionId + brokerId;
  for (let i = 0; i < topicId.length; i++) h = (h * 31 + topicId.charCodeAt(i)) >>> 0;
  return dirs[h % dirs.length] ?? UNASSIGNED_DIRECTORY;
}

function newPartitionRecord(
  image: MetadataImage,
  topicId: string,
  partitionId: number,
  replicas: readonly number[],
  isr: readonly number[],
): ApiMessageAndVersion {
  return partitionRecord({
    partitionId,
    topicId,
    replicas: [...replicas],
    isr: [...isr],
    removingReplicas: [],
    addingReplicas: [],
    leader: isr[0]!,
    leaderRecoveryState: 0,
    leaderEpoch: 0,
    partitionEpoch: 0,
    directories: replicas.map((r) => defaultDirectory(image, r, topicId, partitionId)),
  });
}

/** Kafka's `validateManualPartitionAssignment`; null when valid. */
function manualAssignmentError(
  image: MetadataImage,
  brokerIds: readonly number[],
  replicationFactor: number | undefined,
): ApiError | null {
  if (brokerIds.length === 0) {
    return apiError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      'The manual partition assignment includes an empty replica list.',
    );
  }
  const sorted = [...brokerIds].sort((a, b) => a - b);
  let prev: number | undefined;
  for (const id of sorted) {
    if (!image.brokers.has(id)) {
      return apiError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${id}, but no such broker is registered.`,
      );
    }
    if (id === prev) {
      return apiError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes the broker ${id} more than once.`,
      );
    }
    prev = id;
  }
  if (replicationFactor !== undefined && sorted.length !== replicationFactor) {
    return apiError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is ` +
        `not consistent with previous partitions, which have ${replicationFactor} replica(s).`,
    );
  }
  return null;
}

function newTopicId(image: MetadataImage, randomUuid: () => string, taken: ReadonlySet<string>): string {
  for (let attempt = 0; ; attempt++) {
    const id = randomUuid();
    if (id !== ZERO_UUID && !image.topicsById.has(id) && !taken.has(id)) return id;
    if (attempt >= 100) throw new Error('randomUuid keeps returning ids that are taken');
  }
}

// ---------------------------------------------------------------------------------------------
// CreateTopics

export interface CreatableTopic {
  readonly name: string;
  /** -1 = the default (`num.partitions`). */
  readonly numPartitions: number;
  /** -1 = the default (`default.replication.factor`). */
  readonly replicationFactor: number;
  readonly assignments: ReadonlyArray<{ readonly partitionIndex: number; readonly brokerIds: readonly number[] }>;
  readonly configs: ReadonlyArray<{ readonly name: string; readonly value: string | null }>;
}

export interface CreateTopicsOptions {
  readonly defaultNumPartitions: number;
  readonly defaultReplicationFactor: number;
  /** Injected by the broker: null when `name=value` is a valid topic config, else the message. */
  validateConfig(name: string, value: string): string | null;
  /** Injected: a fresh topic id (22-char base64url). */
  randomUuid(): string;
  readonly validateOnly: boolean;
  /** Injected randomness for replica placement; default: seeded by the topic name. */
  readonly randomInt?: RandomInt;
}

export interface CreatableTopicResult {
  readonly name: string;
  /** The new topic's id; the zero uuid on error. */
  readonly topicId: string;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
  /** -1 on error. */
  readonly numPartitions: number;
  /** -1 on error. */
  readonly replicationFactor: number;
}

/**
 * CreateTopics. Results come in request order, one per distinct name. Records, per created topic:
 * TopicRecord, a PartitionRecord per partition, a ConfigRecord per config.
 */
export function createTopics(
  image: MetadataImage,
  topics: readonly CreatableTopic[],
  opts: CreateTopicsOptions,
): ControllerResult<CreatableTopicResult[]> {
  const counts = new Map<string, number>();
  for (const t of topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);

  // Existing names with '.' or '_', by their unified form (Kafka's topicsWithCollisionChars).
  const colliding = new Map<string, string>();
  for (const t of image.topicsByName.keys()) {
    if (hasCollisionChars(t)) colliding.set(unifyCollisionChars(t), t);
  }

  const records: ApiMessageAndVersion[] = [];
  const results: CreatableTopicResult[] = [];
  const seen = new Set<string>();
  const newIds = new Set<string>();
  for (const topic of topics) {
    if (seen.has(topic.name)) continue;
    seen.add(topic.name);
    const fail = (e: ApiError): void => {
      results.push({
        name: topic.name,
        topicId: ZERO_UUID,
        errorCode: e.code,
        errorMessage: e.message,
        numPartitions: -1,
        replicationFactor: -1,
      });
    };
    if (counts.get(topic.name)! > 1) {
      fail(apiError(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
      continue;
    }
    if (topic.name === CLUSTER_METADATA_TOPIC_NAME) {
      // Kafka's ControllerApis drops this name from the request and answers it as unauthorized.
      fail(apiError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'));
      continue;
    }
    const nameError = topicNameError(topic.name);
    if (image.topicsByName.has(topic.name)) {
      fail(apiError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`));
      continue;
    }
    if (nameError !== null) {
      fail(apiError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError));
      continue;
    }
    if (hasCollisionChars(topic.name)) {
      const other = colliding.get(unifyCollisionChars(topic.name));
      if (other !== undefined) {
        fail(apiError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${topic.name}' collides with existing topic: ${other}`));
        continue;
      }
    }
    const configError = topicConfigsError(topic.configs, opts.validateConfig);
    if (configError !== null) {
      fail(configError);
      continue;
    }
    // The records this topic adds (topic, partitions, configs), counted before placing anything.
    const partitions = topic.assignments.length > 0 ? topic.assignments.length : topic.numPartitions === -1 ? opts.defaultNumPartitions : topic.numPartitions;
    if (records.length + 1 + Math.max(0, partitions) + topic.configs.length > MAX_RECORDS_PER_USER_OP) {
      return tooLargeCreateTopics(topics);
    }
    const created = createOneTopic(image, topic, opts, newIds);
    if ('error' in created) {
      fail(created.error);
      continue;
    }
    newIds.add(created.topicId);
    results.push({
      name: topic.name,
      topicId: created.topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: created.numPartitions,
      replicationFactor: created.replicationFactor,
    });
    records.push(...created.records);
  }
  return { records: opts.validateOnly ? [] : records, results };
}

function topicConfigsError(
  configs: CreatableTopic['configs'],
  validate: (name: string, value: string) => string | null,
): ApiError | null {
  const nulls = configs.filter((c) => c.value === null).map((c) => c.name);
  if (nulls.length > 0) {
    return apiError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${nulls.join(',')}`);
  }
  for (const c of configs) {
    const message = validate(c.name, c.value!);
    if (message !== null) return apiError(ErrorCode.INVALID_CONFIG, message);
  }
  return null;
}

/** The whole CreateTopics failed: every topic named in it gets POLICY_VIOLATION, nothing is created. */
function tooLargeCreateTopics(topics: readonly CreatableTopic[]): ControllerResult<CreatableTopicResult[]> {
  const names = [...new Set(topics.map((t) => t.name))];
  return {
    records: [],
    results: names.map((name) => ({
      name,
      topicId: ZERO_UUID,
      errorCode: ErrorCode.POLICY_VIOLATION,
      errorMessage: TOO_LARGE_OP_MESSAGE,
      numPartitions: -1,
      replicationFactor: -1,
    })),
  };
}

type CreatedTopic =
  | { topicId: string; numPartitions: number; replicationFactor: number; records: ApiMessageAndVersion[] }
  | { error: ApiError };

function createOneTopic(
  image: MetadataImage,
  topic: CreatableTopic,
  opts: CreateTopicsOptions,
  takenIds: ReadonlySet<string>,
): CreatedTopic {
  // partition id -> [replicas, isr]
  const parts = new Map<number, [readonly number[], readonly number[]]>();
  if (topic.assignments.length > 0) {
    if (topic.replicationFactor !== -1) {
      return {
        error: apiError(
          ErrorCode.INVALID_REQUEST,
          'A manual partition assignment was specified, but replication factor was not set to -1.',
        ),
      };
    }
    if (topic.numPartitions !== -1) {
      return {
        error: apiError(
          ErrorCode.INVALID_REQUEST,
          'A manual partition assignment was specified, but numPartitions was not set to -1.',
        ),
      };
    }
    let rf: number | undefined;
    for (const a of topic.assignments) {
      if (parts.has(a.partitionIndex)) {
        return {
          error: apiError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `Found multiple manual partition assignments for partition ${a.partitionIndex}`,
          ),
        };
      }
      const e = manualAssignmentError(image, a.brokerIds, rf);
      if (e !== null) return { error: e };
      rf = a.brokerIds.length;
      const isr = a.brokerIds.filter((b) => image.isActive(b));
      if (isr.length === 0) {
        return {
          error: apiError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `All brokers specified in the manual partition assignment for partition ${a.partitionIndex} ` +
              'are fenced or in controlled shutdown.',
          ),
        };
      }
      parts.set(a.partitionIndex, [a.brokerIds, isr]);
    }
    for (let i = 0; i < parts.size; i++) {
      if (!parts.has(i)) {
        return {
          error: apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence'),
        };
      }
    }
  } else if (topic.replicationFactor < -1 || topic.replicationFactor === 0) {
    return {
      error: apiError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        'Replication factor must be larger than 0, or -1 to use the default value.',
      ),
    };
  } else if (topic.numPartitions < -1 || topic.numPartitions === 0) {
    return {
      error: apiError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.'),
    };
  } else {
    const numPartitions = topic.numPartitions === -1 ? opts.defaultNumPartitions : topic.numPartitions;
    const rf = topic.replicationFactor === -1 ? opts.defaultReplicationFactor : topic.replicationFactor;
    const placed = placeReplicas(usableBrokers(image), numPartitions, rf, opts.randomInt ?? seededRandomInt(topic.name));
    if (!placed.ok) {
      return {
        error: apiError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${rf} time(s): ${placed.message}`),
      };
    }
    for (let p = 0; p < placed.assignments.length; p++) {
      const replicas = placed.assignments[p]!;
      const isr = replicas.filter((b) => image.isActive(b));
      if (isr.length === 0) {
        return {
          error: apiError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            `Unable to replicate the partition ${rf} time(s): All brokers are currently fenced or in controlled shutdown.`,
          ),
        };
      }
      parts.set(p, [replicas, isr]);
    }
  }

  const topicId = newTopicId(image, opts.randomUuid, takenIds);
  const records: ApiMessageAndVersion[] = [topicRecord({ name: topic.name, topicId })];
  for (let p = 0; p < parts.size; p++) {
    const [replicas, isr] = parts.get(p)!;
    records.push(newPartitionRecord(image, topicId, p, replicas, isr));
  }
  const configs = new Map<string, string>();
  for (const c of topic.configs) configs.set(c.name, c.value!);
  for (const [name, value] of configs) {
    records.push(configRecord({ resourceType: ConfigResourceType.TOPIC, resourceName: topic.name, name, value }));
  }
  return { topicId, numPartitions: parts.size, replicationFactor: parts.get(0)![0].length, records };
}

// ---------------------------------------------------------------------------------------------
// DeleteTopics

/** A topic to delete: by name (DeleteTopics v0–5, or v6+ without id) or by id (v6+). */
export interface DeletableTopic {
  readonly name?: string | null;
  readonly topicId?: string | null;
}

export interface DeletableTopicResult {
  readonly name: string | null;
  readonly topicId: string;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
}

/**
 * DeleteTopics, as Kafka's `ControllerApis.deleteTopics` + `ReplicationControlManager`:
 * one RemoveTopicRecord per deleted topic (replay drops its partitions and configs).
 * Internal topics are not refused: Kafka's controller lets an authorized client delete them.
 */
export function deleteTopics(
  image: MetadataImage,
  topics: readonly DeletableTopic[],
): ControllerResult<DeletableTopicResult[]> {
  // Results carry the index of the request entry they answer, to come back in request order.
  const results: Array<DeletableTopicResult & { order: number }> = [];
  const push = (order: number, name: string | null, topicId: string, e: ApiError): void => {
    results.push({ name, topicId, errorCode: e.code, errorMessage: e.message, order });
  };
  const names = new Map<string, number>(); // name -> first index
  const duplicateNames = new Set<string>();
  const ids = new Map<string, number>(); // id -> first index
  const duplicateIds = new Set<string>();
  topics.forEach((t, i) => {
    const id = t.topicId ?? ZERO_UUID;
    if (t.name == null) {
      if (id === ZERO_UUID) {
        push(i, null, ZERO_UUID, apiError(ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.'));
      } else if (ids.has(id)) {
        duplicateIds.add(id);
      } else {
        ids.set(id, i);
      }
    } else if (id === ZERO_UUID) {
      if (names.has(t.name)) duplicateNames.add(t.name);
      else names.set(t.name, i);
    } else {
      push(i, t.name, id, apiError(ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.'));
    }
  });
  for (const name of duplicateNames) {
    push(names.get(name)!, name, ZERO_UUID, apiError(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
  }
  for (const id of duplicateIds) {
    push(ids.get(id)!, null, id, apiError(ErrorCode.INVALID_REQUEST, 'Duplicate topic id.'));
  }

  // id -> [topic, request index]
  const toDelete = new Map<string, [TopicImage, number]>();
  for (const [id, i] of ids) {
    if (duplicateIds.has(id)) continue;
    const topic = image.topicById(id);
    if (topic === undefined) push(i, null, id, apiError(ErrorCode.UNKNOWN_TOPIC_ID));
    else toDelete.set(id, [topic, i]);
  }
  for (const [name, i] of names) {
    if (duplicateNames.has(name)) continue;
    const topic = image.topicByName(name);
    if (topic === undefined) {
      push(i, name, ZERO_UUID, apiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    } else if (duplicateIds.has(topic.id) || toDelete.has(topic.id)) {
      // Kafka answers only the name; the id entry gets no answer of its own.
      duplicateIds.add(topic.id);
      toDelete.delete(topic.id);
      push(
        i,
        name,
        topic.id,
        apiError(ErrorCode.INVALID_REQUEST, 'The provided topic name maps to an ID that was already supplied.'),
      );
    } else {
      toDelete.set(topic.id, [topic, i]);
    }
  }
  const records: ApiMessageAndVersion[] = [];
  for (const [id, [topic, i]] of [...toDelete].sort((a, b) => a[1][1] - b[1][1])) {
    records.push(removeTopicRecord({ topicId: id }));
    push(i, topic.name, id, NONE);
  }
  results.sort((a, b) => a.order - b.order);
  return { records, results: results.map(({ order: _order, ...r }) => r) };
}

// ---------------------------------------------------------------------------------------------
// CreatePartitions

export interface CreatePartitionsTopic {
  readonly name: string;
  /** The new total number of partitions. */
  readonly count: number;
  /** Replicas of each new partition, or null to place them. */
  readonly assignments: ReadonlyArray<{ readonly brokerIds: readonly number[] }> | null;
}

export interface CreatePartitionsOptions {
  readonly validateOnly: boolean;
  readonly randomInt?: RandomInt;
}

export interface CreatePartitionsTopicResult {
  readonly name: string;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
}

/** CreatePartitions: a PartitionRecord per new partition. */
export function createPartitions(
  image: MetadataImage,
  topics: readonly CreatePartitionsTopic[],
  opts: CreatePartitionsOptions,
): ControllerResult<CreatePartitionsTopicResult[]> {
  const counts = new Map<string, number>();
  for (const t of topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const records: ApiMessageAndVersion[] = [];
  const results: CreatePartitionsTopicResult[] = [];
  const seen = new Set<string>();
  for (const topic of topics) {
    if (seen.has(topic.name)) continue;
    seen.add(topic.name);
    let e: ApiError;
    if (counts.get(topic.name)! > 1) e = apiError(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.');
    else {
      // The partitions this adds, counted before placing anything (see MAX_RECORDS_PER_USER_OP).
      const current = image.topicByName(topic.name)?.partitions.size ?? 0;
      if (records.length + (topic.count - current) > MAX_RECORDS_PER_USER_OP) {
        const names = [...new Set(topics.map((t) => t.name))];
        return {
          records: [],
          results: names.map((name) => ({ name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: TOO_LARGE_OP_MESSAGE })),
        };
      }
      e = createPartitionsFor(image, topic, opts, records);
    }
    results.push({ name: topic.name, errorCode: e.code, errorMessage: e.message });
  }
  return { records: opts.validateOnly ? [] : records, results };
}

function createPartitionsFor(
  image: MetadataImage,
  request: CreatePartitionsTopic,
  opts: CreatePartitionsOptions,
  out: ApiMessageAndVersion[],
): ApiError {
  const topic = image.topicByName(request.name);
  if (topic === undefined) return apiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const current = topic.partitions.size;
  if (request.count === current) {
    return apiError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  }
  if (request.count < current) {
    return apiError(
      ErrorCode.INVALID_PARTITIONS,
      `The topic ${request.name} currently has ${current} partition(s); ${request.count} would not be an increase.`,
    );
  }
  const additional = request.count - current;
  if (request.assignments !== null && request.assignments.length !== additional) {
    return apiError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `Attempted to add ${additional} additional partition(s), but only ${request.assignments.length} ` +
        'assignment(s) were specified.',
    );
  }
  const first = topic.partitions.get(0) ?? topic.partitions.values().next().value;
  if (first === undefined) {
    return apiError(ErrorCode.UNKNOWN_SERVER_ERROR, `Invalid state: topic ${request.name} appears to have no partitions.`);
  }
  const rf = first.replicas.length;
  const existing: (readonly number[])[] = [];
  for (let p = 0; p < current; p++) {
    const reg = topic.partitions.get(p);
    if (reg !== undefined) existing.push(reg.replicas);
  }

  let assignments: (readonly number[])[];
  if (request.assignments !== null) {
    assignments = [];
    for (let i = 0; i < request.assignments.length; i++) {
      const brokerIds = request.assignments[i]!.brokerIds;
      const e = manualAssignmentError(image, brokerIds, rf);
      if (e !== null) return e;
      if (!brokerIds.some((b) => image.isActive(b))) {
        return apiError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `All brokers specified in the manual partition assignment for partition ${current + i} ` +
            'are fenced or in controlled shutdown.',
        );
      }
      assignments.push(brokerIds);
    }
  } else {
    const placed = placeReplicas(
      usableBrokers(image),
      additional,
      rf,
      opts.randomInt ?? seededRandomInt(`${topic.id}:${current}`),
      existing,
    );
    if (!placed.ok) {
      return apiError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${rf} time(s): ${placed.message}`);
    }
    assignments = placed.assignments;
  }
  const records: ApiMessageAndVersion[] = [];
  for (let i = 0; i < assignments.length; i++) {
    const replicas = assignments[i]!;
    const isr = replicas.filter((b) => image.isActive(b));
    if (isr.length === 0) {
      return apiError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${rf} time(s): All brokers are currently fenced or in controlled shutdown.`,
      );
    }
    records.push(newPartitionRecord(image, topic.id, current + i, replicas, isr));
  }
  out.push(...records);
  return NONE;
}

// ---------------------------------------------------------------------------------------------
// AlterConfigs / IncrementalAlterConfigs

/** `AlterConfigOp.OpType` ids. */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface AlterConfigsOptions {
  readonly validateOnly: boolean;
  /** Injected: null when `name=value` is a valid topic config, else the message. */
  validateConfig(name: string, value: string): string | null;
  /** Injected: null when `name=value` may be set dynamically on brokers, else the message. */
  validateBrokerConfig?(name: string, value: string): string | null;
  /** Whether a config is of LIST type (APPEND/SUBTRACT). Default: Kafka's list-typed topic configs. */
  isListConfig?(resourceType: number, name: string): boolean;
  /** The default value of a config, used when APPEND/SUBTRACT find no value set. */
  configDefault?(resourceType: number, name: string): string | null;
}

export interface AlterConfigsResource {
  readonly resourceType: number;
  /** Topic name; broker id, or "" for the cluster-wide broker defaults. */
  readonly resourceName: string;
  readonly configs: ReadonlyArray<{ readonly name: string; readonly value: string | null }>;
}

export interface IncrementalAlterConfigsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: ReadonlyArray<{ readonly name: string; readonly configOperation: number; readonly value: string | null }>;
}

export interface AlterConfigsResourceResult {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
}

const LIST_TOPIC_CONFIGS: ReadonlySet<string> = new Set([
  'cleanup.policy',
  'leader.replication.throttled.replicas',
  'follower.replication.throttled.replicas',
]);

function defaultIsListConfig(resourceType: number, name: string): boolean {
  return resourceType === ConfigResourceType.TOPIC && LIST_TOPIC_CONFIGS.has(name);
}

function defaultConfigDefault(resourceType: number, name: string): string | null {
  return resourceType === ConfigResourceType.TOPIC && name === 'cleanup.policy' ? 'delete' : null;
}

/** Checks the resource itself; null when it can be altered. */
function configResourceError(image: MetadataImage, type: number, name: string): ApiError | null {
  if (type === ConfigResourceType.TOPIC) {
    if (name === '') return apiError(ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.');
    const e = topicNameError(name);
    if (e !== null) return apiError(ErrorCode.INVALID_REQUEST, e);
    if (!image.topicsByName.has(name)) {
      return apiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    }
    return null;
  }
  if (type === ConfigResourceType.BROKER) {
    if (name === '') return null; // cluster-wide default
    if (!/^-?\d+$/.test(name)) {
      return apiError(ErrorCode.INVALID_REQUEST, 'Unable to parse broker name as a base 10 number.');
    }
    const id = Number(name);
    if (!image.brokers.has(id)) return apiError(ErrorCode.BROKER_ID_NOT_REGISTERED, `No node with id ${id} found.`);
    return null;
  }
  if (type === ConfigResourceType.BROKER_LOGGER) {
    return apiError(ErrorCode.INVALID_REQUEST, 'Unsupported configuration resource type BROKER_LOGGER ');
  }
  return apiError(ErrorCode.INVALID_REQUEST, `Unexpected resource type ${type}.`);
}

function validateValue(type: number, name: string, value: string, opts: AlterConfigsOptions): ApiError | null {
  if (name.length === 0) return apiError(ErrorCode.INVALID_CONFIG, 'Config names must be non-empty.');
  const message =
    type === ConfigResourceType.TOPIC ? opts.validateConfig(name, value) : (opts.validateBrokerConfig?.(name, value) ?? null);
  return message === null ? null : apiError(ErrorCode.INVALID_CONFIG, message);
}

function resourceKey(type: number, name: string): string {
  return `${type}:${name}`;
}

function duplicateResources(resources: ReadonlyArray<{ resourceType: number; resourceName: string }>): Set<string> {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const r of resources) {
    const k = resourceKey(r.resourceType, r.resourceName);
    if (seen.has(k)) dups.add(k);
    seen.add(k);
  }
  return dups;
}

/**
 * Legacy AlterConfigs: the given configs replace the resource's whole set (keys not given are
 * deleted; a null value deletes). Topic configs are written only when they change, broker
 * configs always (Kafka writes them so brokers reload).
 */
export function alterConfigs(
  image: MetadataImage,
  resources: readonly AlterConfigsResource[],
  opts: AlterConfigsOptions,
): ControllerResult<AlterConfigsResourceResult[]> {
  const dups = duplicateResources(resources);
  const records: ApiMessageAndVersion[] = [];
  const results: AlterConfigsResourceResult[] = [];
  const done = new Set<string>();
  for (const res of resources) {
    const key = resourceKey(res.resourceType, res.resourceName);
    if (done.has(key)) continue;
    done.add(key);
    const result = (e: ApiError): void => {
      results.push({ resourceType: res.resourceType, resourceName: res.resourceName, errorCode: e.code, errorMessage: e.message });
    };
    if (dups.has(key)) {
      result(apiError(ErrorCode.INVALID_REQUEST, 'Duplicate resource.'));
      continue;
    }
    const resourceError = configResourceError(image, res.resourceType, res.resourceName);
    if (resourceError !== null) {
      result(resourceError);
      continue;
    }
    const current = image.configs(res.resourceType, res.resourceName);
    const wanted = new Map<string, string | null>();
    for (const c of res.configs) wanted.set(c.name, c.value);
    const changes: ApiMessageAndVersion[] = [];
    let error: ApiError | null = null;
    for (const [name, value] of wanted) {
      if (value !== null) {
        error = validateValue(res.resourceType, name, value, opts);
        if (error !== null) break;
      } else if (name.length === 0) {
        error = apiError(ErrorCode.INVALID_CONFIG, 'Config names must be non-empty.');
        break;
      }
      if ((current.get(name) ?? null) !== value || res.resourceType === ConfigResourceType.BROKER) {
        changes.push(configRecord({ resourceType: res.resourceType, resourceName: res.resourceName, name, value }));
      }
    }
    if (error !== null) {
      result(error);
      continue;
    }
    for (const name of current.keys()) {
      if (!wanted.has(name)) {
        changes.push(configRecord({ resourceType: res.resourceType, resourceName: res.resourceName, name, value: null }));
      }
    }
    records.push(...changes);
    result(NONE);
  }
  return { records: opts.validateOnly ? [] : records, results };
}

const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];

/**
 * IncrementalAlterConfigs: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) on list configs.
 * All changes of one resource succeed or fail together.
 */
export function incrementalAlterConfigs(
  image: MetadataImage,
  resources: readonly IncrementalAlterConfigsResource[],
  opts: AlterConfigsOptions,
): ControllerResult<AlterConfigsResourceResult[]> {
  const isList = opts.isListConfig ?? defaultIsListConfig;
  const configDefault = opts.configDefault ?? defaultConfigDefault;
  const dups = duplicateResources(resources);
  const records: ApiMessageAndVersion[] = [];
  const results: AlterConfigsResourceResult[] = [];
  const done = new Set<string>();
  for (const res of resources) {
    const key = resourceKey(res.resourceType, res.resourceName);
    if (done.has(key)) continue;
    done.add(key);
    const result = (e: ApiError): void => {
      results.push({ resourceType: res.resourceType, resourceName: res.resourceName, errorCode: e.code, errorMessage: e.message });
    };
    if (dups.has(key)) {
      result(apiError(ErrorCode.INVALID_REQUEST, 'Duplicate resource.'));
      continue;
    }
    const names = res.configs.map((c) => c.name);
    if (new Set(names).size !== names.length) {
      result(apiError(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys'));
      continue;
    }
    const badOp = res.configs.find((c) => !(c.configOperation in OP_NAMES));
    if (badOp !== undefined) {
      result(apiError(ErrorCode.INVALID_REQUEST, `Unknown alter configs operation type ${badOp.configOperation}`));
      continue;
    }
    const nullUpdates = res.configs.filter((c) => c.configOperation !== AlterConfigOp.DELETE && c.value === null);
    if (nullUpdates.length > 0) {
      result(apiError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nullUpdates.map((c) => c.name).join(', ')}`));
      continue;
    }
    const resourceError = configResourceError(image, res.resourceType, res.resourceName);
    if (resourceError !== null) {
      result(resourceError);
      continue;
    }
    const current = image.configs(res.resourceType, res.resourceName);
    const changes: ApiMessageAndVersion[] = [];
    let error: ApiError | null = null;
    for (const c of res.configs) {
      const currentValue = current.get(c.name) ?? null;
      let newValue: string | null = null;
      switch (c.configOperation) {
        case AlterConfigOp.SET:
          newValue = c.value;
          break;
        case AlterConfigOp.DELETE:
          newValue = null;
          break;
        default: {
          if (!isList(res.resourceType, c.name)) {
            error = apiError(
              ErrorCode.INVALID_CONFIG,
              `Can't ${OP_NAMES[c.configOperation]} to key ${c.name} because its type is not LIST.`,
            );
            break;
          }
          const base = currentValue ?? configDefault(res.resourceType, c.name);
          const parts = base === null ? [] : base.split(',').filter((s) => s.length > 0);
          for (const v of c.value!.split(',')) {
            if (c.configOperation === AlterConfigOp.APPEND) {
              if (!parts.includes(v)) parts.push(v);
            } else {
              const i = parts.indexOf(v);
              if (i >= 0) parts.splice(i, 1);
            }
          }
          newValue = parts.join(',');
        }
      }
      if (error !== null) break;
      if (newValue !== null) error = validateValue(res.resourceType, c.name, newValue, opts);
      else if (c.name.length === 0) error = apiError(ErrorCode.INVALID_CONFIG, 'Config names must be non-empty.');
      if (error !== null) break;
      if (currentValue !== newValue || res.resourceType === ConfigResourceType.BROKER) {
        changes.push(
          configRecord({ resourceType: res.resourceType, resourceName: res.resourceName, name: c.name, value: newValue }),
        );
      }
    }
    if (error !== null) {
      result(error);
      continue;
    }
    records.push(...changes);
    result(NONE);
  }
  return { records: opts.validateOnly ? [] : records, results };
}

// ---------------------------------------------------------------------------------------------
// Brokers, features, producer ids

export interface BrokerRegistrationRequest {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly listeners: readonly BrokerEndpoint[];
  readonly rack: string | null;
  /** Supported feature ranges; when given, every finalized feature level must be in range. */
  readonly features?: ReadonlyArray<{ readonly name: string; readonly minSupportedVersion: number; readonly maxSupportedVersion: number }>;
  readonly logDirs?: readonly string[];
  /**
   * Whether the broker starts fenced. Kafka always registers fenced and unfences on heartbeat;
   * a quorum of one has no heartbeats yet, so the default here is false.
   */
  readonly fenced?: boolean;
}

export interface RegisterBrokerOptions {
  /** Whether the broker's current registration still has a live heartbeat session. Default: no. */
  hasLiveSession?(brokerId: number): boolean;
}

export interface BrokerRegistrationResult {
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
  /** The new broker epoch (the offset the registration record will have); -1 on error. */
  readonly brokerEpoch: number;
}

/**
 * BrokerRegistration: one RegisterBrokerRecord. The broker epoch is the next metadata offset
 * (`image.offset + 1`), as Kafka uses the record's offset; commit the record alone or first.
 */
export function registerBroker(
  image: MetadataImage,
  request: BrokerRegistrationRequest,
  opts: RegisterBrokerOptions = {},
): ControllerResult<BrokerRegistrationResult> {
  const fail = (e: ApiError): ControllerResult<BrokerRegistrationResult> => ({
    records: [],
    results: { errorCode: e.code, errorMessage: e.message, brokerEpoch: -1 },
  });
  const existing = image.broker(request.brokerId);
  if (
    existing !== undefined &&
    existing.incarnationId !== request.incarnationId &&
    (opts.hasLiveSession?.(request.brokerId) ?? false)
  ) {
    return fail(apiError(ErrorCode.DUPLICATE_BROKER_REGISTRATION, 'Another broker is registered with that broker id.'));
  }
  if (request.features !== undefined) {
    for (const [name, level] of image.features) {
      const range = request.features.find((f) => f.name === name);
      const min = range?.minSupportedVersion ?? 0;
      const max = range?.maxSupportedVersion ?? 0;
      if (level < min || level > max) {
        return fail(
          apiError(
            ErrorCode.UNSUPPORTED_VERSION,
            `Unable to register because the broker does not support finalized version ${level} of ${name}. ` +
              `The broker wants a version between ${min} and ${max}, inclusive.`,
          ),
        );
      }
    }
  }
  const brokerEpoch = image.offset + 1;
  const record = registerBrokerRecord({
    brokerId: request.brokerId,
    isMigratingZkBroker: false,
    incarnationId: request.incarnationId,
    brokerEpoch: BigInt(brokerEpoch),
    endPoints: request.listeners.map((l) => ({
      name: l.name,
      host: l.host,
      port: l.port,
      securityProtocol: l.securityProtocol,
    })),
    features: (request.features ?? []).map((f) => ({
      name: f.name,
      minSupportedVersion: f.minSupportedVersion,
      maxSupportedVersion: f.maxSupportedVersion,
    })),
    rack: request.rack,
    fenced: request.fenced ?? false,
    inControlledShutdown: false,
    logDirs: [...(request.logDirs ?? [])],
  });
  return { records: [record], results: { errorCode: ErrorCode.NONE, errorMessage: null, brokerEpoch } };
}

/** The records that start a new cluster's metadata log: the metadata.version feature level. */
export function bootstrapRecords(opts: { metadataVersion?: number } = {}): ApiMessageAndVersion[] {
  return [featureLevelRecord({ name: METADATA_VERSION_FEATURE, featureLevel: opts.metadataVersion ?? LATEST_METADATA_VERSION })];
}

export interface AllocateProducerIdsResult {
  readonly errorCode: ErrorCode;
  readonly errorMessage: string | null;
  readonly producerIdStart: number;
  readonly producerIdLen: number;
}

/** AllocateProducerIds: hands the broker the next block of 1000 ids (one ProducerIdsRecord). */
export function allocateProducerIds(
  image: MetadataImage,
  brokerId: number,
  brokerEpoch: number,
): ControllerResult<AllocateProducerIdsResult> {
  const fail = (e: ApiError): ControllerResult<AllocateProducerIdsResult> => ({
    records: [],
    results: { errorCode: e.code, errorMessage: e.message, producerIdStart: -1, producerIdLen: 0 },
  });
  const broker = image.broker(brokerId);
  if (broker === undefined) {
    return fail(apiError(ErrorCode.STALE_BROKER_EPOCH, `No broker registration found for broker ${brokerId}`));
  }
  if (broker.epoch !== brokerEpoch) {
    return fail(
      apiError(ErrorCode.STALE_BROKER_EPOCH, `Expected broker epoch ${broker.epoch}, but got broker epoch ${brokerEpoch}`),
    );
  }
  const start = image.nextProducerId;
  if (start > Number.MAX_SAFE_INTEGER - PRODUCER_ID_BLOCK_SIZE) {
    return fail(apiError(ErrorCode.UNKNOWN_SERVER_ERROR, 'Exhausted all producerIds as the next block would exceed the limit'));
  }
  const record = producerIdsRecord({
    brokerId,
    brokerEpoch: BigInt(brokerEpoch),
    nextProducerId: BigInt(start + PRODUCER_ID_BLOCK_SIZE),
  });
  return {
    records: [record],
    results: { errorCode: ErrorCode.NONE, errorMessage: null, producerIdStart: start, producerIdLen: PRODUCER_ID_BLOCK_SIZE },
  };
}
