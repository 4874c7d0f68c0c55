// Protocol fuzzing against a live broker (issue #8). For every API key and version the broker
// advertises (ApiVersions), a small valid request (test/support/minimal-requests.ts) is encoded
// with the generated codec and a proper header, then sent mutated, one case per connection:
//
//   bitflip / bitflips   1 or 2..8 random bits of header+body flipped
//   bytes                1..4 bytes set to 0x00/0x7f/0x80/0xff/...
//   length-field         one string/bytes length, array count, null marker, tagged-field count or
//                        size (positions recorded while encoding) set to 2^31-1, -2, INT_MIN, a
//                        2^32-1 or over-long varint, or a little more than what is left
//   int-field            one int16/int32/int64 field of the body (a count, timeout, index, id)
//                        set to its max, min, -1, 0 or a large power of two
//   tagged               (flexible versions) an empty tagged-field section of the header or the
//                        body replaced by random tagged fields (known and unknown tags, lying sizes)
//   truncate / extend    the body cut short, or garbage appended (the size prefix follows)
//   version / apikey     another api version or api key in the header, body unchanged
//   size-smaller / -larger / -negative / -huge / -zero   the 4-byte frame size changed
//
// A complete frame must get an answer (which then decodes with the response codec of the
// version asked, exactly) or a closed connection within a few seconds; requests that may
// legitimately wait (Fetch long polls, group joins) may also park. When the connection stays
// open, a following ApiVersions on it is answered. An incomplete frame (size-larger) is left
// after a moment. After each batch of cases the broker process is alive, answers ApiVersions and
// Metadata on a new connection, and its RSS is sampled; the topics the cases created are deleted
// (so the samples show leaks, not thousands of fuzz-created partitions); at the end the RSS stayed bounded and did
// not grow steadily, the records stored before the run read back byte for byte (before and after
// a restart), and both topics' logs pass test/support/log-checker.ts.
//
// Bounded by default (FUZZ_CASES=8000 cases or FUZZ_SECONDS=40 s, whichever first). Longer runs:
// FUZZ_SECONDS=300 FUZZ_CASES=1000000 npx vitest run test/e2e/fuzz-live.test.ts. Seeded:
// FUZZ_SEED picks the seed; a failure prints the seed, case number, API, version, mutation and
// the frame's hex; FUZZ_ONLY=17,42 replays just those cases (sequentially).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SPECS, ApiKey } from '../../wire/generated/api.js';
import { ErrorCode } from '../../wire/errors.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../wire/header.js';
import { Reader, recordsBuffer } from '../../wire/primitives.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../wire/record-batch.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { envInt, flipBits, mutateInt, mutatePrefix, randomTaggedFields, RecordingWriter, rssBytes, seeded, type Random } from '../support/fuzz.js';
import { KafkaTestClient, withClient } from '../support/kafka-client.js';
import { checkPartitionLog } from '../support/log-checker.js';
import { minimalRequest, type RequestNames } from '../support/minimal-requests.js';
import { apiVersionsRequest } from '../support/protocol.js';
import { probeApiVersions, probeMetadata, RawConnection } from '../support/raw-client.js';
import { waitFor } from '../support/util.js';

const SEED = envInt('FUZZ_SEED', 0xf022);
const MAX_CASES = envInt('FUZZ_CASES', 8000);
const MAX_SECONDS = envInt('FUZZ_SECONDS', 40);
const ONLY = (process.env.FUZZ_ONLY ?? '').split(',').filter((s) => s.trim() !== '').map(Number);
/** Connections in flight at once (2 shared cores: the broker is one of the processes). */
const CONCURRENCY = ONLY.length > 0 ? 1 : 6;
const BATCH = 250;
/** A complete frame of an API that never waits must be answered or closed within this. */
const ANSWER_MS = 5_000;
/** How long a request that may wait (long poll, join) is given before it counts as parked. */
const PARK_MS = 1_500;
const RSS_LIMIT = 400 * 1024 * 1024;
const SOCKET_REQUEST_MAX_BYTES = 1_048_576;

