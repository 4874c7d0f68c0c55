// The transaction state machine: the transition table (Kafka's validPreviousStates), the
// prepare* transits, completeTransition's invariants, and the decisions per request.
import { describe, expect, it } from 'vitest';
import {
  ALL_TXN_STATES,
  canTransition,
  completeTransition,
  decideAddPartitions,
  decideEndTxn,
  decideInitProducerId,
  IllegalTxnTransitionError,
  isEpochExhausted,
  isExpired,
  isTimedOut,
  newTxnMetadata,
  prepareAbortOrCommit,
  prepareAddPartitions,
  prepareComplete,
  prepareDead,
  prepareFenceProducerEpoch,
  TXN_STATE_IDS,
  txnStateFromId,
  VALID_PREVIOUS_STATES,
  verifyPartitions,
  type TxnMetadata,
  type TxnState,
} from '../../broker/txn/txn-state.js';
import { ErrorCode } from '../../wire/errors.js';

const T0 = 1_000_000;

function meta(overrides: Partial<TxnMetadata> = {}): TxnMetadata {
  return { ...newTxnMetadata('tx', 7, 60_000, T0), producerEpoch: 3, ...overrides };
}

describe('transition table', () => {
  it("is Kafka's validPreviousStates", () => {
    // Every legal (from → to) pair, written out independently of the table.
    const legal = new Set([
      'Empty→Empty', 'CompleteCommit→Empty', 'CompleteAbort→Empty',
      'Ongoing→Ongoing', 'Empty→Ongoing', 'CompleteCommit→Ongoing', 'CompleteAbort→Ongoing',
      'Ongoing→PrepareCommit',
      'Ongoing→PrepareAbort', 'PrepareEpochFence→PrepareAbort',
      'PrepareCommit→CompleteCommit',
      'PrepareAbort→CompleteAbort',
      'Empty→Dead', 'CompleteCommit→Dead', 'CompleteAbort→Dead',
      'Ongoing→PrepareEpochFence',
    ]);
    for (const from of ALL_TXN_STATES) {
      for (const to of ALL_TXN_STATES) {
        expect(canTransition(from, to), `${from} → ${to}`).toBe(legal.has(`${from}→${to}`));
      }
    }
    expect(Object.keys(VALID_PREVIOUS_STATES).sort()).toEqual([...ALL_TXN_STATES].sort());
  });

  it('state ids are the ones stored in TransactionLogValue', () => {
    expect(TXN_STATE_IDS).toEqual({ Empty: 0, Ongoing: 1, PrepareCommit: 2, PrepareAbort: 3, CompleteCommit: 4, CompleteAbort: 5, Dead: 6, PrepareEpochFence: 7 });
    for (const s of ALL_TXN_STATES) expect(txnStateFromId(TXN_STATE_IDS[s])).toBe(s);
    expect(txnStateFromId(8)).toBeUndefined();
  });

  it('an illegal prepare throws IllegalTxnTransitionError (a bug, not a Kafka error)', () => {
    expect(() => prepareAbortOrCommit(meta({ state: 'Empty' }), 'PrepareCommit', T0)).toThrow(IllegalTxnTransitionError);
    expect(() => prepareComplete(meta({ state: 'Ongoing' }), T0)).toThrow(IllegalTxnTransitionError);
    expect(() => prepareFenceProducerEpoch(meta({ state: 'CompleteCommit' }))).toThrow(IllegalTxnTransitionError);
    expect(() => prepareDead(meta({ state: 'Ongoing' }))).toThrow(IllegalTxnTransitionError);
    expect(() => prepareFenceProducerEpoch(meta({ state: 'Ongoing', producerEpoch: 32767 }))).toThrow(/overflow/);
  });
});

