/**
 * Property: every generated decoder — the request and response of every API and version, every
 * metadata and coordinator record, the other data definitions, and the index decoders on top
 * (`decodeMetadataRecord`, `decodeCoordinatorKey/Value`, `decodeRequestHeader`) — fed hostile
 * bytes either returns or throws `DecodeError`. Any other exception (RangeError, TypeError, ...)
 * fails; so does a decode that takes long or makes the process allocate much (a length of 2^31
 * must be refused before anything is allocated, never turn into a 2 GiB buffer or a 2^31-step
 * loop).
 *
 * Inputs, per (definition, version), from a seeded PRNG:
 * - random bytes (biased towards 0x00, 0x7f, 0x80, 0xff), 0..96 long;
 * - a valid random encoding with ONE length prefix (string/bytes length, array count, null
 *   marker, tagged-field count or size; positions recorded by `RecordingWriter`) set to a hostile
 *   value: 0x7fffffff, 0x40000000, -2, INT_MIN, 2^32-1 / 2^31 varints, an over-long varint, a
 *   little more than what is left. Every prefix of the encoding gets one;
 * - (flexible versions) a valid encoding whose empty tagged-field sections get random tagged
 *   fields (known and unknown tags, sizes that may lie).
 * test/wire/generated.test.ts already covers random bytes, truncation and byte damage of valid
 * encodings at a fixed size; this file adds the length-targeted mutations, the tagged fields,
 * time and allocation bounds, and scales with FUZZ_CASES (rounds per definition and version,
 * default 4, about a second; FUZZ_SEED picks another seed).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COORDINATOR_RECORD_SPECS, decodeCoordinatorKey, decodeCoordinatorValue } from '../../wire/generated/coordinator/index.js';
import { decodeMetadataRecord, METADATA_RECORD_SPECS } from '../../wire/generated/metadata/index.js';
import { modulePath, overlayDir, protocolDir, repoRoot } from '../../wire/generator/generate.js';
import { loadMessages, type MessageSpec } from '../../wire/generator/schema.js';
import { decodeRequestHeader } from '../../wire/header.js';
import { DecodeError, Reader, Writer } from '../../wire/primitives.js';
import { envInt, mutatePrefix, RecordingWriter, randomTaggedFields, seeded, type Random } from '../support/fuzz.js';
import { randomStruct, versionsOf } from '../support/random-messages.js';

const ROOT = repoRoot();
const PROTOCOL_DIR = protocolDir(ROOT);
const HAVE_PROTOCOL = existsSync(join(PROTOCOL_DIR, 'messages'));
const ROUNDS = envInt('FUZZ_CASES', 4);
const SEED = envInt('FUZZ_SEED', 0x5eed);
/** A single decode of at most a few hundred bytes taking longer than this is a hang. */
const MAX_DECODE_MS = 250;
/** Growth of the process's ArrayBuffer memory over one definition's cases (decoding is zero-copy). */
const MAX_ARRAYBUFFER_GROWTH = 16 * 1024 * 1024;

type Decode = (r: Reader, version: number) => unknown;
type Encode = (w: Writer, version: number, m: unknown) => void;
interface Codec {
  msg: MessageSpec;
  decode: Decode;
  encode: Encode;
}

/** Counts and the slowest decode, for the summary line. */
const stats = { decodes: 0, decodeErrors: 0, slowestMs: 0, slowest: '' };

/** Runs one decode: it must return or throw DecodeError, quickly. Throws a replayable failure otherwise. */
function check(where: string, input: Buffer, decode: (input: Buffer) => unknown): void {
  stats.decodes++;
  const t0 = performance.now();
  try {
    decode(input);
  } catch (e) {
    if (!(e instanceof DecodeError)) {
      throw new Error(`${where}: threw ${(e as Error)?.constructor?.name ?? typeof e}: ${String(e)}\n  seed ${SEED}, input ${input.toString('hex')}`);
    }
    stats.decodeErrors++;
  }
  const ms = performance.now() - t0;
  if (ms > stats.slowestMs) {
    stats.slowestMs = ms;
    stats.slowest = where;
  }
  if (ms > MAX_DECODE_MS) throw new Error(`${where}: decode took ${ms.toFixed(0)} ms (limit ${MAX_DECODE_MS})\n  seed ${SEED}, input ${input.toString('hex')}`);
}

/** A valid random encoding of `codec` at `v`, with the positions of its length prefixes. */
function validEncoding(codec: Codec, v: number, rnd: Random): { bytes: Buffer; w: RecordingWriter } {
  const w = new RecordingWriter(64);
  codec.encode(w, v, randomStruct(codec.msg.root, v, rnd));
  return { bytes: w.toBuffer(), w };
}

