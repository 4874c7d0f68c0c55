import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CompressionError,
  compress,
  compressionName,
  CompressionType,
  compressionTypeByName,
  decompress,
  DecompressionLimitError,
  isCompressionSupported,
  isXerialSnappy,
  UnsupportedCompressionError,
  xxh32,
} from '../../wire/compression.js';
import { ErrorCode } from '../../wire/errors.js';

const require = createRequire(import.meta.url);

function hasCli(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Mildly compressible data: random words from a small vocabulary. */
function texty(n: number, seed = 1): Buffer {
  const words = ['kafka', 'broker', 'record', 'batch', 'offset', 'leader', 'epoch', 'segment', ' ', '\n'];
  const out = Buffer.alloc(n);
  let x = seed;
  let pos = 0;
  while (pos < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    pos += out.write(words[(x >>> 16) % words.length]!, pos);
  }
  return out;
}

const CODECS = [CompressionType.GZIP, CompressionType.SNAPPY, CompressionType.LZ4, CompressionType.ZSTD];
const INPUTS: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from([42])],
  ['short text', Buffer.from('hello hello hello hello kafka')],
  ['200 KiB text (multi-block)', texty(200 * 1024)],
  ['100 KiB random (incompressible)', randomBytes(100 * 1024)],
  ['1 MiB zeros', Buffer.alloc(1024 * 1024)],
];

describe('compression round trips', () => {
  for (const codec of CODECS) {
    for (const [name, input] of INPUTS) {
      it(`${compressionName(codec)}: ${name}`, () => {
        const packed = compress(codec, input);
        const unpacked = decompress(codec, packed);
        expect(unpacked.equals(input)).toBe(true);
      });
    }
  }

  it('NONE passes data through', () => {
    const b = Buffer.from('abc');
    expect(compress(CompressionType.NONE, b)).toBe(b);
    expect(decompress(CompressionType.NONE, b)).toBe(b);
  });

  it('compresses compressible data', () => {
    const input = texty(100 * 1024);
    for (const codec of CODECS) expect(compress(codec, input).length).toBeLessThan(input.length / 2);
  });

  it('honours gzip and zstd levels', () => {
    const input = texty(100 * 1024);
    expect(decompress(CompressionType.GZIP, compress(CompressionType.GZIP, input, { level: 1 })).equals(input)).toBe(true);
    expect(decompress(CompressionType.ZSTD, compress(CompressionType.ZSTD, input, { level: 19 })).equals(input)).toBe(true);
  });
});

describe('codec names and support', () => {
  it('maps names', () => {
    expect(compressionName(CompressionType.ZSTD)).toBe('zstd');
    expect(compressionTypeByName('LZ4')).toBe(CompressionType.LZ4);
    expect(compressionTypeByName('uncompressed')).toBe(CompressionType.NONE);
    expect(compressionTypeByName('producer')).toBeNull();
  });

  it('reports support and rejects unknown ids', () => {
    for (const codec of [CompressionType.NONE, ...CODECS]) expect(isCompressionSupported(codec)).toBe(true);
    expect(isCompressionSupported(5)).toBe(false);
    expect(() => compress(5 as CompressionType, Buffer.alloc(1))).toThrow(UnsupportedCompressionError);
    try {
      decompress(7 as CompressionType, Buffer.alloc(1));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedCompressionError);
      expect((e as UnsupportedCompressionError).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    }
  });
});

