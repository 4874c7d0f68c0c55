// Helpers of the transaction and idempotence end-to-end tests (test/e2e/txn-*.test.ts,
// test/e2e/idempotent-*.test.ts): raw requests over KafkaTestClient (the generated codecs) and
// reads at either isolation level.
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { decodeControlRecord, decodeRecordBatch, encodeRecordBatch, isControl, LOG_OVERHEAD, batchSize, type RecordInput } from '../../wire/record-batch.js';
import type { KafkaTestClient } from '../support/kafka-client.js';
import { kcatConsume, type KcatRecord } from '../support/kcat.js';
import { waitFor } from '../support/util.js';
import { recordsBuffer } from '../../wire/primitives.js';

export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

/** Every record kcat (librdkafka) reads at an isolation level, from the beginning to the end. */
export function kcatRead(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<KcatRecord[]> {
  return kcatConsume(bootstrap, topic, { props: { 'isolation.level': isolation } });
}

export function values(records: ReadonlyArray<{ value: Buffer | null }>): string[] {
  return records.map((r) => r.value?.toString('utf8') ?? '<null>');
}

export interface FetchedBatch {
  baseOffset: number;
  lastOffset: number;
  producerId: number;
  control: boolean;
  /** COMMIT / ABORT for a control batch. */
  marker: 'COMMIT' | 'ABORT' | null;
  values: string[];
}

/** Decodes a fetched records section into its batches. */
export function decodeBatches(buf: Buffer | null): FetchedBatch[] {
  const out: FetchedBatch[] = [];
  if (!buf) return out;
  let pos = 0;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = batchSize(buf, pos);
    if (pos + size > buf.length) break;
    const b = decodeRecordBatch(buf, pos);
    const control = isControl(b.header.attributes);
    let marker: FetchedBatch['marker'] = null;
    if (control && b.records[0]) {
      const c = decodeControlRecord(b.records[0].key, b.records[0].value);
      marker = c.type === 1 ? 'COMMIT' : c.type === 0 ? 'ABORT' : null;
    }
    out.push({
      baseOffset: b.header.baseOffset,
      lastOffset: b.header.baseOffset + b.header.lastOffsetDelta,
      producerId: b.header.producerId,
      control,
      marker,
      values: control ? [] : b.records.map((r) => r.value?.toString('utf8') ?? '<null>'),
    });
    pos += size;
  }
  return out;
}

export interface FetchResult {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  abortedTransactions: Array<{ producerId: number; firstOffset: number }> | null;
  batches: FetchedBatch[];
}

/** Fetch v11 of one partition at an isolation level. */
export async function fetchPartition(
  c: KafkaTestClient,
  topic: string,
  partition: number,
  offset: number,
  isolationLevel: number,
  opts: { maxWaitMs?: number; minBytes?: number } = {},
): Promise<FetchResult> {
  const maxWaitMs = opts.maxWaitMs ?? 0;
  const res = await c.send(
    ApiKey.Fetch,
    11,
    {
      replicaId: -1,
      maxWaitMs,
      minBytes: opts.minBytes ?? 0,
      maxBytes: 1 << 20,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    maxWaitMs + 10_000,
  );
  const p = res.responses[0]!.partitions[0]!;
  return {
    errorCode: p.errorCode,
    highWatermark: Number(p.highWatermark),
    lastStableOffset: Number(p.lastStableOffset),
    abortedTransactions: p.abortedTransactions == null ? null : p.abortedTransactions.map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) })),
    batches: decodeBatches(recordsBuffer(p.records)),
  };
}

/** ListOffsets v5 latest at an isolation level. */
export async function latestOffset(c: KafkaTestClient, topic: string, partition: number, isolationLevel: number): Promise<number> {
  const r = await c.send(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  const p = r.topics[0]!.partitions[0]!;
  if (p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets error ${p.errorCode}`);
  return Number(p.offset);
}

/** Produce v9 of one batch to one partition; the partition's answer. */
export async function produceBatch(
  c: KafkaTestClient,
  topic: string,
  partition: number,
  records: Buffer,
  transactionalId: string | null = null,
  version = 9,
): Promise<{ errorCode: number; baseOffset: number }> {
  const r = await c.send(ApiKey.Produce, version, {
    transactionalId,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  const p = r.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

/** A batch of an idempotent or transactional producer. */
export function producerBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[], transactional = false): Buffer {
  const records: RecordInput[] = values.map((v) => ({ value: v }));
  return encodeRecordBatch({ producerId, producerEpoch, baseSequence, isTransactional: transactional, records });
}

/** FindCoordinator for a transactional id (creates `__transaction_state`), then waits for it to load. */
export async function awaitTxnCoordinator(c: KafkaTestClient, transactionalId: string): Promise<void> {
  const fc = await c.send(ApiKey.FindCoordinator, 3, { key: transactionalId, keyType: 1 });
  if (fc.errorCode !== ErrorCode.NONE) throw new Error(`FindCoordinator: ${fc.errorCode}`);
  await waitFor('the transaction coordinator to load', async () => {
    const d = await c.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] });
    const e = d.transactionStates[0]!.errorCode;
    return e === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND || e === ErrorCode.NONE;
  });
}

/** InitProducerId v4, retried while the coordinator answers a retriable error. */
export async function initProducer(c: KafkaTestClient, transactionalId: string | null, timeoutMs = 60_000): Promise<{ producerId: number; producerEpoch: number }> {
  return waitFor(`InitProducerId(${transactionalId})`, async () => {
    const r = await c.send(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
    if (r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS || r.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return undefined;
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`InitProducerId error ${r.errorCode}`);
    return { producerId: Number(r.producerId), producerEpoch: r.producerEpoch };
  });
}

/** AddPartitionsToTxn v3; the error of the first partition. */
export async function addPartitions(c: KafkaTestClient, transactionalId: string, producerId: number, producerEpoch: number, topic: string, partitions: number[], version = 3): Promise<number> {
  const r = await c.send(ApiKey.AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: BigInt(producerId),
    v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
  });
  return r.resultsByTopicV3AndBelow![0]!.resultsByPartition[0]!.partitionErrorCode;
}

/** EndTxn v3. */
export async function endTxn(c: KafkaTestClient, transactionalId: string, producerId: number, producerEpoch: number, committed: boolean): Promise<number> {
  const r = await c.send(ApiKey.EndTxn, 3, { transactionalId, producerId: BigInt(producerId), producerEpoch, committed });
  return r.errorCode;
}

/** DescribeTransactions of one id. */
export async function describeTxn(c: KafkaTestClient, transactionalId: string) {
  const r = await c.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] });
  return r.transactionStates[0]!;
}