/** Every hostile input for one (definition, version) round: random bytes, each prefix mutated, tagged fields. */
function* hostileInputs(codec: Codec, v: number, rnd: Random): Generator<{ what: string; input: Buffer }> {
  for (let i = 0; i < 8; i++) yield { what: 'random bytes', input: rnd.nastyBytes(rnd.int(0, 96)) };
  const { bytes, w } = validEncoding(codec, v, rnd);
  for (const p of w.prefixes.values()) {
    const m = mutatePrefix(bytes, p, rnd);
    yield { what: m.desc, input: m.bytes };
  }
  // Empty tagged-field sections (a 0 byte recorded as a count) filled with random fields.
  const sections = [...w.prefixes.values()].filter((p) => p.what === 'tagged field count' && bytes[p.pos] === 0);
  for (let i = 0; i < Math.min(3, sections.length); i++) {
    const p = rnd.pick(sections);
    const tags = randomTaggedFields(rnd);
    yield { what: `tagged fields @${p.pos}: ${tags.toString('hex')}`, input: Buffer.concat([bytes.subarray(0, p.pos), tags, bytes.subarray(p.pos + 1)]) };
  }
}

describe('primitives refuse huge lengths before allocating', () => {
  it('int32 / varint lengths of 2^31-1, 2^32-1 and negatives throw DecodeError on a short buffer', () => {
    const before = process.memoryUsage().arrayBuffers;
    const int32 = (n: number) => {
      const b = Buffer.alloc(12);
      b.writeInt32BE(n, 0);
      return b;
    };
    const int16 = (n: number) => {
      const b = Buffer.alloc(12);
      b.writeInt16BE(n, 0);
      return b;
    };
    const uvar = (hex: string) => Buffer.concat([Buffer.from(hex, 'hex'), Buffer.alloc(8)]);
    const cases: Array<[string, Buffer, (r: Reader) => unknown]> = [];
    for (const n of [0x7fffffff, 0x40000000, 13, -2, -0x80000000]) {
      cases.push([`bytes ${n}`, int32(n), (r) => r.bytes()]);
      cases.push([`nullableBytes ${n}`, int32(n), (r) => r.nullableBytes()]);
      cases.push([`array ${n}`, int32(n), (r) => r.array((x) => x.int8())]);
      cases.push([`nullableArray ${n}`, int32(n), (r) => r.nullableArray((x) => x.int8())]);
      cases.push([`arrayLength ${n}`, int32(n), (r) => r.arrayLength()]);
    }
    for (const n of [0x7fff, -2, -0x8000]) {
      cases.push([`string ${n}`, int16(n), (r) => r.string()]);
      cases.push([`nullableString ${n}`, int16(n), (r) => r.nullableString()]);
    }
    for (const hex of ['ffffffff0f', '8080808008', 'ffffffff07', 'ffffffffff01']) {
      cases.push([`compactBytes ${hex}`, uvar(hex), (r) => r.compactBytes()]);
      cases.push([`compactNullableBytes ${hex}`, uvar(hex), (r) => r.compactNullableBytes()]);
      cases.push([`compactString ${hex}`, uvar(hex), (r) => r.compactString()]);
      cases.push([`compactArray ${hex}`, uvar(hex), (r) => r.compactArray((x) => x.int8())]);
      cases.push([`compactNullableArray ${hex}`, uvar(hex), (r) => r.compactNullableArray((x) => x.int8())]);
      cases.push([`skipTaggedFields ${hex}`, uvar(hex), (r) => r.skipTaggedFields()]);
      cases.push([`taggedFields size ${hex}`, Buffer.concat([Buffer.from('0101', 'hex'), uvar(hex)]), (r) => r.taggedFields(() => {})]);
    }
    for (const [what, buf, read] of cases) {
      expect(() => read(new Reader(buf)), what).toThrow(DecodeError);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MAX_ARRAYBUFFER_GROWTH);
  });
});