describe('snappy framings', () => {
  const snappy = require('snappy') as { compressSync(b: Buffer): Buffer };

  it('writes a raw block by default', () => {
    const input = texty(100 * 1024);
    const packed = compress(CompressionType.SNAPPY, input);
    expect(isXerialSnappy(packed)).toBe(false);
    expect(packed.equals(snappy.compressSync(input))).toBe(true);
  });

  it('writes xerial framing with the snappy-java header on request', () => {
    const input = texty(100 * 1024);
    const packed = compress(CompressionType.SNAPPY, input, { snappyFraming: 'xerial' });
    expect(decompress(CompressionType.SNAPPY, packed).equals(input)).toBe(true);
    expect(isXerialSnappy(packed)).toBe(true);
    expect(packed.subarray(0, 8)).toEqual(Buffer.from('\x82SNAPPY\x00', 'latin1'));
    expect(packed.readInt32BE(8)).toBe(1);
    expect(packed.readInt32BE(12)).toBe(1);
    // 100 KiB in 32 KiB blocks = 4 blocks
    let pos = 16;
    let blocks = 0;
    while (pos < packed.length) {
      pos += 4 + packed.readInt32BE(pos);
      blocks++;
    }
    expect(pos).toBe(packed.length);
    expect(blocks).toBe(4);
  });

  it('reads raw (unframed) snappy', () => {
    const input = texty(50 * 1024);
    const raw = snappy.compressSync(input);
    expect(isXerialSnappy(raw)).toBe(false);
    expect(decompress(CompressionType.SNAPPY, raw).equals(input)).toBe(true);
  });

  it('reads hand-built xerial streams with uneven blocks', () => {
    const parts = [texty(1000, 2), texty(70000, 3), Buffer.from('tail')];
    const header = Buffer.from('82534e41505059000000000100000001', 'hex');
    const chunks: Buffer[] = [header];
    for (const p of parts) {
      const c = snappy.compressSync(p);
      const len = Buffer.alloc(4);
      len.writeInt32BE(c.length);
      chunks.push(len, c);
    }
    expect(decompress(CompressionType.SNAPPY, Buffer.concat(chunks)).equals(Buffer.concat(parts))).toBe(true);
  });

  it('xerial: empty input is a bare header', () => {
    const packed = compress(CompressionType.SNAPPY, Buffer.alloc(0), { snappyFraming: 'xerial' });
    expect(packed.length).toBe(16);
    expect(decompress(CompressionType.SNAPPY, packed).length).toBe(0);
  });

  it('rejects truncated and corrupt input', () => {
    const raw = compress(CompressionType.SNAPPY, texty(100 * 1024));
    expect(() => decompress(CompressionType.SNAPPY, raw.subarray(0, raw.length - 10))).toThrow(CompressionError);
    const packed = compress(CompressionType.SNAPPY, texty(100 * 1024), { snappyFraming: 'xerial' });
    expect(() => decompress(CompressionType.SNAPPY, packed.subarray(0, packed.length - 10))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.SNAPPY, packed.subarray(0, 12))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.SNAPPY, Buffer.from([0x10, 0x01, 0x02]))).toThrow(CompressionError);
  });
});

describe('xxh32', () => {
  const native = require('lz4/build/Release/xxhash.node') as { xxHash(b: Buffer, seed: number): number };

  it('matches known answers', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
  });

  it('matches the native xxhash for many lengths and offsets', () => {
    const data = randomBytes(300);
    for (let len = 0; len < 100; len++) {
      for (const off of [0, 3]) {
        const slice = data.subarray(off, off + len);
        expect(xxh32(data, off, off + len)).toBe(native.xxHash(Buffer.from(slice), 0) >>> 0);
      }
    }
    expect(xxh32(data, 0, data.length, 12345)).toBe(native.xxHash(data, 12345) >>> 0);
  });
});

