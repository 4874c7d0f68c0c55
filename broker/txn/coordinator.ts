// The transaction coordinator (Kafka's TransactionCoordinator + TransactionStateManager, 3.9):
// InitProducerId for transactional ids, AddPartitionsToTxn (and its verifyOnly form),
// AddOffsetsToTxn, EndTxn, the timeout abort, transactional id expiration, DescribeTransactions
// and ListTransactions.
//
// State is kept per `__transaction_state` partition this broker leads (a "shard"): the metadata
// of every transactional id that hashes to it. A shard is loaded by replaying the partition
// (the last record of each id wins), answers COORDINATOR_LOAD_IN_PROGRESS meanwhile, and is
// dropped when leadership goes. The coordinator epoch of a shard is the partition's leader epoch;
// it goes into every marker so partitions can refuse a deposed coordinator's markers.
//
// How state changes: every operation decides with the pure functions of txn-state.ts, which
// return the metadata to store (a transit). The transit is written to the shard's partition as
// a record (acks=-1); only once it is stored does `replay(record)` apply it, the same function
// the load uses. While a write is in flight the id has a pending state and concurrent requests
// get CONCURRENT_TRANSACTIONS (Kafka's pendingState). Two things live only in memory, as in
// Kafka: a new transactional id enters the shard (Empty, epoch -1, its new producer id) before
// its first record is stored (putTransactionStateIfNotExists), and the pending state and marker
// progress of an id are never stored (a reload starts the markers of a Prepare* state again).
//
// Completing a transaction: EndTxn stores PrepareCommit/PrepareAbort and answers; then the
// markers go to the leaders of every partition of the transaction (`sendMarkers`, a real
// WriteTxnMarkers request, also to this node), and once all are written CompleteCommit /
// CompleteAbort is stored (retried until it is). A shard loaded with a transaction in a Prepare
// state sends its markers again.
//
// Nothing here touches sockets, files, timers or Date.now(): appends, loads, markers, producer
// ids, the clock and delayed retries come in through the deps.
import type { Logger } from 'pino';
import { ErrorCode } from '../../wire/errors.js';
import { groupAppendError } from '../group/coordinator.js';
import { partitionFor } from '../group/offsets-topic.js';
import type { CoordinatorTimer } from '../group/timer.js';
import type { TxnLogRecord } from './txn-log.js';
import {
  ALL_TXN_STATES,
  completeTransition,
  decideAddPartitions,
  decideEndTxn,
  decideInitProducerId,
  groupByTopic,
  isExpired,
  isTimedOut,
  newTxnMetadata,
  prepareAbortOrCommit,
  prepareComplete,
  prepareDead,
  prepareFenceProducerEpoch,
  verifyPartitions,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  type TpKey,
  type TxnMetadata,
  type TxnState,
} from './txn-state.js';

export interface TxnCoordinatorConfig {
  /** transaction.max.timeout.ms */
  readonly transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  readonly transactionalIdExpirationMs: number;
  /** Delay before retrying a failed CompleteCommit/CompleteAbort write. */
  readonly retryBackoffMs: number;
}

/** Markers to write for one transaction. */
export interface MarkerRequest {
  readonly transactionalId: string;
  readonly coordinatorEpoch: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly partitions: readonly TpKey[];
}

/** How the marker sender reports back. */
export interface MarkerCallbacks {
  /** True once nobody waits for these markers any more (shard unloaded, transaction moved on). */
  stale(): boolean;
  /** The marker of `tp` is written (or the partition no longer exists). */
  done(tp: TpKey): void;
  /** A partition refused the marker as a zombie's: a newer coordinator owns the transaction. */
  abandon(reason: string): void;
}

