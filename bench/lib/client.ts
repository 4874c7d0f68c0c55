// A pipelined Kafka client connection for the benchmark, over the project's generated codecs.
// Two ways to use it:
// - `request(apiKey, version, body)`: encode, send, decode (admin calls: ApiVersions, Metadata,
//   CreateTopics, ListOffsets);
// - `sendFrame(frame, correlationId, onResponse)`: the hot path of the load generator, for
//   frames built once and patched (see templates.ts). Responses arrive in request order on a
//   connection (Kafka's rule), so pending requests are a FIFO; the correlation id is checked.
// Writes made in one tick are corked into one writev.
import net from 'node:net';
import { API_SPECS, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { decodeResponseHeader, encodeRequestFrame } from '../../wire/header.js';
import { Reader } from '../../wire/primitives.js';
import { FrameCutter } from './frames.js';

export type ResponseHandler = (payload: Buffer | null, err?: Error) => void;

interface Pending {
  correlationId: number;
  onResponse: ResponseHandler;
}

export const CLIENT_ID = 'kafka-ts-bench';

export class ClientConn {
  private readonly cutter = new FrameCutter();
  /** Pending requests; a ring would save little next to the work per response. */
  private pending: Pending[] = [];
  private head = 0;
  private corked = false;
  private nextCorrelationId = 1;
  private closedErr: Error | null = null;
  private readonly closeListeners: Array<(err: Error) => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.cutter.push(chunk, (frame) => this.onFrame(frame));
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<ClientConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ClientConn(socket));
      });
    });
  }

  get closed(): boolean {
    return this.closedErr !== null;
  }

  get inFlight(): number {
    return this.pending.length - this.head;
  }

  onClose(listener: (err: Error) => void): void {
    this.closeListeners.push(listener);
  }

  /** A fresh correlation id (positive int32, wraps). */
  correlationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  /** Writes a whole frame; `onResponse` gets the response payload (header included). */
  sendFrame(frame: Buffer, correlationId: number, onResponse: ResponseHandler | null, onWritten?: () => void): void {
    if (this.closedErr) {
      onResponse?.(null, this.closedErr);
      return;
    }
    if (onResponse) this.pending.push({ correlationId, onResponse });
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (onWritten) this.socket.write(frame, () => onWritten());
    else this.socket.write(frame);
  }

  /** Sends one request encoded with the generated codec and decodes the response. */
  request<K extends keyof ApiRequests & keyof ApiResponses>(apiKey: K, version: number, body: ApiRequests[K], timeoutMs = 30_000): Promise<ApiResponses[K]> {
    const correlationId = this.correlationId();
    const frame = encodeRequestFrame(apiKey, version, correlationId, CLIENT_ID, body);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${API_SPECS[apiKey]!.name} v${version}: no response in ${timeoutMs} ms`)), timeoutMs);
      this.sendFrame(frame, correlationId, (payload, err) => {
        clearTimeout(timer);
        if (!payload) {
          reject(err ?? new Error('no response'));
          return;
        }
        try {
          const r = new Reader(payload);
          decodeResponseHeader(r, apiKey, version);
          resolve(API_SPECS[apiKey]!.decodeResponse(r, version) as ApiResponses[K]);
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** Sends a request that gets no response (Produce acks=0). */
  requestNoResponse<K extends keyof ApiRequests>(apiKey: K, version: number, body: ApiRequests[K]): void {
    this.sendFrame(encodeRequestFrame(apiKey, version, this.correlationId(), CLIENT_ID, body), 0, null);
  }

  private onFrame(frame: Buffer): void {
    if (this.head >= this.pending.length) {
      this.fail(new Error('response without a pending request'));
      return;
    }
    const p = this.pending[this.head]!;
    this.pending[this.head] = undefined as unknown as Pending;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    const got = frame.length >= 4 ? frame.readInt32BE(0) : -1;
    if (got !== p.correlationId) {
      p.onResponse(null, new Error(`correlation id ${got}, expected ${p.correlationId}`));
      this.fail(new Error(`correlation id mismatch (${got} != ${p.correlationId})`));
      return;
    }
    p.onResponse(frame);
  }

  private fail(err: Error): void {
    if (this.closedErr) return;
    this.closedErr = err;
    this.socket.destroy();
    const waiting = this.pending.slice(this.head);
    this.pending = [];
    this.head = 0;
    for (const p of waiting) p.onResponse(null, err);
    for (const l of this.closeListeners) l(err);
  }

  close(): void {
    if (this.closedErr) return;
    this.closedErr = new Error('closed by the client');
    this.socket.destroy();
    const waiting = this.pending.slice(this.head);
    this.pending = [];
    this.head = 0;
    for (const p of waiting) p.onResponse(null, this.closedErr);
  }
}