/** The data that must survive: its own topic, a name no mutation of the fuzzed names reaches (length differs). */
const KNOWN = 'known-records-kept';
const NAMES: RequestNames = { topic: 'fuzz', group: 'fuzz-group', txn: 'fuzz-unknown-txn' };
const KNOWN_RECORDS = 120;
/** Correlation id of the follow-up ApiVersions sent on a connection that stayed open. */
const PROBE_CORRELATION = 0x7ead0001;

/** APIs that may hold a valid request for a while: a mutated max wait / min bytes / timeout parks it. */
const MAY_WAIT = new Set<number>([ApiKey.Fetch, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Produce, ApiKey.CreateTopics, ApiKey.DeleteTopics, ApiKey.CreatePartitions, ApiKey.DeleteRecords, ApiKey.ElectLeaders]);

/** Topic administration: listed when a batch ends with a topic missing. */
const ADMIN = new Set<number>([ApiKey.CreateTopics, ApiKey.DeleteTopics, ApiKey.CreatePartitions, ApiKey.DeleteRecords, ApiKey.AlterPartitionReassignments, ApiKey.AlterClientQuotas]);

const MUTATIONS = [
  'bitflip', 'bitflip', 'bitflips', 'bytes', 'length-field', 'length-field', 'length-field', 'int-field', 'int-field', 'int-field', 'tagged', 'truncate', 'extend',
  'version', 'apikey', 'size-smaller', 'size-larger', 'size-negative', 'size-huge', 'size-zero',
] as const;
type Mutation = (typeof MUTATIONS)[number];

interface Case {
  i: number;
  apiKey: number;
  version: number;
  mutation: Mutation;
  desc: string;
  /** The bytes written to the socket (size prefix included). */
  bytes: Buffer;
  /** The first frame is exactly `bytes` (size prefix right): its answer can be checked, and a follow-up sent. */
  whole: boolean;
  /** The size prefix promises more than is sent: nothing can be answered. */
  incomplete: boolean;
}

type Outcome = 'answered' | 'closed' | 'parked' | 'pending' | 'other-frame';

function describeCase(c: Case): string {
  const hex = c.bytes.length > 600 ? `${c.bytes.subarray(0, 600).toString('hex')}… (${c.bytes.length} bytes)` : c.bytes.toString('hex');
  return `seed ${SEED} case ${c.i} (FUZZ_SEED=${SEED} FUZZ_ONLY=${c.i}): ${API_SPECS[c.apiKey]?.name ?? c.apiKey} v${c.version} ${c.mutation} [${c.desc}] frame ${hex}`;
}

/** The valid frame of (apiKey, version) for case i, with the positions of its length prefixes. */
function validFrame(apiKey: number, version: number, i: number): { bytes: Buffer; w: RecordingWriter; headerEnd: number } {
  let body = minimalRequest(apiKey, version, i, NAMES) as Record<string, unknown>;
  // A group of its own per case: joins never wait for earlier (abandoned) members to rejoin.
  if (apiKey === ApiKey.JoinGroup) body = { ...body, groupId: `fuzz-join-${i}` };
  const w = new RecordingWriter(128);
  const sizePos = w.reserveInt32();
  encodeRequestHeader(w, apiKey, version, 1000 + i, 'fuzz-client');
  const headerEnd = w.length;
  API_SPECS[apiKey]!.encodeRequest(w, version, body);
  w.patchInt32(sizePos, w.length - 4);
  return { bytes: Buffer.from(w.toBuffer()), w, headerEnd };
}

