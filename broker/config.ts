// Broker configuration: Kafka's property names and defaults, read from a .properties file and
// overridden by KAFKA_* environment variables the way Apache Kafka's container image maps them
// (KAFKA_LOG_DIRS → log.dirs; "___" → "-", "__" → "_", "_" → ".").
import { readFileSync } from 'node:fs';

export type ConfigType = 'string' | 'int' | 'long' | 'boolean' | 'list' | 'double';

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  readonly default: string | null;
  /** Read-only configs cannot change at runtime (DescribeConfigs reports them so). */
  readonly readOnly?: boolean;
  readonly sensitive?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Broker configs this server understands. Unknown keys are kept and reported as-is. */
export const BROKER_CONFIG_DEFS: readonly ConfigDef[] = [
  { name: 'node.id', type: 'int', default: '1', readOnly: true },
  { name: 'broker.id', type: 'int', default: null, readOnly: true },
  { name: 'process.roles', type: 'list', default: 'broker,controller', readOnly: true },
  { name: 'listeners', type: 'list', default: 'PLAINTEXT://127.0.0.1:9092', readOnly: true },
  { name: 'advertised.listeners', type: 'list', default: null, readOnly: true },
  { name: 'listener.security.protocol.map', type: 'list', default: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT', readOnly: true },
  { name: 'inter.broker.listener.name', type: 'string', default: null, readOnly: true },
  { name: 'controller.listener.names', type: 'list', default: 'CONTROLLER', readOnly: true },
  { name: 'controller.quorum.voters', type: 'list', default: '', readOnly: true },
  { name: 'controller.quorum.election.timeout.ms', type: 'int', default: '1000', readOnly: true },
  { name: 'controller.quorum.fetch.timeout.ms', type: 'int', default: '2000', readOnly: true },
  { name: 'controller.quorum.election.backoff.max.ms', type: 'int', default: '1000', readOnly: true },
  { name: 'controller.quorum.request.timeout.ms', type: 'int', default: '2000', readOnly: true },
  { name: 'controller.quorum.retry.backoff.ms', type: 'int', default: '20', readOnly: true },
  { name: 'metadata.log.dir', type: 'string', default: null, readOnly: true },
  { name: 'metadata.log.max.record.bytes.between.snapshots', type: 'long', default: '20971520', readOnly: true },
  { name: 'broker.heartbeat.interval.ms', type: 'int', default: '2000', readOnly: true },
  { name: 'broker.session.timeout.ms', type: 'int', default: '9000', readOnly: true },
  { name: 'initial.broker.registration.timeout.ms', type: 'int', default: '60000', readOnly: true },
  { name: 'cluster.id', type: 'string', default: null, readOnly: true },
  { name: 'broker.rack', type: 'string', default: null, readOnly: true },
  { name: 'log.dirs', type: 'list', default: './data', readOnly: true },
  { name: 'log.dir', type: 'string', default: null, readOnly: true },
  { name: 'num.partitions', type: 'int', default: '1' },
  { name: 'default.replication.factor', type: 'int', default: '1' },
  { name: 'min.insync.replicas', type: 'int', default: '1' },
  { name: 'auto.create.topics.enable', type: 'boolean', default: 'true' },
  { name: 'delete.topic.enable', type: 'boolean', default: 'true' },
  { name: 'socket.request.max.bytes', type: 'int', default: String(100 * 1024 * 1024) },
  { name: 'message.max.bytes', type: 'int', default: '1048588' },
  { name: 'queued.max.requests', type: 'int', default: '500' },
  { name: 'quota.window.num', type: 'int', default: '11', readOnly: true },
  { name: 'quota.window.size.seconds', type: 'int', default: '1', readOnly: true },
  { name: 'max.connections', type: 'int', default: String(2 ** 31 - 1) },
  { name: 'max.connections.per.ip', type: 'int', default: String(2 ** 31 - 1) },
  { name: 'log.segment.bytes', type: 'int', default: String(1024 * 1024 * 1024) },
  { name: 'log.roll.ms', type: 'long', default: null },
  { name: 'log.roll.hours', type: 'int', default: '168' },
  { name: 'log.retention.ms', type: 'long', default: null },
  { name: 'log.retention.minutes', type: 'int', default: null },
  { name: 'log.retention.hours', type: 'int', default: '168' },
  { name: 'log.retention.bytes', type: 'long', default: '-1' },
  { name: 'log.retention.check.interval.ms', type: 'long', default: '300000' },
  { name: 'log.index.interval.bytes', type: 'int', default: '4096' },
  { name: 'log.index.size.max.bytes', type: 'int', default: String(10 * 1024 * 1024) },
  { name: 'log.segment.delete.delay.ms', type: 'long', default: '60000' },
  { name: 'log.flush.interval.messages', type: 'long', default: String(Number.MAX_SAFE_INTEGER) },
  { name: 'log.flush.interval.ms', type: 'long', default: null },
  { name: 'log.flush.offset.checkpoint.interval.ms', type: 'int', default: '60000' },
  { name: 'log.message.timestamp.type', type: 'string', default: 'CreateTime' },
  { name: 'log.cleanup.policy', type: 'list', default: 'delete' },
  { name: 'compression.type', type: 'string', default: 'producer' },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false' },
  { name: 'auto.leader.rebalance.enable', type: 'boolean', default: 'true', readOnly: true },
  { name: 'leader.imbalance.check.interval.seconds', type: 'long', default: '300', readOnly: true },
  // Declared with Kafka's default; as in KRaft, not used (a ZooKeeper-mode controller gate).
  { name: 'leader.imbalance.per.broker.percentage', type: 'int', default: '10', readOnly: true },
  { name: 'offsets.topic.num.partitions', type: 'int', default: '50' },
  { name: 'offsets.topic.replication.factor', type: 'int', default: '3' },
  { name: 'transaction.state.log.num.partitions', type: 'int', default: '50' },
  { name: 'transaction.state.log.replication.factor', type: 'int', default: '3' },
  { name: 'transaction.state.log.min.isr', type: 'int', default: '2' },
  { name: 'replica.lag.time.max.ms', type: 'long', default: '30000' },
  { name: 'replica.fetch.max.bytes', type: 'int', default: String(1024 * 1024) },
  { name: 'replica.fetch.response.max.bytes', type: 'int', default: String(10 * 1024 * 1024) },
  { name: 'replica.fetch.min.bytes', type: 'int', default: '1' },
  { name: 'replica.fetch.wait.max.ms', type: 'int', default: '500' },
  { name: 'replica.fetch.backoff.ms', type: 'int', default: '1000' },
  { name: 'replica.socket.timeout.ms', type: 'int', default: '30000' },
  { name: 'fetch.max.bytes', type: 'int', default: String(55 * 1024 * 1024) },
  { name: 'max.incremental.fetch.session.cache.slots', type: 'int', default: '1000' },
  { name: 'group.initial.rebalance.delay.ms', type: 'int', default: '3000' },
  { name: 'group.min.session.timeout.ms', type: 'int', default: '6000' },
  { name: 'group.max.session.timeout.ms', type: 'int', default: '1800000' },
  { name: 'group.max.size', type: 'int', default: String(2 ** 31 - 1) },
  { name: 'offsets.retention.minutes', type: 'int', default: '10080' },
  { name: 'offsets.retention.check.interval.ms', type: 'long', default: '600000' },
  { name: 'offsets.commit.timeout.ms', type: 'int', default: '5000' },
  { name: 'offsets.topic.segment.bytes', type: 'int', default: '104857600' },
  { name: 'offsets.topic.compression.codec', type: 'int', default: '0' },
  { name: 'offsets.load.buffer.size', type: 'int', default: '5242880' },
  { name: 'offset.metadata.max.bytes', type: 'int', default: '4096' },
  { name: 'transaction.state.log.segment.bytes', type: 'int', default: '104857600' },
  { name: 'transaction.state.log.load.buffer.size', type: 'int', default: '5242880' },
  { name: 'transaction.max.timeout.ms', type: 'int', default: '900000' },
  { name: 'transactional.id.expiration.ms', type: 'int', default: '604800000' },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'int', default: '10000' },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'int', default: '3600000' },
  { name: 'transaction.partition.verification.enable', type: 'boolean', default: 'true' },
  { name: 'producer.id.expiration.ms', type: 'int', default: '86400000' },
  { name: 'producer.id.expiration.check.interval.ms', type: 'int', default: '600000' },
  { name: 'request.timeout.ms', type: 'int', default: '30000' },
];

