// The node set of a multi-node KRaft cluster, in one place: every node's name, id, ports, data
// dir and the exact environment (Apache Kafka's container image variables) it runs with. The
// local launcher (`npm run cluster`, ./launch.ts), the test harness (test/support/cluster.ts)
// and the check of docker-compose.yml (test/e2e/compose.test.ts, via composeNodes) all read it.
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** Listener names, as Kafka's quick-start uses them. */
export const CLIENT_LISTENER = 'PLAINTEXT';
export const CONTROLLER_LISTENER = 'CONTROLLER';
/** The extra listener of the compose file that the host reaches through published ports. */
export const HOST_LISTENER = 'PLAINTEXT_HOST';
export const PROCESS_ROLES = 'broker,controller';

/** The cluster id of docker-compose.yml (fixed, so every container formats the same cluster). */
export const COMPOSE_CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qk';
/** In-container ports of the compose services (each container has its own network namespace). */
export const COMPOSE_CLIENT_PORT = 9092;
export const COMPOSE_CONTROLLER_PORT = 9093;
/** Node i's host listener is PLAINTEXT_HOST://:(29091+i) in the container, published as localhost:(9091+i). */
export const COMPOSE_HOST_LISTENER_BASE = 29092;
export const COMPOSE_PUBLISHED_BASE = 9092;
export const COMPOSE_DATA_DIR = '/var/lib/kafka/data';

/** Default first client port of the local launcher; controller ports start CONTROLLER_PORT_OFFSET above. */
export const DEFAULT_BASE_PORT = 19092;
export const CONTROLLER_PORT_OFFSET = 100;

export interface ClusterNodesOptions {
  /** How many combined broker+controller nodes (ids 1..nodes). */
  nodes: number;
  /** Address every listener binds and advertises. Default 127.0.0.1. */
  host?: string;
  /**
   * Node i (1-based) listens for clients on basePort+i-1 and for controllers on
   * basePort+CONTROLLER_PORT_OFFSET+i-1. Default 19092. Ignored for nodes given in `ports`.
   */
  basePort?: number;
  /** Explicit ports per node (index 0 = node 1), e.g. free ports picked by a test. */
  ports?: ReadonlyArray<{ client: number; controller: number }>;
  /** 22-character base64url cluster id (16 bytes), the same for every node. */
  clusterId: string;
  /** Node i keeps its data in <dataRoot>/kafka-i. */
  dataRoot: string;
  /** Extra variables for every node (KAFKA_* names); they cannot replace the cluster-shaping ones. */
  env?: Readonly<Record<string, string>>;
}

export interface ClusterNode {
  /** kafka-1, kafka-2, ... (also the compose service name). */
  readonly name: string;
  readonly id: number;
  readonly host: string;
  readonly clientPort: number;
  readonly controllerPort: number;
  /** host:clientPort, for clients. */
  readonly bootstrap: string;
  /** host:controllerPort, for --bootstrap-controller and raw quorum requests. */
  readonly controllerAddress: string;
  readonly dataDir: string;
  /** The exact environment of the node's process (KAFKA_* and CLUSTER_ID). */
  readonly env: Readonly<Record<string, string>>;
}

/** The variables that shape the cluster; `env` extras may not override them. */
export const CLUSTER_SHAPING_VARS: readonly string[] = [
  'KAFKA_NODE_ID',
  'KAFKA_PROCESS_ROLES',
  'KAFKA_LISTENERS',
  'KAFKA_ADVERTISED_LISTENERS',
  'KAFKA_CONTROLLER_LISTENER_NAMES',
  'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP',
  'KAFKA_INTER_BROKER_LISTENER_NAME',
  'KAFKA_CONTROLLER_QUORUM_VOTERS',
  'KAFKA_LOG_DIRS',
  'CLUSTER_ID',
];

export function nodeName(id: number): string {
  return `kafka-${id}`;
}

/** A new random cluster id: 16 bytes as unpadded base64url (22 characters), like `kafka-storage random-uuid`. */
export function randomClusterId(): string {
  return randomBytes(16).toString('base64url');
}

export function isValidClusterId(id: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(id) && Buffer.from(id, 'base64url').length === 16;
}

/** `1@host:port,2@host:port,...` */
export function quorumVoters(voters: ReadonlyArray<{ id: number; host: string; port: number }>): string {
  return voters.map((v) => `${v.id}@${v.host}:${v.port}`).join(',');
}

function checkCommon(nodes: number, clusterId: string): void {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 99) throw new RangeError(`nodes must be an integer in 1..99, got ${nodes}`);
  if (!isValidClusterId(clusterId)) throw new RangeError(`cluster id must be 22 base64url characters (16 bytes), got "${clusterId}"`);
}