function withSize(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length + 4);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function makeCase(i: number, pairs: ReadonlyArray<[number, number]>): Case {
  const rnd: Random = seeded((SEED * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);
  const [apiKey, version] = pairs[i % pairs.length]!;
  const { bytes: valid, w, headerEnd } = validFrame(apiKey, version, i);
  const payload = valid.subarray(4);
  const mutation = rnd.pick(MUTATIONS);
  const whole = (bytes: Buffer, desc: string): Case => ({ i, apiKey, version, mutation, desc, bytes, whole: true, incomplete: false });
  switch (mutation) {
    case 'bitflip':
    case 'bitflips': {
      const m = flipBits(payload, mutation === 'bitflip' ? 1 : rnd.int(2, 8), rnd);
      return whole(withSize(m.bytes), m.desc);
    }
    case 'bytes': {
      const out = Buffer.from(payload);
      const at: number[] = [];
      for (let k = rnd.int(1, 4); k > 0; k--) {
        const pos = rnd.int(0, out.length - 1);
        out[pos] = rnd.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe]);
        at.push(pos);
      }
      return whole(withSize(out), `bytes at ${at.join(',')}`);
    }
    case 'length-field': {
      const prefixes = [...w.prefixes.values()].filter((p) => p.pos >= 4).map((p) => ({ ...p, pos: p.pos - 4 }));
      const p = rnd.pick(prefixes);
      const m = mutatePrefix(payload, p, rnd);
      return whole(withSize(m.bytes), `${p.pos < headerEnd - 4 ? 'header ' : ''}${m.desc}`);
    }
    case 'int-field': {
      const ints = w.ints.filter((f) => f.pos >= headerEnd).map((f) => ({ ...f, pos: f.pos - 4 }));
      if (ints.length === 0) {
        const m = flipBits(payload, 1, rnd);
        return whole(withSize(m.bytes), `no integer field, a bit flip instead: ${m.desc}`);
      }
      const m = mutateInt(payload, rnd.pick(ints), rnd);
      return whole(withSize(m.bytes), m.desc);
    }
    case 'tagged': {
      const sections = [...w.prefixes.values()].filter((p) => p.what === 'tagged field count' && valid[p.pos] === 0);
      // Request header v2 has a tagged section too; the generated header codec recorded it.
      if (sections.length === 0) {
        const m = flipBits(payload, 1, rnd);
        return whole(withSize(m.bytes), `not flexible, a bit flip instead: ${m.desc}`);
      }
      const p = rnd.pick(sections);
      const tags = randomTaggedFields(rnd);
      const out = Buffer.concat([valid.subarray(4, p.pos), tags, valid.subarray(p.pos + 1)]);
      return whole(withSize(out), `${p.pos < headerEnd ? 'header' : 'body'} tagged fields @${p.pos - 4}: ${tags.toString('hex')}`);
    }
    case 'truncate': {
      const keep = rnd.int(0, payload.length - 1);
      return whole(withSize(payload.subarray(0, keep)), `kept ${keep} of ${payload.length} bytes`);
    }
    case 'extend': {
      const extra = rnd.nastyBytes(rnd.int(1, 64));
      return whole(withSize(Buffer.concat([payload, extra])), `appended ${extra.length} bytes`);
    }
    case 'version': {
      const out = Buffer.from(payload);
      const v = rnd.chance(0.7) ? rnd.int(-2, API_SPECS[apiKey]!.maxVersion + 3) : rnd.int(-32768, 32767);
      out.writeInt16BE(v, 2);
      return whole(withSize(out), `api version ${version} -> ${v}`);
    }
    case 'apikey': {
      const out = Buffer.from(payload);
      const k = rnd.chance(0.8) ? rnd.int(-1, 90) : rnd.int(-32768, 32767);
      out.writeInt16BE(k, 0);
      return whole(withSize(out), `api key ${apiKey} -> ${k}`);
    }
    case 'size-smaller': {
      const size = rnd.int(0, payload.length - 1);
      const out = Buffer.from(valid);
      out.writeInt32BE(size, 0);
      return { i, apiKey, version, mutation, desc: `size ${payload.length} -> ${size}`, bytes: out, whole: false, incomplete: false };
    }
    case 'size-larger': {
      const size = payload.length + rnd.int(1, 4096);
      const out = Buffer.from(valid);
      out.writeInt32BE(size, 0);
      return { i, apiKey, version, mutation, desc: `size ${payload.length} -> ${size}`, bytes: out, whole: false, incomplete: true };
    }
    case 'size-negative':
    case 'size-huge':
    case 'size-zero': {
      const size =
        mutation === 'size-zero' ? 0
        : mutation === 'size-negative' ? rnd.pick([-1, -2, -0x80000000, -payload.length])
        : rnd.pick([0x7fffffff, SOCKET_REQUEST_MAX_BYTES + 1, 0x40000000]);
      const out = Buffer.from(valid);
      out.writeInt32BE(size, 0);
      return { i, apiKey, version, mutation, desc: `size ${payload.length} -> ${size}`, bytes: out, whole: false, incomplete: false };
    }
  }
}