describe('lz4 frames', () => {
  const lz4 = require('lz4') as { encode(b: Buffer, opts?: Record<string, unknown>): Buffer };

  it('writes frames like the Java client: 64 KiB independent blocks, no checksums', () => {
    const packed = compress(CompressionType.LZ4, texty(200 * 1024));
    expect(packed.readUInt32LE(0)).toBe(0x184d2204);
    expect(packed[4]).toBe(0x60);
    expect(packed[5]).toBe(0x40);
    expect(packed[6]).toBe((xxh32(packed, 4, 6) >>> 8) & 0xff);
    expect(packed.readUInt32LE(packed.length - 4)).toBe(0); // EndMark, no content checksum
  });

  it('stores incompressible blocks uncompressed', () => {
    const input = randomBytes(1000);
    const packed = compress(CompressionType.LZ4, input);
    expect(packed.readUInt32LE(7)).toBe((0x80000000 | 1000) >>> 0);
  });

  it('reads frames from the lz4 package (4 MiB or 64 KiB blocks, content checksum)', () => {
    // (its encoder's blockChecksum option is broken; block checksums are covered by the CLI test)
    const input = texty(300 * 1024);
    expect(decompress(CompressionType.LZ4, lz4.encode(input)).equals(input)).toBe(true);
    expect(decompress(CompressionType.LZ4, lz4.encode(input, { blockMaxSize: 64 * 1024 })).equals(input)).toBe(true);
  });

  it('reads concatenated frames and skips skippable frames', () => {
    const a = texty(1000, 5);
    const b = texty(2000, 6);
    const skippable = Buffer.alloc(8 + 5);
    skippable.writeUInt32LE(0x184d2a53, 0);
    skippable.writeUInt32LE(5, 4);
    const framed = Buffer.concat([compress(CompressionType.LZ4, a), skippable, compress(CompressionType.LZ4, b)]);
    expect(decompress(CompressionType.LZ4, framed).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('decodes linked (dependent) blocks and refuses back-references across independent blocks', () => {
    const frame = (flg: number): Buffer => {
      const head = Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, 0x40, 0]);
      head[6] = (xxh32(head, 4, 6) >>> 8) & 0xff;
      const block1 = Buffer.concat([Buffer.from([8, 0, 0, 0x80]), Buffer.from('abcdefgh')]);
      // token: 0 literals, match length 4+4; offset 8; then a final 1-literal sequence 'z'
      const body2 = Buffer.from([0x04, 0x08, 0x00, 0x10, 0x7a]);
      const block2 = Buffer.concat([Buffer.from([body2.length, 0, 0, 0]), body2]);
      return Buffer.concat([head, block1, block2, Buffer.alloc(4)]);
    };
    expect(decompress(CompressionType.LZ4, frame(0x40)).toString()).toBe('abcdefghabcdefghz');
    expect(() => decompress(CompressionType.LZ4, frame(0x60))).toThrow(CompressionError);
  });

  it('rejects a bad descriptor checksum, bad magic, truncation and corrupt blocks', () => {
    const packed = compress(CompressionType.LZ4, texty(100 * 1024));
    const badHc = Buffer.from(packed);
    badHc[6] ^= 0xff;
    expect(() => decompress(CompressionType.LZ4, badHc)).toThrow(/descriptor checksum/);
    const badMagic = Buffer.from(packed);
    badMagic[0] = 0;
    expect(() => decompress(CompressionType.LZ4, badMagic)).toThrow(/magic/);
    expect(() => decompress(CompressionType.LZ4, packed.subarray(0, packed.length - 4))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.LZ4, packed.subarray(0, 100))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.LZ4, Buffer.alloc(0))).toThrow(CompressionError);
    const corrupt = Buffer.from(packed);
    for (let i = 20; i < 60; i++) corrupt[i] = 0xff;
    expect(() => decompress(CompressionType.LZ4, corrupt)).toThrow(CompressionError);
  });

  it.skipIf(!hasCli('lz4'))('reads frames from the lz4 CLI in librdkafka-like and other modes', () => {
    const input = texty(500 * 1024, 9);
    const modes = [
      ['-B4', '-BI', '--content-size'], // 64 KiB independent blocks + content size + content checksum
      ['-B4', '-BD'], // linked blocks
      ['-B5', '-BX', '--no-frame-crc'], // 256 KiB blocks with block checksums
      ['-B7', '-9'], // 4 MiB blocks, HC
    ];
    for (const mode of modes) {
      const packed = execFileSync('lz4', ['-q', '-c', '-z', ...mode], { input, maxBuffer: 64 << 20 });
      if (mode.includes('-BD')) expect(packed[4]! & 0x20).toBe(0); // really linked blocks
      expect(decompress(CompressionType.LZ4, packed).equals(input), mode.join(' ')).toBe(true);
    }
  });

  it.skipIf(!hasCli('lz4'))('writes frames the lz4 CLI can read', () => {
    const input = texty(300 * 1024, 11);
    const out = execFileSync('lz4', ['-q', '-d', '-c'], { input: compress(CompressionType.LZ4, input), maxBuffer: 64 << 20 });
    expect(out.equals(input)).toBe(true);
  });
});

