// One client connection: frames in, responses out in request order.
// Handlers may finish out of order (a produce waiting for acks, a long-poll fetch), so each
// request gets a sequence number and a response is written only once every earlier one has
// been written. Writes made in one tick are corked into one syscall.
//
// Bounds (issue 8): frames cut from a chunk are queued and dispatched only while the connection
// has fewer than `maxInFlightRequests` unanswered requests, the server-wide count of unanswered
// requests is under `queued.max.requests` (`RequestBudget`), and less than `maxPendingWriteBytes`
// of responses wait to be sent; otherwise the socket is paused, so a client that pipelines
// without reading, or never reads its responses, stops being read instead of growing memory.
// At most one chunk's frames wait in the queue. Requests already dispatched are bounded too:
// a fetch reserves the bytes it may answer (`reserveResponseBytes`) out of the same
// `maxPendingWriteBytes`, counting responses unsent, answered but waiting for an earlier one,
// and promised to fetches still running; it waits while none are left, so a client that
// pipelines large fetches and never reads holds about that much memory, not one response per
// queued request.
//
// A client over a quota (broker/quota/) gets its response with throttle_time_ms and then the
// connection is muted (nothing read or dispatched) for that long (KIP-219); for request versions
// that predate KIP-219 the response itself is held for that long (and the responses behind it).
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
  /** Server-wide budget of unanswered requests (queued.max.requests); absent = none. */
  readonly budget?: RequestBudget;
}

/** queued.max.requests as a server-wide count of requests read but not yet answered. */
export class RequestBudget {
  private used = 0;
  private readonly waiting = new Set<Connection>();
  constructor(readonly max: number) {}
  get inUse(): number {
    return this.used;
  }
  tryAcquire(c: Connection): boolean {
    if (this.used >= this.max) {
      this.waiting.add(c);
      return false;
    }
    this.used++;
    return true;
  }
  release(): void {
    this.used--;
    if (this.waiting.size === 0 || this.used >= this.max) return;
    const ws = [...this.waiting];
    this.waiting.clear();
    for (const c of ws) c.resumeFromBudget();
  }
  forget(c: Connection): void {
    this.waiting.delete(c);
  }
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
  /** Frames read but not yet dispatched (at most one chunk's worth: the socket is paused meanwhile). */
  private readonly pending: Buffer[] = [];
  /** Requests of this connection holding a slot of the server-wide budget. */
  private budgetHeld = 0;
  /** Graceful close: no new request is dispatched; the socket ends once every answer is written. */
  private draining = false;
  /** Response bytes promised to running fetches (`reserveResponseBytes`). */
  private reservedResponseBytes = 0;
  /** Bytes of answered responses waiting for an earlier response to be written. */
  private heldResponseBytes = 0;
  private readonly responseByteWaiters: Array<() => void> = [];
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
    socket.on('drain', () => {
      this.wakeResponseByteWaiters();
      this.maybeResume();
    });
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => {
      if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
      this.closed = true;
      this.wakeResponseByteWaiters();
      this.releaseBudget();
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
    this.releaseBudget();
    this.socket.destroy();
  }

  /** Bytes of responses not yet handed to the kernel. */
  get pendingWriteBytes(): number {
    return this.socket.writableLength;
  }

  /** Response bytes this connection holds in memory: unsent, held for ordering, promised. */
  private get responseBytesInMemory(): number {
    return this.socket.writableLength + this.heldResponseBytes + this.reservedResponseBytes;
  }

  /**
   * Reserves up to `want` bytes for a response being built (a fetch), waiting while fewer than
   * min(want, `atLeast`) are left of `maxPendingWriteBytes`; resolves the bytes granted (0 once
   * the connection is closed). The caller gives them back with `releaseResponseBytes`.
   */
  async reserveResponseBytes(want: number, atLeast: number): Promise<number> {
    const need = Math.max(1, Math.min(want, atLeast));
    while (!this.closed) {
      const left = this.limits.maxPendingWriteBytes - this.responseBytesInMemory;
      if (left >= need) {
        const granted = Math.min(want, left);
        this.reservedResponseBytes += granted;
        return granted;
      }
      await new Promise<void>((resolve) => this.responseByteWaiters.push(resolve));
    }
    return 0;
  }

