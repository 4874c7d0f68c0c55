// A small valid request body for every API key the broker serves, for tests that go through
// every advertised (API, version): test/e2e/api-versions-served.test.ts sends them as they are,
// test/e2e/fuzz-live.test.ts mutates their encodings.
import { API_SPECS, ApiKey, type ApiRequests } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';

/** The names the requests use: an existing topic, a group, a transactional id nobody initialized. */
export interface RequestNames {
  readonly topic: string;
  readonly group: string;
  /** Transaction calls with it get INVALID_PRODUCER_ID_MAPPING. */
  readonly txn: string;
}

/**
 * The top-level error a minimal request gets: NONE, except group calls that need a member
 * first (Kafka answers these the same way).
 */
export function expectedError(apiKey: number, version: number): number {
  if (apiKey === ApiKey.JoinGroup && version === 4) return ErrorCode.MEMBER_ID_REQUIRED;
  if (apiKey === ApiKey.Heartbeat || apiKey === ApiKey.SyncGroup) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (apiKey === ApiKey.LeaveGroup && version < 3) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (apiKey === ApiKey.AddOffsetsToTxn || apiKey === ApiKey.EndTxn) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  return ErrorCode.NONE;
}

/** A minimal valid request per API key; fields a version lacks are ignored by the encoder. */
export function minimalRequest(apiKey: number, version: number, seq: number, n: RequestNames): unknown {
  const batch = () => encodeRecordBatch({ records: [{ key: `k${seq}`, value: `v${version}` }] });
  const bodies: Partial<{ [K in keyof ApiRequests]: ApiRequests[K] }> = {
    [ApiKey.Produce]: { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: n.topic, partitionData: [{ index: 0, records: batch() }] }] },
    [ApiKey.Fetch]: {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [], forgottenTopicsData: [], rackId: '',
    },
    [ApiKey.ListOffsets]: { replicaId: -1, isolationLevel: 0, topics: [{ name: n.topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] },
    [ApiKey.Metadata]: { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: n.topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false },
    [ApiKey.ApiVersions]: { clientSoftwareName: 'test', clientSoftwareVersion: '1.0' },
    [ApiKey.CreateTopics]: { topics: [{ name: `created-v${version}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false },
    [ApiKey.DeleteTopics]: { topics: [{ name: `missing-v${version}`, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], topicNames: [`missing-v${version}`], timeoutMs: 5000 },
    [ApiKey.DeleteRecords]: { topics: [{ name: n.topic, partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 5000 },
    [ApiKey.DescribeConfigs]: { resources: [{ resourceType: 2, resourceName: n.topic, configurationKeys: null }], includeSynonyms: true, includeDocumentation: false },
    [ApiKey.AlterConfigs]: { resources: [{ resourceType: 2, resourceName: n.topic, configs: [{ name: 'retention.ms', value: '86400000' }] }], validateOnly: true },
    [ApiKey.DescribeLogDirs]: { topics: null },
    [ApiKey.CreatePartitions]: { topics: [{ name: n.topic, count: 1, assignments: null }], timeoutMs: 5000, validateOnly: true },
    [ApiKey.IncrementalAlterConfigs]: { resources: [{ resourceType: 2, resourceName: n.topic, configs: [{ name: 'retention.ms', configOperation: 0, value: '86400000' }] }], validateOnly: true },
    [ApiKey.DescribeCluster]: { includeClusterAuthorizedOperations: false, endpointType: 1 },
    [ApiKey.OffsetCommit]: {
      groupId: n.group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
      topics: [{ name: n.topic, partitions: [{ partitionIndex: 0, committedOffset: BigInt(version), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
    },
    [ApiKey.OffsetFetch]: {
      groupId: n.group, topics: [{ name: n.topic, partitionIndexes: [0] }], requireStable: false,
      groups: [{ groupId: n.group, memberId: null, memberEpoch: -1, topics: [{ name: n.topic, partitionIndexes: [0] }] }],
    },
    [ApiKey.FindCoordinator]: { key: n.group, keyType: 0, coordinatorKeys: [n.group] },
    // A new group per version; static members (v5+) join without the MEMBER_ID_REQUIRED round trip.
    [ApiKey.JoinGroup]: {
      groupId: `served-join-v${version}`, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '',
      groupInstanceId: version >= 5 ? 'instance' : null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
    },
    [ApiKey.Heartbeat]: { groupId: n.group, generationId: -1, memberId: 'nobody', groupInstanceId: null },
    [ApiKey.LeaveGroup]: { groupId: n.group, memberId: 'nobody', members: [{ memberId: 'nobody', groupInstanceId: null, reason: null }] },
    [ApiKey.SyncGroup]: { groupId: n.group, generationId: -1, memberId: 'nobody', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] },
    [ApiKey.DescribeGroups]: { groups: [n.group], includeAuthorizedOperations: false },
    [ApiKey.ListGroups]: { statesFilter: [], typesFilter: [] },
    [ApiKey.DeleteGroups]: { groupsNames: [`missing-v${version}`] },
    [ApiKey.OffsetDelete]: { groupId: n.group, topics: [{ name: n.topic, partitions: [{ partitionIndex: 0 }] }] },
    [ApiKey.InitProducerId]: { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
    // v0–v3 one transaction; v4+ the batched form, here a verifyOnly check.
    [ApiKey.AddPartitionsToTxn]: {
      v3AndBelowTransactionalId: n.txn, v3AndBelowProducerId: 0n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: n.topic, partitions: [0] }],
      transactions: [{ transactionalId: n.txn, producerId: 0n, producerEpoch: 0, verifyOnly: true, topics: [{ name: n.topic, partitions: [0] }] }],
    },
    [ApiKey.AddOffsetsToTxn]: { transactionalId: n.txn, producerId: 0n, producerEpoch: 0, groupId: n.group },
    [ApiKey.EndTxn]: { transactionalId: n.txn, producerId: 0n, producerEpoch: 0, committed: false },
    [ApiKey.WriteTxnMarkers]: { markers: [] },
    [ApiKey.TxnOffsetCommit]: {
      transactionalId: n.txn, groupId: n.group, producerId: 0n, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: n.topic, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    },
    [ApiKey.DescribeTransactions]: { transactionalIds: [n.txn] },
    [ApiKey.OffsetForLeaderEpoch]: { replicaId: -1, topics: [{ topic: n.topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] },
    // The one broker leads, and is the preferred replica: ELECTION_NOT_NEEDED per partition, top-level NONE.
    [ApiKey.ElectLeaders]: { electionType: 0, topicPartitions: [{ topic: n.topic, partitions: [0] }], timeoutMs: 5000 },
    // Cancel with no reassignment in progress: NO_REASSIGNMENT_IN_PROGRESS for the partition, top-level NONE.
    [ApiKey.AlterPartitionReassignments]: { timeoutMs: 5000, topics: [{ name: n.topic, partitions: [{ partitionIndex: 0, replicas: null }] }] },
    [ApiKey.ListPartitionReassignments]: { timeoutMs: 5000, topics: null },
    [ApiKey.ListTransactions]: { stateFilters: [], producerIdFilters: [], durationFilter: -1n },
    [ApiKey.DescribeClientQuotas]: { components: [{ entityType: 'client-id', matchType: 2, match: null }], strict: false },
    // validateOnly: nothing is committed.
    [ApiKey.AlterClientQuotas]: { entries: [{ entity: [{ entityType: 'client-id', entityName: `served-v${version}` }], ops: [{ key: 'producer_byte_rate', value: 1_000_000, remove: false }] }], validateOnly: true },
  };
  const body = bodies[apiKey as keyof ApiRequests];
  if (body === undefined) throw new Error(`no minimal request for API ${API_SPECS[apiKey]?.name ?? apiKey}: add one to test/support/minimal-requests.ts`);
  return body;
}
