// Cuts a TCP byte stream into Kafka frames (4-byte big-endian size, then that many bytes), for
// both sides of the benchmark: the load generator reading responses and the null broker reading
// requests. Chunks are kept in a list and a frame is joined once, when all of it has arrived; a
// frame inside a single chunk is handed out as a zero-copy slice.

export class FrameCutter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;

  constructor(private readonly maxFrameBytes = 256 * 1024 * 1024) {}

  /** Calls `onFrame` for every complete frame (without its size prefix). Throws on a bad size. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) return;
        const size = this.peekInt32();
        if (size < 0 || size > this.maxFrameBytes) throw new Error(`bad frame size ${size}`);
        this.take(4);
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) return;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      onFrame(frame);
    }
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.allocUnsafe(4);
    let n = 0;
    for (const c of this.chunks) {
      const k = Math.min(4 - n, c.length);
      c.copy(head, n, 0, k);
      n += k;
      if (n === 4) break;
    }
    return head.readInt32BE(0);
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - filled, c.length);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
