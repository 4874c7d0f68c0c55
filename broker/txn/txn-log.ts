// The internal topic `__transaction_state`: which partition holds a transactional id, the record
// layout, and reading a partition back at load time.
//
// Record layout (Kafka's TransactionLog, through the generated coordinator codecs):
//   key    TransactionLogKey v0 {transactionalId}                      (int16 version 0 + body)
//   value  TransactionLogValue v0 {producerId, producerEpoch, transactionTimeoutMs,
//          transactionStatus (TXN_STATE_IDS), transactionPartitions [{topic, [partition]}] (null
//          when Empty), transactionLastUpdateTimestampMs, transactionStartTimestampMs}
//          (v0, the non-flexible version Kafka 3.9 writes while transaction.version is 0)
//   a null value is a tombstone: the transactional id expired.
// The last record of a key is its state. Batches are uncompressed, written with acks=-1.
import {
  coordinatorRecordSpec,
  decodeCoordinatorKey,
  decodeCoordinatorValue,
  encodeCoordinatorKey,
  encodeCoordinatorValue,
} from '../../wire/generated/coordinator/index.js';
import type { TransactionLogKey } from '../../wire/generated/coordinator/transaction-log-key.js';
import type { TransactionLogValue } from '../../wire/generated/coordinator/transaction-log-value.js';
import { DecodeError } from '../../wire/primitives.js';
import { decodeRecordBatch, encodeRecordBatch, isControl } from '../../wire/record-batch.js';
import { TRANSACTION_STATE_TOPIC } from '../coordinator/internal-topics.js';
import { scanLog, type ReadableLog } from '../coordinator/log-scan.js';
import { groupByTopic, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, tpKey, TXN_STATE_IDS, txnStateFromId, type TxnMetadata } from './txn-state.js';

export { TRANSACTION_STATE_TOPIC };

const TXN_LOG = coordinatorRecordSpec(TRANSACTION_STATE_TOPIC, 0)!;
const KEY_VERSION = 0;
const VALUE_VERSION = 0;

/** One record of `__transaction_state`: the metadata of a transactional id, or null (tombstone). */
export interface TxnLogRecord {
  readonly transactionalId: string;
  readonly value: TxnMetadata | null;
}

export function encodeTxnLogRecord(rec: TxnLogRecord): { key: Buffer; value: Buffer | null } {
  const key = encodeCoordinatorKey(TXN_LOG, KEY_VERSION, { transactionalId: rec.transactionalId } satisfies TransactionLogKey);
  const m = rec.value;
  if (m === null) return { key, value: null };
  if (m.state === 'Empty' && m.partitions.size > 0) throw new Error(`transactional id ${m.transactionalId}: Empty with partitions`);
  const value: TransactionLogValue = {
    producerId: BigInt(m.producerId),
    producerEpoch: m.producerEpoch,
    transactionTimeoutMs: m.txnTimeoutMs,
    transactionStatus: TXN_STATE_IDS[m.state],
    transactionPartitions: m.state === 'Empty' ? null : groupByTopic(m.partitions).map((t) => ({ topic: t.topic, partitionIds: t.partitions })),
    transactionLastUpdateTimestampMs: BigInt(m.txnLastUpdateTimestamp),
    transactionStartTimestampMs: BigInt(m.txnStartTimestamp),
  };
  return { key, value: encodeCoordinatorValue(TXN_LOG, VALUE_VERSION, value) };
}

/** Reads one record; throws DecodeError on malformed bytes or an unknown state id. */
export function decodeTxnLogRecord(key: Buffer, value: Buffer | null): TxnLogRecord {
  const k = decodeCoordinatorKey(TRANSACTION_STATE_TOPIC, key);
  const transactionalId = (k.key as TransactionLogKey).transactionalId;
  if (value === null) return { transactionalId, value: null };
  const v = decodeCoordinatorValue(k.spec, value).value as TransactionLogValue;
  const state = txnStateFromId(v.transactionStatus);
  if (state === undefined) throw new DecodeError(`unknown transaction state id ${v.transactionStatus}`);
  const partitions = new Set<string>();
  if (state !== 'Empty') for (const t of v.transactionPartitions ?? []) for (const p of t.partitionIds) partitions.add(tpKey(t.topic, p));
  return {
    transactionalId,
    value: {
      transactionalId,
      producerId: Number(v.producerId),
      lastProducerId: NO_PRODUCER_ID,
      producerEpoch: v.producerEpoch,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      txnTimeoutMs: v.transactionTimeoutMs,
      state,
      partitions,
      txnStartTimestamp: Number(v.transactionStartTimestampMs),
      txnLastUpdateTimestamp: Number(v.transactionLastUpdateTimestampMs),
    },
  };
}

/** One uncompressed batch holding `records` in order. */
export function encodeTxnLogBatch(records: readonly TxnLogRecord[], nowMs: number): Buffer {
  return encodeRecordBatch({
    baseTimestamp: nowMs,
    records: records.map((r) => ({ ...encodeTxnLogRecord(r), timestamp: nowMs })),
  });
}

/**
 * Replays a partition's records in log order from its start up to `endOffset` (exclusive).
 * Undecodable records are reported and skipped; `onRecord` may throw to abort.
 */
export async function readTxnPartition(
  log: ReadableLog,
  endOffset: number,
  onRecord: (rec: TxnLogRecord) => void,
  opts: { maxBytes?: number; onUndecodable?: (offset: number, err: unknown) => void } = {},
): Promise<{ records: number; batches: number }> {
  let records = 0;
  const batches = await scanLog(
    log,
    endOffset,
    opts.maxBytes ?? 5 * 1024 * 1024,
    (buf, pos, header, fromOffset) => {
      if (isControl(header.attributes)) return;
      for (const rec of decodeRecordBatch(buf, pos, { verifyCrc: false }).records) {
        if (rec.offset < fromOffset || rec.key === null) continue;
        let decoded: TxnLogRecord;
        try {
          decoded = decodeTxnLogRecord(rec.key, rec.value);
        } catch (err) {
          opts.onUndecodable?.(rec.offset, err);
          continue;
        }
        onRecord(decoded);
        records++;
      }
    },
    TRANSACTION_STATE_TOPIC,
  );
  return { records, batches };
}
