// The state of one transactional id, as Kafka's transaction coordinator keeps it
// (TransactionMetadata / TransactionState / TxnTransitMetadata in kafka.coordinator.transaction,
// 3.9), and the coordinator's decisions as pure functions.
//
// PURE: no clock, no I/O, no randomness. Time comes in as `nowMs` arguments, new producer ids as
// arguments. A decision never changes a TxnMetadata (values are immutable): it returns the
// metadata to write to `__transaction_state` (a "transit"), or a Kafka error. The coordinator
// applies a transit only once its record is stored (`completeTransition`, used by its replay).
//
// States and the only legal moves (VALID_PREVIOUS_STATES, Kafka's validPreviousStates):
//
//            InitProducerId                     AddPartitions/AddOffsets
//   Empty ─────────────────▶ Empty ────────────────────────────────▶ Ongoing ◀──┐ (more partitions)
//     ▲                        ▲                                        │  └──────┘
//     │ InitProducerId         │ InitProducerId            EndTxn commit │ EndTxn abort
//     │                        │                          ▼             ▼
//   CompleteCommit ◀── markers ── PrepareCommit      PrepareAbort ── markers ──▶ CompleteAbort
//                                                        ▲
//                    timeout / InitProducerId while Ongoing: Ongoing → PrepareEpochFence
//                    (epoch + 1, never written) → PrepareAbort (written with the bumped epoch)
//
//   Empty / CompleteCommit / CompleteAbort ── transactional.id.expiration.ms ──▶ Dead (a tombstone)
//   CompleteCommit / CompleteAbort ── AddPartitions ──▶ Ongoing (the next transaction)
import { ErrorCode } from '../../wire/errors.js';

export type TxnState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort'
  | 'Dead'
  | 'PrepareEpochFence';

export const ALL_TXN_STATES: readonly TxnState[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
];

/** The state ids stored in TransactionLogValue.transactionStatus (Kafka's TransactionState.id). */
export const TXN_STATE_IDS: Readonly<Record<TxnState, number>> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
};

export function txnStateFromId(id: number): TxnState | undefined {
  return ALL_TXN_STATES.find((s) => TXN_STATE_IDS[s] === id);
}

/** The one place the legal transitions are written down: to-state ← the states it may follow. */
export const VALID_PREVIOUS_STATES: Readonly<Record<TxnState, readonly TxnState[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareEpochFence: ['Ongoing'],
};

/** States from which a transactional id may expire (Kafka's isExpirationAllowed). */
export const EXPIRATION_ALLOWED: ReadonlySet<TxnState> = new Set<TxnState>(['Empty', 'CompleteCommit', 'CompleteAbort']);

export function canTransition(from: TxnState, to: TxnState): boolean {
  return VALID_PREVIOUS_STATES[to].includes(from);
}

/** A bug: a transition the table does not allow, or a transit that does not fit the current metadata. */
export class IllegalTxnTransitionError extends Error {}

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
const SHORT_MAX = 32767;

/** Kafka's isEpochExhausted: Short.MaxValue is kept free so the coordinator can always fence. */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= SHORT_MAX - 1;
}

/** "topic:partition" (topic names never contain ':'). */
export type TpKey = string;

export function tpKey(topic: string, partition: number): TpKey {
  return `${topic}:${partition}`;
}

