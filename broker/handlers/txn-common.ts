// Helpers the transaction handlers share.
import { ErrorCode } from '../../wire/errors.js';

/**
 * Clients of older versions do not know PRODUCER_FENCED: Kafka answers them
 * INVALID_PRODUCER_EPOCH instead (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit
 * before v2; InitProducerId before v4).
 */
export function fencedForVersion(errorCode: number, version: number, firstVersionWithFenced = 2): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}