const DEFS_BY_NAME = new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d]));

/** `KAFKA_LOG_DIRS` → `log.dirs`, `KAFKA_SOME__THING` → `some_thing`, `KAFKA_A___B` → `a-b`. */
export function envNameToProperty(envName: string): string | null {
  if (!envName.startsWith('KAFKA_')) return null;
  const rest = envName.slice('KAFKA_'.length);
  if (rest.length === 0) return null;
  return rest
    .toLowerCase()
    .replace(/___/g, '\u0001')
    .replace(/__/g, '\u0002')
    .replace(/_/g, '.')
    .replace(/\u0001/g, '-')
    .replace(/\u0002/g, '_');
}

/** Environment variables of the container image that are not config properties. */
const NON_PROPERTY_ENV = new Set(['KAFKA_HEAP_OPTS', 'KAFKA_OPTS', 'KAFKA_JVM_PERFORMANCE_OPTS', 'KAFKA_LOG4J_OPTS', 'KAFKA_DEBUG']);

/** Parses Java .properties text (the subset Kafka's files use: `#`/`!` comments, `=` or `:`, continuations). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trimStart();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
    else out.set(line.trim(), '');
  }
  return out;
}

export class ConfigError extends Error {}

export interface Listener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export function parseListeners(value: string): Listener[] {
  const out: Listener[] = [];
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(part);
    if (!m) throw new ConfigError(`invalid listener "${part}"`);
    let host = m[2]!;
    if (host.startsWith('[')) host = host.slice(1, -1);
    out.push({ name: m[1]!.toUpperCase(), host, port: Number(m[3]) });
  }
  return out;
}

/** A resolved broker configuration: raw properties plus typed accessors for what the code uses. */
export class BrokerConfig {
  readonly props: ReadonlyMap<string, string>;

