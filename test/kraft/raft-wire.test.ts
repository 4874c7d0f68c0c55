// Kafka's quorum APIs ↔ the Raft core's messages (kraft/raft-wire.ts): VoteRequest v2 (PreVote)
// by hand, the checks that refuse a request before it reaches the core (cluster id, partition,
// addressee), and Fetch responses whose records are checked batch by batch.
import { describe, expect, it } from 'vitest';
import { encodeProposal, entryToBatch } from '../../kraft/entry-codec.js';
import { METADATA_TOPIC_ID } from '../../kraft/metadata-log.js';
import {
  decodeVoteRequestV0to2,
  encodeVoteRequestV0to2,
  fetchRequestToWire,
  fetchResponseFromWire,
  fetchResponseToWire,
  inboundBeginQuorumEpoch,
  inboundFetch,
  inboundVote,
  voteRequestToWire,
} from '../../kraft/raft-wire.js';
import type { Entry, VoteRequest } from '../../kraft/raft/index.js';
import { ErrorCode } from '../../wire/errors.js';
import { decodeFetchRequest, encodeFetchRequest } from '../../wire/generated/messages/fetch-request.js';
import { decodeFetchResponse, encodeFetchResponse } from '../../wire/generated/messages/fetch-response.js';
import { decodeVoteRequest, encodeVoteRequest } from '../../wire/generated/messages/vote-request.js';
import { Reader, Writer, recordsBuffer } from '../../wire/primitives.js';
import { topicRecords, uuid } from './helpers.js';

const CLUSTER = 'cluster-0000000000000';
const preVote: VoteRequest = { type: 'VoteRequest', candidateEpoch: 4, candidateId: 2, lastOffsetEpoch: 4, lastOffset: 17, preVote: true };

function roundTrip(version: number, body: VoteRequest) {
  const w = new Writer();
  encodeVoteRequestV0to2(w, version, voteRequestToWire(body, CLUSTER, 1));
  const r = new Reader(w.toBuffer());
  const decoded = decodeVoteRequestV0to2(r, version);
  expect(r.remaining()).toBe(0);
  return decoded;
}

describe('VoteRequest v0-2', () => {
  it('v2 carries PreVote; the core sees a pre-vote as a pre-vote', () => {
    const decoded = roundTrip(2, preVote);
    const inbound = inboundVote(decoded, CLUSTER, 1);
    expect(inbound).toEqual({ ok: true, from: 2, body: preVote });
    const real = inboundVote(roundTrip(2, { ...preVote, preVote: false, candidateEpoch: 5 }), CLUSTER, 1);
    expect(inbound.ok && real.ok && real.body.preVote).toBe(false);
  });

  it('v0 and v1 are byte-identical to the generated codecs (and have no PreVote)', () => {
    for (const v of [0, 1]) {
      const wire = voteRequestToWire({ ...preVote, preVote: false }, CLUSTER, 1);
      const a = new Writer();
      encodeVoteRequestV0to2(a, v, wire);
      const b = new Writer();
      encodeVoteRequest(b, v, wire);
      expect(a.toBuffer().equals(b.toBuffer())).toBe(true);
      expect(decodeVoteRequest(new Reader(b.toBuffer()), v).topics[0]!.partitions[0]!.candidateId).toBe(2);
      const inbound = inboundVote(decodeVoteRequestV0to2(new Reader(a.toBuffer()), v), CLUSTER, 1);
      expect(inbound.ok && inbound.body.preVote).toBe(false);
    }
  });

  it('refuses another cluster, another partition and another addressee before the core', () => {
    const wire = roundTrip(2, preVote);
    expect(inboundVote({ ...wire, clusterId: 'other' }, CLUSTER, 1)).toMatchObject({ ok: false, errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
    expect(inboundVote({ ...wire, clusterId: null }, CLUSTER, 1).ok).toBe(true);
    expect(inboundVote({ ...wire, topics: [{ ...wire.topics[0]!, topicName: 'orders' }] }, CLUSTER, 1)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REQUEST });
    expect(inboundVote({ ...wire, topics: [] }, CLUSTER, 1)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REQUEST });
    expect(inboundVote(wire, CLUSTER, 3)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_VOTER_KEY });
    const begin = { clusterId: 'x', voterId: 1, topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0, leaderId: 2, leaderEpoch: 3 }] }], leaderEndpoints: [] };
    expect(inboundBeginQuorumEpoch(begin, CLUSTER, 1)).toMatchObject({ ok: false, errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
    expect(inboundBeginQuorumEpoch({ ...begin, clusterId: CLUSTER }, CLUSTER, 1)).toMatchObject({ ok: true, from: 2 });
  });
});