describe('transits', () => {
  it('add partitions starts a transaction (start time) and keeps adding to it', () => {
    const a = prepareAddPartitions(meta({ state: 'CompleteCommit' }), ['t:0'], T0 + 5);
    expect(a).toMatchObject({ state: 'Ongoing', txnStartTimestamp: T0 + 5, txnLastUpdateTimestamp: T0 + 5 });
    expect([...a.partitions]).toEqual(['t:0']);
    const b = prepareAddPartitions(a, ['t:1', 't:0'], T0 + 9);
    expect(b.txnStartTimestamp).toBe(T0 + 5);
    expect([...b.partitions].sort()).toEqual(['t:0', 't:1']);
    // A new transaction after a completed one starts with no partitions.
    const c = prepareAddPartitions({ ...b, state: 'CompleteAbort' }, ['u:3'], T0 + 20);
    expect([...c.partitions]).toEqual(['u:3']);
  });

  it('the epoch fence bumps the epoch and goes on to PrepareAbort', () => {
    const ongoing = prepareAddPartitions(meta(), ['t:0'], T0);
    const fence = prepareFenceProducerEpoch(ongoing);
    expect(fence).toMatchObject({ state: 'PrepareEpochFence', producerEpoch: 4, lastProducerEpoch: -1 });
    const abort = prepareAbortOrCommit(fence, 'PrepareAbort', T0 + 1);
    expect(abort).toMatchObject({ state: 'PrepareAbort', producerEpoch: 4 });
    // Stored, it applies to the Ongoing metadata (the fence itself is never stored).
    expect(completeTransition(ongoing, abort).producerEpoch).toBe(4);
  });

  it('completion empties the partitions; Dead needs an idle state', () => {
    const prep = prepareAbortOrCommit(prepareAddPartitions(meta(), ['t:0'], T0), 'PrepareCommit', T0 + 1);
    const done = prepareComplete(prep, T0 + 2);
    expect(done).toMatchObject({ state: 'CompleteCommit', txnStartTimestamp: T0 });
    expect(done.partitions.size).toBe(0);
    expect(prepareDead(done).state).toBe('Dead');
  });

  it('completeTransition checks what Kafka checks', () => {
    const ongoing = prepareAddPartitions(meta(), ['t:0', 't:1'], T0);
    // Partitions may not disappear from an open transaction.
    expect(() => completeTransition(ongoing, { ...ongoing, partitions: new Set(['t:0']) })).toThrow(IllegalTxnTransitionError);
    // Prepare with other partitions or another producer: refused.
    const prep = prepareAbortOrCommit(ongoing, 'PrepareCommit', T0 + 1);
    expect(() => completeTransition(ongoing, { ...prep, partitions: new Set(['t:0']) })).toThrow(IllegalTxnTransitionError);
    expect(() => completeTransition(ongoing, { ...prep, producerEpoch: 9 })).toThrow(IllegalTxnTransitionError);
    // Empty: the epoch stays, goes up by one, or a new producer id starts at 0.
    const empty = meta({ state: 'CompleteAbort' });
    expect(completeTransition(empty, { ...empty, state: 'Empty', producerEpoch: 4 }).producerEpoch).toBe(4);
    expect(completeTransition(empty, { ...empty, state: 'Empty', producerId: 8, producerEpoch: 0 }).producerId).toBe(8);
    expect(() => completeTransition(empty, { ...empty, state: 'Empty', producerEpoch: 6 })).toThrow(IllegalTxnTransitionError);
    // Dead and PrepareEpochFence are never stored.
    expect(() => completeTransition(empty, prepareDead(empty))).toThrow(/tombstone/);
    expect(() => completeTransition(ongoing, prepareFenceProducerEpoch(ongoing))).toThrow(/never stored/);
  });
});

describe('InitProducerId decision', () => {
  const req = (expected: { producerId: number; producerEpoch: number } | null = null) => ({ txnTimeoutMs: 30_000, expected });

  it('a new transactional id gets epoch 0; later ones bump the epoch and forget the partitions', () => {
    const fresh = newTxnMetadata('tx', 7, 60_000, T0);
    const d = decideInitProducerId(fresh, false, req(), T0, null);
    expect(d).toMatchObject({ kind: 'write', transit: { state: 'Empty', producerId: 7, producerEpoch: 0, txnTimeoutMs: 30_000 } });
    const d2 = decideInitProducerId(meta({ state: 'CompleteCommit' }), false, req(), T0, null);
    expect(d2).toMatchObject({ kind: 'write', transit: { state: 'Empty', producerEpoch: 4, lastProducerEpoch: -1 } });
  });

  it('answers CONCURRENT_TRANSACTIONS while a write or the markers are in progress', () => {
    expect(decideInitProducerId(meta(), true, req(), T0, null)).toEqual({ kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS });
    for (const state of ['PrepareCommit', 'PrepareAbort'] as TxnState[]) {
      expect(decideInitProducerId(meta({ state }), false, req(), T0, null)).toEqual({ kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS });
    }
  });

  it('fences an open transaction: abort with the epoch bumped', () => {
    const ongoing = prepareAddPartitions(meta(), ['t:0'], T0);
    const d = decideInitProducerId(ongoing, false, req(), T0 + 1, null);
    expect(d).toMatchObject({ kind: 'fence-and-abort', transit: { state: 'PrepareAbort', producerEpoch: 4 } });
  });

  it('KIP-360: the current epoch bumps, the previous one is a retry, anything else is fenced', () => {
    const m = meta({ state: 'CompleteCommit' });
    const bumped = decideInitProducerId(m, false, req({ producerId: 7, producerEpoch: 3 }), T0, null);
    expect(bumped).toMatchObject({ kind: 'write', transit: { producerEpoch: 4, lastProducerEpoch: 3 } });
    if (bumped.kind !== 'write') throw new Error('unreachable');
    const after = bumped.transit;
    const retry = decideInitProducerId(after, false, req({ producerId: 7, producerEpoch: 3 }), T0, null);
    expect(retry).toMatchObject({ kind: 'write', transit: { producerEpoch: 4, lastProducerEpoch: 3 } });
    expect(decideInitProducerId(after, false, req({ producerId: 7, producerEpoch: 1 }), T0, null)).toEqual({ kind: 'error', error: ErrorCode.PRODUCER_FENCED });
    expect(decideInitProducerId(after, false, req({ producerId: 99, producerEpoch: 4 }), T0, null)).toEqual({ kind: 'error', error: ErrorCode.PRODUCER_FENCED });
  });

  it('an exhausted epoch rotates to a new producer id at epoch 0', () => {
    expect(isEpochExhausted(32766)).toBe(true);
    expect(isEpochExhausted(32765)).toBe(false);
    const m = meta({ state: 'CompleteAbort', producerEpoch: 32766 });
    expect(decideInitProducerId(m, false, req(), T0, null)).toEqual({ kind: 'need-producer-id' });
    expect(decideInitProducerId(m, false, req(), T0, 1234)).toMatchObject({ kind: 'write', transit: { producerId: 1234, producerEpoch: 0, lastProducerId: 7 } });
  });
});

