// Typed failures of the storage layer. Everything else thrown from log/ is a caller bug.

/** An I/O error took the log offline; the broker answers KAFKA_STORAGE_ERROR for it. */
export class KafkaStorageError extends Error {
  override readonly name = 'KafkaStorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A batch larger than max.message.bytes, or an append larger than segment.bytes (MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE). */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  constructor(message: string, readonly kind: 'batch' | 'append') {
    super(message);
  }
}

/** A follower append whose first offset is below the log end offset (Kafka's UnexpectedAppendOffsetException). */
export class UnexpectedAppendOffsetError extends Error {
  override readonly name = 'UnexpectedAppendOffsetError';
  constructor(message: string, readonly firstOffset: number, readonly logEndOffset: number) {
    super(message);
  }
}

/**
 * A leader append refused by the producer-state checks (OUT_OF_ORDER_SEQUENCE_NUMBER,
 * INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, TRANSACTION_COORDINATOR_FENCED, INVALID_RECORD).
 * `appendAsLeader` reports these as `{ kind: 'error' }`; its `written` promise rejects with this
 * so a caller that ignores `kind` cannot mistake the refusal for a write.
 */
export class ProducerAppendError extends Error {
  override readonly name = 'ProducerAppendError';
  constructor(message: string, readonly errorCode: number) {
    super(message);
  }
}
