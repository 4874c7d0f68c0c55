// A partition leader's ISR changes, sent to the active controller as AlterPartition (Kafka's
// AlterPartitionManager): changes asked in the same tick go out in one request, one request at
// a time, at most one pending change per partition. The answer (or, later, the metadata image)
// carries the new ISR and partition epoch; an answer with an error leaves the partition as the
// image has it, and the leader asks again at its next check.
import type { Logger } from 'pino';
import type { MetadataImage } from '../kraft/image.js';
import { ErrorCode } from '../wire/errors.js';
import type { AlterPartitionRequest } from '../wire/generated/messages/alter-partition-request.js';
import type { AlterPartitionResponse } from '../wire/generated/messages/alter-partition-response.js';
import type { Partition } from './partition.js';

export interface AlterPartitionChannel {
  alterPartition(req: AlterPartitionRequest, timeoutMs: number): Promise<AlterPartitionResponse>;
}

interface QueuedChange {
  readonly partition: Partition;
  readonly newIsr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

const RECOVERED = 0;

export class AlterPartitionSender {
  private readonly queued = new Map<Partition, QueuedChange>();
  private sending = false;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly opts: {
      readonly localId: number;
      brokerEpoch(): number;
      image(): MetadataImage;
      readonly channel: AlterPartitionChannel;
      readonly timeoutMs: number;
      readonly logger: Logger;
      /** Called after an answer changed a partition's ISR (the high watermark may move). */
      onIsrUpdated(p: Partition): void;
    },
  ) {}

  /** Asks the controller for `newIsr`; false when a change of this partition is already pending. */
  submit(p: Partition, newIsr: readonly number[]): boolean {
    if (this.closed || p.pendingIsr !== null || this.queued.has(p)) return false;
    p.pendingIsr = newIsr;
    this.queued.set(p, { partition: p, newIsr, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch });
    if (!this.scheduled && !this.sending) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
    return true;
  }

  close(): void {
    this.closed = true;
    this.queued.clear();
  }

  private async flush(): Promise<void> {
    if (this.sending || this.queued.size === 0 || this.closed) return;
    this.sending = true;
    const batch = [...this.queued.values()];
    this.queued.clear();
    try {
      await this.send(batch);
    } finally {
      this.sending = false;
      if (this.queued.size > 0) void this.flush();
    }
  }

  private async send(batch: readonly QueuedChange[]): Promise<void> {
    const image = this.opts.image();
    const byTopic = new Map<string, QueuedChange[]>();
    for (const c of batch) {
      const list = byTopic.get(c.partition.topicId) ?? [];
      list.push(c);
      byTopic.set(c.partition.topicId, list);
    }
    const req: AlterPartitionRequest = {
      brokerId: this.opts.localId,
      brokerEpoch: BigInt(this.opts.brokerEpoch()),
      topics: [...byTopic].map(([topicId, changes]) => ({
        topicId,
        topicName: changes[0]!.partition.topic,
        partitions: changes.map((c) => ({
          partitionIndex: c.partition.index,
          leaderEpoch: c.leaderEpoch,
          newIsr: [...c.newIsr],
          newIsrWithEpochs: c.newIsr.map((id) => ({ brokerId: id, brokerEpoch: BigInt(image.broker(id)?.epoch ?? -1) })),
          leaderRecoveryState: RECOVERED,
          partitionEpoch: c.partitionEpoch,
        })),
      })),
    };
    let res: AlterPartitionResponse;
    try {
      res = await this.opts.channel.alterPartition(req, this.opts.timeoutMs);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message, partitions: batch.length }, 'AlterPartition failed; the leader retries at its next check');
      for (const c of batch) this.clearPending(c);
      return;
    }
    const answered = new Set<QueuedChange>();
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const c = batch.find((b) => (b.partition.topicId === t.topicId || b.partition.topic === t.topicName) && b.partition.index === r.partitionIndex);
        if (c === undefined) continue;
        answered.add(c);
        this.apply(c, res.errorCode !== ErrorCode.NONE ? res.errorCode : r.errorCode, r);
      }
    }
    for (const c of batch) {
      if (answered.has(c)) continue;
      if (res.errorCode !== ErrorCode.NONE) this.opts.logger.warn({ topic: c.partition.topic, partition: c.partition.index, errorCode: res.errorCode }, 'AlterPartition refused');
      this.clearPending(c);
    }
  }

  private apply(c: QueuedChange, errorCode: number, r: AlterPartitionResponse['topics'][number]['partitions'][number]): void {
    const p = c.partition;
    if (errorCode !== ErrorCode.NONE) {
      this.opts.logger.info({ topic: p.topic, partition: p.index, errorCode, isr: c.newIsr }, 'AlterPartition refused; keeping the ISR of the image');
      this.clearPending(c);
      return;
    }
    // The answer is newer than the image we have: take it, as Kafka's leader does.
    if (p.pendingIsr === c.newIsr && p.leaderEpoch === r.leaderEpoch && r.partitionEpoch >= p.partitionEpoch) {
      p.isr = r.isr;
      p.partitionEpoch = r.partitionEpoch;
      p.pendingIsr = null;
      this.opts.logger.info({ topic: p.topic, partition: p.index, isr: r.isr, partitionEpoch: r.partitionEpoch }, 'ISR changed');
      this.opts.onIsrUpdated(p);
    } else {
      this.clearPending(c);
    }
  }

  private clearPending(c: QueuedChange): void {
    if (c.partition.pendingIsr === c.newIsr) c.partition.pendingIsr = null;
  }
}
