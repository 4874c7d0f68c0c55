// One client connection: frames in, responses out in request order.
// Handlers may finish out of order (a produce waiting for acks, a long-poll fetch), so each
// request gets a sequence number and a response is written only once every earlier one has
// been written. Writes made in one tick are corked into one syscall.
// A client over a quota (broker/quota/) gets its response with throttle_time_ms and then the
// connection is muted (reading paused) for that long (KIP-219); for request versions that predate
// KIP-219 the response itself is held for that long (and the responses behind it, in order).
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameReader } from '../../wire/frame-reader.js';

/** Thrown by a dispatcher when the bytes cannot be a valid request: the connection is closed. */
export class MalformedRequestError extends Error {}

/** A response (null: none, acks=0) of a client over a quota: mute after it, or hold it (`delay`). */
export class ThrottledResponse {
  constructor(
    readonly frames: Buffer | Buffer[] | null,
    readonly throttleMs: number,
    readonly delay: boolean,
  ) {}
}

export type DispatchResult = Buffer | Buffer[] | null | ThrottledResponse;

export interface RequestDispatcher {
  /** Returns the response frame(s) (size prefix included), or null when no response is due (acks=0). */
  dispatch(conn: Connection, frame: Buffer): DispatchResult | Promise<DispatchResult>;
}

export interface ConnectionLimits {
  /** socket.request.max.bytes */
  readonly maxRequestBytes: number;
  /** Requests read but not yet answered; past this the socket is paused (no unbounded buffering). */
  readonly maxInFlightRequests: number;
  /** Bytes queued in the socket's write buffer past which reading pauses until it drains. */
  readonly maxPendingWriteBytes: number;
}

export class Connection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly reader: FrameReader;
  private nextSeq = 0;
  private nextToWrite = 0;
  private readonly done = new Map<number, DispatchResult>();
  private corked = false;
  private pausedForBackpressure = false;
  private closed = false;
  /** Muted for a quota until this timer fires. */
  private throttleTimer: NodeJS.Timeout | null = null;
  private throttledUntil = 0;
  /** The next response waits for the throttle timer (a pre-KIP-219 request version). */
  private holding = false;
  /** Client id of the last request, for logs and quotas. */
  clientId: string | null = null;
  /** State handlers may attach to a connection (e.g. SASL, fetch session ids). */
  readonly attributes = new Map<string, unknown>();

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly dispatcher: RequestDispatcher,
    private readonly limits: ConnectionLimits,
    readonly logger: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.reader = new FrameReader(limits.maxRequestBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => {
      if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
      this.closed = true;
      this.onClose(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.nextSeq - this.nextToWrite;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.logger.info({ reason }, 'closing connection');
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const err = this.reader.push(chunk, (frame) => this.onFrame(frame));
    if (err) {
      this.close(err.kind === 'too-large' ? `request of ${err.size} bytes exceeds socket.request.max.bytes ${err.max}` : `negative frame size ${err.size}`);
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.closed) return;
    const seq = this.nextSeq++;
    let result: DispatchResult | Promise<DispatchResult>;
    try {
      result = this.dispatcher.dispatch(this, frame);
    } catch (e) {
      this.failed(e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.complete(seq, r),
        (e) => this.failed(e),
      );
    } else {
      this.complete(seq, result);
    }
    this.maybePause();
  }

  private failed(e: unknown): void {
    if (e instanceof MalformedRequestError) this.close(`malformed request: ${e.message}`);
    else {
      this.logger.error({ err: e }, 'request failed unexpectedly');
      this.close('internal error');
    }
  }

  private complete(seq: number, result: DispatchResult): void {
    if (this.closed) return;
    this.done.set(seq, result);
    if (seq === this.nextToWrite) this.flush();
  }

  private flush(): void {
    if (this.holding) return;
    while (this.done.has(this.nextToWrite)) {
      let r: DispatchResult = this.done.get(this.nextToWrite)!;
      if (r instanceof ThrottledResponse) {
        this.throttle(r.throttleMs);
        if (r.delay && r.frames !== null) {
          this.done.set(this.nextToWrite, r.frames);
          this.holding = true;
          break;
        }
        r = r.frames;
      }
      this.done.delete(this.nextToWrite);
      this.nextToWrite++;
      if (r === null) continue;
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          if (!this.closed) this.socket.uncork();
        });
      }
      if (Array.isArray(r)) for (const b of r) this.socket.write(b);
      else this.socket.write(r);
    }
    this.maybeResume();
    this.maybePause();
  }

  private maybePause(): void {
    if (this.pausedForBackpressure || this.closed) return;
    if (this.inFlight >= this.limits.maxInFlightRequests || this.socket.writableLength > this.limits.maxPendingWriteBytes) {
      this.pausedForBackpressure = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.pausedForBackpressure || this.closed) return;
    if (this.inFlight < this.limits.maxInFlightRequests && this.socket.writableLength <= this.limits.maxPendingWriteBytes) {
      this.pausedForBackpressure = false;
      if (this.throttleTimer === null) this.socket.resume();
    }
  }

  /** Mutes the connection for `ms` (extending a running throttle, never shortening it). */
  private throttle(ms: number): void {
    if (this.closed) return;
    const until = Date.now() + ms;
    this.socket.pause();
    if (until <= this.throttledUntil && this.throttleTimer !== null) return;
    this.throttledUntil = until;
    if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => this.endThrottle(), ms);
  }

  private endThrottle(): void {
    this.throttleTimer = null;
    this.throttledUntil = 0;
    if (this.closed) return;
    if (this.holding) {
      this.holding = false;
      this.flush();
    }
    if (!this.pausedForBackpressure && this.throttleTimer === null) this.socket.resume();
  }
}
