/**
 * Metadata snapshots: the image written as metadata records, in Kafka's snapshot file layout
 * (`<20-digit end offset>-<10-digit epoch>.checkpoint` in the `__cluster_metadata-0` dir):
 *
 *   [SNAPSHOT_HEADER control batch][data batches of framed metadata records ...][SNAPSHOT_FOOTER control batch]
 *
 * Every batch is a valid record batch whose `partitionLeaderEpoch` is the snapshot's epoch. The
 * batches are numbered consecutively from `logEndOffset`, the Kafka offset at which the metadata
 * log continues after the snapshot (see `metadata-log.ts`): the file alone says where the log
 * resumes, also after it was shipped to another node with FetchSnapshot.
 *
 * The end offset in the file name is the Raft entry offset (the core's `SnapshotId.endOffset`,
 * which FetchSnapshot also carries); the snapshot covers entries `< endOffset`.
 *
 * Records, in replay order: FeatureLevel, RegisterBroker (with its fenced / controlled-shutdown
 * state), Topic then its Partition records, Config, ProducerIds. Replaying them onto the empty
 * image gives back the image (`decodeSnapshot`). Anything malformed is a `SnapshotError`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { decodeSnapshotFooterRecord, encodeSnapshotFooterRecord } from '../wire/generated/messages/snapshot-footer-record.js';
import { decodeSnapshotHeaderRecord, encodeSnapshotHeaderRecord } from '../wire/generated/messages/snapshot-header-record.js';
import { Reader, Writer } from '../wire/primitives.js';
import {
  ControlRecordType,
  decodeControlRecord,
  decodeRecordBatch,
  encodeControlRecordKey,
  encodeRecordBatch,
  isControl,
  scanBatches,
} from '../wire/record-batch.js';
import { MetadataDelta, MetadataImage } from './image.js';
import {
  clientQuotaRecord,
  configRecord,
  decodeMetadataRecord,
  encodeMetadataRecord,
  featureLevelRecord,
  partitionRecord,
  producerIdsRecord,
  registerBrokerRecord,
  topicRecord,
  type ApiMessageAndVersion,
} from './records.js';

export const SNAPSHOT_SUFFIX = '.checkpoint';
/** Records per data batch of a snapshot. */
const RECORDS_PER_BATCH = 1000;

export class SnapshotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotFileId {
  readonly endOffset: number;
  readonly epoch: number;
}

export function snapshotFileName(id: SnapshotFileId): string {
  return `${String(id.endOffset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}${SNAPSHOT_SUFFIX}`;
}

export function parseSnapshotFileName(name: string): SnapshotFileId | null {
  const m = /^(\d{20})-(\d{10})\.checkpoint$/.exec(name);
  if (!m) return null;
  return { endOffset: Number(m[1]), epoch: Number(m[2]) };
}

/** Snapshot files in `dir`, oldest first. */
export async function listSnapshotFiles(dir: string): Promise<SnapshotFileId[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map(parseSnapshotFileName)
    .filter((x): x is SnapshotFileId => x !== null)
    .sort((a, b) => a.endOffset - b.endOffset || a.epoch - b.epoch);
}

export function snapshotPath(dir: string, id: SnapshotFileId): string {
  return path.join(dir, snapshotFileName(id));
}

/** The records that rebuild `image` from the empty image. */
export function imageToRecords(image: MetadataImage): ApiMessageAndVersion[] {
  const out: ApiMessageAndVersion[] = [];
  for (const [name, level] of [...image.features].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(featureLevelRecord({ name, featureLevel: level }));
  }
  for (const b of [...image.brokers.values()].sort((x, y) => x.id - y.id)) {
    out.push(
      registerBrokerRecord({
        brokerId: b.id,
        isMigratingZkBroker: false,
        incarnationId: b.incarnationId,
        brokerEpoch: BigInt(b.epoch),
        endPoints: b.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port, securityProtocol: l.securityProtocol })),
        features: [...b.features].map(([name, r]) => ({ name, minSupportedVersion: r.minSupportedVersion, maxSupportedVersion: r.maxSupportedVersion })),
        rack: b.rack,
        fenced: b.fenced,
        inControlledShutdown: b.inControlledShutdown,
        logDirs: [...b.logDirs],
      }),
    );
  }
  const topics = [...image.topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const t of topics) {
    out.push(topicRecord({ name: t.name, topicId: t.id }));
    for (const [partitionId, p] of [...t.partitions].sort(([a], [b]) => a - b)) {
      out.push(
        partitionRecord({
          partitionId,
          topicId: t.id,
          replicas: [...p.replicas],
          isr: [...p.isr],
          removingReplicas: [...p.removingReplicas],
          addingReplicas: [...p.addingReplicas],
          leader: p.leader,
          leaderRecoveryState: p.leaderRecoveryState,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          directories: [...p.directories],
          eligibleLeaderReplicas: [...p.elr],
          lastKnownElr: [...p.lastKnownElr],
        }),
      );
    }
  }
  for (const [resourceType, byName] of image.configData) {
    for (const [resourceName, entries] of byName) {
      for (const [name, value] of entries) out.push(configRecord({ resourceType, resourceName, name, value }));
    }
  }
  for (const q of image.clientQuotas.values()) {
    const entity = [...q.entity].map(([entityType, entityName]) => ({ entityType, entityName }));
    for (const [key, value] of q.values) out.push(clientQuotaRecord({ entity: entity.map((e) => ({ ...e })), key, value, remove: false }));
  }
  if (image.nextProducerId > 0) {
    out.push(producerIdsRecord({ brokerId: -1, brokerEpoch: -1n, nextProducerId: BigInt(image.nextProducerId) }));
  }
  return out;
}