/** The local node set: every node on `host`, its own ports and data dir. */
export function clusterNodes(opts: ClusterNodesOptions): ClusterNode[] {
  const { nodes, clusterId, dataRoot } = opts;
  checkCommon(nodes, clusterId);
  const host = opts.host ?? '127.0.0.1';
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  const ports = ids.map((id) => {
    const given = opts.ports?.[id - 1];
    if (given) return given;
    return { client: basePort + id - 1, controller: basePort + CONTROLLER_PORT_OFFSET + id - 1 };
  });
  const all = ports.flatMap((p) => [p.client, p.controller]);
  for (const p of all) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`port ${p} out of range`);
  if (new Set(all).size !== all.length) throw new RangeError(`ports overlap: ${all.join(',')}`);
  const extras = opts.env ?? {};
  for (const k of Object.keys(extras)) {
    if (CLUSTER_SHAPING_VARS.includes(k)) throw new RangeError(`${k} is set by the node set; it cannot be overridden`);
  }
  const voters = quorumVoters(ids.map((id) => ({ id, host, port: ports[id - 1]!.controller })));
  return ids.map((id) => {
    const { client, controller } = ports[id - 1]!;
    const name = nodeName(id);
    const dataDir = path.join(dataRoot, name);
    const env: Record<string, string> = {
      KAFKA_NODE_ID: String(id),
      KAFKA_PROCESS_ROLES: PROCESS_ROLES,
      KAFKA_LISTENERS: `${CLIENT_LISTENER}://${host}:${client},${CONTROLLER_LISTENER}://${host}:${controller}`,
      KAFKA_ADVERTISED_LISTENERS: `${CLIENT_LISTENER}://${host}:${client}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER_LISTENER,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: `${CONTROLLER_LISTENER}:PLAINTEXT,${CLIENT_LISTENER}:PLAINTEXT`,
      KAFKA_INTER_BROKER_LISTENER_NAME: CLIENT_LISTENER,
      KAFKA_CONTROLLER_QUORUM_VOTERS: voters,
      KAFKA_LOG_DIRS: dataDir,
      CLUSTER_ID: clusterId,
      ...extras,
    };
    return {
      name,
      id,
      host,
      clientPort: client,
      controllerPort: controller,
      bootstrap: `${host}:${client}`,
      controllerAddress: `${host}:${controller}`,
      dataDir,
      env,
    };
  });
}

export interface ComposeNode {
  /** The compose service name and container hostname. */
  readonly name: string;
  readonly id: number;
  /** Host port published for this node's PLAINTEXT_HOST listener (localhost:<port> from the host). */
  readonly publishedPort: number;
  /** The container port of the PLAINTEXT_HOST listener. */
  readonly hostListenerPort: number;
  /** Named volume mounted at COMPOSE_DATA_DIR. */
  readonly volume: string;
  /** The exact environment of the service. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The same node set as docker-compose.yml describes it: listeners on every interface of the
 * container, clients of other containers use kafka-i:9092, the host uses localhost:(9091+i).
 */
export function composeNodes(opts: { nodes: number; clusterId?: string; env?: Readonly<Record<string, string>> }): ComposeNode[] {
  const clusterId = opts.clusterId ?? COMPOSE_CLUSTER_ID;
  checkCommon(opts.nodes, clusterId);
  const ids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
  const voters = quorumVoters(ids.map((id) => ({ id, host: nodeName(id), port: COMPOSE_CONTROLLER_PORT })));
  return ids.map((id) => {
    const name = nodeName(id);
    const hostListenerPort = COMPOSE_HOST_LISTENER_BASE + id - 1;
    const publishedPort = COMPOSE_PUBLISHED_BASE + id - 1;
    const env: Record<string, string> = {
      KAFKA_NODE_ID: String(id),
      KAFKA_PROCESS_ROLES: PROCESS_ROLES,
      KAFKA_LISTENERS: `${CLIENT_LISTENER}://:${COMPOSE_CLIENT_PORT},${CONTROLLER_LISTENER}://:${COMPOSE_CONTROLLER_PORT},${HOST_LISTENER}://:${hostListenerPort}`,
      KAFKA_ADVERTISED_LISTENERS: `${CLIENT_LISTENER}://${name}:${COMPOSE_CLIENT_PORT},${HOST_LISTENER}://localhost:${publishedPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER_LISTENER,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: `${CONTROLLER_LISTENER}:PLAINTEXT,${CLIENT_LISTENER}:PLAINTEXT,${HOST_LISTENER}:PLAINTEXT`,
      KAFKA_INTER_BROKER_LISTENER_NAME: CLIENT_LISTENER,
      KAFKA_CONTROLLER_QUORUM_VOTERS: voters,
      KAFKA_LOG_DIRS: COMPOSE_DATA_DIR,
      CLUSTER_ID: clusterId,
      ...(opts.env ?? {}),
    };
    return { name, id, publishedPort, hostListenerPort, volume: `${name}-data`, env };
  });
}