/** The int16/int32 at `pos` of the bytes sent, or undefined when the frame is shorter. */
const int16At = (c: Case, pos: number) => (c.bytes.length >= pos + 2 ? c.bytes.readInt16BE(pos) : undefined);
const int32At = (c: Case, pos: number) => (c.bytes.length >= pos + 4 ? c.bytes.readInt32BE(pos) : undefined);

/** Checks a response frame to the case's (possibly mutated) header: it must decode exactly. Returns a problem or null. */
function checkAnswer(c: Case, payload: Buffer): string | null {
  const apiKey = int16At(c, 4);
  const version = int16At(c, 6);
  if (apiKey === undefined || version === undefined) return `answered a frame of ${c.bytes.length - 4} bytes, shorter than a header`;
  const spec = API_SPECS[apiKey];
  if (!spec) return `answered an unknown api key ${apiKey}`;
  const supported = version >= spec.minVersion && version <= spec.maxVersion;
  if (!supported && apiKey !== ApiKey.ApiVersions) return `answered ${spec.name} v${version}, a version it does not serve`;
  const bodyVersion = supported ? version : 0;
  try {
    const r = new Reader(payload);
    decodeResponseHeader(r, apiKey, bodyVersion);
    spec.decodeResponse(r, bodyVersion);
    if (r.remaining() !== 0) return `${r.remaining()} bytes left after the ${spec.name} v${bodyVersion} response`;
  } catch (e) {
    return `the ${spec.name} v${bodyVersion} response does not decode: ${(e as Error).message}; response ${payload.toString('hex').slice(0, 400)}`;
  }
  return null;
}

/** Runs one case on its own connection. Returns its outcome, or throws with the replay information. */
async function runCase(port: number, c: Case): Promise<Outcome> {
  const conn = await RawConnection.connect(port, '127.0.0.1', 5_000);
  try {
    await conn.write(c.bytes);
    if (c.incomplete) {
      // Nothing can be answered; the broker must neither answer nor fall over. Leave after a moment.
      const out = await conn.read(50);
      if (out.kind === 'frame') throw new Error(`answered an incomplete frame: ${out.payload.toString('hex').slice(0, 200)}`);
      return out.kind === 'closed' ? 'closed' : 'pending';
    }
    const mayWait = MAY_WAIT.has(int16At(c, 4) ?? -1);
    const out = await conn.read(mayWait ? PARK_MS : ANSWER_MS);
    if (out.kind === 'closed') return 'closed';
    if (out.kind === 'timeout') {
      if (mayWait || !c.whole) return 'parked';
      throw new Error(`no answer and no close within ${ANSWER_MS} ms (hang)`);
    }
    let outcome: Outcome = 'other-frame';
    if (c.whole && out.payload.length >= 4 && out.payload.readInt32BE(0) === int32At(c, 8)) {
      const problem = checkAnswer(c, out.payload);
      if (problem) throw new Error(problem);
      outcome = 'answered';
    }
    if (c.whole && !conn.closed) {
      // The connection stayed open: it is still usable.
      await conn.sendFrame(apiVersionsRequest(0, PROBE_CORRELATION));
      for (;;) {
        const next = await conn.read(ANSWER_MS);
        if (next.kind === 'closed') break;
        if (next.kind === 'timeout') throw new Error(`the connection stayed open but a following ApiVersions got no answer within ${ANSWER_MS} ms`);
        if (next.payload.readInt32BE(0) === PROBE_CORRELATION) break;
      }
    }
    return outcome;
  } finally {
    conn.destroy();
  }
}