describe.skipIf(!HAVE_PROTOCOL)('every generated decoder on hostile input', () => {
  let codecs: Codec[] = [];

  beforeAll(async () => {
    const messages = loadMessages(PROTOCOL_DIR, overlayDir(ROOT));
    codecs = await Promise.all(
      messages.map(async (msg) => {
        const mod = (await import(join(ROOT, modulePath(msg)))) as Record<string, unknown>;
        return { msg, decode: mod[`decode${msg.name}`] as Decode, encode: mod[`encode${msg.name}`] as Encode };
      }),
    );
  }, 120_000);

  it(`returns or throws DecodeError, fast, without allocating (${ROUNDS} round(s) per definition and version)`, () => {
    const t0 = Date.now();
    const rnd = seeded(SEED);
    let pairs = 0;
    let maxGrowth = 0;
    const kinds = new Set<string>();
    for (const codec of codecs) {
      kinds.add(codec.msg.type);
      const before = process.memoryUsage().arrayBuffers;
      for (const v of versionsOf(codec.msg)) {
        pairs++;
        for (let round = 0; round < ROUNDS; round++) {
          for (const { what, input } of hostileInputs(codec, v, rnd)) {
            check(`${codec.msg.name} v${v} round ${round}: ${what}`, input, (b) => codec.decode(new Reader(b), v));
          }
        }
      }
      const growth = process.memoryUsage().arrayBuffers - before;
      maxGrowth = Math.max(maxGrowth, growth);
      expect(growth, `${codec.msg.name}: ArrayBuffer growth over its cases`).toBeLessThan(MAX_ARRAYBUFFER_GROWTH);
    }
    // eslint-disable-next-line no-console
    console.log(
      `decoder property: ${stats.decodes} decodes of ${codecs.length} definitions / ${pairs} versions in ${Date.now() - t0} ms ` +
        `(seed ${SEED}, ${stats.decodeErrors} DecodeErrors, slowest ${stats.slowestMs.toFixed(1)} ms: ${stats.slowest}, ` +
        `max ArrayBuffer growth ${(maxGrowth / 1024).toFixed(0)} KiB)`,
    );
    expect(pairs).toBe(732);
    expect([...kinds].sort()).toEqual(['data', 'header', 'metadata', 'request', 'response']); // coordinator records are 'data'
    expect(stats.decodes).toBeGreaterThan(pairs * ROUNDS * 8);
  }, 300_000);

  it('the index decoders: framed metadata records, coordinator keys/values, request headers', () => {
    const rnd = seeded(SEED + 1);
    let n = 0;
    for (let round = 0; round < ROUNDS * 20; round++) {
      // Framed metadata records: a valid frame of a random type with one prefix mutated, and random bytes.
      for (const spec of METADATA_RECORD_SPECS) {
        if (spec === undefined) continue;
        const codec = codecs.find((c) => c.msg.name === spec.name)!;
        const v = rnd.int(spec.minVersion, spec.maxVersion);
        const w = new RecordingWriter(64);
        w.uvarint(1);
        w.uvarint(spec.apiKey);
        w.uvarint(v);
        codec.encode(w, v, randomStruct(codec.msg.root, v, rnd));
        const bytes = w.toBuffer();
        for (const p of w.prefixes.values()) {
          const m = mutatePrefix(bytes, p, rnd);
          check(`metadata frame ${spec.name} v${v}: ${m.desc}`, m.bytes, (b) => decodeMetadataRecord(new Reader(b)));
          n++;
        }
        check('metadata frame random', rnd.nastyBytes(rnd.int(0, 64)), (b) => decodeMetadataRecord(new Reader(b)));
      }
      for (const spec of COORDINATOR_RECORD_SPECS) {
        const kv = rnd.int(spec.keyVersions[0], spec.keyVersions[1]);
        const vv = rnd.int(spec.valueVersions[0], spec.valueVersions[1]);
        const keyCodec = codecs.find((c) => c.msg.name === `${spec.name}Key`)!;
        const valueCodec = codecs.find((c) => c.msg.name === `${spec.name}Value`)!;
        for (const [codec, v, decode] of [
          [keyCodec, kv, (b: Buffer) => decodeCoordinatorKey(spec.topic, b)],
          [valueCodec, vv, (b: Buffer) => decodeCoordinatorValue(spec, b)],
        ] as const) {
          const w = new RecordingWriter(64);
          w.int16(v);
          codec.encode(w, v, randomStruct(codec.msg.root, v, rnd));
          const bytes = w.toBuffer();
          for (const p of w.prefixes.values()) {
            const m = mutatePrefix(bytes, p, rnd);
            check(`coordinator ${codec.msg.name} v${v}: ${m.desc}`, m.bytes, decode);
            n++;
          }
          check(`coordinator ${codec.msg.name} random`, rnd.nastyBytes(rnd.int(0, 64)), decode);
        }
      }
      // Request headers: any api key / version (known or not), hostile client id lengths.
      for (let i = 0; i < 20; i++) {
        const b = rnd.nastyBytes(rnd.int(0, 40));
        if (b.length >= 4 && rnd.chance(0.5)) b.writeInt16BE(rnd.int(-1, 80), 0);
        check(`request header ${b.toString('hex')}`, b, (x) => decodeRequestHeader(new Reader(x)));
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  }, 120_000);
});