export interface TxnCoordinatorDeps {
  readonly config: TxnCoordinatorConfig;
  readonly timer: CoordinatorTimer;
  nowMs(): number;
  readonly logger: Logger;
  /** Partition count of `__transaction_state` (0 when it does not exist). */
  numPartitions(): number;
  /** Appends records to the partition as its leader; resolves with the error code once replicated (acks=-1). */
  append(partition: number, records: readonly TxnLogRecord[]): Promise<number>;
  /** Replays the partition's log from its start through `onRecord`. */
  readPartition(partition: number, onRecord: (rec: TxnLogRecord) => void): Promise<{ records: number }>;
  /** A new producer id from this broker's block; rejects when none can be had now. */
  generateProducerId(): Promise<number>;
  /** Writes the markers (WriteTxnMarkers to each partition's leader), reporting per partition. */
  sendMarkers(req: MarkerRequest, callbacks: MarkerCallbacks): void;
  /** The `__consumer_offsets` partition count used for AddOffsetsToTxn (0: unknown). */
  offsetsPartitions(): number;
  /** The topic partition exists in the metadata image. */
  partitionExists(topic: string, partition: number): boolean;
}

export interface InitProducerIdInput {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** From v3: the producer id and epoch the client had (-1 when none). */
  producerId: number;
  producerEpoch: number;
}

export interface InitProducerIdResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface DescribedTransaction {
  errorCode: number;
  transactionalId: string;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: number;
  producerId: number;
  producerEpoch: number;
  topics: Array<{ topic: string; partitions: number[] }>;
}

export interface ListedTransaction {
  transactionalId: string;
  producerId: number;
  transactionState: string;
}

interface MarkerRound {
  readonly commit: boolean;
  readonly remaining: Set<TpKey>;
}

interface TxnEntry {
  meta: TxnMetadata;
  /** The state a write in flight will move to (Kafka's pendingState), or null. */
  pending: TxnState | null;
  /** Markers still to be written while the transaction is PrepareCommit/PrepareAbort. */
  markers: MarkerRound | null;
}

/** The state of one `__transaction_state` partition this broker leads. */
class TxnShard {
  state: 'loading' | 'active' = 'loading';
  readonly txns = new Map<string, TxnEntry>();

  constructor(
    readonly partition: number,
    readonly coordinatorEpoch: number,
  ) {}
}

class LoadAbortedError extends Error {}

const OFFSETS_TOPIC = '__consumer_offsets';

export class TransactionCoordinator {
  private readonly shards = new Map<number, TxnShard>();
  private active = false;
  private readonly log: Logger;

  constructor(private readonly deps: TxnCoordinatorDeps) {
    this.log = deps.logger;
  }

  start(): void {
    this.active = true;
  }

  shutdown(): void {
    this.active = false;
    for (const p of [...this.shards.keys()]) this.onResignation(p);
  }

  // ---------------------------------------------------------------- loading

  /** This broker leads `__transaction_state`-`partition` at `coordinatorEpoch`: (re)load it. */
  onElection(partition: number, coordinatorEpoch: number): Promise<void> {
    const existing = this.shards.get(partition);
    if (existing && existing.coordinatorEpoch >= coordinatorEpoch) return Promise.resolve();
    const shard = new TxnShard(partition, coordinatorEpoch);
    this.shards.set(partition, shard);
    this.deps.timer.cancelAll(`${partition}/`);
    return this.load(shard);
  }

  /** Leadership moved away: forget the partition (markers in flight become stale). */
  onResignation(partition: number): void {
    if (!this.shards.delete(partition)) return;
    this.deps.timer.cancelAll(`${partition}/`);
    this.log.info({ partition }, 'unloaded transaction coordinator partition');
  }

  shardStates(): Map<number, 'loading' | 'active'> {
    return new Map([...this.shards].map(([p, s]) => [p, s.state]));
  }

