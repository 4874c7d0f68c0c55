// EndTxn (key 26): v0–v4
// Behaviour: commit or abort the open transaction: PrepareCommit/PrepareAbort is stored in
// `__transaction_state` and answered; the markers are then written to every partition of the
// transaction (WriteTxnMarkers) and CompleteCommit/CompleteAbort stored. A retry of a finished
// EndTxn answers NONE; one still finishing CONCURRENT_TRANSACTIONS; commit after abort (or the
// reverse), or EndTxn without a transaction: INVALID_TXN_STATE; unknown transactional id or
// another producer id: INVALID_PRODUCER_ID_MAPPING; another epoch: PRODUCER_FENCED
// (INVALID_PRODUCER_EPOCH before v2).
// Not implemented: ACLs; KIP-890 part 2 (EndTxn v5, epoch bump per transaction).
import { ApiKey } from '../../wire/generated/api.js';
import type { EndTxnRequest } from '../../wire/generated/messages/end-txn-request.js';
import type { EndTxnResponse } from '../../wire/generated/messages/end-txn-response.js';
import { defineHandler } from '../handler.js';
import { fencedForVersion } from './txn-common.js';
import { specVersions } from './versions.js';

export const endTxn = defineHandler<EndTxnRequest, EndTxnResponse>({
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  ...specVersions(ApiKey.EndTxn),
  async handle(ctx, req) {
    const error = await ctx.services.txnCoordinator.coordinator.endTxn(req.transactionalId, Number(req.producerId), req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencedForVersion(error, ctx.apiVersion) };
  },
  errorResponse(_req, errorCode) {
    return { throttleTimeMs: 0, errorCode };
  },
});