async function fetchKnown(port: number): Promise<Buffer> {
  return withClient(port, async (c) => {
    const res = await c.send(ApiKey.Fetch, 4, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: 0,
      topics: [{ topic: KNOWN, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 8 << 20 }] }],
    });
    const p = res.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(ErrorCode.NONE);
    expect(p.highWatermark).toBe(BigInt(KNOWN_RECORDS));
    return Buffer.from(recordsBuffer(p.records) ?? Buffer.alloc(0));
  });
}

/**
 * Deletes the topics the cases created (a mutated CreateTopics may legitimately create a topic of
 * thousands of partitions): keeps the broker's state, file descriptors and so its RSS bounded, so
 * the RSS samples show leaks rather than topics. Returns how many were deleted.
 */
async function deleteCreatedTopics(port: number): Promise<number> {
  const md = await probeMetadata(port, null, 10_000);
  const names = md.topics.map((t) => t.name).filter((n) => n !== KNOWN && n !== NAMES.topic && !n.startsWith('__'));
  if (names.length === 0) return 0;
  await withClient(port, async (c) => {
    const r = await c.send(ApiKey.DeleteTopics, 4, { topicNames: names, timeoutMs: 30_000 }, 30_000);
    for (const t of r.responses) expect(t.errorCode, `delete ${t.name}`).toBe(ErrorCode.NONE);
  });
  return names.length;
}

/**
 * Creates the topic the requests name when a case deleted it: legitimately possible, e.g. a bit
 * flip turning DeleteRecords (key 21) into DeleteTopics (key 20) makes the DeleteRecords body,
 * which starts with [1 topic]['fuzz'], a valid DeleteTopics v0 of 'fuzz'. (KNOWN is named by no
 * request, so no mutation can reach it.) Returns whether it had to be created.
 */