  private async load(shard: TxnShard): Promise<void> {
    const started = this.deps.nowMs();
    const stillOurs = () => this.shards.get(shard.partition) === shard;
    let records = 0;
    try {
      ({ records } = await this.deps.readPartition(shard.partition, (rec) => {
        if (!stillOurs()) throw new LoadAbortedError();
        this.replay(shard, rec, true);
      }));
    } catch (err) {
      if (err instanceof LoadAbortedError || !stillOurs()) return;
      this.log.error({ err, partition: shard.partition }, 'loading transaction coordinator partition failed');
      this.shards.delete(shard.partition);
      return;
    }
    if (!stillOurs()) return;
    shard.state = 'active';
    let resumed = 0;
    for (const entry of shard.txns.values()) {
      if (entry.meta.state === 'PrepareCommit' || entry.meta.state === 'PrepareAbort') {
        this.startMarkers(shard, entry);
        resumed++;
      }
    }
    const fields = { partition: shard.partition, coordinatorEpoch: shard.coordinatorEpoch, transactionalIds: shard.txns.size, records, resumed, ms: this.deps.nowMs() - started };
    if (records > 0) this.log.info(fields, 'loaded transaction coordinator partition');
    else this.log.debug(fields, 'loaded transaction coordinator partition');
  }

  // ---------------------------------------------------------------- replay and writes

  /**
   * Applies one `__transaction_state` record: the load takes it as it is; the live path checks it
   * is a legal next state of the current metadata (completeTransition). A tombstone removes the id.
   */
  private replay(shard: TxnShard, rec: TxnLogRecord, loading: boolean): void {
    const entry = shard.txns.get(rec.transactionalId);
    if (rec.value === null) {
      shard.txns.delete(rec.transactionalId);
      return;
    }
    if (loading || entry === undefined) {
      shard.txns.set(rec.transactionalId, { meta: rec.value, pending: null, markers: null });
      return;
    }
    entry.meta = completeTransition(entry.meta, rec.value);
  }

