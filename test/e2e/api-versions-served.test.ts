// Every API version the broker advertises is served: for each (API, version) in ApiVersions, a
// small valid request gets a response that decodes completely with that version's codec, on a
// connection that stays open. Nothing is advertised that is not served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SPECS, ApiKey, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { KafkaTestClient } from '../support/kafka-client.js';
import { waitFor } from '../support/util.js';
import { expectedError, minimalRequest, type RequestNames } from '../support/minimal-requests.js';

const TOPIC = 'served';
const GROUP = 'served-group';
/** A transactional id nobody initialized: transaction calls get INVALID_PRODUCER_ID_MAPPING. */
const TXN = 'served-unknown-txn';
const NAMES: RequestNames = { topic: TOPIC, group: GROUP, txn: TXN };

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
        const body = minimalRequest(range.apiKey, v, seq++, NAMES) as never;
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