describe('zstd', () => {
  it.skipIf(!hasCli('zstd'))('reads CLI streams without a content size (streaming path) and multiple frames', () => {
    const input = texty(400 * 1024, 13);
    // Reading stdin, the CLI does not know the size in advance: no content size in the header.
    const packed = execFileSync('sh', ['-c', 'cat | zstd -c -q'], { input, maxBuffer: 64 << 20 });
    expect(decompress(CompressionType.ZSTD, packed).equals(input)).toBe(true);
    const two = Buffer.concat([packed, compress(CompressionType.ZSTD, Buffer.from('more'))]);
    expect(decompress(CompressionType.ZSTD, two).equals(Buffer.concat([input, Buffer.from('more')]))).toBe(true);
    expect(() => decompress(CompressionType.ZSTD, packed.subarray(0, packed.length - 10))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.ZSTD, packed, { maxOutputBytes: 100 * 1024 })).toThrow(DecompressionLimitError);
  });

  it.skipIf(!hasCli('zstd'))('writes frames the zstd CLI can read', () => {
    const input = texty(300 * 1024, 17);
    const out = execFileSync('zstd', ['-d', '-c', '-q'], { input: compress(CompressionType.ZSTD, input), maxBuffer: 64 << 20 });
    expect(out.equals(input)).toBe(true);
  });

  it('rejects garbage and truncation', () => {
    const packed = compress(CompressionType.ZSTD, texty(100 * 1024));
    expect(() => decompress(CompressionType.ZSTD, Buffer.from('not zstd at all'))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.ZSTD, packed.subarray(0, packed.length - 3))).toThrow(CompressionError);
    expect(() => decompress(CompressionType.ZSTD, Buffer.alloc(0))).toThrow(CompressionError);
    // the decoder context recovers after errors
    expect(decompress(CompressionType.ZSTD, packed).equals(texty(100 * 1024))).toBe(true);
  });
});

describe('gzip', () => {
  it('reads concatenated members and rejects garbage', () => {
    const two = Buffer.concat([zlib.gzipSync('ab'), zlib.gzipSync('cd')]);
    expect(decompress(CompressionType.GZIP, two).toString()).toBe('abcd');
    expect(() => decompress(CompressionType.GZIP, Buffer.from('garbage garbage'))).toThrow(CompressionError);
    const packed = compress(CompressionType.GZIP, texty(10000));
    expect(() => decompress(CompressionType.GZIP, packed.subarray(0, packed.length - 20))).toThrow(CompressionError);
  });
});

describe('decompression bounds (zip bombs)', () => {
  const bomb = Buffer.alloc(16 * 1024 * 1024); // 16 MiB of zeros
  for (const codec of CODECS) {
    it(`${compressionName(codec)}: refuses output beyond maxOutputBytes`, () => {
      const packed = compress(codec, bomb);
      expect(packed.length).toBeLessThan(1024 * 1024);
      try {
        decompress(codec, packed, { maxOutputBytes: 1024 * 1024 });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(DecompressionLimitError);
        expect((e as DecompressionLimitError).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
      }
      // exactly at the limit is fine
      expect(decompress(codec, packed, { maxOutputBytes: bomb.length }).length).toBe(bomb.length);
      expect(() => decompress(codec, packed, { maxOutputBytes: bomb.length - 1 })).toThrow(DecompressionLimitError);
    });
  }

  it('snappy xerial: refuses output beyond maxOutputBytes', () => {
    const packed = compress(CompressionType.SNAPPY, Buffer.alloc(4 * 1024 * 1024), { snappyFraming: 'xerial' });
    expect(() => decompress(CompressionType.SNAPPY, packed, { maxOutputBytes: 1024 * 1024 })).toThrow(DecompressionLimitError);
  });

  it('applies to NONE too', () => {
    expect(() => decompress(CompressionType.NONE, Buffer.alloc(10), { maxOutputBytes: 9 })).toThrow(DecompressionLimitError);
  });

  it('lz4: a declared content size beyond the limit fails before decoding', () => {
    const head = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    head[14] = (xxh32(head, 4, 14) >>> 8) & 0xff;
    expect(() => decompress(CompressionType.LZ4, head, { maxOutputBytes: 1024 })).toThrow(DecompressionLimitError);
  });
});

describe('other clients read our output', () => {
  it('@platformatic/kafka codecs (wasm-utils) read our snappy and lz4 and we read theirs', async () => {
    let w: { snappyCompress(b: Buffer): Uint8Array; snappyDecompress(b: Buffer): Uint8Array; lz4Compress(b: Buffer): Uint8Array; lz4Decompress(b: Buffer): Uint8Array };
    try {
      w = (await import('@platformatic/wasm-utils' as string)) as typeof w;
    } catch {
      return; // not installed
    }
    const input = texty(150 * 1024, 21);
    expect(Buffer.from(w.snappyDecompress(compress(CompressionType.SNAPPY, input))).equals(input)).toBe(true);
    expect(Buffer.from(w.lz4Decompress(compress(CompressionType.LZ4, input))).equals(input)).toBe(true);
    expect(decompress(CompressionType.SNAPPY, Buffer.from(w.snappyCompress(input))).equals(input)).toBe(true);
    expect(decompress(CompressionType.LZ4, Buffer.from(w.lz4Compress(input))).equals(input)).toBe(true);
  });
});