  /**
   * Stores `transit` (null value for Dead) and replays it once replicated. The id is pending
   * meanwhile. Resolves NONE, or the error as coordinators report append failures
   * (NOT_COORDINATOR once the shard is gone).
   */
  private async write(shard: TxnShard, entry: TxnEntry, transit: TxnMetadata): Promise<number> {
    const rec: TxnLogRecord = { transactionalId: transit.transactionalId, value: transit.state === 'Dead' ? null : transit };
    entry.pending = transit.state;
    let error: number;
    try {
      error = await this.deps.append(shard.partition, [rec]);
    } catch (err) {
      this.log.error({ err, partition: shard.partition }, 'append to __transaction_state failed');
      error = ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    if (shard.txns.get(transit.transactionalId) === entry) entry.pending = null;
    if (!this.live(shard, entry)) return ErrorCode.NOT_COORDINATOR;
    if (error !== ErrorCode.NONE) return groupAppendError(error);
    this.replay(shard, rec, false);
    return ErrorCode.NONE;
  }

  private live(shard: TxnShard, entry: TxnEntry): boolean {
    return this.shards.get(shard.partition) === shard && shard.txns.get(entry.meta.transactionalId) === entry;
  }

  // ---------------------------------------------------------------- lookups

  /** The loaded shard of a transactional id, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE. */
  private shardFor(transactionalId: string): TxnShard | number {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const n = this.deps.numPartitions();
    if (n <= 0) return ErrorCode.NOT_COORDINATOR;
    const shard = this.shards.get(partitionFor(transactionalId, n));
    if (!shard) return ErrorCode.NOT_COORDINATOR;
    if (shard.state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return shard;
  }

  /** The metadata of a transactional id (tests and diagnostics). */
  metadata(transactionalId: string): TxnMetadata | undefined {
    const s = this.shardFor(transactionalId);
    return typeof s === 'number' ? undefined : s.txns.get(transactionalId)?.meta;
  }

  /** The partitions still waiting for markers (tests and diagnostics). */
  pendingMarkers(transactionalId: string): TpKey[] {
    const s = this.shardFor(transactionalId);
    if (typeof s === 'number') return [];
    return [...(s.txns.get(transactionalId)?.markers?.remaining ?? [])];
  }

  private validTimeout(ms: number): boolean {
    return ms > 0 && ms <= this.deps.config.transactionMaxTimeoutMs;
  }

  // ---------------------------------------------------------------- InitProducerId

  async initProducerId(req: InitProducerIdInput): Promise<InitProducerIdResult> {
    const fail = (errorCode: number): InitProducerIdResult => ({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH });
    const txnId = req.transactionalId;
    if (txnId === null) {
      // Idempotent producers: always a new producer id at epoch 0 (also for a KIP-360 bump).
      try {
        return { errorCode: ErrorCode.NONE, producerId: await this.deps.generateProducerId(), producerEpoch: 0 };
      } catch (err) {
        this.log.warn({ err }, 'no producer id available');
        return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
    }
    if (txnId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (!this.validTimeout(req.transactionTimeoutMs)) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    if ((req.producerId === NO_PRODUCER_ID) !== (req.producerEpoch === NO_PRODUCER_EPOCH)) return fail(ErrorCode.INVALID_REQUEST);
    const expected = req.producerId === NO_PRODUCER_ID ? null : { producerId: req.producerId, producerEpoch: req.producerEpoch };
    let newProducerId: number | null = null;
    // At most: allocate an id for a new transactional id, then one for a rotation.
    for (let attempt = 0; attempt < 4; attempt++) {
      const shard = this.shardFor(txnId);
      if (typeof shard === 'number') return fail(shard);
      let entry = shard.txns.get(txnId);
      if (entry === undefined) {
        if (newProducerId === null) {
          const id = await this.allocate();
          if (id === null) return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
          newProducerId = id;
          continue; // the shard may have changed while waiting
        }
        entry = { meta: newTxnMetadata(txnId, newProducerId, req.transactionTimeoutMs, this.deps.nowMs()), pending: null, markers: null };
        shard.txns.set(txnId, entry);
        newProducerId = null;
      }
      const d = decideInitProducerId(entry.meta, entry.pending !== null, { txnTimeoutMs: req.transactionTimeoutMs, expected }, this.deps.nowMs(), newProducerId);
      switch (d.kind) {
        case 'error':
          return fail(d.error);
        case 'need-producer-id': {
          const id = await this.allocate();
          if (id === null) return fail(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
          newProducerId = id;
          continue;
        }
        case 'write': {
          const err = await this.write(shard, entry, d.transit);
          if (err !== ErrorCode.NONE) return fail(err);
          this.log.info({ transactionalId: txnId, producerId: d.transit.producerId, producerEpoch: d.transit.producerEpoch, partition: shard.partition }, 'initialized transactional id');
          return { errorCode: ErrorCode.NONE, producerId: d.transit.producerId, producerEpoch: d.transit.producerEpoch };
        }
        case 'fence-and-abort': {
          this.log.info({ transactionalId: txnId, producerId: d.transit.producerId, producerEpoch: d.transit.producerEpoch }, 'fencing the previous producer: aborting its open transaction');
          const err = await this.write(shard, entry, d.transit);
          if (err !== ErrorCode.NONE) return fail(err);
          this.startMarkers(shard, entry);
          // The client retries, and its retry bumps the epoch again once the abort completed.
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        }
      }
    }
    return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
  }

  private async allocate(): Promise<number | null> {
    try {
      return await this.deps.generateProducerId();
    } catch (err) {
      this.log.warn({ err }, 'no producer id available');
      return null;
    }
  }

  // ---------------------------------------------------------------- AddPartitionsToTxn / AddOffsetsToTxn

  /** Adds partitions to the transaction; one error for all of them. */
  async addPartitions(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly TpKey[]): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const shard = this.shardFor(transactionalId);
    if (typeof shard === 'number') return shard;
    const entry = shard.txns.get(transactionalId);
    if (!entry) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    const d = decideAddPartitions(entry.meta, entry.pending !== null, producerId, producerEpoch, new Set(partitions), this.deps.nowMs());
    if (d.kind === 'error') return d.error;
    if (d.kind === 'done') return ErrorCode.NONE;
    return this.write(shard, entry, d.transit);
  }

  /** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction. */
  addOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): Promise<number> {
    const n = this.deps.offsetsPartitions();
    if (n <= 0) return Promise.resolve(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return this.addPartitions(transactionalId, producerId, producerEpoch, [`${OFFSETS_TOPIC}:${partitionFor(groupId, n)}`]);
  }

  /** verifyOnly (KIP-890): a top-level error, or per partition NONE / INVALID_TXN_STATE. */
  verify(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly TpKey[]): number | Map<TpKey, number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const shard = this.shardFor(transactionalId);
    if (typeof shard === 'number') return shard;
    const entry = shard.txns.get(transactionalId);
    if (!entry) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    return verifyPartitions(entry.meta, producerId, producerEpoch, partitions);
  }

  // ---------------------------------------------------------------- EndTxn

  async endTxn(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const shard = this.shardFor(transactionalId);
    if (typeof shard === 'number') return shard;
    const entry = shard.txns.get(transactionalId);
    if (!entry) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    const d = decideEndTxn(entry.meta, entry.pending !== null, producerId, producerEpoch, commit, this.deps.nowMs());
    if (d.kind === 'error') return d.error;
    if (d.kind === 'done') return ErrorCode.NONE;
    const err = await this.write(shard, entry, d.transit);
    if (err !== ErrorCode.NONE) return err;
    this.startMarkers(shard, entry);
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------- markers and completion

  /** The entry is PrepareCommit/PrepareAbort (stored): write its markers, then complete it. */
  private startMarkers(shard: TxnShard, entry: TxnEntry): void {
    const m = entry.meta;
    const round: MarkerRound = { commit: m.state === 'PrepareCommit', remaining: new Set(m.partitions) };
    entry.markers = round;
    if (round.remaining.size === 0) {
      this.complete(shard, entry, round);
      return;
    }
    const stale = () => !this.live(shard, entry) || entry.markers !== round;
    this.deps.sendMarkers(
      {
        transactionalId: m.transactionalId,
        coordinatorEpoch: shard.coordinatorEpoch,
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        commit: round.commit,
        partitions: [...round.remaining],
      },
      {
        stale,
        done: (tp) => {
          if (stale() || !round.remaining.delete(tp)) return;
          if (round.remaining.size === 0) this.complete(shard, entry, round);
        },
        abandon: (reason) => {
          if (stale()) return;
          this.log.warn({ transactionalId: m.transactionalId, reason }, 'abandoning transaction markers: a newer coordinator owns the transaction');
          entry.markers = null;
        },
      },
    );
  }

  /** Stores CompleteCommit/CompleteAbort; retried after a backoff until stored or the shard is gone. */
  private complete(shard: TxnShard, entry: TxnEntry, round: MarkerRound): void {
    if (!this.live(shard, entry) || entry.markers !== round) return;
    if (entry.pending !== null) {
      this.retryComplete(shard, entry, round);
      return;
    }
    const transit = prepareComplete(entry.meta, this.deps.nowMs());
    void this.write(shard, entry, transit).then((err) => {
      if (err === ErrorCode.NONE) {
        if (entry.markers === round) entry.markers = null;
        this.log.debug({ transactionalId: transit.transactionalId, state: transit.state }, 'completed transaction');
        return;
      }
      if (err === ErrorCode.NOT_COORDINATOR) return;
      this.log.warn({ transactionalId: transit.transactionalId, errorCode: err }, 'storing the transaction completion failed; retrying');
      this.retryComplete(shard, entry, round);
    });
  }

  private retryComplete(shard: TxnShard, entry: TxnEntry, round: MarkerRound): void {
    this.deps.timer.schedule(`${shard.partition}/complete/${entry.meta.transactionalId}`, this.deps.config.retryBackoffMs, () => this.complete(shard, entry, round));
  }

  // ---------------------------------------------------------------- timeouts and expiration

  /**
   * Aborts every open transaction past its transaction timeout: the producer is fenced (epoch + 1,
   * so its later writes are refused) and the transaction aborted. Returns how many were started.
   */
  abortTimedOutTransactions(): number {
    const now = this.deps.nowMs();
    let n = 0;
    for (const shard of this.shards.values()) {
      if (shard.state !== 'active') continue;
      for (const entry of shard.txns.values()) {
        if (!isTimedOut(entry.meta, entry.pending !== null, now)) continue;
        const transit = prepareAbortOrCommit(prepareFenceProducerEpoch(entry.meta), 'PrepareAbort', now);
        this.log.info(
          { transactionalId: entry.meta.transactionalId, producerId: entry.meta.producerId, producerEpoch: transit.producerEpoch, timeoutMs: entry.meta.txnTimeoutMs },
          'aborting a timed out transaction (fencing its producer)',
        );
        n++;
        void this.write(shard, entry, transit).then((err) => {
          if (err === ErrorCode.NONE) this.startMarkers(shard, entry);
          else this.log.warn({ transactionalId: transit.transactionalId, errorCode: err }, 'aborting a timed out transaction failed');
        });
      }
    }
    return n;
  }

  /** Removes transactional ids idle for transactional.id.expiration.ms (tombstones). Returns how many. */
  async expireTransactionalIds(): Promise<number> {
    const now = this.deps.nowMs();
    const writes: Array<Promise<number>> = [];
    for (const shard of this.shards.values()) {
      if (shard.state !== 'active') continue;
      for (const entry of shard.txns.values()) {
        if (!isExpired(entry.meta, entry.pending !== null, now, this.deps.config.transactionalIdExpirationMs)) continue;
        writes.push(this.write(shard, entry, prepareDead(entry.meta)));
      }
    }
    const results = await Promise.all(writes);
    const removed = results.filter((e) => e === ErrorCode.NONE).length;
    if (removed > 0) this.log.info({ removed }, 'expired transactional ids');
    return removed;
  }

  // ---------------------------------------------------------------- Describe / List

  describe(transactionalId: string): DescribedTransaction {
    const base: DescribedTransaction = {
      errorCode: ErrorCode.NONE,
      transactionalId,
      transactionState: '',
      transactionTimeoutMs: 0,
      transactionStartTimeMs: -1,
      producerId: -1,
      producerEpoch: -1,
      topics: [],
    };
    if (transactionalId === '') return { ...base, errorCode: ErrorCode.INVALID_REQUEST };
    const shard = this.shardFor(transactionalId);
    if (typeof shard === 'number') return { ...base, errorCode: shard };
    const entry = shard.txns.get(transactionalId);
    if (!entry || entry.meta.state === 'Dead') return { ...base, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
    const m = entry.meta;
    // While markers are being written, only the partitions still without one are listed.
    const partitions = entry.markers ? entry.markers.remaining : m.partitions;
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      transactionState: m.state,
      transactionTimeoutMs: m.txnTimeoutMs,
      transactionStartTimeMs: m.txnStartTimestamp,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      topics: groupByTopic(partitions),
    };
  }

  /** ListTransactions with Kafka's filters (states by name, producer ids, running longer than durationMs). */
  list(stateFilters: readonly string[], producerIdFilters: readonly number[], durationFilterMs: number): { errorCode: number; unknownStateFilters: string[]; transactions: ListedTransaction[] } {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactions: [] };
    const known = new Set<string>(ALL_TXN_STATES);
    const unknownStateFilters = stateFilters.filter((s) => !known.has(s));
    const states = new Set(stateFilters.filter((s) => known.has(s)));
    const pids = new Set(producerIdFilters);
    if ([...this.shards.values()].some((s) => s.state === 'loading')) {
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStateFilters, transactions: [] };
    }
    const now = this.deps.nowMs();
    const transactions: ListedTransaction[] = [];
    // A filter naming only unknown states matches nothing.
    if (stateFilters.length > 0 && states.size === 0) return { errorCode: ErrorCode.NONE, unknownStateFilters, transactions };
    for (const shard of this.shards.values()) {
      for (const { meta } of shard.txns.values()) {
        if (meta.state === 'Dead') continue;
        if (pids.size > 0 && !pids.has(meta.producerId)) continue;
        if (states.size > 0 && !states.has(meta.state)) continue;
        if (durationFilterMs >= 0 && now - meta.txnStartTimestamp <= durationFilterMs) continue;
        transactions.push({ transactionalId: meta.transactionalId, producerId: meta.producerId, transactionState: meta.state });
      }
    }
    transactions.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactions };
  }
}
