// The broker's side of its registration with the active controller (Kafka's
// `BrokerLifecycleManager`):
//
// - registers (BrokerRegistration: incarnation id, advertised listeners, rack, supported
//   metadata.version range), retrying with backoff until it is accepted (another incarnation of
//   this id may still hold a session: DUPLICATE_BROKER_REGISTRATION until it expires);
// - heartbeats (BrokerHeartbeat with the offset of its latest image) every
//   `broker.heartbeat.interval.ms`, quickly while it is still fenced; the controller unfences it
//   once that offset reaches its registration; STALE_BROKER_EPOCH means register again;
// - `waitUnfenced` resolves once the controller unfenced it and its own image shows it;
// - `controlledShutdown` heartbeats with wantShutDown until the controller has moved its
//   leaderships away and answers shouldShutDown (bounded).
import type { Logger } from 'pino';
import type { RaftMetadataQuorum } from '../kraft/raft-quorum.js';
import { ErrorCode } from '../wire/errors.js';
import type { Listener } from './config.js';
import { ControllerUnavailableError, type QuorumControllerClient } from './controller-client.js';

/** Kafka's `SecurityProtocol` ids. */
const SECURITY_PROTOCOLS: Readonly<Record<string, number>> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };
/** metadata.version range this broker supports (1 = 3.0-IV1 … 21 = 3.9-IV0). */
const METADATA_VERSION_RANGE = { name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 21 };
const FAST_HEARTBEAT_MS = 100;
const REGISTRATION_BACKOFF_MS = 500;

export interface BrokerLifecycleOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly incarnationId: string;
  readonly client: QuorumControllerClient;
  readonly quorum: RaftMetadataQuorum;
  readonly listeners: readonly Listener[];
  /** listener name → security protocol name (listener.security.protocol.map). */
  readonly securityProtocols: ReadonlyMap<string, string>;
  readonly rack: string | null;
  readonly heartbeatIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** KIP-858 directory ids of this broker's log dirs (registration). */
  readonly logDirIds?: readonly string[];
  /** Directory ids of the log dirs that failed (heartbeat offlineLogDirs; issue 8). */
  readonly offlineLogDirIds?: () => string[];
}

export class BrokerLifecycle {
  private brokerEpoch = -1;
  private fenced = true;
  private wantShutDown = false;
  private shutDownAllowed = false;
  private stopped = false;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly changeWaiters = new Set<() => void>();

  constructor(private readonly opts: BrokerLifecycleOptions) {}

  get epoch(): number {
    return this.brokerEpoch;
  }

  start(): void {
    if (this.running === null) this.running = this.loop();
  }

  /** Heartbeats now (a log dir failed: the controller should move its partitions at once). */
  heartbeatNow(): void {
    this.wake?.();
  }

