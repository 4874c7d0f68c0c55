// DescribeTransactions (key 65): v0
// Behaviour: per transactional id its state, producer id and epoch, timeout, start time and the
// partitions of the open transaction (while markers are being written, only those still
// without one). Unknown id: TRANSACTIONAL_ID_NOT_FOUND; not this broker's: NOT_COORDINATOR;
// loading: COORDINATOR_LOAD_IN_PROGRESS.
// Not implemented: ACLs.
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeTransactionsRequest } from '../../wire/generated/messages/describe-transactions-request.js';
import type { DescribeTransactionsResponse } from '../../wire/generated/messages/describe-transactions-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const describeTransactions = defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  apiKey: ApiKey.DescribeTransactions,
  name: 'DescribeTransactions',
  ...specVersions(ApiKey.DescribeTransactions),
  handle(ctx, req) {
    const coordinator = ctx.services.txnCoordinator.coordinator;
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((id) => {
        const d = coordinator.describe(id);
        return {
          errorCode: d.errorCode,
          transactionalId: id,
          transactionState: d.transactionState,
          transactionTimeoutMs: d.transactionTimeoutMs,
          transactionStartTimeMs: BigInt(d.transactionStartTimeMs),
          producerId: BigInt(d.producerId),
          producerEpoch: d.producerEpoch,
          topics: d.topics.map((t) => ({ topic: t.topic, partitions: t.partitions })),
        };
      }),
    };
  },
  errorResponse(req, errorCode) {
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId) => ({
        errorCode,
        transactionalId,
        transactionState: '',
        transactionTimeoutMs: 0,
        transactionStartTimeMs: -1n,
        producerId: -1n,
        producerEpoch: -1,
        topics: [],
      })),
    };
  },
});