export function splitTpKey(key: TpKey): { topic: string; partition: number } {
  const i = key.lastIndexOf(':');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/** Partitions grouped by topic, both sorted (how records and responses list them). */
export function groupByTopic(keys: Iterable<TpKey>): Array<{ topic: string; partitions: number[] }> {
  const by = new Map<string, number[]>();
  for (const k of keys) {
    const { topic, partition } = splitTpKey(k);
    let list = by.get(topic);
    if (!list) by.set(topic, (list = []));
    list.push(partition);
  }
  return [...by.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

/** One transactional id's metadata (an immutable value). */
export interface TxnMetadata {
  readonly transactionalId: string;
  readonly producerId: number;
  /** The producer id before the last rotation (epoch exhaustion), -1 if none. Not persisted. */
  readonly lastProducerId: number;
  /** -1 until the first InitProducerId completes. */
  readonly producerEpoch: number;
  /** The epoch before the last client-requested bump (KIP-360 retries), -1 if none. Not persisted. */
  readonly lastProducerEpoch: number;
  readonly txnTimeoutMs: number;
  readonly state: TxnState;
  /** Partitions of the current transaction. */
  readonly partitions: ReadonlySet<TpKey>;
  /** When the first partition was added to the current transaction; -1 when none is open. */
  readonly txnStartTimestamp: number;
  readonly txnLastUpdateTimestamp: number;
}

const EMPTY_SET: ReadonlySet<TpKey> = new Set();

/** A new transactional id: Empty, epoch -1, not yet stored (Kafka creates it on the first InitProducerId). */
export function newTxnMetadata(transactionalId: string, producerId: number, txnTimeoutMs: number, nowMs: number): TxnMetadata {
  return {
    transactionalId,
    producerId,
    lastProducerId: NO_PRODUCER_ID,
    producerEpoch: NO_PRODUCER_EPOCH,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    txnTimeoutMs,
    state: 'Empty',
    partitions: EMPTY_SET,
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: nowMs,
  };
}

/** The transit to `state` with `changes`, checked against the transition table. */
function transitTo(m: TxnMetadata, state: TxnState, changes: Partial<TxnMetadata>): TxnMetadata {
  if (!canTransition(m.state, state)) {
    throw new IllegalTxnTransitionError(`transactional id ${m.transactionalId}: ${m.state} → ${state} is not a legal transition`);
  }
  const next: TxnMetadata = { ...m, ...changes, state };
  if (next.producerId < 0) throw new IllegalTxnTransitionError(`transactional id ${m.transactionalId}: illegal producer id ${next.producerId}`);
  if (state !== 'Dead' && next.producerEpoch < 0) {
    throw new IllegalTxnTransitionError(`transactional id ${m.transactionalId}: illegal producer epoch ${next.producerEpoch}`);
  }
  return next;
}

function hasPendingTransaction(m: TxnMetadata): boolean {
  return m.state === 'Ongoing' || m.state === 'PrepareAbort' || m.state === 'PrepareCommit';
}

// ------------------------------------------------------------------ prepare* (Kafka's names)

/** Ongoing → PrepareEpochFence with the epoch bumped (never written; followed by PrepareAbort). */
export function prepareFenceProducerEpoch(m: TxnMetadata): TxnMetadata {
  if (m.producerEpoch >= SHORT_MAX) {
    throw new IllegalTxnTransitionError(`cannot fence producer ${m.producerId} with epoch ${m.producerEpoch}: it would overflow`);
  }
  return transitTo(m, 'PrepareEpochFence', { producerEpoch: m.producerEpoch + 1, lastProducerEpoch: NO_PRODUCER_EPOCH });
}

/** Empty/Complete* → Empty with the epoch bumped; `expectedEpoch` from a KIP-360 InitProducerId. */
export function prepareIncrementProducerEpoch(
  m: TxnMetadata,
  newTxnTimeoutMs: number,
  expectedEpoch: number | null,
  nowMs: number,
): TxnMetadata | ErrorCode {
  if (isEpochExhausted(m.producerEpoch)) {
    throw new IllegalTxnTransitionError(`cannot allocate any more producer epochs for producer ${m.producerId}`);
  }
  const bumped = m.producerEpoch + 1;
  let next: number;
  let last: number;
  if (expectedEpoch === null) {
    // A producer that does not say which epoch it had: bump, forget the last epoch.
    next = bumped;
    last = NO_PRODUCER_EPOCH;
  } else if (m.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === m.producerEpoch) {
    // The producer continues after an error and nobody else initialized meanwhile.
    next = bumped;
    last = m.producerEpoch;
  } else if (expectedEpoch === m.lastProducerEpoch) {
    // A retry of a bump that succeeded: answer the current epoch again.
    next = m.producerEpoch;
    last = m.lastProducerEpoch;
  } else {
    return ErrorCode.PRODUCER_FENCED;
  }
  return transitTo(m, 'Empty', {
    producerEpoch: next,
    lastProducerEpoch: last,
    txnTimeoutMs: newTxnTimeoutMs,
    partitions: EMPTY_SET,
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: nowMs,
  });
}

/** The epoch is exhausted: a fresh producer id at epoch 0. */
export function prepareProducerIdRotation(m: TxnMetadata, newProducerId: number, newTxnTimeoutMs: number, nowMs: number, recordLastEpoch: boolean): TxnMetadata {
  if (hasPendingTransaction(m)) throw new IllegalTxnTransitionError('cannot rotate producer ids while a transaction is still pending');
  return transitTo(m, 'Empty', {
    producerId: newProducerId,
    lastProducerId: m.producerId,
    producerEpoch: 0,
    lastProducerEpoch: recordLastEpoch ? m.producerEpoch : NO_PRODUCER_EPOCH,
    txnTimeoutMs: newTxnTimeoutMs,
    partitions: EMPTY_SET,
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: nowMs,
  });
}

export function prepareAddPartitions(m: TxnMetadata, added: Iterable<TpKey>, nowMs: number): TxnMetadata {
  const starts = m.state === 'Empty' || m.state === 'CompleteAbort' || m.state === 'CompleteCommit';
  const partitions = new Set(starts ? [] : m.partitions);
  for (const k of added) partitions.add(k);
  return transitTo(m, 'Ongoing', { partitions, txnStartTimestamp: starts ? nowMs : m.txnStartTimestamp, txnLastUpdateTimestamp: nowMs });
}

export function prepareAbortOrCommit(m: TxnMetadata, state: 'PrepareCommit' | 'PrepareAbort', nowMs: number): TxnMetadata {
  return transitTo(m, state, { txnLastUpdateTimestamp: nowMs });
}

/** PrepareCommit → CompleteCommit, PrepareAbort → CompleteAbort, once every marker is written. */
export function prepareComplete(m: TxnMetadata, nowMs: number): TxnMetadata {
  const state = m.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort';
  return transitTo(m, state, { partitions: EMPTY_SET, txnLastUpdateTimestamp: nowMs });
}

/** Expiration: the transactional id is removed (a tombstone is written). */
export function prepareDead(m: TxnMetadata): TxnMetadata {
  return transitTo(m, 'Dead', { partitions: EMPTY_SET });
}

/**
 * Applies a stored transit to the current metadata (Kafka's completeTransitionTo): checks the
 * table and the invariants of each target state; throws IllegalTxnTransitionError on a mismatch.
 */
export function completeTransition(current: TxnMetadata, transit: TxnMetadata): TxnMetadata {
  const fail = (why: string): never => {
    throw new IllegalTxnTransitionError(`transactional id ${current.transactionalId}: ${current.state} → ${transit.state} rejected: ${why}`);
  };
  if (!canTransition(current.state, transit.state)) fail('not a legal transition');
  const sameProducer = transit.producerId === current.producerId && transit.producerEpoch === current.producerEpoch;
  switch (transit.state) {
    case 'Empty': {
      const bump = transit.producerEpoch === current.producerEpoch + 1 || (transit.producerEpoch === 0 && transit.producerId !== current.producerId);
      if ((transit.producerEpoch !== current.producerEpoch && !bump) || transit.partitions.size > 0 || transit.txnStartTimestamp !== -1) fail('bad epoch bump');
      break;
    }
    case 'Ongoing':
      if (!sameProducer || transit.txnTimeoutMs !== current.txnTimeoutMs) fail('producer or timeout changed');
      if (current.state === 'Ongoing') for (const k of current.partitions) if (!transit.partitions.has(k)) fail('partitions removed');
      break;
    case 'PrepareCommit':
    case 'PrepareAbort': {
      // An epoch fence writes PrepareAbort with the epoch one higher.
      const fenced = transit.state === 'PrepareAbort' && transit.producerId === current.producerId && transit.producerEpoch === current.producerEpoch + 1;
      if (!sameProducer && !fenced) fail('producer changed');
      if (transit.partitions.size !== current.partitions.size || [...current.partitions].some((k) => !transit.partitions.has(k))) fail('partitions changed');
      if (transit.txnStartTimestamp !== current.txnStartTimestamp) fail('start time changed');
      break;
    }
    case 'CompleteCommit':
    case 'CompleteAbort':
      if (!sameProducer || transit.txnStartTimestamp === -1) fail('producer changed');
      break;
    case 'PrepareEpochFence':
      fail('PrepareEpochFence is never stored');
      break;
    case 'Dead':
      fail('Dead is a tombstone: the metadata is removed, not stored');
      break;
  }
  return transit;
}

// ------------------------------------------------------------------ decisions per request

export type InitDecision =
  | { kind: 'error'; error: ErrorCode }
  /** A new producer id is needed first (the caller allocates one and decides again). */
  | { kind: 'need-producer-id' }
  /** Write `transit` (Empty, bumped epoch or new producer id) and answer with it. */
  | { kind: 'write'; transit: TxnMetadata }
  /** An open transaction: fence (epoch + 1) and abort it (write `transit`, PrepareAbort), then answer CONCURRENT_TRANSACTIONS. */
  | { kind: 'fence-and-abort'; transit: TxnMetadata };

/**
 * InitProducerId for an existing transactional id (Kafka's prepareInitProducerIdTransit).
 * `expected` is the producer id and epoch a KIP-360 client sent (v3+), or null.
 */
export function decideInitProducerId(
  m: TxnMetadata,
  pending: boolean,
  req: { txnTimeoutMs: number; expected: { producerId: number; producerEpoch: number } | null },
  nowMs: number,
  newProducerId: number | null,
): InitDecision {
  const expected = req.expected;
  const validProducerId =
    expected === null ||
    m.producerEpoch === NO_PRODUCER_EPOCH ||
    expected.producerId === m.producerId ||
    (expected.producerId === m.lastProducerId && isEpochExhausted(expected.producerEpoch));
  if (pending) return { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS };
  if (!validProducerId) return { kind: 'error', error: ErrorCode.PRODUCER_FENCED };
  switch (m.state) {
    case 'PrepareAbort':
    case 'PrepareCommit':
      return { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS };
    case 'CompleteAbort':
    case 'CompleteCommit':
    case 'Empty': {
      if (isEpochExhausted(m.producerEpoch) && (expected === null || expected.producerEpoch === m.producerEpoch)) {
        if (newProducerId === null) return { kind: 'need-producer-id' };
        return { kind: 'write', transit: prepareProducerIdRotation(m, newProducerId, req.txnTimeoutMs, nowMs, expected !== null) };
      }
      const t = prepareIncrementProducerEpoch(m, req.txnTimeoutMs, expected?.producerEpoch ?? null, nowMs);
      return typeof t === 'number' ? { kind: 'error', error: t } : { kind: 'write', transit: t };
    }
    case 'Ongoing':
      // The epoch this makes is never given to a client: it retries and bumps again.
      return { kind: 'fence-and-abort', transit: prepareAbortOrCommit(prepareFenceProducerEpoch(m), 'PrepareAbort', nowMs) };
    case 'Dead':
    case 'PrepareEpochFence':
      throw new IllegalTxnTransitionError(`transactional id ${m.transactionalId} found in state ${m.state}`);
  }
}

export type AddPartitionsDecision =
  | { kind: 'error'; error: ErrorCode }
  /** Every partition is in the transaction already: answer at once. */
  | { kind: 'done' }
  | { kind: 'write'; transit: TxnMetadata };

/** AddPartitionsToTxn / AddOffsetsToTxn (Kafka's handleAddPartitionsToTransaction). */
export function decideAddPartitions(m: TxnMetadata, pending: boolean, producerId: number, producerEpoch: number, partitions: ReadonlySet<TpKey>, nowMs: number): AddPartitionsDecision {
  if (m.producerId !== producerId) return { kind: 'error', error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  if (m.producerEpoch !== producerEpoch) return { kind: 'error', error: ErrorCode.PRODUCER_FENCED };
  if (pending) return { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS };
  if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS };
  if (m.state === 'Ongoing' && [...partitions].every((k) => m.partitions.has(k))) return { kind: 'done' };
  return { kind: 'write', transit: prepareAddPartitions(m, partitions, nowMs) };
}

/**
 * AddPartitionsToTxn v4+ with verifyOnly (KIP-890): is each partition part of the open
 * transaction? A top-level error, or per partition NONE / INVALID_TXN_STATE.
 */
export function verifyPartitions(m: TxnMetadata, producerId: number, producerEpoch: number, partitions: readonly TpKey[]): ErrorCode | Map<TpKey, ErrorCode> {
  if (m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
  if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
  return new Map(partitions.map((k) => [k, m.state === 'Ongoing' && m.partitions.has(k) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE]));
}

export type EndTxnDecision =
  | { kind: 'error'; error: ErrorCode }
  /** Already done (a retry of a completed EndTxn): answer NONE. */
  | { kind: 'done' }
  | { kind: 'write'; transit: TxnMetadata };

/**
 * EndTxn (Kafka's endTransaction with isFromClient = true): Ongoing → PrepareCommit/PrepareAbort;
 * a retry of a completed one answers NONE; one still being completed CONCURRENT_TRANSACTIONS;
 * anything else INVALID_TXN_STATE.
 */
export function decideEndTxn(m: TxnMetadata, pending: boolean, producerId: number, producerEpoch: number, commit: boolean, nowMs: number): EndTxnDecision {
  if (m.producerId !== producerId) return { kind: 'error', error: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  if (producerEpoch !== m.producerEpoch) return { kind: 'error', error: ErrorCode.PRODUCER_FENCED };
  if (pending) return { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS };
  switch (m.state) {
    case 'Ongoing':
      return { kind: 'write', transit: prepareAbortOrCommit(m, commit ? 'PrepareCommit' : 'PrepareAbort', nowMs) };
    case 'CompleteCommit':
      return commit ? { kind: 'done' } : { kind: 'error', error: ErrorCode.INVALID_TXN_STATE };
    case 'CompleteAbort':
      return commit ? { kind: 'error', error: ErrorCode.INVALID_TXN_STATE } : { kind: 'done' };
    case 'PrepareCommit':
      return commit ? { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS } : { kind: 'error', error: ErrorCode.INVALID_TXN_STATE };
    case 'PrepareAbort':
      return commit ? { kind: 'error', error: ErrorCode.INVALID_TXN_STATE } : { kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS };
    case 'Empty':
      return { kind: 'error', error: ErrorCode.INVALID_TXN_STATE };
    case 'Dead':
    case 'PrepareEpochFence':
      throw new IllegalTxnTransitionError(`transactional id ${m.transactionalId} found in state ${m.state}`);
  }
}

/** An open transaction past its timeout (Kafka's timedOutTransactions). */
export function isTimedOut(m: TxnMetadata, pending: boolean, nowMs: number): boolean {
  return !pending && m.state === 'Ongoing' && m.txnStartTimestamp + m.txnTimeoutMs < nowMs;
}

/** A transactional id idle for transactional.id.expiration.ms with nothing open. */
export function isExpired(m: TxnMetadata, pending: boolean, nowMs: number, expirationMs: number): boolean {
  return !pending && EXPIRATION_ALLOWED.has(m.state) && m.txnLastUpdateTimestamp <= nowMs - expirationMs;
}
