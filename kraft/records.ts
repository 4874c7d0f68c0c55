/**
 * KRaft metadata records: the typed union of every record in `../shared/kafka-protocol/metadata`,
 * their framing in the metadata log, and builders for the records the controller writes.
 *
 * Framing (Kafka's `MetadataRecordSerde`; one framed record is the value of one record of a
 * metadata log batch):
 *
 *   uvarint frameVersion (= 1) | uvarint apiKey | uvarint version | message body (flexible)
 *
 * `decodeMetadataRecord` never throws anything but `MetadataRecordError`: an unknown frame
 * version, an unknown api key, an unsupported version, a truncated body or trailing bytes all
 * become that typed error.
 */
import {
  METADATA_FRAME_VERSION,
  METADATA_RECORD_SPECS,
  MetadataRecordType,
  type MetadataRecords,
  type MetadataRecordSpec,
} from '../wire/generated/metadata/index.js';
import type { BrokerRegistrationChangeRecord } from '../wire/generated/metadata/broker-registration-change-record.js';
import type { ClientQuotaRecord } from '../wire/generated/metadata/client-quota-record.js';
import type { ConfigRecord } from '../wire/generated/metadata/config-record.js';
import type { FeatureLevelRecord } from '../wire/generated/metadata/feature-level-record.js';
import type { FenceBrokerRecord } from '../wire/generated/metadata/fence-broker-record.js';
import type { NoOpRecord } from '../wire/generated/metadata/no-op-record.js';
import type { PartitionChangeRecord } from '../wire/generated/metadata/partition-change-record.js';
import type { PartitionRecord } from '../wire/generated/metadata/partition-record.js';
import type { ProducerIdsRecord } from '../wire/generated/metadata/producer-ids-record.js';
import type { RegisterBrokerRecord } from '../wire/generated/metadata/register-broker-record.js';
import type { RegisterControllerRecord } from '../wire/generated/metadata/register-controller-record.js';
import type { RemoveTopicRecord } from '../wire/generated/metadata/remove-topic-record.js';
import type { TopicRecord } from '../wire/generated/metadata/topic-record.js';
import type { UnfenceBrokerRecord } from '../wire/generated/metadata/unfence-broker-record.js';
import type { UnregisterBrokerRecord } from '../wire/generated/metadata/unregister-broker-record.js';
import { Reader, Writer } from '../wire/primitives.js';

export { METADATA_FRAME_VERSION, MetadataRecordType };
export type {
  BrokerRegistrationChangeRecord,
  ClientQuotaRecord,
  ConfigRecord,
  FeatureLevelRecord,
  FenceBrokerRecord,
  MetadataRecords,
  NoOpRecord,
  PartitionChangeRecord,
  PartitionRecord,
  ProducerIdsRecord,
  RegisterBrokerRecord,
  RegisterControllerRecord,
  RemoveTopicRecord,
  TopicRecord,
  UnfenceBrokerRecord,
  UnregisterBrokerRecord,
};

/**
 * One metadata record with the version of its body, discriminated by `apiKey`:
 * `switch (rec.apiKey) { case MetadataRecordType.Topic: rec.message.name ... }`.
 */
export type ApiMessageAndVersion = {
  [K in MetadataRecordType]: { readonly apiKey: K; readonly version: number; readonly message: MetadataRecords[K] };
}[MetadataRecordType];

/** The record of one type. */
export type RecordOf<K extends MetadataRecordType> = Extract<ApiMessageAndVersion, { apiKey: K }>;

/** A metadata record that cannot be decoded or encoded. */
export class MetadataRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetadataRecordError';
  }
}

function specFor(apiKey: number): MetadataRecordSpec | undefined {
  return Number.isInteger(apiKey) && apiKey >= 0 ? METADATA_RECORD_SPECS[apiKey] : undefined;
}

/** Kafka's name of a record type ("TopicRecord"), or `unknown(<key>)`. */
export function recordTypeName(apiKey: number): string {
  return specFor(apiKey)?.name ?? `unknown(${apiKey})`;
}

/** The latest version this build writes for a record type. */
export function latestVersion(apiKey: MetadataRecordType): number {
  return specFor(apiKey)!.maxVersion;
}

