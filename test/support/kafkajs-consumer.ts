// A kafkajs consumer that restarts after a crash, the way kafkajs's own restart does, but whose
// stop() is final: no instance of it joins the group afterwards.
//
// Why: kafkajs 2.2.4 restarts a consumer that crashed with a retriable error
// (`consumer/index.js`, onCrash: `await disconnect()`, then `restartTimeout = setTimeout(start,
// retryTime)`), and its `disconnect()` cannot cancel a restart that is being decided at that
// moment: `stop()` is shared with the crash's own in-flight stop and clears `restartTimeout`
// before onCrash sets it, so the consumer starts again `retryTime` later, joins the group and
// takes partitions from the members the test started after it (groups-cluster.test.ts: consumers
// whose heartbeats went to a killed coordinator crash after their retries, right when the test
// stops them). A restart already running when `disconnect()` comes (its JoinGroup parked in a
// rebalance) ends the same way: `disconnect()` stops the runner, the start then finishes the join
// and fetches. Here kafkajs never restarts by itself (`retry.restartOnFailure` answers false) and
// restarts are this wrapper's: after stop() none is scheduled, a pending one is cancelled and one
// in progress is awaited and then disconnected.
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';

export interface RestartingConsumerOptions {
  /** Where consumers come from (`kafka.consumer(config)`). */
  readonly kafka: Pick<Kafka, 'consumer'>;
  /** The consumer config; `retry.restartOnFailure` is this wrapper's. */
  readonly config: ConsumerConfig;
  /** Connects, subscribes and runs one consumer instance (resolves once `run` resolved). */
  start(consumer: Consumer): Promise<void>;
  /** Delay before a restart. Default: `config.retry.initialRetryTime` (kafkajs's), else 300 ms. */
  readonly restartDelayMs?: number;
  /** Reports restarts and failed starts (tests print them). */
  readonly log?: (line: string) => void;
}

export class RestartingConsumer {
  private current: Consumer | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** A start in progress (never rejects). */
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private stoppedFlag = false;
  /** Instances started after the first. */
  restarts = 0;

  constructor(private readonly opts: RestartingConsumerOptions) {}

  /** stop() was called: nothing of this consumer may consume from now on. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** The first instance; rejects if it does not start (it is disconnected then). */
  async start(): Promise<void> {
    if (this.current !== null || this.stoppedFlag) throw new Error('RestartingConsumer.start: already started or stopped');
    await this.launch();
  }

  /**
   * Stops for good: cancels a scheduled restart, waits for one in progress, disconnects the
   * current instance. Every call returns the same promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stoppedFlag = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // A start in progress sets `current` first; once it settled, its instance is disconnected below.
    while (this.starting !== null) await this.starting;
    await this.current?.disconnect();
  }

  private launch(): Promise<void> {
    const consumer = this.opts.kafka.consumer({
      ...this.opts.config,
      retry: {
        ...this.opts.config.retry,
        // kafkajs asks this only for a retriable crash, after it disconnected the instance.
        restartOnFailure: async () => {
          this.onCrash(consumer);
          return false;
        },
      },
    });
    this.current = consumer;
    const started = this.opts.start(consumer).catch(async (err: unknown) => {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    });
    const settled = started.then(
      () => undefined,
      () => undefined,
    );
    this.starting = settled;
    void settled.then(() => {
      if (this.starting === settled) this.starting = null;
    });
    return started;
  }

  /** A retriable crash of `consumer`: start a new instance after the delay, unless stopped or superseded. */
  private onCrash(consumer: Consumer): void {
    if (this.stoppedFlag || consumer !== this.current || this.timer !== null) return;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stoppedFlag) return;
      this.restarts++;
      this.opts.log?.(`restart #${this.restarts}`);
      this.launch().catch((err: unknown) => {
        this.opts.log?.(`restart #${this.restarts} failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!this.stoppedFlag) this.schedule();
      });
    }, this.opts.restartDelayMs ?? this.opts.config.retry?.initialRetryTime ?? 300);
  }
}
