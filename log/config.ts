// Per-log configuration: Kafka's topic-level log settings (names in the comments), with Kafka's
// defaults. Brokers build one from `log.*` properties and topic overrides; the log only reads it.

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  /** segment.bytes: roll the active segment before an append that would make it larger. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. */
  segmentMs: number;
  /** retention.ms: delete segments whose largest timestamp is older than this; -1 = unlimited. */
  retentionMs: number;
  /** retention.bytes: delete the oldest segments while the log is larger than this; -1 = unlimited. */
  retentionBytes: number;
  /** index.interval.bytes: bytes of log between two sparse index entries. */
  indexIntervalBytes: number;
  /** segment.index.bytes: roll when the offset (8 B/entry) or time (12 B/entry) index would exceed it. */
  segmentIndexBytes: number;
  /** max.message.bytes: largest record batch accepted from a producer. */
  maxMessageBytes: number;
  /** flush.messages: fsync after this many unflushed messages (default: never). */
  flushIntervalMessages: number;
  /** flush.ms: fsync when the last flush is older than this (default: never). */
  flushIntervalMs: number;
  /** file.delete.delay.ms: how long deleted segments stay as `*.deleted` before being unlinked. */
  fileDeleteDelayMs: number;
  /** message.timestamp.type: CreateTime keeps the producer's timestamps, LogAppendTime stamps the broker's. */
  messageTimestampType: TimestampType;
  /**
   * producer.id.expiration.ms (a broker setting in Kafka): producers idle this long lose their
   * deduplication state, unless they have an open transaction. Optional so that configs built
   * field by field keep compiling; absent means the default, one day.
   */
  producerIdExpirationMs?: number;
}

/** Java's Long.MAX_VALUE as Kafka uses it for "never"; any value ≥ 2^53 behaves the same here. */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10 * 1024 * 1024,
  maxMessageBytes: 1048588,
  flushIntervalMessages: LONG_MAX,
  flushIntervalMs: LONG_MAX,
  fileDeleteDelayMs: 60000,
  messageTimestampType: 'CreateTime',
  producerIdExpirationMs: 86_400_000,
});

/** The defaults with `overrides` applied. */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}
