/**
 * The generated codecs: (a) the committed files are exactly what the generator produces,
 * (b) seeded random messages of every definition and version round-trip byte-for-byte,
 * (c) every decoder, fed random or damaged bytes, returns or throws DecodeError and nothing
 * else, (d) hand-checked byte fixtures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_SPECS, ApiKey } from '../../wire/generated/api.js';
import {
  decodeCoordinatorKey,
  decodeCoordinatorValue,
  encodeCoordinatorKey,
  encodeCoordinatorValue,
  coordinatorRecordSpec,
} from '../../wire/generated/coordinator/index.js';
import { decodeApiVersionsRequest, encodeApiVersionsRequest } from '../../wire/generated/messages/api-versions-request.js';
import { decodeApiVersionsResponse, encodeApiVersionsResponse } from '../../wire/generated/messages/api-versions-response.js';
import { decodeMetadataRequest, encodeMetadataRequest } from '../../wire/generated/messages/metadata-request.js';
import { decodeProduceRequest, encodeProduceRequest } from '../../wire/generated/messages/produce-request.js';
import { decodeRequestHeader, encodeRequestHeader } from '../../wire/generated/messages/request-header.js';
import { decodeMetadataRecord, encodeMetadataRecord, MetadataRecordType } from '../../wire/generated/metadata/index.js';
import { existingGeneratedFiles, generateAll, modulePath, overlayDir, protocolDir, repoRoot } from '../../wire/generator/generate.js';
import { loadMessages, type MessageSpec } from '../../wire/generator/schema.js';
import { DecodeError, Reader, Writer, ZERO_UUID, recordsBuffer } from '../../wire/primitives.js';
import { prng, Random } from '../support/fuzz.js';
import { randomStruct, versionsOf, withoutAbsent } from '../support/random-messages.js';

const ROOT = repoRoot();
const PROTOCOL_DIR = protocolDir(ROOT);
const HAVE_PROTOCOL = existsSync(join(PROTOCOL_DIR, 'messages'));
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

type Decode = (r: Reader, version: number) => unknown;
type Encode = (w: Writer, version: number, m: unknown) => void;
interface Codec {
  msg: MessageSpec;
  decode: Decode;
  encode: Encode;
}

function encode(codec: Codec, version: number, m: unknown): Buffer {
  const w = new Writer(64);
  codec.encode(w, version, m);
  return w.toBuffer();
}

// ---- (a) the committed files are up to date ----

describe('generated files', () => {
  if (!HAVE_PROTOCOL) {
    it.skip(`match the generator output (skipped: no Kafka definitions at ${PROTOCOL_DIR})`, () => {});
    return;
  }
  it('match the generator output exactly', () => {
    const expected = generateAll(PROTOCOL_DIR);
    const stale: string[] = [];
    for (const [path, content] of expected) {
      const abs = join(ROOT, path);
      if (!existsSync(abs)) stale.push(`missing: ${path}`);
      else if (readFileSync(abs, 'utf8') !== content) stale.push(`differs: ${path}`);
    }
    for (const path of existingGeneratedFiles(ROOT)) {
      if (!expected.has(path)) stale.push(`not generated: ${path}`);
    }
    expect(stale, 'run `npm run gen` and commit wire/generated').toEqual([]);
  });

  it('generation is deterministic', () => {
    const a = generateAll(PROTOCOL_DIR);
    const b = generateAll(PROTOCOL_DIR);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(b.get(k)).toBe(v);
  });
});

// ---- (b) and (c) ----

describe.skipIf(!HAVE_PROTOCOL)('every definition and version', () => {
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

  it('has a codec for each of the 231 definitions', () => {
    expect(codecs.length).toBe(231);
    for (const c of codecs) {
      expect(typeof c.decode, c.msg.name).toBe('function');
      expect(typeof c.encode, c.msg.name).toBe('function');
    }
  });

  it('round-trips random messages: encode → decode → equal → re-encode gives the same bytes', () => {
    let checked = 0;
    for (const codec of codecs) {
      for (const v of versionsOf(codec.msg)) {
        const rnd = new Random(prng(codec.msg.name.length * 1000 + v * 7 + 1));
        for (let sample = 0; sample < 6; sample++) {
          const m = randomStruct(codec.msg.root, v, rnd);
          const where = `${codec.msg.name} v${v} sample ${sample}`;
          let bytes: Buffer;
          try {
            bytes = encode(codec, v, m);
          } catch (e) {
            throw new Error(`${where}: encode failed: ${(e as Error).message}`);
          }
          const r = new Reader(bytes);
          const decoded = codec.decode(r, v);
          expect(r.remaining(), where).toBe(0);
          expect(decoded, where).toEqual(m);
          expect(encode(codec, v, decoded).equals(bytes), `${where}: re-encoding differs`).toBe(true);
          // Leaving out the fields this version does not carry gives the same bytes.
          expect(encode(codec, v, withoutAbsent(codec.msg.root, v, m)).equals(bytes), `${where}: sparse object`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBe(732 * 6); // 730 definition/version pairs of Kafka 3.9 + VoteRequest/VoteResponse v2 (overlays)
  });

  it('decoders return or throw DecodeError on random, truncated and damaged input', () => {
    const rnd = new Random(prng(12345));
    const special = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff];
    const randomInput = (n: number) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = rnd.chance(0.5) ? special[rnd.int(0, special.length - 1)]! : rnd.int(0, 255);
      return b;
    };
    let decodes = 0;
    const tryDecode = (codec: Codec, v: number, input: Buffer) => {
      decodes++;
      try {
        codec.decode(new Reader(input), v);
      } catch (e) {
        if (!(e instanceof DecodeError)) {
          throw new Error(`${codec.msg.name} v${v} on ${input.toString('hex')}: threw ${String(e)}`);
        }
      }
    };
    for (const codec of codecs) {
      for (const v of versionsOf(codec.msg)) {
        for (let i = 0; i < 25; i++) tryDecode(codec, v, randomInput(rnd.int(0, 48)));
        const valid = encode(codec, v, randomStruct(codec.msg.root, v, rnd));
        const step = Math.max(1, Math.floor(valid.length / 60));
        for (let len = 0; len < valid.length; len += step) tryDecode(codec, v, valid.subarray(0, len));
        for (let i = 0; i < 20; i++) {
          const damaged = Buffer.from(valid);
          if (damaged.length === 0) break;
          for (let k = rnd.int(1, 3); k > 0; k--) damaged[rnd.int(0, damaged.length - 1)] = special[rnd.int(0, special.length - 1)]!;
          tryDecode(codec, v, damaged);
        }
      }
    }
    expect(decodes).toBeGreaterThan(30_000);
  });

  it('rejects versions outside the valid range', () => {
    for (const codec of codecs) {
      const { lo, hi } = codec.msg.validVersions;
      expect(() => codec.decode(new Reader(Buffer.alloc(64)), hi + 1)).toThrow(DecodeError);
      expect(() => codec.decode(new Reader(Buffer.alloc(64)), lo - 1)).toThrow(DecodeError);
      expect(() => codec.encode(new Writer(), hi + 1, {})).toThrow(Error);
    }
  });
});

// ---- (d) hand-checked bytes, and the index modules ----

describe('byte fixtures', () => {
  it('ApiVersions v3 request as librdkafka sends it (header v2)', () => {
    const frame = hex(`
      0012 0003 00000001 0007 72646b61666b61 00
      0b 6c696272646b61666b61 06 322e332e30 00`);
    const r = new Reader(frame);
    expect(decodeRequestHeader(r, 2)).toEqual({ requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
    const body = decodeApiVersionsRequest(r, 3);
    expect(body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' });
    expect(r.remaining()).toBe(0);
    const w = new Writer();
    encodeRequestHeader(w, 2, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
    encodeApiVersionsRequest(w, 3, body);
    expect(w.toBuffer()).toEqual(frame);
  });

  it('Metadata v1 request for one topic (header v1), and for all topics', () => {
    const frame = hex('0003 0001 00000002 0007 6b61666b616a73 00000001 0004 74657374');
    const r = new Reader(frame);
    expect(decodeRequestHeader(r, 1)).toEqual({ requestApiKey: 3, requestApiVersion: 1, correlationId: 2, clientId: 'kafkajs' });
    const body = decodeMetadataRequest(r, 1);
    expect(body).toEqual({
      topics: [{ topicId: ZERO_UUID, name: 'test' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const w = new Writer();
    encodeMetadataRequest(w, 1, { topics: [{ name: 'test' }] });
    expect(w.toBuffer()).toEqual(frame.subarray(17));
    // v1: a null array means all topics; v0 has no null.
    expect(decodeMetadataRequest(new Reader(hex('ffffffff')), 1).topics).toBeNull();
    expect(() => decodeMetadataRequest(new Reader(hex('ffffffff')), 0)).toThrow(DecodeError);
    expect(() => encodeMetadataRequest(new Writer(), 0, { topics: null })).toThrow(/not allowed in version 0/);
  });

  it('Metadata v12 request (flexible: compact arrays, nullable topic names, uuids)', () => {
    const w = new Writer();
    encodeMetadataRequest(w, 12, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', name: null }], allowAutoTopicCreation: false });
    expect(w.toBuffer()).toEqual(hex('02 00000000000000000000000000000001 00 00 00 00 00'));
  });

  it('ApiVersions v0 and v3 responses, with a tagged field', () => {
    let w = new Writer();
    encodeApiVersionsResponse(w, 0, { errorCode: 35, apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 11 }] });
    expect(w.toBuffer()).toEqual(hex('0023 00000001 0000 0000 000b'));
    const v3 = hex('0000 02 0012 0000 0004 00 00000000 01 01 08 0000000000000005');
    const m = decodeApiVersionsResponse(new Reader(v3), 3);
    expect(m).toMatchObject({ errorCode: 0, throttleTimeMs: 0, finalizedFeaturesEpoch: 5n, supportedFeatures: [], zkMigrationReady: false });
    w = new Writer();
    encodeApiVersionsResponse(w, 3, m);
    expect(w.toBuffer()).toEqual(v3);
    // Unknown tags are skipped.
    const withUnknown = hex('0000 01 00000000 02 01 08 0000000000000005 1e 02 abcd');
    expect(decodeApiVersionsResponse(new Reader(withUnknown), 3).finalizedFeaturesEpoch).toBe(5n);
    // A known tag whose size does not match its value is malformed.
    expect(() => decodeApiVersionsResponse(new Reader(hex('0000 01 00000000 01 01 09 000000000000000500')), 3)).toThrow(DecodeError);
  });

  it('Produce v9 request: records stay a zero-copy slice', () => {
    const records = Buffer.from('0123456789', 'hex');
    const w = new Writer();
    encodeProduceRequest(w, 9, { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] });
    const bytes = w.toBuffer();
    expect(bytes).toEqual(hex('00 ffff 00007530 02 02 74 02 00000000 06 0123456789 00 00 00'));
    const decoded = decodeProduceRequest(new Reader(bytes), 9);
    const got = recordsBuffer(decoded.topicData[0]!.partitionData[0]!.records!);
    expect(got).toEqual(records);
    expect(got.buffer).toBe(bytes.buffer);
  });

  it('API table: 88 keys with their version ranges', () => {
    expect(API_SPECS.length).toBe(88);
    expect(API_SPECS.every((s, k) => s !== undefined && s.apiKey === k)).toBe(true);
    expect(ApiKey.Produce).toBe(0);
    expect(ApiKey.ApiVersions).toBe(18);
    expect(ApiKey[ApiKey.Fetch]).toBe('Fetch');
    expect(API_SPECS[ApiKey.Produce]).toMatchObject({ name: 'Produce', minVersion: 0, maxVersion: 11, flexibleMinVersion: 9 });
    expect(API_SPECS[ApiKey.SaslHandshake]).toMatchObject({ flexibleMinVersion: -1 });
    expect(API_SPECS[ApiKey.ShareFetch]!.latestVersionUnstable).toBe(true);
    expect(API_SPECS[ApiKey.Vote]!.listeners).toEqual(['controller']);
  });

  it('metadata records are framed as frame version, type, version, body', () => {
    const w = new Writer();
    encodeMetadataRecord(w, { type: MetadataRecordType.Topic, version: 0, record: { name: 'foo', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' } });
    const bytes = w.toBuffer();
    expect(bytes).toEqual(hex('01 02 00 04 666f6f 00000000000000000000000000000001 00'));
    expect(decodeMetadataRecord(new Reader(bytes))).toEqual({ type: 2, version: 0, record: { name: 'foo', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' } });
    expect(() => decodeMetadataRecord(new Reader(hex('02 02 00')))).toThrow(DecodeError);
    expect(() => decodeMetadataRecord(new Reader(hex('01 7f 00')))).toThrow(DecodeError);
    expect(() => decodeMetadataRecord(new Reader(hex('01 02 05')))).toThrow(DecodeError);
  });

  it('coordinator records: the key version selects the record kind', () => {
    const spec = coordinatorRecordSpec('__consumer_offsets', 1)!;
    expect(spec.name).toBe('OffsetCommit');
    const key = encodeCoordinatorKey(spec, 1, { group: 'g', topic: 't', partition: 3 });
    expect(key).toEqual(hex('0001 0001 67 0001 74 00000003'));
    expect(decodeCoordinatorKey('__consumer_offsets', key)).toMatchObject({ version: 1, key: { group: 'g', topic: 't', partition: 3 } });
    expect(coordinatorRecordSpec('__consumer_offsets', 2)!.name).toBe('GroupMetadata');
    expect(coordinatorRecordSpec('__transaction_state', 0)!.name).toBe('TransactionLog');
    expect(() => decodeCoordinatorKey('__consumer_offsets', hex('0063'))).toThrow(DecodeError);
    const value = { offset: 42n, leaderEpoch: 3, metadata: '', commitTimestamp: 1000n, expireTimestamp: -1n };
    const vb = encodeCoordinatorValue(spec, 3, value);
    expect(decodeCoordinatorValue(spec, vb)).toEqual({ version: 3, value });
  });
});
