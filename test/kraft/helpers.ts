// Shared helpers for the kraft tests: records for a few brokers and topics, images built from them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { MetadataImage, replayRecords } from '../../kraft/image.js';
import {
  configRecord,
  featureLevelRecord,
  partitionRecord,
  registerBrokerRecord,
  topicRecord,
  type ApiMessageAndVersion,
} from '../../kraft/records.js';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

export class TestClock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
}

const dirs: string[] = [];

export function tempDir(prefix = 'kraft-test-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A deterministic 22-char uuid from a small number (never the zero uuid). */
export function uuid(n: number): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x12345678, 0);
  b.writeUInt32BE(n, 12);
  return b.toString('base64url');
}

/** Sequential fake uuids for `randomUuid` injection. */
export function uuidSequence(start = 1000): () => string {
  let n = start;
  return () => uuid(n++);
}

export function brokerRecord(
  id: number,
  opts: { rack?: string | null; fenced?: boolean; epoch?: number; incarnation?: number; port?: number } = {},
): ApiMessageAndVersion {
  return registerBrokerRecord({
    brokerId: id,
    incarnationId: uuid(500 + (opts.incarnation ?? id)),
    brokerEpoch: BigInt(opts.epoch ?? 10 + id),
    endPoints: [{ name: 'PLAINTEXT', host: `host${id}`, port: opts.port ?? 9092 + id, securityProtocol: 0 }],
    features: [{ name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 21 }],
    rack: opts.rack ?? null,
    fenced: opts.fenced ?? false,
    inControlledShutdown: false,
  });
}

export function partitionRec(
  topicId: string,
  partitionId: number,
  replicas: number[],
  opts: { isr?: number[]; leader?: number; leaderEpoch?: number; partitionEpoch?: number } = {},
): ApiMessageAndVersion {
  return partitionRecord({
    partitionId,
    topicId,
    replicas,
    isr: opts.isr ?? replicas,
    removingReplicas: [],
    addingReplicas: [],
    leader: opts.leader ?? replicas[0]!,
    leaderRecoveryState: 0,
    leaderEpoch: opts.leaderEpoch ?? 0,
    partitionEpoch: opts.partitionEpoch ?? 0,
  });
}

/** A topic with one partition per replica list. */
export function topicRecords(name: string, topicId: string, partitions: number[][]): ApiMessageAndVersion[] {
  return [topicRecord({ name, topicId }), ...partitions.map((r, i) => partitionRec(topicId, i, r))];
}

export function topicConfig(topic: string, name: string, value: string | null): ApiMessageAndVersion {
  return configRecord({ resourceType: 2, resourceName: topic, name, value });
}

/** metadata.version 21 and brokers with the given racks (null = no rack), ids 1..n. */
export function clusterImage(racks: (string | null)[] | number, extra: ApiMessageAndVersion[] = []): MetadataImage {
  const list = typeof racks === 'number' ? Array.from({ length: racks }, () => null) : racks;
  const records = [
    featureLevelRecord({ name: 'metadata.version', featureLevel: 21 }),
    ...list.map((rack, i) => brokerRecord(i + 1, { rack })),
    ...extra,
  ];
  return replayRecords(MetadataImage.EMPTY, records);
}
