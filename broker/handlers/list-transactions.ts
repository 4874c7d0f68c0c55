// ListTransactions (key 66): v0–v1
// Behaviour: the transactional ids of the `__transaction_state` partitions this broker leads,
// filtered by state names (unknown names are echoed in unknownStateFilters), producer ids and,
// v1, by running longer than durationFilter ms. COORDINATOR_LOAD_IN_PROGRESS while a partition
// loads.
// Not implemented: ACLs.
import { ApiKey } from '../../wire/generated/api.js';
import type { ListTransactionsRequest } from '../../wire/generated/messages/list-transactions-request.js';
import type { ListTransactionsResponse } from '../../wire/generated/messages/list-transactions-response.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

export const listTransactions = defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  apiKey: ApiKey.ListTransactions,
  name: 'ListTransactions',
  ...specVersions(ApiKey.ListTransactions),
  handle(ctx, req) {
    const r = ctx.services.txnCoordinator.coordinator.list(req.stateFilters, req.producerIdFilters.map(Number), Number(req.durationFilter ?? -1n));
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      unknownStateFilters: r.unknownStateFilters,
      transactionStates: r.transactions.map((t) => ({ transactionalId: t.transactionalId, producerId: BigInt(t.producerId), transactionState: t.transactionState })),
    };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] };
  },
});