/** One record, framed: `uvarint 1, uvarint apiKey, uvarint version, body`. */
export function encodeMetadataRecord(rec: ApiMessageAndVersion): Buffer {
  const spec = specFor(rec.apiKey);
  if (spec === undefined) throw new MetadataRecordError(`cannot encode unknown metadata record type ${rec.apiKey}`);
  if (!Number.isInteger(rec.version) || rec.version < spec.minVersion || rec.version > spec.maxVersion) {
    throw new MetadataRecordError(
      `cannot encode ${spec.name} at version ${rec.version}: supported versions are ${spec.minVersion}..${spec.maxVersion}`,
    );
  }
  const w = new Writer(64);
  w.uvarint(METADATA_FRAME_VERSION);
  w.uvarint(rec.apiKey);
  w.uvarint(rec.version);
  try {
    spec.encode(w, rec.version, rec.message);
  } catch (err) {
    throw new MetadataRecordError(`cannot encode ${spec.name} v${rec.version}: ${(err as Error).message}`, { cause: err });
  }
  return w.toBuffer();
}

/** Parses one framed record (a whole record value); any defect throws `MetadataRecordError`. */
export function decodeMetadataRecord(buf: Buffer): ApiMessageAndVersion {
  const r = new Reader(buf);
  let frameVersion: number;
  let apiKey: number;
  let version: number;
  try {
    frameVersion = r.uvarint();
    apiKey = r.uvarint();
    version = r.uvarint();
  } catch (err) {
    throw new MetadataRecordError(`truncated metadata record header (${buf.length} bytes)`, { cause: err });
  }
  if (frameVersion !== METADATA_FRAME_VERSION) {
    throw new MetadataRecordError(`unknown metadata record frame version ${frameVersion} (expected ${METADATA_FRAME_VERSION})`);
  }
  const spec = specFor(apiKey);
  if (spec === undefined) throw new MetadataRecordError(`unknown metadata record type ${apiKey}`);
  if (version < spec.minVersion || version > spec.maxVersion) {
    throw new MetadataRecordError(
      `unsupported ${spec.name} version ${version}: supported versions are ${spec.minVersion}..${spec.maxVersion}`,
    );
  }
  let message: unknown;
  try {
    message = spec.decode(r, version);
  } catch (err) {
    throw new MetadataRecordError(`malformed ${spec.name} v${version}: ${(err as Error).message}`, { cause: err });
  }
  if (r.remaining() !== 0) {
    throw new MetadataRecordError(`${r.remaining()} trailing byte(s) after ${spec.name} v${version}`);
  }
  return { apiKey, version, message } as ApiMessageAndVersion;
}

// ---------------------------------------------------------------------------------------------
// Builders: each returns the record at the latest version this build knows.

/** Any record at the latest version. */
export function metadataRecord<K extends MetadataRecordType>(apiKey: K, message: MetadataRecords[K]): RecordOf<K> {
  return { apiKey, version: latestVersion(apiKey), message } as unknown as RecordOf<K>;
}

const T = MetadataRecordType;
export const registerBrokerRecord = (m: RegisterBrokerRecord) => metadataRecord(T.RegisterBroker, m);
export const unregisterBrokerRecord = (m: UnregisterBrokerRecord) => metadataRecord(T.UnregisterBroker, m);
export const topicRecord = (m: TopicRecord) => metadataRecord(T.Topic, m);
export const partitionRecord = (m: PartitionRecord) => metadataRecord(T.Partition, m);
export const configRecord = (m: ConfigRecord) => metadataRecord(T.Config, m);
export const partitionChangeRecord = (m: PartitionChangeRecord) => metadataRecord(T.PartitionChange, m);
export const fenceBrokerRecord = (m: FenceBrokerRecord) => metadataRecord(T.FenceBroker, m);
export const unfenceBrokerRecord = (m: UnfenceBrokerRecord) => metadataRecord(T.UnfenceBroker, m);
export const removeTopicRecord = (m: RemoveTopicRecord) => metadataRecord(T.RemoveTopic, m);
export const featureLevelRecord = (m: FeatureLevelRecord) => metadataRecord(T.FeatureLevel, m);
export const producerIdsRecord = (m: ProducerIdsRecord) => metadataRecord(T.ProducerIds, m);
export const brokerRegistrationChangeRecord = (m: BrokerRegistrationChangeRecord) =>
  metadataRecord(T.BrokerRegistrationChange, m);
export const clientQuotaRecord = (m: ClientQuotaRecord) => metadataRecord(T.ClientQuota, m);
export const noOpRecord = () => metadataRecord(T.NoOp, {});