  constructor(props: Map<string, string>) {
    this.props = props;
    for (const [name, value] of props) {
      const def = DEFS_BY_NAME.get(name);
      if (def && (def.type === 'int' || def.type === 'long') && value !== '' && !/^-?\d+$/.test(value)) {
        throw new ConfigError(`${name}: "${value}" is not an integer`);
      }
      if (def && def.type === 'boolean' && !/^(true|false)$/i.test(value)) {
        throw new ConfigError(`${name}: "${value}" is not a boolean`);
      }
    }
  }

  static load(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, string> } = {}): BrokerConfig {
    const props = new Map<string, string>();
    if (opts.file) for (const [k, v] of parseProperties(readFileSync(opts.file, 'utf8'))) props.set(k, v);
    const env = opts.env ?? {};
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined || NON_PROPERTY_ENV.has(k)) continue;
      const name = envNameToProperty(k);
      if (name) props.set(name, v);
    }
    if (env.CLUSTER_ID && !props.has('cluster.id')) props.set('cluster.id', env.CLUSTER_ID);
    for (const [k, v] of Object.entries(opts.overrides ?? {})) props.set(k, v);
    return new BrokerConfig(props);
  }

  /** The effective string value (explicit, else Kafka's default), or null. */
  get(name: string): string | null {
    const v = this.props.get(name);
    if (v !== undefined) return v;
    return DEFS_BY_NAME.get(name)?.default ?? null;
  }

  isExplicit(name: string): boolean {
    return this.props.has(name);
  }

  int(name: string): number {
    const v = this.get(name);
    if (v === null || v === '') throw new ConfigError(`${name} is not set`);
    return Number(v);
  }

  bool(name: string): boolean {
    return (this.get(name) ?? 'false').toLowerCase() === 'true';
  }

  list(name: string): string[] {
    return (this.get(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }

  get nodeId(): number {
    const broker = this.props.get('broker.id');
    return broker !== undefined && !this.props.has('node.id') ? Number(broker) : this.int('node.id');
  }

  get processRoles(): string[] {
    return this.list('process.roles').map((r) => r.toLowerCase());
  }

  get listeners(): Listener[] {
    return parseListeners(this.get('listeners') ?? '');
  }

  /** The listener brokers use to reach each other: inter.broker.listener.name, else the first that is not a controller listener. */
  get interBrokerListenerName(): string {
    const named = this.get('inter.broker.listener.name');
    if (named) return named;
    const controllerNames = new Set(this.list('controller.listener.names').map((s) => s.toUpperCase()));
    return this.listeners.find((l) => !controllerNames.has(l.name))?.name ?? 'PLAINTEXT';
  }

  /** Client-facing listeners as advertised (advertised.listeners falls back to listeners). */
  get advertisedListeners(): Listener[] {
    const adv = this.get('advertised.listeners');
    const controllerNames = new Set(this.list('controller.listener.names').map((s) => s.toUpperCase()));
    const base = adv ? parseListeners(adv) : this.listeners;
    return base.filter((l) => !controllerNames.has(l.name));
  }

  get logDirs(): string[] {
    if (this.props.has('log.dirs')) return this.list('log.dirs');
    const one = this.props.get('log.dir');
    return one ? [one] : this.list('log.dirs');
  }

  /** log.roll.ms, else log.roll.hours. */
  get logRollMs(): number {
    const ms = this.get('log.roll.ms');
    return ms !== null && ms !== '' ? Number(ms) : this.int('log.roll.hours') * 3600_000;
  }

  /** log.retention.ms, else minutes, else hours (Kafka's precedence). */
  get logRetentionMs(): number {
    const ms = this.get('log.retention.ms');
    if (ms !== null && ms !== '') return Number(ms);
    const min = this.get('log.retention.minutes');
    if (min !== null && min !== '') return Number(min) * 60_000;
    return this.int('log.retention.hours') * 3600_000;
  }

  get logFlushIntervalMs(): number {
    const ms = this.get('log.flush.interval.ms');
    return ms !== null && ms !== '' ? Number(ms) : Number.MAX_SAFE_INTEGER;
  }

  get clusterId(): string | null {
    return this.get('cluster.id');
  }
}

export { DAY_MS };
