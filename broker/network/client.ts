// The broker as a Kafka client: one connection to one peer (another node's controller or
// broker listener), requests encoded with the generated codecs, responses matched by
// correlation id. Used by the quorum driver, forwarding to the active controller, replica
// fetchers and transaction markers. Requests fail fast when the peer is unreachable; the
// caller decides when to retry. A connection is opened lazily and reopened after a failure.
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { API_SPECS, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { decodeResponseHeader, encodeRequestFrame, encodeRequestHeader } from '../../wire/header.js';
import { Reader, Writer } from '../../wire/primitives.js';
import { FrameReader } from '../../wire/frame-reader.js';
import { faults } from '../fault-injection.js';

export class PeerUnavailableError extends Error {}
export class RequestTimeoutError extends Error {}

interface Pending {
  readonly apiKey: number;
  readonly version: number;
  readonly resolve: (payload: Reader) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The largest response a peer may send (a fetch of many partitions). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class PeerConnection {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private closed = false;

  constructor(
    readonly address: PeerAddress,
    private readonly clientId: string,
    private readonly logger: Logger,
    private readonly connectTimeoutMs = 3_000,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one request and resolves with the decoded response. */
  async send<K extends keyof ApiRequests & keyof ApiResponses>(apiKey: K, version: number, body: ApiRequests[K], timeoutMs: number): Promise<ApiResponses[K]> {
    if (faults.isolated) this.checkFaults();
    const socket = await this.ensureConnected();
    if (faults.isolated) this.checkFaults();
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const frame = encodeRequestFrame(apiKey, version, correlationId, this.clientId, body);
    const reader = await new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RequestTimeoutError(`${API_SPECS[apiKey]?.name} to ${this.address.host}:${this.address.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve, reject, timer });
      socket.write(frame);
    });
    return API_SPECS[apiKey]!.decodeResponse(reader, version) as ApiResponses[K];
  }

  /**
   * Sends one request whose body is written by `encodeBody` and read back by `decodeBody`: for
   * versions the generated codecs do not cover (VoteRequest v2, see kraft/raft-wire.ts).
   */
  async sendRaw<T>(apiKey: number, version: number, encodeBody: (w: Writer) => void, decodeBody: (r: Reader) => T, timeoutMs: number): Promise<T> {
    if (faults.isolated) this.checkFaults();
    const socket = await this.ensureConnected();
    if (faults.isolated) this.checkFaults();
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer();
    const sizePos = w.reserveInt32();
    encodeRequestHeader(w, apiKey, version, correlationId, this.clientId);
    encodeBody(w);
    w.patchInt32(sizePos, w.length - 4);
    const frame = w.toBuffer();
    const reader = await new Promise<Reader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RequestTimeoutError(`API ${apiKey} v${version} to ${this.address.host}:${this.address.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve, reject, timer });
      socket.write(frame);
    });
    return decodeBody(reader);
  }

  /** Test-only fault injection (broker/fault-injection.ts): an isolated node reaches no peer. */
  private checkFaults(): void {
    if (faults.blocksPeer(this.address)) throw new PeerUnavailableError(`${this.address.host}:${this.address.port}: unreachable (fault injection: this node is isolated)`);
  }

  close(): void {
    this.closed = true;
    this.fail(new PeerUnavailableError('connection closed'));
    this.socket?.destroy();
    this.socket = null;
  }

  private ensureConnected(): Promise<Socket> {
    if (this.closed) return Promise.reject(new PeerUnavailableError('connection closed'));
    if (this.socket) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.address.host, port: this.address.port });
      socket.setNoDelay(true);
      const frames = new FrameReader(MAX_RESPONSE_BYTES);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PeerUnavailableError(`connect to ${this.address.host}:${this.address.port} timed out`));
      }, this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        if (faults.enabled) faults.trackPeerSocket(socket, this.address);
        this.socket = socket;
        resolve(socket);
      });
      socket.on('data', (chunk: Buffer) => {
        const err = frames.push(chunk, (frame) => this.onFrame(frame));
        if (err) {
          this.logger.warn({ peer: this.address, err }, 'bad response frame from peer');
          socket.destroy();
        }
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(new PeerUnavailableError(`${this.address.host}:${this.address.port}: ${err.message}`));
      });
      socket.on('close', () => {
        clearTimeout(timer);
        if (this.socket === socket) this.socket = null;
        this.fail(new PeerUnavailableError(`connection to ${this.address.host}:${this.address.port} closed`));
        reject(new PeerUnavailableError(`connection to ${this.address.host}:${this.address.port} closed`));
      });
    });
    const attempt = this.connecting;
    attempt.then(
      () => {
        if (this.connecting === attempt) this.connecting = null;
      },
      () => {
        if (this.connecting === attempt) this.connecting = null;
      },
    );
    return attempt;
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) return;
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (!p) return; // timed out already
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    const r = new Reader(frame);
    try {
      decodeResponseHeader(r, p.apiKey, p.version);
      p.resolve(r);
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private fail(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }
}
