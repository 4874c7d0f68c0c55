// The transaction coordinator on a fake clock, an in-memory `__transaction_state` (records are
// encoded and decoded as the log would keep them) and a fake marker channel: every operation,
// the marker round trip, timeouts, expiration, failures and a reload from the log.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { TransactionCoordinator, type MarkerCallbacks, type MarkerRequest, type TxnCoordinatorConfig } from '../../broker/txn/coordinator.js';
import { decodeTxnLogRecord, encodeTxnLogRecord, type TxnLogRecord } from '../../broker/txn/txn-log.js';
import { ManualTimer } from '../../broker/group/timer.js';
import { partitionFor } from '../../broker/group/offsets-topic.js';
import { ErrorCode } from '../../wire/errors.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const CONFIG: TxnCoordinatorConfig = { transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 7 * 24 * 3600_000, retryBackoffMs: 100 };

class FakeTxnLog {
  readonly records = new Map<number, TxnLogRecord[]>();
  failures: number[] = [];
  append(partition: number, recs: readonly TxnLogRecord[]): Promise<number> {
    const failure = this.failures.shift();
    if (failure !== undefined && failure !== ErrorCode.NONE) return Promise.resolve(failure);
    let list = this.records.get(partition);
    if (!list) this.records.set(partition, (list = []));
    for (const r of recs) {
      const { key, value } = encodeTxnLogRecord(r);
      list.push(decodeTxnLogRecord(key, value));
    }
    return Promise.resolve(ErrorCode.NONE);
  }
  last(txnId: string): TxnLogRecord | undefined {
    for (const list of this.records.values()) for (let i = list.length - 1; i >= 0; i--) if (list[i]!.transactionalId === txnId) return list[i];
    return undefined;
  }
  states(txnId: string): string[] {
    const out: string[] = [];
    for (const list of this.records.values()) for (const r of list) if (r.transactionalId === txnId) out.push(r.value?.state ?? 'tombstone');
    return out;
  }
}

class FakeMarkers {
  readonly sent: Array<{ req: MarkerRequest; cb: MarkerCallbacks }> = [];
  /** Acknowledges every partition of every live request. */
  ackAll(): void {
    for (const { req, cb } of this.sent.splice(0)) {
      if (cb.stale()) continue;
      for (const tp of req.partitions) cb.done(tp);
    }
  }
}