describe('AddPartitions, verify and EndTxn decisions', () => {
  const ongoing = prepareAddPartitions(meta(), ['t:0'], T0);

  it('AddPartitions checks producer id, epoch and state', () => {
    expect(decideAddPartitions(ongoing, false, 8, 3, new Set(['t:1']), T0)).toEqual({ kind: 'error', error: ErrorCode.INVALID_PRODUCER_ID_MAPPING });
    expect(decideAddPartitions(ongoing, false, 7, 2, new Set(['t:1']), T0)).toEqual({ kind: 'error', error: ErrorCode.PRODUCER_FENCED });
    expect(decideAddPartitions(ongoing, true, 7, 3, new Set(['t:1']), T0)).toEqual({ kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS });
    expect(decideAddPartitions({ ...ongoing, state: 'PrepareCommit' }, false, 7, 3, new Set(['t:1']), T0)).toEqual({ kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS });
    expect(decideAddPartitions(ongoing, false, 7, 3, new Set(['t:0']), T0)).toEqual({ kind: 'done' });
    expect(decideAddPartitions(ongoing, false, 7, 3, new Set(['t:1']), T0)).toMatchObject({ kind: 'write', transit: { state: 'Ongoing' } });
  });

  it('verifyOnly: NONE for a partition of the open transaction, INVALID_TXN_STATE otherwise', () => {
    expect(verifyPartitions(ongoing, 7, 3, ['t:0', 't:1'])).toEqual(new Map([['t:0', ErrorCode.NONE], ['t:1', ErrorCode.INVALID_TXN_STATE]]));
    expect(verifyPartitions(meta({ state: 'CompleteCommit' }), 7, 3, ['t:0'])).toEqual(new Map([['t:0', ErrorCode.INVALID_TXN_STATE]]));
    expect(verifyPartitions(ongoing, 7, 4, ['t:0'])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(verifyPartitions(ongoing, 1, 3, ['t:0'])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });

  it("EndTxn follows Kafka's answers per state", () => {
    expect(decideEndTxn(ongoing, false, 7, 3, true, T0)).toMatchObject({ kind: 'write', transit: { state: 'PrepareCommit' } });
    expect(decideEndTxn(ongoing, false, 7, 3, false, T0)).toMatchObject({ kind: 'write', transit: { state: 'PrepareAbort' } });
    const at = (state: TxnState, commit: boolean) => decideEndTxn({ ...ongoing, state }, false, 7, 3, commit, T0);
    expect(at('CompleteCommit', true)).toEqual({ kind: 'done' });
    expect(at('CompleteCommit', false)).toEqual({ kind: 'error', error: ErrorCode.INVALID_TXN_STATE });
    expect(at('CompleteAbort', false)).toEqual({ kind: 'done' });
    expect(at('PrepareCommit', true)).toEqual({ kind: 'error', error: ErrorCode.CONCURRENT_TRANSACTIONS });
    expect(at('PrepareAbort', true)).toEqual({ kind: 'error', error: ErrorCode.INVALID_TXN_STATE });
    expect(at('Empty', true)).toEqual({ kind: 'error', error: ErrorCode.INVALID_TXN_STATE });
    expect(decideEndTxn(ongoing, false, 7, 2, true, T0)).toEqual({ kind: 'error', error: ErrorCode.PRODUCER_FENCED });
    expect(decideEndTxn(ongoing, false, 6, 3, true, T0)).toEqual({ kind: 'error', error: ErrorCode.INVALID_PRODUCER_ID_MAPPING });
  });

  it('timeouts and expiration', () => {
    expect(isTimedOut(ongoing, false, T0 + 60_000)).toBe(false);
    expect(isTimedOut(ongoing, false, T0 + 60_001)).toBe(true);
    expect(isTimedOut(ongoing, true, T0 + 60_001)).toBe(false);
    const done = meta({ state: 'CompleteCommit', txnLastUpdateTimestamp: T0 });
    expect(isExpired(done, false, T0 + 1000, 1000)).toBe(true);
    expect(isExpired(done, false, T0 + 999, 1000)).toBe(false);
    expect(isExpired(ongoing, false, T0 + 1e9, 1000)).toBe(false);
  });
});
