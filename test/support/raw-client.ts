// A minimal raw Kafka connection for bad-input tests: send arbitrary bytes or size-prefixed
// frames, read size-prefixed response frames with a timeout, and notice when the broker closes.

import net from 'node:net';
import {
  apiVersionsRequest,
  decodeApiVersionsResponse,
  decodeMetadataV1Response,
  metadataV1Request,
  responseCorrelationId,
  type ApiVersionsResponse,
  type MetadataV1Response,
} from './protocol.js';

export type ReadOutcome =
  | { kind: 'frame'; payload: Buffer }
  | { kind: 'closed'; error?: string }
  | { kind: 'timeout' };

export class RawConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private closedFlag = false;
  private closeError: string | undefined;
  private waiters: Array<() => void> = [];
  private nextCorrelationId = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.wake();
    });
    // 'end' = the peer sent FIN; 'close' = fully closed (also after ECONNRESET).
    socket.on('end', () => this.markClosed());
    socket.on('close', () => this.markClosed());
    socket.on('error', (err) => {
      this.closeError ??= err.message;
      this.markClosed();
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5_000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.setNoDelay(true);
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
        resolve(new RawConnection(socket));
      });
    });
  }

  /** A fresh correlation id for this connection. */
  correlationId(): number {
    return this.nextCorrelationId++;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Writes raw bytes. Resolves when handed to the kernel; never throws on a closed socket. */
  write(bytes: Buffer): Promise<void> {
    if (this.closedFlag || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Writes a 4-byte big-endian size followed by `payload`. */
  sendFrame(payload: Buffer): Promise<void> {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return this.write(Buffer.concat([size, payload]));
  }

  /**
   * The next response frame (payload without the size prefix), or 'closed' if the broker closed
   * the connection before a whole frame arrived, or 'timeout'.
   */
  async read(timeoutMs = 5_000): Promise<ReadOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.takeFrame();
      if (frame) return { kind: 'frame', payload: frame };
      if (this.closedFlag) return this.closeError ? { kind: 'closed', error: this.closeError } : { kind: 'closed' };
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout' };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  /** Like read() but throws unless a frame arrives. */
  async readFrame(timeoutMs = 5_000): Promise<Buffer> {
    const out = await this.read(timeoutMs);
    if (out.kind === 'frame') return out.payload;
    throw new Error(
      out.kind === 'closed'
        ? `connection closed by the broker before a response frame arrived${out.error ? ` (${out.error})` : ''}`
        : `no response frame within ${timeoutMs} ms`,
    );
  }

  /** Sends a frame and returns the response payload, checking the correlation id. */
  async request(payload: Buffer, timeoutMs = 5_000): Promise<Buffer> {
    await this.sendFrame(payload);
    const resp = await this.readFrame(timeoutMs);
    const expected = payload.readInt32BE(4); // request header: key int16, version int16, corr int32
    const got = responseCorrelationId(resp);
    if (got !== expected) throw new Error(`response correlation id ${got}, expected ${expected}`);
    return resp;
  }

  /** Resolves true once the broker has closed the connection (false after `timeoutMs`). */
  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
    return true;
  }

  /** Bytes received but not consumed as frames (e.g. a partial frame). */
  pendingBytes(): number {
    return this.buffered.length;
  }

  /** Half-closes our side (FIN) and lets the broker finish. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.markClosed();
  }

  private takeFrame(): Buffer | undefined {
    if (this.buffered.length < 4) return undefined;
    const size = this.buffered.readInt32BE(0);
    if (size < 0) throw new Error(`broker sent a negative frame size ${size}`);
    if (this.buffered.length < 4 + size) return undefined;
    const frame = this.buffered.subarray(4, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    return frame;
  }

  private markClosed(): void {
    this.closedFlag = true;
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/** Opens a connection, runs `fn`, always destroys the connection. */
export async function withConnection<T>(port: number, fn: (c: RawConnection) => Promise<T>): Promise<T> {
  const c = await RawConnection.connect(port);
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}

/** Writes `bytes` on a fresh connection and reports what came back first (a bad frame: 'closed'). */
export function sendRawBytes(port: number, bytes: Buffer, timeoutMs = 5_000): Promise<ReadOutcome> {
  return withConnection(port, async (c) => {
    await c.write(bytes);
    return c.read(timeoutMs);
  });
}

/** ApiVersions on a fresh connection (v0 by default: the oldest, simplest form). */
export async function probeApiVersions(port: number, version = 0, timeoutMs = 5_000): Promise<ApiVersionsResponse> {
  return withConnection(port, async (c) => {
    const resp = await c.request(apiVersionsRequest(version, c.correlationId()), timeoutMs);
    return decodeApiVersionsResponse(resp, version);
  });
}

/** Metadata v1 on a fresh connection. */
export async function probeMetadata(port: number, topics: string[] | null, timeoutMs = 5_000): Promise<MetadataV1Response> {
  return withConnection(port, async (c) => {
    const resp = await c.request(metadataV1Request(c.correlationId(), topics), timeoutMs);
    return decodeMetadataV1Response(resp);
  });
}
