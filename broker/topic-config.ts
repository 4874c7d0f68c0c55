// Topic-level configs: Kafka's names, their broker-level synonyms, validation, and the
// effective value of each for a topic (topic override → broker config → Kafka default).
import type { BrokerConfig, ConfigType } from './config.js';

export interface TopicConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** The broker config whose value is the topic default, if any. */
  readonly brokerSynonym: string | null;
  readonly default: string;
  readonly validate?: (v: string) => boolean;
}

const nonNegative = (v: string) => /^\d+$/.test(v);
const longOrMinusOne = (v: string) => /^(-1|\d+)$/.test(v);
const atLeast = (min: number) => (v: string) => /^-?\d+$/.test(v) && Number(v) >= min;
const oneOf = (...allowed: string[]) => (v: string) => allowed.includes(v);
const bool = (v: string) => /^(true|false)$/i.test(v);
const ratio = (v: string) => v.trim() !== '' && Number.isFinite(Number(v)) && Number(v) >= 0 && Number(v) <= 1;

export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  { name: 'cleanup.policy', type: 'list', brokerSynonym: 'log.cleanup.policy', default: 'delete',
    validate: (v) => v.split(',').every((p) => ['delete', 'compact'].includes(p.trim())) },
  { name: 'compression.type', type: 'string', brokerSynonym: 'compression.type', default: 'producer',
    validate: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd') },
  { name: 'delete.retention.ms', type: 'long', brokerSynonym: null, default: '86400000', validate: nonNegative },
  { name: 'file.delete.delay.ms', type: 'long', brokerSynonym: 'log.segment.delete.delay.ms', default: '60000', validate: nonNegative },
  { name: 'flush.messages', type: 'long', brokerSynonym: 'log.flush.interval.messages', default: String(Number.MAX_SAFE_INTEGER), validate: atLeast(1) },
  { name: 'flush.ms', type: 'long', brokerSynonym: 'log.flush.interval.ms', default: String(Number.MAX_SAFE_INTEGER), validate: nonNegative },
  { name: 'index.interval.bytes', type: 'int', brokerSynonym: 'log.index.interval.bytes', default: '4096', validate: nonNegative },
  { name: 'max.compaction.lag.ms', type: 'long', brokerSynonym: null, default: String(Number.MAX_SAFE_INTEGER), validate: atLeast(1) },
  { name: 'max.message.bytes', type: 'int', brokerSynonym: 'message.max.bytes', default: '1048588', validate: nonNegative },
  { name: 'message.timestamp.type', type: 'string', brokerSynonym: 'log.message.timestamp.type', default: 'CreateTime',
    validate: oneOf('CreateTime', 'LogAppendTime') },
  { name: 'message.timestamp.difference.max.ms', type: 'long', brokerSynonym: null, default: String(Number.MAX_SAFE_INTEGER), validate: nonNegative },
  { name: 'message.timestamp.before.max.ms', type: 'long', brokerSynonym: null, default: String(Number.MAX_SAFE_INTEGER), validate: nonNegative },
  { name: 'message.timestamp.after.max.ms', type: 'long', brokerSynonym: null, default: String(Number.MAX_SAFE_INTEGER), validate: nonNegative },
  { name: 'message.downconversion.enable', type: 'boolean', brokerSynonym: null, default: 'true', validate: bool },
  { name: 'min.cleanable.dirty.ratio', type: 'double', brokerSynonym: null, default: '0.5', validate: ratio },
  { name: 'min.compaction.lag.ms', type: 'long', brokerSynonym: null, default: '0', validate: nonNegative },
  { name: 'min.insync.replicas', type: 'int', brokerSynonym: 'min.insync.replicas', default: '1', validate: atLeast(1) },
  { name: 'preallocate', type: 'boolean', brokerSynonym: null, default: 'false', validate: bool },
  { name: 'retention.bytes', type: 'long', brokerSynonym: 'log.retention.bytes', default: '-1', validate: longOrMinusOne },
  { name: 'retention.ms', type: 'long', brokerSynonym: 'log.retention.ms', default: '604800000', validate: atLeast(-1) },
  { name: 'segment.bytes', type: 'int', brokerSynonym: 'log.segment.bytes', default: '1073741824', validate: atLeast(14) },
  { name: 'segment.index.bytes', type: 'int', brokerSynonym: 'log.index.size.max.bytes', default: '10485760', validate: atLeast(4) },
  { name: 'segment.jitter.ms', type: 'long', brokerSynonym: null, default: '0', validate: nonNegative },
  { name: 'segment.ms', type: 'long', brokerSynonym: 'log.roll.ms', default: '604800000', validate: atLeast(1) },
  { name: 'unclean.leader.election.enable', type: 'boolean', brokerSynonym: 'unclean.leader.election.enable', default: 'false', validate: bool },
];

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDef> = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

/** Returns an error message for an unknown name or an invalid value, or null if acceptable. */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const def = TOPIC_CONFIG_BY_NAME.get(name);
  if (!def) return `Unknown topic config name: ${name}`;
  if (value === null) return null;
  if (def.validate && !def.validate(value.trim())) return `Invalid value ${value} for configuration ${name}`;
  return null;
}

export type ConfigSource = 'TOPIC' | 'STATIC_BROKER' | 'DEFAULT';

/** The broker-level value that is the default for a topic config, accounting for Kafka's unit variants. */
function brokerDefault(def: TopicConfigDef, broker: BrokerConfig): { value: string; source: ConfigSource } {
  if (def.name === 'retention.ms') {
    const explicit = ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'].some((n) => broker.isExplicit(n));
    return { value: String(broker.logRetentionMs), source: explicit ? 'STATIC_BROKER' : 'DEFAULT' };
  }
  if (def.name === 'segment.ms') {
    const explicit = broker.isExplicit('log.roll.ms') || broker.isExplicit('log.roll.hours');
    return { value: String(broker.logRollMs), source: explicit ? 'STATIC_BROKER' : 'DEFAULT' };
  }
  if (def.name === 'flush.ms') {
    return { value: String(broker.logFlushIntervalMs), source: broker.isExplicit('log.flush.interval.ms') ? 'STATIC_BROKER' : 'DEFAULT' };
  }
  if (def.brokerSynonym && broker.isExplicit(def.brokerSynonym)) {
    return { value: broker.get(def.brokerSynonym) ?? def.default, source: 'STATIC_BROKER' };
  }
  if (def.brokerSynonym) {
    const v = broker.get(def.brokerSynonym);
    if (v !== null) return { value: v, source: 'DEFAULT' };
  }
  return { value: def.default, source: 'DEFAULT' };
}

export interface EffectiveConfig {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSource;
  readonly def: TopicConfigDef;
}

/** Every topic config with its effective value for a topic whose overrides are `overrides`. */
export function effectiveTopicConfigs(overrides: ReadonlyMap<string, string>, broker: BrokerConfig): EffectiveConfig[] {
  return TOPIC_CONFIG_DEFS.map((def) => {
    const o = overrides.get(def.name);
    if (o !== undefined) return { name: def.name, value: o, source: 'TOPIC' as const, def };
    const b = brokerDefault(def, broker);
    return { name: def.name, value: b.value, source: b.source, def };
  });
}

export function effectiveTopicConfig(name: string, overrides: ReadonlyMap<string, string>, broker: BrokerConfig): string {
  const o = overrides.get(name);
  if (o !== undefined) return o;
  const def = TOPIC_CONFIG_BY_NAME.get(name);
  if (!def) throw new Error(`unknown topic config ${name}`);
  return brokerDefault(def, broker).value;
}