describe('Fetch of __cluster_metadata', () => {
  const entries: Entry[] = [
    { kind: 'leader-change', offset: 5, epoch: 2, leaderChange: { version: 0, leaderId: 1, voters: [{ voterId: 1 }], grantingVoters: [{ voterId: 1 }] } },
    { kind: 'data', offset: 6, epoch: 2, data: encodeProposal(topicRecords('a', uuid(1), [[1], [1]]), 0) },
  ];

  it('a request round-trips through the v17 codec with the metadata topic id and the replica state', () => {
    const wire = fetchRequestToWire({ type: 'FetchRequest', replicaId: 3, maxWaitTicks: 10, maxBytes: 1000, currentLeaderEpoch: 2, fetchOffset: 5, lastFetchedEpoch: 2, logStartOffset: 0 }, CLUSTER, 50);
    const w = new Writer();
    encodeFetchRequest(w, 17, wire);
    const back = decodeFetchRequest(new Reader(w.toBuffer()), 17);
    expect(back.topics[0]!.topicId).toBe(METADATA_TOPIC_ID);
    expect(inboundFetch(back, 17, CLUSTER, (ms) => ms / 50)).toEqual({
      ok: true,
      from: 3,
      body: { type: 'FetchRequest', replicaId: 3, maxWaitTicks: 10, maxBytes: 1000, currentLeaderEpoch: 2, fetchOffset: 5, lastFetchedEpoch: 2, logStartOffset: 0 },
    });
    expect(inboundFetch({ ...back, topics: [{ ...back.topics[0]!, topicId: uuid(9) }] }, 17, CLUSTER, () => 0)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REQUEST });
  });

  it('a response carries one batch per entry (base offset = entry offset) and decodes back to the entries', () => {
    const res = { type: 'FetchResponse' as const, errorCode: 0, highWatermark: 6, logStartOffset: 0, divergingEpoch: null, currentLeader: { leaderId: 1, leaderEpoch: 2 }, snapshotId: null, entries };
    const w = new Writer();
    encodeFetchResponse(w, 17, fetchResponseToWire(res, 17, 0));
    const back = fetchResponseFromWire(decodeFetchResponse(new Reader(w.toBuffer()), 17), 17);
    expect(back).toMatchObject({ ...res, entries: [entries[0]!, { kind: 'data', offset: 6, epoch: 2 }] });
  });

  it('a response with a corrupt or out-of-order batch is dropped (a reason, not entries)', () => {
    const res = fetchResponseToWire(
      { type: 'FetchResponse', errorCode: 0, highWatermark: 6, logStartOffset: 0, divergingEpoch: null, currentLeader: { leaderId: 1, leaderEpoch: 2 }, snapshotId: null, entries },
      17,
      0,
    );
    const records = Buffer.from(recordsBuffer(res.responses[0]!.partitions[0]!.records!));
    records[records.length - 1]! ^= 0xff;
    const corrupt = { ...res, responses: [{ ...res.responses[0]!, partitions: [{ ...res.responses[0]!.partitions[0]!, records }] }] };
    expect(typeof fetchResponseFromWire(corrupt, 17)).toBe('string');
    const gap = Buffer.concat([entryToBatch(entries[0]!, 5, 0), entryToBatch({ ...entries[1]!, offset: 8 }, 8, 0)]);
    const gapped = { ...res, responses: [{ ...res.responses[0]!, partitions: [{ ...res.responses[0]!.partitions[0]!, records: gap }] }] };
    expect(fetchResponseFromWire(gapped, 17)).toMatch(/does not follow/);
  });
});