  /** Resolves once this broker is registered, unfenced, and its own image says so; rejects after `timeoutMs`. */
  async waitUnfenced(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isUnfencedLocally()) {
      if (this.stopped) throw new Error('stopped before being unfenced');
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ControllerUnavailableError(
          `broker ${this.opts.nodeId} was not registered and unfenced within ${timeoutMs} ms (epoch ${this.brokerEpoch}, fenced ${this.fenced}, image offset ${this.opts.quorum.image.offset})`,
        );
      }
      await this.changed(Math.min(left, 200));
    }
  }

  private isUnfencedLocally(): boolean {
    if (this.brokerEpoch < 0 || this.fenced) return false;
    const b = this.opts.quorum.image.broker(this.opts.nodeId);
    return b !== undefined && b.epoch === this.brokerEpoch && !b.fenced;
  }

  /**
   * Controlled shutdown: asks the controller (wantShutDown) to move this broker's leaderships
   * away; resolves true once it answers shouldShutDown, false after `timeoutMs`.
   */
  async controlledShutdown(timeoutMs: number): Promise<boolean> {
    if (this.brokerEpoch < 0 || this.stopped) return false;
    this.wantShutDown = true;
    this.wake?.();
    const deadline = Date.now() + timeoutMs;
    while (!this.shutDownAllowed && !this.stopped && Date.now() < deadline) await this.changed(Math.min(200, deadline - Date.now()));
    if (this.shutDownAllowed) this.opts.logger.info('the controller allowed the shutdown (controlled shutdown complete)');
    else this.opts.logger.warn({ timeoutMs }, 'controlled shutdown did not complete in time');
    return this.shutDownAllowed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    for (const f of [...this.changeWaiters]) f();
    await this.running?.catch(() => undefined);
  }

  private notify(): void {
    for (const f of [...this.changeWaiters]) f();
  }

  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.changeWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(1, ms));
      this.changeWaiters.add(done);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    const unsubscribe = this.opts.quorum.onImage(() => this.notify());
    try {
      while (!this.stopped && !this.shutDownAllowed) {
        try {
          if (this.brokerEpoch < 0) {
            if (!(await this.register())) await this.sleep(REGISTRATION_BACKOFF_MS);
            continue;
          }
          await this.heartbeat();
        } catch (err) {
          // A bug or an unexpected controller failure: keep the broker alive and try again.
          this.opts.logger.error({ err }, 'broker registration or heartbeat failed');
          await this.sleep(REGISTRATION_BACKOFF_MS);
          continue;
        }
        if (this.stopped || this.shutDownAllowed) break;
        const fast = this.wantShutDown || !this.isUnfencedLocally();
        await this.sleep(fast ? FAST_HEARTBEAT_MS : this.opts.heartbeatIntervalMs);
      }
    } finally {
      unsubscribe();
    }
  }

  private async register(): Promise<boolean> {
    const o = this.opts;
    try {
      const res = await o.client.brokerRegistration(
        {
          brokerId: o.nodeId,
          clusterId: o.clusterId,
          incarnationId: o.incarnationId,
          listeners: o.listeners.map((l) => ({
            name: l.name,
            host: l.host,
            port: l.port,
            securityProtocol: SECURITY_PROTOCOLS[o.securityProtocols.get(l.name) ?? l.name] ?? 0,
          })),
          features: [METADATA_VERSION_RANGE],
          rack: o.rack,
          isMigratingZkBroker: false,
          logDirs: [...(o.logDirIds ?? [])],
          previousBrokerEpoch: -1n,
        },
        o.requestTimeoutMs,
      );
      if (res.errorCode !== ErrorCode.NONE) {
        o.logger.warn({ errorCode: res.errorCode }, 'broker registration refused; retrying');
        return false;
      }
      this.brokerEpoch = Number(res.brokerEpoch);
      this.fenced = true;
      o.logger.info({ brokerEpoch: this.brokerEpoch, incarnation: o.incarnationId }, 'registered with the controller');
      this.notify();
      return true;
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      o.logger.debug({ err: err.message }, 'broker registration: no active controller yet');
      return false;
    }
  }

  private async heartbeat(): Promise<void> {
    const o = this.opts;
    try {
      const res = await o.client.brokerHeartbeat(
        {
          brokerId: o.nodeId,
          brokerEpoch: BigInt(this.brokerEpoch),
          currentMetadataOffset: BigInt(Math.max(0, o.quorum.image.offset)),
          wantFence: false,
          wantShutDown: this.wantShutDown,
          offlineLogDirs: o.offlineLogDirIds?.() ?? [],
        },
        o.requestTimeoutMs,
      );
      if (res.errorCode === ErrorCode.STALE_BROKER_EPOCH || res.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        o.logger.warn({ brokerEpoch: this.brokerEpoch, errorCode: res.errorCode }, 'the controller no longer knows this registration; registering again');
        this.brokerEpoch = -1;
        this.fenced = true;
        this.notify();
        return;
      }
      if (res.errorCode !== ErrorCode.NONE) {
        o.logger.warn({ errorCode: res.errorCode }, 'broker heartbeat failed');
        return;
      }
      if (this.fenced !== res.isFenced) o.logger.info({ fenced: res.isFenced, brokerEpoch: this.brokerEpoch }, res.isFenced ? 'the controller fenced this broker' : 'the controller unfenced this broker');
      this.fenced = res.isFenced;
      if (res.shouldShutDown && this.wantShutDown) this.shutDownAllowed = true;
      this.notify();
    } catch (err) {
      if (!(err instanceof ControllerUnavailableError)) throw err;
      o.logger.debug({ err: err.message }, 'broker heartbeat: no active controller');
    }
  }
}
