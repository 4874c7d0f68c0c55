// Every API version the broker advertises is served: for each (API, version) in ApiVersions, a
// small valid request gets a response that decodes completely with that version's codec, on a
// connection that stays open. Nothing is advertised that is not served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SPECS, ApiKey, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { KafkaTestClient } from '../support/kafka-client.js';
import { waitFor } from '../support/util.js';

const TOPIC = 'served';
const GROUP = 'served-group';
/** A transactional id nobody initialized: transaction calls get INVALID_PRODUCER_ID_MAPPING. */
const TXN = 'served-unknown-txn';

/**
 * The top-level error a minimal request gets: NONE, except group calls that need a member
 * first (Kafka answers these the same way).
 */
function expectedError(apiKey: number, version: number): number {
  if (apiKey === ApiKey.JoinGroup && version === 4) return ErrorCode.MEMBER_ID_REQUIRED;
  if (apiKey === ApiKey.Heartbeat || apiKey === ApiKey.SyncGroup) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (apiKey === ApiKey.LeaveGroup && version < 3) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (apiKey === ApiKey.AddOffsetsToTxn || apiKey === ApiKey.EndTxn) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  return ErrorCode.NONE;
}

/** A minimal valid request per API key; fields a version lacks are ignored by the encoder. */
function minimalRequest(apiKey: number, version: number, seq: number): unknown {
  const batch = () => encodeRecordBatch({ records: [{ key: `k${seq}`, value: `v${version}` }] });
  const bodies: Partial<{ [K in keyof ApiRequests]: ApiRequests[K] }> = {
    [ApiKey.Produce]: { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch() }] }] },
    [ApiKey.Fetch]: {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [], forgottenTopicsData: [], rackId: '',
    },
    [ApiKey.ListOffsets]: { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] },
    [ApiKey.Metadata]: { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: TOPIC }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false },
    [ApiKey.ApiVersions]: { clientSoftwareName: 'test', clientSoftwareVersion: '1.0' },
    [ApiKey.CreateTopics]: { topics: [{ name: `created-v${version}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false },
    [ApiKey.DeleteTopics]: { topics: [{ name: `missing-v${version}`, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], topicNames: [`missing-v${version}`], timeoutMs: 5000 },
    [ApiKey.DeleteRecords]: { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 5000 },
    [ApiKey.DescribeConfigs]: { resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }], includeSynonyms: true, includeDocumentation: false },
    [ApiKey.AlterConfigs]: { resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: 'retention.ms', value: '86400000' }] }], validateOnly: true },
    [ApiKey.DescribeLogDirs]: { topics: null },
    [ApiKey.CreatePartitions]: { topics: [{ name: TOPIC, count: 1, assignments: null }], timeoutMs: 5000, validateOnly: true },
    [ApiKey.IncrementalAlterConfigs]: { resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: 'retention.ms', configOperation: 0, value: '86400000' }] }], validateOnly: true },
    [ApiKey.DescribeCluster]: { includeClusterAuthorizedOperations: false, endpointType: 1 },
    [ApiKey.OffsetCommit]: {
      groupId: GROUP, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: BigInt(version), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
    },
    [ApiKey.OffsetFetch]: {
      groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }], requireStable: false,
      groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0] }] }],
    },
    [ApiKey.FindCoordinator]: { key: GROUP, keyType: 0, coordinatorKeys: [GROUP] },
    // A new group per version; static members (v5+) join without the MEMBER_ID_REQUIRED round trip.
    [ApiKey.JoinGroup]: {
      groupId: `served-join-v${version}`, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '',
      groupInstanceId: version >= 5 ? 'instance' : null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
    },
    [ApiKey.Heartbeat]: { groupId: GROUP, generationId: -1, memberId: 'nobody', groupInstanceId: null },
    [ApiKey.LeaveGroup]: { groupId: GROUP, memberId: 'nobody', members: [{ memberId: 'nobody', groupInstanceId: null, reason: null }] },
    [ApiKey.SyncGroup]: { groupId: GROUP, generationId: -1, memberId: 'nobody', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] },
    [ApiKey.DescribeGroups]: { groups: [GROUP], includeAuthorizedOperations: false },
    [ApiKey.ListGroups]: { statesFilter: [], typesFilter: [] },
    [ApiKey.DeleteGroups]: { groupsNames: [`missing-v${version}`] },
    [ApiKey.OffsetDelete]: { groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] },
    [ApiKey.InitProducerId]: { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
    // v0–v3 one transaction; v4+ the batched form, here a verifyOnly check.
    [ApiKey.AddPartitionsToTxn]: {
      v3AndBelowTransactionalId: TXN, v3AndBelowProducerId: 0n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
      transactions: [{ transactionalId: TXN, producerId: 0n, producerEpoch: 0, verifyOnly: true, topics: [{ name: TOPIC, partitions: [0] }] }],
    },
    [ApiKey.AddOffsetsToTxn]: { transactionalId: TXN, producerId: 0n, producerEpoch: 0, groupId: GROUP },
    [ApiKey.EndTxn]: { transactionalId: TXN, producerId: 0n, producerEpoch: 0, committed: false },
    [ApiKey.WriteTxnMarkers]: { markers: [] },
    [ApiKey.TxnOffsetCommit]: {
      transactionalId: TXN, groupId: GROUP, producerId: 0n, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    },
    [ApiKey.DescribeTransactions]: { transactionalIds: [TXN] },
    [ApiKey.OffsetForLeaderEpoch]: { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] },
    // The one broker leads, and is the preferred replica: ELECTION_NOT_NEEDED per partition, top-level NONE.
    [ApiKey.ElectLeaders]: { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 5000 },
    // Cancel with no reassignment in progress: NO_REASSIGNMENT_IN_PROGRESS for the partition, top-level NONE.
    [ApiKey.AlterPartitionReassignments]: { timeoutMs: 5000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: null }] }] },
    [ApiKey.ListPartitionReassignments]: { timeoutMs: 5000, topics: null },
    [ApiKey.ListTransactions]: { stateFilters: [], producerIdFilters: [], durationFilter: -1n },
    [ApiKey.DescribeClientQuotas]: { components: [{ entityType: 'client-id', matchType: 2, match: null }], strict: false },
    // validateOnly: nothing is committed.
    [ApiKey.AlterClientQuotas]: { entries: [{ entity: [{ entityType: 'client-id', entityName: `served-v${version}` }], ops: [{ key: 'producer_byte_rate', value: 1_000_000, remove: false }] }], validateOnly: true },
  };
  const body = bodies[apiKey as keyof ApiRequests];
  if (body === undefined) throw new Error(`no minimal request for API ${API_SPECS[apiKey]?.name ?? apiKey}: add one to this test`);
  return body;
}

describe('every advertised version is served', () => {
  let broker: BrokerHandle;
  let client: KafkaTestClient;

  beforeAll(async () => {
    // No initial rebalance delay: each JoinGroup completes at once.
    broker = await startBroker({ env: { KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } });
    client = await KafkaTestClient.connect(broker.port);
    // The group coordinator's topic exists before OffsetCommit/OffsetFetch (keys 8, 9) are tried.
    const fc = await client.send(ApiKey.FindCoordinator, 3, { key: GROUP, keyType: 0 });
    expect(fc.errorCode).toBe(ErrorCode.NONE);
    // So is the transaction coordinator's, loaded (transaction calls get their protocol errors).
    const tc = await client.send(ApiKey.FindCoordinator, 3, { key: TXN, keyType: 1 });
    expect(tc.errorCode).toBe(ErrorCode.NONE);
    await waitFor('the transaction coordinator to load', async () => {
      const d = await client.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN] });
      const l = await client.send(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] });
      return d.transactionStates[0]!.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND && l.errorCode === ErrorCode.NONE;
    });
    const r = await client.send(ApiKey.CreateTopics, 7, {
      topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  afterAll(async () => {
    client?.close();
    await broker?.stop();
  });

  it('answers each (API, version) it advertises with a response that decodes exactly', async () => {
    const av = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1.0' });
    expect(av.errorCode).toBe(ErrorCode.NONE);
    expect(av.apiKeys.length).toBeGreaterThan(10);
    let served = 0;
    let seq = 0;
    for (const range of av.apiKeys) {
      const spec = API_SPECS[range.apiKey];
      expect(spec, `advertised API key ${range.apiKey} has a spec`).toBeDefined();
      // Advertised ranges are Kafka 3.9's full ranges.
      expect([range.minVersion, range.maxVersion]).toEqual([spec!.minVersion, spec!.maxVersion]);
      for (let v = range.minVersion; v <= range.maxVersion; v++) {
        const body = minimalRequest(range.apiKey, v, seq++) as never;
        const res = (await client.send(range.apiKey as keyof ApiRequests, v, body)) as Record<string, unknown>;
        expect(res, `${spec!.name} v${v}`).toBeTypeOf('object');
        if ('errorCode' in res && typeof res.errorCode === 'number') {
          expect(res.errorCode, `${spec!.name} v${v} top-level error`).toBe(expectedError(range.apiKey, v));
        }
        if (range.apiKey === ApiKey.AlterPartitionReassignments) {
          const p = (res as unknown as ApiResponses[ApiKey.AlterPartitionReassignments]).responses[0]!.partitions[0]!;
          expect(p.errorCode, `${spec!.name} v${v} partition error`).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
        }
        if (range.apiKey === ApiKey.OffsetForLeaderEpoch) {
          // No top-level error code: the partition's answer is checked instead.
          const p = (res as unknown as ApiResponses[ApiKey.OffsetForLeaderEpoch]).topics[0]!.partitions[0]!;
          expect(p.errorCode, `${spec!.name} v${v} partition error`).toBe(ErrorCode.NONE);
        }
        served++;
      }
    }
    expect(client.conn.closed).toBe(false);
    expect(served).toBeGreaterThan(50);
  });
});