  releaseResponseBytes(bytes: number): void {
    this.reservedResponseBytes = Math.max(0, this.reservedResponseBytes - bytes);
    this.wakeResponseByteWaiters();
  }

  private wakeResponseByteWaiters(): void {
    if (this.responseByteWaiters.length === 0) return;
    for (const w of this.responseByteWaiters.splice(0)) w();
  }

  /**
   * Graceful close (shutdown): stops reading and dispatching; requests already dispatched are
   * answered; then the socket is ended (FIN after the last response byte). Resolves when the
   * socket closed or after `timeoutMs` (then destroyed).
   */
  async drainAndEnd(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.draining = true;
    this.socket.pause();
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, Math.max(1, deadline - Date.now()));
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      // end() flushes what is queued, then sends FIN; the client's FIN (or a reset) closes it.
      this.socket.end();
      // A client that never reads must not hold the shutdown: 'finish' then a short wait.
      this.socket.once('finish', () => setTimeout(() => this.socket.destroy(), 200).unref());
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const err = this.reader.push(chunk, (frame) => this.pending.push(frame));
    if (err) {
      this.close(err.kind === 'too-large' ? `request of ${err.size} bytes exceeds socket.request.max.bytes ${err.max}` : `negative frame size ${err.size}`);
      return;
    }
    this.dispatchPending();
  }

  /** Called by the budget when slots are free again. */
  resumeFromBudget(): void {
    this.dispatchPending();
    this.maybeResume();
  }

  private canDispatch(): boolean {
    return !this.draining && this.throttleTimer === null && this.inFlight < this.limits.maxInFlightRequests && this.socket.writableLength <= this.limits.maxPendingWriteBytes;
  }

  private dispatching = false;

  private dispatchPending(): void {
    if (this.dispatching) return; // re-entered from a synchronous answer: the outer loop goes on
    this.dispatching = true;
    try {
      while (this.pending.length > 0 && !this.closed && this.canDispatch()) {
        if (this.limits.budget !== undefined) {
          if (!this.limits.budget.tryAcquire(this)) break;
          this.budgetHeld++;
        }
        this.onFrame(this.pending.shift()!);
      }
    } finally {
      this.dispatching = false;
    }
    this.maybePause();
  }

  private releaseBudget(): void {
    const b = this.limits.budget;
    if (b === undefined) return;
    b.forget(this);
    while (this.budgetHeld > 0) {
      this.budgetHeld--;
      b.release();
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
    this.heldResponseBytes += resultBytes(result);
    if (this.budgetHeld > 0) {
      this.budgetHeld--;
      this.limits.budget?.release();
    }
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
      this.heldResponseBytes -= resultBytes(r);
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
    if (this.pausedForBackpressure || this.closed || this.draining) return;
    if (this.pending.length > 0 || !this.canDispatch()) {
      this.pausedForBackpressure = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (this.closed || this.draining) return;
    if (this.pending.length > 0) this.dispatchPending();
    if (!this.pausedForBackpressure) return;
    if (this.pending.length === 0 && this.canDispatch()) {
      this.pausedForBackpressure = false;
      this.socket.resume();
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
    this.maybeResume();
    if (!this.pausedForBackpressure && !this.draining) this.socket.resume();
  }
}

function resultBytes(r: DispatchResult): number {
  if (r === null) return 0;
  if (r instanceof ThrottledResponse) return resultBytes(r.frames);
  if (Array.isArray(r)) {
    let n = 0;
    for (const b of r) n += b.length;
    return n;
  }
  return r.length;
}
