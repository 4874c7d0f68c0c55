// WriteTxnMarkers (key 27): v0–v1
// Behaviour: sent by transaction coordinators (also of this broker, over its own listener) to
// partition leaders: per partition a COMMIT or ABORT control batch of the producer with the
// coordinator epoch is appended as the coordinator (acks=-1, request.timeout.ms). The log
// refuses a marker of an older producer epoch (INVALID_PRODUCER_EPOCH) or coordinator epoch
// (TRANSACTION_COORDINATOR_FENCED). A written marker on a `__consumer_offsets` partition makes
// the group coordinator commit (or drop) the producer's pending transactional offsets.
// Unknown partitions: UNKNOWN_TOPIC_OR_PARTITION; not the leader: NOT_LEADER_OR_FOLLOWER.
// Not implemented: ACLs (CLUSTER_ACTION).
import { ApiKey } from '../../wire/generated/api.js';
import type { WriteTxnMarkersRequest } from '../../wire/generated/messages/write-txn-markers-request.js';
import type { WriteTxnMarkersResponse } from '../../wire/generated/messages/write-txn-markers-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { encodeControlBatch } from '../../wire/record-batch.js';
import { GROUP_METADATA_TOPIC } from '../coordinator/internal-topics.js';
import { defineHandler } from '../handler.js';
import { specVersions } from './versions.js';

/** One batch per Produce-like append (the replica manager's rule from v3 on). */
const INTERNAL_PRODUCE_VERSION = 9;

export const writeTxnMarkers = defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
  apiKey: ApiKey.WriteTxnMarkers,
  name: 'WriteTxnMarkers',
  ...specVersions(ApiKey.WriteTxnMarkers),
  async handle(ctx, req) {
    const { services } = ctx;
    const rm = services.replicaManager;
    const timeoutMs = services.config.int('request.timeout.ms');
    const image = services.image();
    const markers = await Promise.all(
      req.markers.map(async (m) => {
        const producerId = Number(m.producerId);
        const topics = await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                if (!image.topicByName(t.name)?.partitions.has(partitionIndex)) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
                const batch = encodeControlBatch({
                  producerId,
                  producerEpoch: m.producerEpoch,
                  timestamp: services.nowMs(),
                  type: m.transactionResult ? 'COMMIT' : 'ABORT',
                  coordinatorEpoch: m.coordinatorEpoch,
                });
                const r = await rm.appendRecords(t.name, partitionIndex, batch, -1, timeoutMs, INTERNAL_PRODUCE_VERSION, { origin: 'coordinator' });
                if (r.errorCode === ErrorCode.NONE && t.name === GROUP_METADATA_TOPIC) {
                  services.groupCoordinator.coordinator.completeTransaction(partitionIndex, producerId, m.transactionResult);
                }
                return { partitionIndex, errorCode: r.errorCode };
              }),
            ),
          })),
        );
        return { producerId: m.producerId, topics };
      }),
    );
    return { markers };
  },
  errorResponse(req, errorCode) {
    return {
      markers: req.markers.map((m) => ({
        producerId: m.producerId,
        topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode })) })),
      })),
    };
  },
});
