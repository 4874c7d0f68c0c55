// Producer ids for this broker (Kafka's RPCProducerIdManager): the controller hands out blocks
// of 1000 ids, each recorded in the metadata log as a ProducerIdsRecord (AllocateProducerIds),
// so a restarted broker gets a fresh block and an id is never handed out twice. The next block
// is fetched in the background once 90% of the current one is used.
//
// No timers or clock here: `allocate` is the controller call; failures are retried by the next
// request for an id (after `retryBackoffMs`, measured with the injected clock).
import type { Logger } from 'pino';

export interface ProducerIdBlock {
  readonly start: number;
  readonly length: number;
}

export class ProducerIdsUnavailableError extends Error {}

export interface ProducerIdManagerOptions {
  /** Asks the controller for the next block; rejects on failure. */
  allocate(): Promise<ProducerIdBlock>;
  nowMs(): number;
  readonly logger: Logger;
  /** Fraction of a block used before the next one is fetched (Kafka: 0.9). */
  readonly prefetchRatio?: number;
  /** After a failed allocation, no new attempt for this long (Kafka: 50 ms backoff, growing). */
  readonly retryBackoffMs?: number;
}

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private prefetchAt = 0;
  private nextBlock: ProducerIdBlock | null = null;
  private fetching: Promise<void> | null = null;
  private failedAtMs = -Infinity;
  private readonly prefetchRatio: number;
  private readonly retryBackoffMs: number;

  constructor(private readonly opts: ProducerIdManagerOptions) {
    this.prefetchRatio = opts.prefetchRatio ?? 0.9;
    this.retryBackoffMs = opts.retryBackoffMs ?? 50;
  }

  /** The current block's remaining ids (tests and diagnostics). */
  get remaining(): number {
    return this.end - this.next + (this.nextBlock?.length ?? 0);
  }

  /** An id now if the blocks have one (starting the prefetch when due), else null. */
  tryGenerate(): number | null {
    if (this.next >= this.end && this.nextBlock !== null) this.install(this.nextBlock);
    if (this.next >= this.end) return null;
    const id = this.next++;
    if (this.next >= this.prefetchAt && this.nextBlock === null) this.startFetch();
    return id;
  }

  /** The next id, waiting for a block if needed; rejects with ProducerIdsUnavailableError. */
  async generate(): Promise<number> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = this.tryGenerate();
      if (id !== null) return id;
      this.startFetch();
      if (this.fetching === null) break; // backing off after a failure
      await this.fetching;
    }
    const id = this.tryGenerate();
    if (id !== null) return id;
    throw new ProducerIdsUnavailableError('no producer id block could be allocated');
  }

  private install(block: ProducerIdBlock): void {
    this.next = block.start;
    this.end = block.start + block.length;
    this.prefetchAt = block.start + Math.floor(block.length * this.prefetchRatio);
    this.nextBlock = null;
  }

  private startFetch(): void {
    if (this.fetching !== null || this.nextBlock !== null) return;
    if (this.opts.nowMs() - this.failedAtMs < this.retryBackoffMs) return;
    this.fetching = this.opts
      .allocate()
      .then(
        (block) => {
          this.opts.logger.info({ start: block.start, length: block.length }, 'allocated a producer id block');
          if (this.next >= this.end) this.install(block);
          else this.nextBlock = block;
        },
        (err: unknown) => {
          this.failedAtMs = this.opts.nowMs();
          this.opts.logger.warn({ err }, 'allocating a producer id block failed');
        },
      )
      .finally(() => {
        this.fetching = null;
      });
  }
}