export interface EncodeSnapshotOptions {
  readonly epoch: number;
  /** The Kafka offset at which the metadata log continues after the snapshot. */
  readonly logEndOffset: number;
  readonly timestampMs: number;
}

/** The snapshot file's bytes for `image`. */
export function encodeSnapshot(image: MetadataImage, opts: EncodeSnapshotOptions): Buffer {
  const records = imageToRecords(image);
  const batches: Buffer[] = [];
  let offset = opts.logEndOffset;
  const control = (type: ControlRecordType, value: Buffer) => {
    batches.push(
      encodeRecordBatch({
        baseOffset: offset++,
        partitionLeaderEpoch: opts.epoch,
        isControl: true,
        baseTimestamp: opts.timestampMs,
        records: [{ key: encodeControlRecordKey(type), value, timestamp: opts.timestampMs }],
      }),
    );
  };
  const hw = new Writer(16);
  encodeSnapshotHeaderRecord(hw, 0, { version: 0, lastContainedLogTimestamp: BigInt(opts.timestampMs) });
  control(ControlRecordType.SNAPSHOT_HEADER, hw.toBuffer());
  for (let i = 0; i < records.length; i += RECORDS_PER_BATCH) {
    const chunk = records.slice(i, i + RECORDS_PER_BATCH);
    batches.push(
      encodeRecordBatch({
        baseOffset: offset,
        partitionLeaderEpoch: opts.epoch,
        baseTimestamp: opts.timestampMs,
        records: chunk.map((r) => ({ value: encodeMetadataRecord(r), timestamp: opts.timestampMs })),
      }),
    );
    offset += chunk.length;
  }
  const fw = new Writer(8);
  encodeSnapshotFooterRecord(fw, 0, { version: 0 });
  control(ControlRecordType.SNAPSHOT_FOOTER, fw.toBuffer());
  return Buffer.concat(batches);
}

export interface DecodedSnapshot {
  /** The image at entry offset `endOffset - 1`. */
  readonly image: MetadataImage;
  /** Where the metadata log continues (the header batch's base offset). */
  readonly logEndOffset: number;
  readonly recordCount: number;
}

/**
 * Parses and replays a snapshot; `endOffset` is its entry end offset (the image gets offset
 * `endOffset - 1`). Any defect — bad CRC, missing header or footer, an undecodable or
 * inapplicable record — throws `SnapshotError` naming the place.
 */
export function decodeSnapshot(data: Uint8Array, endOffset: number): DecodedSnapshot {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const scan = scanBatches(buf);
  if (scan.error !== null) throw new SnapshotError(`corrupt snapshot: ${scan.message ?? scan.error}`);
  const batches = scan.batches;
  if (batches.length < 2) throw new SnapshotError(`a snapshot needs a header and a footer batch, it has ${batches.length} batch(es)`);
  const controlType = (i: number): number => {
    const b = batches[i]!;
    if (!isControl(b.header.attributes)) return -1;
    const rec = decodeRecordBatch(buf, b.pos).records[0];
    return rec === undefined ? -1 : decodeControlRecord(rec.key, rec.value).type;
  };
  let first: number;
  let last: number;
  try {
    first = controlType(0);
    last = controlType(batches.length - 1);
  } catch (err) {
    throw new SnapshotError(`malformed snapshot control record: ${(err as Error).message}`, { cause: err });
  }
  if (first !== ControlRecordType.SNAPSHOT_HEADER) throw new SnapshotError('the snapshot does not start with a SNAPSHOT_HEADER control batch');
  if (last !== ControlRecordType.SNAPSHOT_FOOTER) throw new SnapshotError('the snapshot does not end with a SNAPSHOT_FOOTER control batch');
  try {
    const h = decodeRecordBatch(buf, batches[0]!.pos).records[0]!;
    decodeSnapshotHeaderRecord(new Reader(h.value ?? Buffer.alloc(0)), 0);
    const f = decodeRecordBatch(buf, batches[batches.length - 1]!.pos).records[0]!;
    decodeSnapshotFooterRecord(new Reader(f.value ?? Buffer.alloc(0)), 0);
  } catch (err) {
    throw new SnapshotError(`malformed snapshot header or footer: ${(err as Error).message}`, { cause: err });
  }
  const logEndOffset = batches[0]!.header.baseOffset;
  if (!Number.isSafeInteger(logEndOffset) || logEndOffset < 0) throw new SnapshotError(`bad snapshot log end offset ${logEndOffset}`);
  const delta = new MetadataDelta(MetadataImage.EMPTY);
  let count = 0;
  for (let i = 1; i < batches.length - 1; i++) {
    const b = batches[i]!;
    if (isControl(b.header.attributes)) throw new SnapshotError(`unexpected control batch in the snapshot at byte ${b.pos}`);
    let decoded;
    try {
      decoded = decodeRecordBatch(buf, b.pos);
    } catch (err) {
      throw new SnapshotError(`undecodable snapshot batch at byte ${b.pos}: ${(err as Error).message}`, { cause: err });
    }
    for (const rec of decoded.records) {
      if (rec.value === null) throw new SnapshotError(`snapshot record ${count} has no value`);
      let m: ApiMessageAndVersion;
      try {
        m = decodeMetadataRecord(rec.value);
      } catch (err) {
        throw new SnapshotError(`snapshot record ${count}: ${(err as Error).message}`, { cause: err });
      }
      try {
        delta.replay(m);
      } catch (err) {
        throw new SnapshotError(`snapshot record ${count} cannot apply: ${(err as Error).message}`, { cause: err });
      }
      count++;
    }
  }
  return { image: delta.build(endOffset - 1), logEndOffset, recordCount: count };
}