async function ensureTopic(port: number, name: string): Promise<boolean> {
  const md = await probeMetadata(port, [name], 10_000);
  if (md.topics[0]?.errorCode === ErrorCode.NONE) return false;
  await waitFor(`topic ${name} re-created`, () =>
    withClient(port, async (c) => {
      const r = await c.send(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
      return r.topics[0]!.errorCode === ErrorCode.NONE || r.topics[0]!.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS;
    }),
    { timeoutMs: 20_000 },
  );
  return true;
}

function knownValue(k: number): Buffer {
  return Buffer.from([k & 0xff, 0, 0x0a, 0xff, 0x0d, (k * 7) & 0xff]);
}

describe('protocol fuzzing against a live broker', () => {
  let broker: BrokerHandle;
  let pairs: Array<[number, number]> = [];
  let knownBytes: Buffer;

  beforeAll(async () => {
    broker = await startBroker({
      env: {
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_SOCKET_REQUEST_MAX_BYTES: String(SOCKET_REQUEST_MAX_BYTES),
        // Only warnings and errors: every closed connection is an info line.
        LOG_LEVEL: 'warn',
      },
    });
    const client = await KafkaTestClient.connect(broker.port);
    try {
      for (const topic of [NAMES.topic, KNOWN]) {
        const r = await client.send(ApiKey.CreateTopics, 7, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
        expect(r.topics[0]!.errorCode).toBe(ErrorCode.NONE);
      }
      // The coordinators' topics exist and are loaded, so group and transaction calls get their protocol errors.
      expect((await client.send(ApiKey.FindCoordinator, 3, { key: NAMES.group, keyType: 0 })).errorCode).toBe(ErrorCode.NONE);
      expect((await client.send(ApiKey.FindCoordinator, 3, { key: NAMES.txn, keyType: 1 })).errorCode).toBe(ErrorCode.NONE);
      await waitFor('the transaction coordinator to load', async () => {
        const d = await client.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [NAMES.txn] });
        return d.transactionStates[0]!.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND;
      });
      // The records that must come through untouched: 4 batches, one gzip.
      for (let b = 0; b < 4; b++) {
        const records = Array.from({ length: KNOWN_RECORDS / 4 }, (_, k) => ({ key: `key-${b}-${k}`, value: knownValue(b * 30 + k), headers: { h: `${b}` } }));
        const res = await client.send(ApiKey.Produce, 9, {
          transactionalId: null, acks: -1, timeoutMs: 5000,
          topicData: [{ name: KNOWN, partitionData: [{ index: 0, records: encodeRecordBatch({ records, compression: b === 2 ? 1 : 0 }) }] }],
        });
        expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
      }
      const av = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' });
      for (const r of av.apiKeys) for (let v = r.minVersion; v <= r.maxVersion; v++) pairs.push([r.apiKey, v]);
    } finally {
      client.close();
    }
    knownBytes = await fetchKnown(broker.port);
    expect(knownBytes.length).toBeGreaterThan(0);
  }, 60_000);

  afterAll(async () => {
    await broker?.stop();
  });

  it('mutated requests of every advertised API and version: an answer or a closed connection, never a crash, a hang, a leak or damaged data', async () => {
    const started = Date.now();
    const deadline = started + MAX_SECONDS * 1000;
    const outcomes = new Map<string, number>();
    const byMutation = new Map<string, number>();
    const rss: number[] = [];
    const failures: string[] = [];
    let run = 0;
    let deleted = 0;
    let recreated = 0;
    const sample = async () => {
      const v = await rssBytes(broker.pid!);
      if (v !== undefined) rss.push(v);
    };
    await sample();

    const indices = ONLY.length > 0 ? ONLY : Array.from({ length: MAX_CASES }, (_, k) => k);
    for (let b = 0; b < indices.length && Date.now() < deadline; b += BATCH) {
      const batch = indices.slice(b, b + BATCH);
      /** Cases of this batch that got no quick answer or close: the suspects when the broker is in trouble. */
      const suspects: Array<{ c: Case; outcome: string; ms: number }> = [];
      let next = 0;
      const worker = async () => {
        while (next < batch.length && Date.now() < deadline && failures.length < 20) {
          const c = makeCase(batch[next++]!, pairs);
          const t0 = Date.now();
          let outcome = 'failed';
          try {
            outcome = await runCase(broker.port, c);
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          } catch (e) {
            failures.push(`${(e as Error).message}\n    ${describeCase(c)}`);
          }
          const ms = Date.now() - t0;
          if (outcome === 'parked' || outcome === 'failed' || ms > 1000) suspects.push({ c, outcome, ms });
          byMutation.set(c.mutation, (byMutation.get(c.mutation) ?? 0) + 1);
          run++;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      // After each batch: alive, serving, memory sampled. On trouble, name the suspects.
      try {
        expect(broker.exitStatus(), 'the broker process exited').toBeUndefined();
        const av = await probeApiVersions(broker.port, 0, 10_000);
        expect(av.errorCode).toBe(ErrorCode.NONE);
        const md = await probeMetadata(broker.port, [KNOWN], 10_000);
        expect(md.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([[KNOWN, ErrorCode.NONE, 1]]);
      } catch (e) {
        const rssNow = await rssBytes(broker.pid!);
        const last = batch.slice(Math.max(0, next - CONCURRENCY * 2), next).map((i) => describeCase(makeCase(i, pairs)));
        throw new Error(
          `after cases ${batch[0]}..${batch[next - 1]} the broker is unwell (${(e as Error).message}; exit ${JSON.stringify(broker.exitStatus())}, RSS ${rssNow}).\n` +
            `Slow or unanswered cases of the batch:\n  ${suspects.map((s) => `${s.outcome} after ${s.ms} ms: ${describeCase(s.c)}`).join('\n  ')}\n` +
            `The last cases started:\n  ${last.join('\n  ')}\n` +
            `The batch's topic admin cases:\n  ${batch.slice(0, next).map((i) => makeCase(i, pairs)).filter((c) => ADMIN.has(c.apiKey)).map(describeCase).join('\n  ')}`,
        );
      }
      await sample();
      if (failures.length >= 20) break;
      deleted += await deleteCreatedTopics(broker.port);
      if (await ensureTopic(broker.port, NAMES.topic)) recreated++;
    }
    const seconds = (Date.now() - started) / 1000;
    // State the cases legitimately created (topics, partitions), to read the RSS figures against.
    const all = await probeMetadata(broker.port, null, 10_000);
    const partitionCount = all.topics.reduce((n, t) => n + t.partitions.length, 0);
    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    const errorLines = broker.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
    // eslint-disable-next-line no-console
    console.log(
      `fuzz-live: ${run} cases over ${pairs.length} (API, version) pairs in ${seconds.toFixed(1)} s (seed ${SEED}); ` +
        `outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; mutations ${JSON.stringify(Object.fromEntries(byMutation))}; ` +
        `broker RSS ${mb(Math.min(...rss))}..${mb(Math.max(...rss))} MB over ${rss.length} samples (first ${mb(rss[0]!)}, last ${mb(rss[rss.length - 1]!)}); ` +
        `${errorLines.length} error log lines; ${deleted} topics created by cases deleted between batches, '${NAMES.topic}' re-created ${recreated} times, ${all.topics.length} topics with ${partitionCount} partitions at the end`,
    );
    if (errorLines.length > 0) {
      // eslint-disable-next-line no-console
      console.log(`broker error lines (first 10):\n${errorLines.slice(0, 10).join('\n')}`);
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    if (ONLY.length === 0) {
      expect(run).toBeGreaterThanOrEqual(Math.min(MAX_CASES, 500));
      for (const m of new Set(MUTATIONS)) expect(byMutation.get(m) ?? 0, `cases of mutation ${m}`).toBeGreaterThan(0);
    }
    // Memory: bounded, and no steady growth (the last samples not far above the early ones).
    expect(Math.max(...rss)).toBeLessThan(RSS_LIMIT);
    if (rss.length >= 6) {
      const third = Math.floor(rss.length / 3);
      const early = Math.max(...rss.slice(1, 1 + third));
      const late = Math.min(...rss.slice(-third));
      expect(late - early, `RSS samples ${rss.map(mb).join(' ')} MB`).toBeLessThan(100 * 1024 * 1024);
    }
    // Internal errors (a handler that threw, a failed internal append, ...) are logged at level
    // error or fatal: bad input must get a Kafka error code or a closed connection, never reach one.
    expect(errorLines.length, `broker error log lines:\n${errorLines.slice(0, 5).join('\n')}`).toBe(0);

    // The stored data is untouched, byte for byte, before and after a restart, and the logs are sound.
    const after = await fetchKnown(broker.port);
    expect(after.equals(knownBytes), 'known records changed').toBe(true);
    await broker.restart();
    const restarted = await fetchKnown(broker.port);
    expect(restarted.equals(knownBytes), 'known records changed after a restart').toBe(true);
    const decoded: Array<[string, string]> = [];
    for (let pos = 0; pos < restarted.length; ) {
      const batch = decodeRecordBatch(restarted, pos);
      for (const r of batch.records) decoded.push([r.key!.toString(), r.value!.toString('hex')]);
      pos += batch.header.batchLength + 12;
    }
    expect(decoded).toEqual(Array.from({ length: KNOWN_RECORDS }, (_, n) => [`key-${Math.floor(n / 30)}-${n % 30}`, knownValue(n).toString('hex')]));
    await broker.stop();
    expect(broker.exitStatus()?.code, 'clean exit on SIGTERM').toBe(0);
    const known = await checkPartitionLog(broker.dataDir, KNOWN, 0);
    expect(known.logEndOffset).toBe(KNOWN_RECORDS);
    await checkPartitionLog(broker.dataDir, NAMES.topic, 0, { allowGaps: true });
  }, (MAX_SECONDS + 120) * 1000);
});
