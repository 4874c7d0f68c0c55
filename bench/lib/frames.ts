// Cuts a TCP byte stream into Kafka frames for both sides of the benchmark (the generator reading
// responses, the null broker reading requests), with the broker's own frame reader.
import { FrameReader } from '../../wire/frame-reader.js';

export class FrameCutter {
  private readonly reader: FrameReader;

  constructor(maxFrameBytes = 256 * 1024 * 1024) {
    this.reader = new FrameReader(maxFrameBytes);
  }

  /** Calls `onFrame` for every complete frame (without its size prefix). Throws on a bad size. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    const err = this.reader.push(chunk, onFrame);
    if (err) throw new Error(`bad frame size ${err.size}`);
  }
}
