// The driver refuses a malformed snapshot from a leader before the Raft core sees its last
// chunk (no install, no state change, no crash), and installs a good one. The "leader" here is
// a fake transport answering Kafka's Fetch and FetchSnapshot on the wire.
import { afterEach, describe, expect, it } from 'vitest';
import type { RaftTransport } from '../../kraft/driver.js';
import { replayRecords } from '../../kraft/image.js';
import { RaftMetadataQuorum } from '../../kraft/raft-quorum.js';
import { fetchResponseToWire, fetchSnapshotResponseToWire } from '../../kraft/raft-wire.js';
import { encodeSnapshot } from '../../kraft/snapshot.js';
import { ApiKey } from '../../wire/generated/api.js';
import { encodeFetchResponse } from '../../wire/generated/messages/fetch-response.js';
import { decodeFetchSnapshotRequest } from '../../wire/generated/messages/fetch-snapshot-request.js';
import { encodeFetchSnapshotResponse } from '../../wire/generated/messages/fetch-snapshot-response.js';
import { Reader, Writer, type Reader as R } from '../../wire/primitives.js';
import { decodeRecordBatch, encodeRecordBatch, scanBatches } from '../../wire/record-batch.js';
import { cleanupTempDirs, clusterImage, logger, tempDir, topicRecords, uuid } from './helpers.js';

const quorums: RaftMetadataQuorum[] = [];
afterEach(async () => {
  for (const q of quorums.splice(0)) await q.close();
  cleanupTempDirs();
});

/** Leader 1 of epoch 1 whose log starts at its snapshot `id` (bytes `snapshot`). */
class FakeLeader implements RaftTransport {
  id = { endOffset: 10, epoch: 1 };
  snapshot: Buffer = Buffer.alloc(0);
  fetchSnapshotCalls = 0;

  async send<T>(_to: number, apiKey: number, version: number, encode: (w: Writer) => void, decode: (r: R) => T): Promise<T> {
    const req = new Writer();
    encode(req);
    const out = new Writer();
    if (apiKey === ApiKey.Fetch) {
      encodeFetchResponse(
        out,
        version,
        fetchResponseToWire(
          {
            type: 'FetchResponse',
            errorCode: 0,
            highWatermark: this.id.endOffset,
            logStartOffset: this.id.endOffset,
            divergingEpoch: null,
            currentLeader: { leaderId: 1, leaderEpoch: 1 },
            snapshotId: this.id,
            entries: [],
          },
          version,
          0,
        ),
      );
    } else if (apiKey === ApiKey.FetchSnapshot) {
      this.fetchSnapshotCalls++;
      const r = decodeFetchSnapshotRequest(new Reader(req.toBuffer()), version);
      const p = r.topics[0]!.partitions[0]!;
      const position = Number(p.position);
      const chunk = this.snapshot.subarray(position, position + 64);
      // A snapshot the leader replaced is gone (SNAPSHOT_NOT_FOUND): the follower fetches again.
      const errorCode = Number(p.snapshotId.endOffset) === this.id.endOffset ? 0 : 98;
      encodeFetchSnapshotResponse(
        out,
        version,
        fetchSnapshotResponseToWire({ type: 'FetchSnapshotResponse', errorCode, snapshotId: this.id, currentLeader: { leaderId: 1, leaderEpoch: 1 }, size: this.snapshot.length, position, chunk }),
      );
    } else {
      throw new Error(`unexpected API ${apiKey}`);
    }
    return decode(new Reader(out.toBuffer()));
  }

  close(): void {}
}

async function observer(transport: RaftTransport): Promise<RaftMetadataQuorum> {
  const q = await RaftMetadataQuorum.open({
    dir: tempDir(),
    nodeId: 9,
    clusterId: 'c',
    voterIds: [1],
    transport,
    logger,
    clock: { nowMs: () => Date.now() },
    timing: { tickMs: 10, electionTimeoutMs: 100, fetchTimeoutMs: 200, requestTimeoutMs: 100, retryBackoffMs: 10, fetchMaxWaitMs: 20 },
    endpoint: null,
    snapshotBytes: 1 << 30,
    onFatal: (err) => {
      throw err;
    },
  });
  quorums.push(q);
  q.start();
  return q;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('snapshot download', () => {
  it('refuses a snapshot with a malformed metadata record (no install), then installs the next, good one', async () => {
    const leader = new FakeLeader();
    const image = replayRecords(clusterImage(1), topicRecords('orders', uuid(1), [[1], [1]]), 9);
    // A malformed metadata record inside a valid batch (correct CRC, unknown record type).
    leader.snapshot = corruptRecordSnapshot(encodeSnapshot(image, { epoch: 1, logEndOffset: 42, timestampMs: 0 }));
    const q = await observer(leader);
    await wait(1_000);
    expect(leader.fetchSnapshotCalls).toBeGreaterThan(2);
    expect(q.status().logStartOffset).toBe(0);
    expect(q.image.topicByName('orders')).toBeUndefined();
    expect(q.image.offset).toBe(-1);
    // The leader takes a new snapshot: the follower drops the old download and installs this one.
    leader.id = { endOffset: 11, epoch: 1 };
    leader.snapshot = encodeSnapshot(replayRecords(image, [], 10), { epoch: 1, logEndOffset: 43, timestampMs: 0 });
    const deadline = Date.now() + 5_000;
    while (q.image.topicByName('orders') === undefined && Date.now() < deadline) await wait(20);
    expect(q.image.topicByName('orders')?.partitions.size).toBe(2);
    expect(q.image.offset).toBe(10);
    expect(q.status().logStartOffset).toBe(11);
  });
});

/** The same snapshot with its first metadata record's type replaced by an unknown one (CRC recomputed). */
function corruptRecordSnapshot(good: Buffer): Buffer {
  // Header batch, then the first data batch: rebuild it with a bogus record value.
  const batches = scanBatches(good).batches;
  const data = batches[1]!;
  const decoded = decodeRecordBatch(good, data.pos);
  const values = decoded.records.map((r, i) => (i === 0 ? Buffer.from([1, 200, 0, 0]) : r.value));
  const rebuilt = encodeRecordBatch({
    baseOffset: data.header.baseOffset,
    partitionLeaderEpoch: data.header.partitionLeaderEpoch,
    baseTimestamp: 0,
    records: values.map((value) => ({ value, timestamp: 0 })),
  });
  return Buffer.concat([good.subarray(0, data.pos), rebuilt, good.subarray(data.pos + data.size)]);
}