interface Harness {
  c: TransactionCoordinator;
  timer: ManualTimer;
  log: FakeTxnLog;
  markers: FakeMarkers;
  nextPid: { value: number };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

async function harness(opts: { log?: FakeTxnLog; timer?: ManualTimer; partitions?: number; config?: Partial<TxnCoordinatorConfig>; epoch?: number; elect?: boolean } = {}): Promise<Harness> {
  const timer = opts.timer ?? new ManualTimer(1_000_000);
  const log = opts.log ?? new FakeTxnLog();
  const markers = new FakeMarkers();
  const nextPid = { value: 1000 };
  const partitions = opts.partitions ?? 1;
  const c = new TransactionCoordinator({
    config: { ...CONFIG, ...opts.config },
    timer,
    nowMs: () => timer.nowMs(),
    logger,
    numPartitions: () => partitions,
    append: (p, recs) => log.append(p, recs),
    readPartition: async (p, onRecord) => {
      const recs = log.records.get(p) ?? [];
      for (const r of recs) onRecord(r);
      return { records: recs.length };
    },
    generateProducerId: async () => nextPid.value++,
    sendMarkers: (req, cb) => markers.sent.push({ req, cb }),
    offsetsPartitions: () => 50,
    partitionExists: () => true,
  });
  c.start();
  if (opts.elect !== false) for (let p = 0; p < partitions; p++) await c.onElection(p, opts.epoch ?? 5);
  return { c, timer, log, markers, nextPid };
}

const init = (c: TransactionCoordinator, transactionalId: string | null, transactionTimeoutMs = 60_000, producerId = -1, producerEpoch = -1) =>
  c.initProducerId({ transactionalId, transactionTimeoutMs, producerId, producerEpoch });

describe('TransactionCoordinator', () => {
  it('gives idempotent producers a fresh id at epoch 0 each time', async () => {
    const { c } = await harness();
    expect(await init(c, null)).toEqual({ errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
    expect(await init(c, null, 60_000, 1000, 0)).toEqual({ errorCode: ErrorCode.NONE, producerId: 1001, producerEpoch: 0 });
  });

  it('runs a transaction: init, add partitions, commit, markers, complete', async () => {
    const { c, log, markers } = await harness();
    const r = await init(c, 'tx');
    expect(r).toEqual({ errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
    expect(log.last('tx')?.value).toMatchObject({ state: 'Empty', producerId: 1000, producerEpoch: 0 });
    expect(await c.addPartitions('tx', 1000, 0, ['a:0', 'b:1'])).toBe(ErrorCode.NONE);
    expect(await c.addOffsets('tx', 1000, 0, 'group')).toBe(ErrorCode.NONE);
    const offsetsTp = `__consumer_offsets:${partitionFor('group', 50)}`;
    expect([...c.metadata('tx')!.partitions].sort()).toEqual(['a:0', 'b:1', offsetsTp].sort());
    expect(c.verify('tx', 1000, 0, ['a:0', 'c:0'])).toEqual(new Map([['a:0', ErrorCode.NONE], ['c:0', ErrorCode.INVALID_TXN_STATE]]));
    expect(await c.endTxn('tx', 1000, 0, true)).toBe(ErrorCode.NONE);
    expect(c.metadata('tx')?.state).toBe('PrepareCommit');
    expect(markers.sent).toHaveLength(1);
    expect(markers.sent[0]!.req).toMatchObject({ transactionalId: 'tx', coordinatorEpoch: 5, producerId: 1000, producerEpoch: 0, commit: true });
    // Until the markers are written the transaction is busy, and Describe lists what is left.
    expect(await c.addPartitions('tx', 1000, 0, ['a:0'])).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(await c.endTxn('tx', 1000, 0, true)).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    markers.sent[0]!.cb.done('a:0');
    expect(c.describe('tx').topics.map((t) => t.topic).sort()).toEqual(['__consumer_offsets', 'b']);
    markers.ackAll();
    await flush();
    expect(c.metadata('tx')?.state).toBe('CompleteCommit');
    expect(log.states('tx')).toEqual(['Empty', 'Ongoing', 'Ongoing', 'PrepareCommit', 'CompleteCommit']);
    // A retried EndTxn of the finished commit is fine; an abort now is not.
    expect(await c.endTxn('tx', 1000, 0, true)).toBe(ErrorCode.NONE);
    expect(await c.endTxn('tx', 1000, 0, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    // The next transaction starts from CompleteCommit.
    expect(await c.addPartitions('tx', 1000, 0, ['c:0'])).toBe(ErrorCode.NONE);
    expect([...c.metadata('tx')!.partitions]).toEqual(['c:0']);
  });

  it('an empty transaction completes without markers', async () => {
    const { c, markers } = await harness();
    await init(c, 'tx');
    expect(await c.endTxn('tx', 1000, 0, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    await c.addPartitions('tx', 1000, 0, ['a:0']);
    expect(await c.endTxn('tx', 1000, 0, false)).toBe(ErrorCode.NONE);
    markers.ackAll();
    await flush();
    expect(c.metadata('tx')?.state).toBe('CompleteAbort');
  });

  it('a second InitProducerId fences the first producer and aborts its transaction', async () => {
    const { c, markers, log } = await harness();
    await init(c, 'tx');
    await c.addPartitions('tx', 1000, 0, ['a:0']);
    // The new producer: the open transaction is aborted with epoch 1, the client retries.
    expect((await init(c, 'tx')).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(c.metadata('tx')).toMatchObject({ state: 'PrepareAbort', producerEpoch: 1 });
    expect(markers.sent[0]!.req).toMatchObject({ commit: false, producerEpoch: 1, partitions: ['a:0'] });
    expect((await init(c, 'tx')).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    markers.ackAll();
    await flush();
    expect(await init(c, 'tx')).toEqual({ errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 2 });
    // The old producer (epoch 0) is fenced everywhere.
    expect(await c.addPartitions('tx', 1000, 0, ['a:0'])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await c.endTxn('tx', 1000, 0, true)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(c.verify('tx', 1000, 0, ['a:0'])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(log.states('tx')).toEqual(['Empty', 'Ongoing', 'PrepareAbort', 'CompleteAbort', 'Empty']);
  });

  it('aborts a transaction past its timeout and fences its producer', async () => {
    const { c, timer, markers } = await harness();
    await init(c, 'tx', 10_000);
    await c.addPartitions('tx', 1000, 0, ['a:0']);
    timer.advance(10_000);
    expect(c.abortTimedOutTransactions()).toBe(0);
    timer.advance(1);
    expect(c.abortTimedOutTransactions()).toBe(1);
    await flush();
    expect(c.metadata('tx')).toMatchObject({ state: 'PrepareAbort', producerEpoch: 1 });
    expect(markers.sent[0]!.req).toMatchObject({ commit: false, producerEpoch: 1 });
    markers.ackAll();
    await flush();
    expect(c.metadata('tx')?.state).toBe('CompleteAbort');
    expect(await c.endTxn('tx', 1000, 0, true)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(c.abortTimedOutTransactions()).toBe(0);
  });

  it('checks the timeout, the transactional id and who coordinates it', async () => {
    const { c } = await harness({ partitions: 2, elect: false });
    expect((await init(c, 'tx', 900_001)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await init(c, 'tx', 0)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await init(c, '')).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await init(c, 'tx', 1000, 5, -1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await init(c, 'tx')).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await c.endTxn('nobody', 1, 0, true)).toBe(ErrorCode.NOT_COORDINATOR);
    for (let p = 0; p < 2; p++) await c.onElection(p, 1);
    expect(await c.endTxn('nobody', 1, 0, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await c.addPartitions('nobody', 1, 0, ['a:0'])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(c.describe('nobody').errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    c.onResignation(partitionFor('tx', 2));
    expect((await init(c, 'tx')).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  });

  it('a failed write changes nothing; a failed completion is retried', async () => {
    const { c, log, markers, timer } = await harness();
    await init(c, 'tx');
    log.failures = [ErrorCode.NOT_ENOUGH_REPLICAS];
    expect(await c.addPartitions('tx', 1000, 0, ['a:0'])).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(c.metadata('tx')?.state).toBe('Empty');
    expect(await c.addPartitions('tx', 1000, 0, ['a:0'])).toBe(ErrorCode.NONE);
    expect(await c.endTxn('tx', 1000, 0, true)).toBe(ErrorCode.NONE);
    log.failures = [ErrorCode.REQUEST_TIMED_OUT];
    markers.ackAll();
    await flush();
    expect(c.metadata('tx')?.state).toBe('PrepareCommit');
    timer.advance(100);
    await flush();
    expect(c.metadata('tx')?.state).toBe('CompleteCommit');
  });

  it('reloads from the log: Ongoing stays, Prepare* sends its markers again; stale markers are ignored', async () => {
    const log = new FakeTxnLog();
    const first = await harness({ log });
    await init(first.c, 'open');
    await first.c.addPartitions('open', 1000, 0, ['a:0']);
    await init(first.c, 'closing');
    await first.c.addPartitions('closing', 1001, 0, ['b:0', 'b:1']);
    await first.c.endTxn('closing', 1001, 0, false);
    expect(first.markers.sent).toHaveLength(1);
    // Leadership moves (to a new epoch): the old markers are stale, the new leader resends.
    first.c.onResignation(0);
    expect(first.markers.sent[0]!.cb.stale()).toBe(true);
    const second = await harness({ log, epoch: 6 });
    expect(second.c.metadata('open')).toMatchObject({ state: 'Ongoing', producerId: 1000, producerEpoch: 0 });
    expect(second.markers.sent.map((m) => m.req)).toEqual([
      { transactionalId: 'closing', coordinatorEpoch: 6, producerId: 1001, producerEpoch: 0, commit: false, partitions: ['b:0', 'b:1'] },
    ]);
    second.markers.ackAll();
    await flush();
    expect(second.c.metadata('closing')?.state).toBe('CompleteAbort');
    // The open one times out under the new coordinator as it would have under the old one.
    second.timer.advance(60_001);
    expect(second.c.abortTimedOutTransactions()).toBe(1);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while loading and abandons markers a newer coordinator owns', async () => {
    const { c, markers } = await harness();
    await init(c, 'tx');
    await c.addPartitions('tx', 1000, 0, ['a:0']);
    await c.endTxn('tx', 1000, 0, true);
    markers.sent[0]!.cb.abandon('a:0: TRANSACTION_COORDINATOR_FENCED');
    expect(c.pendingMarkers('tx')).toEqual([]);
    expect(c.metadata('tx')?.state).toBe('PrepareCommit');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const timer = new ManualTimer(0);
    const slow = new TransactionCoordinator({
      config: CONFIG,
      timer,
      nowMs: () => 0,
      logger,
      numPartitions: () => 1,
      append: async () => ErrorCode.NONE,
      readPartition: async () => {
        await gate;
        return { records: 0 };
      },
      generateProducerId: async () => 1,
      sendMarkers: () => {},
      offsetsPartitions: () => 1,
      partitionExists: () => true,
    });
    slow.start();
    const loading = slow.onElection(0, 1);
    expect((await init(slow, 'tx')).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(slow.list([], [], -1).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    release();
    await loading;
    expect((await init(slow, 'tx')).errorCode).toBe(ErrorCode.NONE);
  });

  it('expires idle transactional ids with a tombstone', async () => {
    const { c, log, timer } = await harness({ config: { transactionalIdExpirationMs: 1000 } });
    await init(c, 'idle');
    await init(c, 'busy');
    await c.addPartitions('busy', 1001, 0, ['a:0']);
    timer.advance(1000);
    expect(await c.expireTransactionalIds()).toBe(1);
    expect(log.last('idle')?.value).toBeNull();
    expect(c.describe('idle').errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    expect(c.describe('busy').transactionState).toBe('Ongoing');
    // A new producer with the expired id starts over with a new producer id.
    expect(await init(c, 'idle')).toMatchObject({ errorCode: ErrorCode.NONE, producerId: 1002, producerEpoch: 0 });
  });

  it('lists with state, producer id and duration filters', async () => {
    const { c, timer } = await harness();
    await init(c, 'a');
    await init(c, 'b');
    await c.addPartitions('b', 1001, 0, ['t:0']);
    timer.advance(5000);
    const names = (r: ReturnType<TransactionCoordinator['list']>) => r.transactions.map((t) => `${t.transactionalId}:${t.transactionState}`);
    expect(names(c.list([], [], -1))).toEqual(['a:Empty', 'b:Ongoing']);
    expect(names(c.list(['Ongoing'], [], -1))).toEqual(['b:Ongoing']);
    expect(names(c.list([], [1000], -1))).toEqual(['a:Empty']);
    expect(names(c.list(['Ongoing'], [], 4000))).toEqual(['b:Ongoing']);
    expect(names(c.list(['Ongoing'], [], 6000))).toEqual([]);
    const unknown = c.list(['Bogus'], [], -1);
    expect(unknown.unknownStateFilters).toEqual(['Bogus']);
    expect(unknown.transactions).toEqual([]);
    expect(c.describe('b')).toMatchObject({ transactionState: 'Ongoing', producerId: 1001, producerEpoch: 0, transactionTimeoutMs: 60_000, topics: [{ topic: 't', partitions: [0] }] });
  });
});
