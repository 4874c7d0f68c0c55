// docker-compose.yml and the Dockerfile describe the same cluster as the launcher's node set
// (broker/cluster/nodes.ts): names, ids, roles, listener names, voters, cluster id, the
// controller listener names, volumes and the healthcheck. There is no Docker engine here, so the
// file is parsed with `yaml` (merge keys on, as compose applies them); when `docker compose config`
// works offline its rendering is checked too. The broker's own config loader must read each
// service's environment as intended, and the healthcheck script must tell a live node from a
// dead or silent one.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BrokerConfig } from '../../broker/config.js';
import {
  clusterNodes,
  COMPOSE_CLUSTER_ID,
  COMPOSE_CONTROLLER_PORT,
  COMPOSE_DATA_DIR,
  composeNodes,
  CONTROLLER_LISTENER,
  isValidClusterId,
  PROCESS_ROLES,
} from '../../broker/cluster/nodes.js';
import { BROKER_MAIN, freePort, REPO_ROOT, startBroker } from '../support/broker.js';

const NODES = 3;
const composeText = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

interface Service {
  build?: unknown;
  image?: string;
  hostname?: string;
  restart?: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | number> | string[];
  healthcheck?: { test?: string[] | string; interval?: string; timeout?: string; retries?: number };
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Compose allows a map or a list of K=V; values may be numbers. */
function envOf(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
}

function listenerNames(value: string): string[] {
  return value.split(',').map((l) => l.trim().split('://')[0]!);
}

/** `docker compose config` when a compose implementation answers offline, else null. */
function dockerComposeConfig(): ComposeFile | null {
  const r = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--format', 'json'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout) as ComposeFile;
  } catch {
    return null;
  }
}

const parsed = parse(composeText, { merge: true }) as ComposeFile;
const rendered = dockerComposeConfig();
const sources: Array<[string, ComposeFile]> = [['yaml parse', parsed]];
if (rendered) sources.push(['docker compose config', rendered]);

