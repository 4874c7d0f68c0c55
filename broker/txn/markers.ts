// Sends transaction markers (Kafka's TransactionMarkerChannelManager): for every partition of a
// completing transaction, a WriteTxnMarkers request (v1) to the partition's leader, found in the
// metadata image, over a PeerConnection to its listener, even when the leader is this node.
// Markers of several transactions bound for one broker share a request; one request per broker
// is in flight at a time.
//
// Per partition answer (Kafka's TransactionMarkerRequestCompletionHandler):
//   NONE                                              → done
//   INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED
//                                                     → abandon the transaction's markers (a newer
//                                                       coordinator or producer epoch owns it)
//   anything else (not leader, unknown partition, timeout, not enough replicas, ...)
//                                                     → retried after a backoff, leader looked up again
// A partition whose topic no longer exists is reported done: its marker can never be written.
import type { Logger } from 'pino';
import type { MetadataImage } from '../../kraft/image.js';
import { ApiKey } from '../../wire/generated/api.js';
import { ErrorCode, errorName } from '../../wire/errors.js';
import type { PeerPool } from '../coordinator/peers.js';
import type { MarkerCallbacks, MarkerRequest } from './coordinator.js';
import { groupByTopic, splitTpKey, tpKey, type TpKey } from './txn-state.js';

const WRITE_TXN_MARKERS_VERSION = 1;

interface Item {
  readonly req: MarkerRequest;
  readonly cb: MarkerCallbacks;
  readonly remaining: Set<TpKey>;
  /** Partitions in a request right now. */
  readonly sending: Set<TpKey>;
  /** Partitions waiting for a retry: not before this time (ms). */
  readonly notBefore: Map<TpKey, number>;
}

export interface TxnMarkerSenderOptions {
  readonly peers: PeerPool;
  image(): MetadataImage;
  nowMs(): number;
  /** request.timeout.ms: the leader's acks=-1 wait; the request itself may take a little longer. */
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly logger: Logger;
}

export class TxnMarkerSender {
  private readonly items = new Set<Item>();
  private readonly busy = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private kicked = false;
  private closed = false;

  constructor(private readonly opts: TxnMarkerSenderOptions) {}

  /** Markers waiting or in flight (tests and diagnostics). */
  get pendingCount(): number {
    let n = 0;
    for (const i of this.items) n += i.remaining.size;
    return n;
  }

  send(req: MarkerRequest, cb: MarkerCallbacks): void {
    if (this.closed) return;
    this.items.add({ req, cb, remaining: new Set(req.partitions), sending: new Set(), notBefore: new Map() });
    this.kick();
  }

  close(): void {
    this.closed = true;
    this.items.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.dispatch();
    });
  }

  private retryAt(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.dispatch();
    }, Math.max(0, at - this.opts.nowMs()));
    this.timer.unref?.();
  }

  private dispatch(): void {
    if (this.closed) return;
    const now = this.opts.nowMs();
    const image = this.opts.image();
    const byBroker = new Map<number, Map<Item, TpKey[]>>();
    let nextRetry = Infinity;
    for (const item of [...this.items]) {
      if (item.cb.stale()) {
        this.items.delete(item);
        continue;
      }
      for (const tp of [...item.remaining]) {
        if (item.sending.has(tp)) continue;
        const wait = item.notBefore.get(tp);
        if (wait !== undefined && wait > now) {
          nextRetry = Math.min(nextRetry, wait);
          continue;
        }
        const { topic, partition } = splitTpKey(tp);
        const reg = image.topicByName(topic)?.partitions.get(partition);
        if (!reg) {
          this.opts.logger.info({ transactionalId: item.req.transactionalId, topic, partition }, 'partition no longer exists: dropping its transaction marker');
          item.remaining.delete(tp);
          item.cb.done(tp);
          continue;
        }
        if (reg.leader < 0) {
          item.notBefore.set(tp, now + this.opts.retryBackoffMs);
          nextRetry = Math.min(nextRetry, now + this.opts.retryBackoffMs);
          continue;
        }
        if (this.busy.has(reg.leader)) continue; // sent when the request in flight returns
        let forBroker = byBroker.get(reg.leader);
        if (!forBroker) byBroker.set(reg.leader, (forBroker = new Map()));
        let list = forBroker.get(item);
        if (!list) forBroker.set(item, (list = []));
        list.push(tp);
      }
      if (item.remaining.size === 0) this.items.delete(item);
    }
    for (const [broker, entries] of byBroker) void this.sendTo(broker, entries);
    if (nextRetry < Infinity) this.retryAt(nextRetry);
  }

  private async sendTo(broker: number, entries: Map<Item, TpKey[]>): Promise<void> {
    const conn = this.opts.peers.get(broker);
    if (!conn) {
      this.backoff(entries, `broker ${broker} has no usable endpoint`);
      return;
    }
    this.busy.add(broker);
    for (const [item, tps] of entries) for (const tp of tps) item.sending.add(tp);
    const list = [...entries];
    const markers = list.map(([item, tps]) => ({
      producerId: BigInt(item.req.producerId),
      producerEpoch: item.req.producerEpoch,
      transactionResult: item.req.commit,
      coordinatorEpoch: item.req.coordinatorEpoch,
      topics: groupByTopic(tps).map((t) => ({ name: t.topic, partitionIndexes: t.partitions })),
    }));
    let results: Map<string, number> | null = null;
    try {
      const res = await conn.send(ApiKey.WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, { markers }, this.opts.requestTimeoutMs + 5_000);
      results = new Map();
      for (const m of res.markers) {
        for (const t of m.topics) for (const p of t.partitions) results.set(`${m.producerId}/${tpKey(t.name, p.partitionIndex)}`, p.errorCode);
      }
    } catch (err) {
      this.opts.logger.warn({ err, broker }, 'WriteTxnMarkers failed; retrying');
    } finally {
      this.busy.delete(broker);
      for (const [item, tps] of list) for (const tp of tps) item.sending.delete(tp);
    }
    if (results === null) {
      this.backoff(entries, 'request failed');
      this.kick();
      return;
    }
    const retry = new Map<Item, TpKey[]>();
    for (const [item, tps] of list) {
      if (item.cb.stale()) {
        this.items.delete(item);
        continue;
      }
      for (const tp of tps) {
        const code = results.get(`${item.req.producerId}/${tp}`);
        if (code === ErrorCode.NONE) {
          item.remaining.delete(tp);
          item.notBefore.delete(tp);
          item.cb.done(tp);
        } else if (code === ErrorCode.INVALID_PRODUCER_EPOCH || code === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
          this.items.delete(item);
          item.cb.abandon(`${tp}: ${errorName(code)}`);
          break;
        } else {
          this.opts.logger.debug({ transactionalId: item.req.transactionalId, tp, error: code === undefined ? 'missing' : errorName(code) }, 'transaction marker not written; retrying');
          let l = retry.get(item);
          if (!l) retry.set(item, (l = []));
          l.push(tp);
        }
      }
      if (item.remaining.size === 0) this.items.delete(item);
    }
    if (retry.size > 0) this.backoff(retry, 'partition errors');
    this.kick();
  }

  private backoff(entries: Map<Item, TpKey[]>, reason: string): void {
    const at = this.opts.nowMs() + this.opts.retryBackoffMs;
    for (const [item, tps] of entries) for (const tp of tps) item.notBefore.set(tp, at);
    this.opts.logger.debug({ reason, partitions: [...entries.values()].reduce((n, l) => n + l.length, 0) }, 'transaction markers will be retried');
    this.retryAt(at);
  }
}
