// AddPartitionsToTxn (key 24): v0–v5
// Behaviour: v0–v3: one transaction, its partitions join it (Empty/Complete* → Ongoing, stored
// in `__transaction_state` before the answer). v4+: a batch of transactions; one with
// verifyOnly (KIP-890, what brokers send before a transactional produce) is only checked: per
// partition NONE or INVALID_TXN_STATE when it is not in the open transaction. A partition of a
// topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION, and OPERATION_NOT_ATTEMPTED for the
// others of that transaction. Coordinator errors (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED,
// CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, ...) are given to every partition of the
// transaction; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
// Not implemented: ACLs (v4+ non-verifyOnly requires CLUSTER_ACTION in Kafka).
import { ApiKey } from '../../wire/generated/api.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnRequestAddPartitionsToTxnTopic } from '../../wire/generated/messages/add-partitions-to-txn-request.js';
import type { AddPartitionsToTxnResponse, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult } from '../../wire/generated/messages/add-partitions-to-txn-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { tpKey } from '../txn/txn-state.js';
import { fencedForVersion } from './txn-common.js';
import { specVersions } from './versions.js';

type TopicResult = AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult;

function results(topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], code: (topic: string, partition: number) => number): TopicResult[] {
  return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })) }));
}

async function one(
  ctx: RequestContext,
  txn: { transactionalId: string; producerId: bigint; producerEpoch: number; verifyOnly: boolean; topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[] },
): Promise<TopicResult[]> {
  const coordinator = ctx.services.txnCoordinator.coordinator;
  const image = ctx.services.image();
  const v = ctx.apiVersion;
  const missing = new Set<string>();
  const keys: string[] = [];
  for (const t of txn.topics) {
    const topic = image.topicByName(t.name);
    for (const p of t.partitions) {
      if (!topic || !topic.partitions.has(p)) missing.add(tpKey(t.name, p));
      keys.push(tpKey(t.name, p));
    }
  }
  if (missing.size > 0) {
    return results(txn.topics, (t, p) => (missing.has(tpKey(t, p)) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED));
  }
  const pid = Number(txn.producerId);
  if (txn.verifyOnly) {
    const r = coordinator.verify(txn.transactionalId, pid, txn.producerEpoch, keys);
    return results(txn.topics, (t, p) => (typeof r === 'number' ? r : (r.get(tpKey(t, p)) ?? ErrorCode.INVALID_TXN_STATE)));
  }
  const error = fencedForVersion(await coordinator.addPartitions(txn.transactionalId, pid, txn.producerEpoch, keys), v);
  return results(txn.topics, () => error);
}

export const addPartitionsToTxn = defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  apiKey: ApiKey.AddPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  ...specVersions(ApiKey.AddPartitionsToTxn),
  async handle(ctx, req) {
    if (ctx.apiVersion >= 4) {
      const txns = req.transactions ?? [];
      const resultsByTransaction = await Promise.all(
        txns.map(async (t) => ({ transactionalId: t.transactionalId, topicResults: await one(ctx, t) })),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
    }
    const resultsByTopicV3AndBelow = await one(ctx, {
      transactionalId: req.v3AndBelowTransactionalId ?? '',
      producerId: req.v3AndBelowProducerId ?? -1n,
      producerEpoch: req.v3AndBelowProducerEpoch ?? -1,
      verifyOnly: false,
      topics: req.v3AndBelowTopics ?? [],
    });
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow };
  },
  errorResponse(req, errorCode, version) {
    if (version >= 4) return { throttleTimeMs: 0, errorCode, resultsByTransaction: [] };
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results(req.v3AndBelowTopics ?? [], () => errorCode) };
  },
});