describe.each(sources)('docker-compose.yml (%s)', (_how, compose) => {
  const expected = composeNodes({ nodes: NODES });
  const local = clusterNodes({ nodes: NODES, clusterId: COMPOSE_CLUSTER_ID, dataRoot: '/tmp/x' });

  it('has exactly the services kafka-1..3 of the node set, with named volumes, a restart policy and a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual(expected.map((n) => n.name).sort());
    expect(local.map((n) => n.name)).toEqual(expected.map((n) => n.name));
    for (const node of expected) {
      const s = compose.services[node.name]!;
      expect(s.build, `${node.name} builds the Dockerfile`).toBeDefined();
      expect(s.restart, `${node.name} restart policy`).toMatch(/^(always|unless-stopped|on-failure(:\d+)?)$/);
      expect(s.hostname ?? node.name).toBe(node.name);
      // Named volume at the image's data dir, declared at the top level.
      const vols = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${(v as { source: string }).source}:${(v as { target: string }).target}`));
      expect(vols).toContain(`${node.volume}:${COMPOSE_DATA_DIR}`);
      expect(Object.keys(compose.volumes ?? {})).toContain(node.volume);
      // Host listener published as localhost:909x.
      const ports = (s.ports ?? []).map((p) =>
        typeof p === 'string' ? p : `${(p as { published: string | number }).published}:${(p as { target: number }).target}`,
      );
      expect(ports).toContain(`${node.publishedPort}:${node.hostListenerPort}`);
      // Healthcheck: the ApiVersions probe of the image against the in-container client listener.
      const test = s.healthcheck?.test;
      const testText = Array.isArray(test) ? test.join(' ') : String(test ?? '');
      expect(testText, `${node.name} healthcheck`).toMatch(/node dist\/broker\/cluster\/healthcheck\.js 127\.0\.0\.1:9092/);
      expect(s.healthcheck?.interval).toBeDefined();
      expect(s.healthcheck?.retries).toBeGreaterThan(0);
    }
  });

  it("each service's environment is exactly the node set's (Apache Kafka image variables + CLUSTER_ID)", () => {
    for (const node of expected) {
      expect(envOf(compose.services[node.name]!), node.name).toEqual(node.env);
    }
  });

  it('agrees with the launcher node set: ids, roles, listener names, controller listener, voters, cluster id', () => {
    const services = expected.map((n) => envOf(compose.services[n.name]!));
    for (let i = 0; i < NODES; i++) {
      const c = services[i]!;
      const l = local[i]!.env;
      expect(c.KAFKA_NODE_ID).toBe(l.KAFKA_NODE_ID);
      expect(c.KAFKA_PROCESS_ROLES).toBe(PROCESS_ROLES);
      expect(c.KAFKA_PROCESS_ROLES).toBe(l.KAFKA_PROCESS_ROLES);
      expect(c.KAFKA_CONTROLLER_LISTENER_NAMES).toBe(l.KAFKA_CONTROLLER_LISTENER_NAMES);
      expect(c.KAFKA_INTER_BROKER_LISTENER_NAME).toBe(l.KAFKA_INTER_BROKER_LISTENER_NAME);
      // The local listeners are the compose ones less the host listener.
      const composeListeners = listenerNames(c.KAFKA_LISTENERS!);
      for (const name of listenerNames(l.KAFKA_LISTENERS!)) expect(composeListeners).toContain(name);
      expect(composeListeners).toContain(CONTROLLER_LISTENER);
      // Every listener has a security protocol; the controller listener is not advertised.
      const mapped = new Set(c.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.split(',').map((kv) => kv.split(':')[0]));
      for (const name of composeListeners) expect(mapped.has(name), `${name} in the protocol map`).toBe(true);
      expect(listenerNames(c.KAFKA_ADVERTISED_LISTENERS!)).not.toContain(CONTROLLER_LISTENER);
      // Same voter ids, each voter at its service name and the controller port of its listener.
      const voters = c.KAFKA_CONTROLLER_QUORUM_VOTERS!.split(',').map((v) => /^(\d+)@([^:]+):(\d+)$/.exec(v)!);
      const localVoters = l.KAFKA_CONTROLLER_QUORUM_VOTERS!.split(',').map((v) => Number(v.split('@')[0]));
      expect(voters.map((m) => Number(m[1]))).toEqual(localVoters);
      for (const m of voters) {
        expect(m[2]).toBe(`kafka-${m[1]}`);
        expect(Number(m[3])).toBe(COMPOSE_CONTROLLER_PORT);
      }
      expect(c.KAFKA_LISTENERS).toContain(`${CONTROLLER_LISTENER}://:${COMPOSE_CONTROLLER_PORT}`);
      // One valid cluster id, the same everywhere.
      expect(isValidClusterId(c.CLUSTER_ID!)).toBe(true);
      expect(c.CLUSTER_ID).toBe(l.CLUSTER_ID);
      expect(c.KAFKA_LOG_DIRS).toBe(COMPOSE_DATA_DIR);
    }
  });

  it("the broker's config loader reads each service's environment as intended", () => {
    for (const node of expected) {
      const config = BrokerConfig.load({ env: envOf(compose.services[node.name]!) });
      expect(config.nodeId).toBe(node.id);
      expect(config.processRoles).toEqual(['broker', 'controller']);
      expect(config.clusterId).toBe(COMPOSE_CLUSTER_ID);
      expect(config.logDirs).toEqual([COMPOSE_DATA_DIR]);
      expect(config.listeners.map((l) => `${l.name}:${l.host}:${l.port}`)).toEqual([
        'PLAINTEXT::9092',
        'CONTROLLER::9093',
        `PLAINTEXT_HOST::${node.hostListenerPort}`,
      ]);
      // Other containers reach kafka-i:9092, the host localhost:909x.
      expect(config.advertisedListeners.map((l) => `${l.name}://${l.host}:${l.port}`)).toEqual([
        `PLAINTEXT://${node.name}:9092`,
        `PLAINTEXT_HOST://localhost:${node.publishedPort}`,
      ]);
      expect(config.list('controller.quorum.voters')).toEqual(['1@kafka-1:9093', '2@kafka-2:9093', '3@kafka-3:9093']);
    }
  });
});

describe('Dockerfile', () => {
  it('builds on an official Node LTS image, installs production dependencies only, runs dist/broker/main.js with data in /var/lib/kafka/data', () => {
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    expect(froms.length).toBeGreaterThan(0);
    const final = froms[froms.length - 1]!;
    expect(final).toMatch(/^node:(2[02468]|[3-9][02468])(\.[\d.]+)?-(bookworm|trixie)-slim$/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/CMD \["node", ?"dist\/broker\/main\.js"\]/);
    expect(dockerfile).toContain(COMPOSE_DATA_DIR);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*dist\/broker\/cluster\/healthcheck\.js/);
    // Everything the build compiles is copied in (tsconfig's include list).
    const tsconfig = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    for (const inc of tsconfig.include) {
      const dir = inc.split('/')[0]!;
      expect(dockerfile, `COPY ${dir}`).toMatch(new RegExp(`^COPY ${dir} `, 'm'));
    }
  });
});

describe('healthcheck script (dist/broker/cluster/healthcheck.js)', () => {
  const script = path.join(path.dirname(BROKER_MAIN), 'cluster', 'healthcheck.js');
  const run = (addr: string) =>
    spawnSync(process.execPath, [script, addr], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, HEALTHCHECK_TIMEOUT_MS: '1500' } });

  it('exits 0 against a live broker, 1 against a closed port and against a listener that never answers', async () => {
    const broker = await startBroker();
    const ok = run(broker.bootstrap);
    expect(ok.status, ok.stderr).toBe(0);

    const closed = run(`127.0.0.1:${await freePort()}`);
    expect(closed.status).toBe(1);

    const silent = net.createServer((s) => s.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const t0 = Date.now();
      const hung = run(`127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
      expect(hung.status).toBe(1);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      silent.close();
    }
  });
});
