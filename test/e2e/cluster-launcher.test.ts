// The local launcher (`npm run cluster`, dist/broker/cluster/launch.js): it starts the node set
// of broker/cluster/nodes.ts, prints where each node listens, forwards their output prefixed,
// the nodes form one cluster, and SIGTERM stops every node (no process left behind); a second
// start on the same data keeps the cluster id.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTROLLER_PORT_OFFSET } from '../../broker/cluster/nodes.js';
import { BROKER_MAIN, REPO_ROOT } from '../support/broker.js';
import { metadataAt } from '../support/cluster.js';
import { waitFor, withTimeout } from '../support/util.js';

/** The launcher of the build under test (E2E_BROKER_MAIN's build, else dist/). */
const LAUNCHER = path.join(path.dirname(BROKER_MAIN), 'cluster', 'launch.js');
const NODES = 3;

interface Launch {
  child: ChildProcess;
  out(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const launched: Launch[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const l of launched) {
    // Kill the launcher's nodes too if a test left it running (pids from its own output).
    for (const pid of nodePids(l.out())) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    l.child.kill('SIGKILL');
  }
  if (process.env.BROKER_KEEP_DATA !== '1') await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A base port whose client (base..base+n-1) and controller (base+100..) ports are all free. */
async function freeBasePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: NODES }, (_, k) => [base + k, base + CONTROLLER_PORT_OFFSET + k]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

function nodePids(out: string): number[] {
  return [...out.matchAll(/^\[cluster\] kafka-\d+ started, pid (\d+)$/gm)].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function launch(args: string[]): Launch {
  // The suite's E2E_BROKER_MAIN (another build) applies to the launched nodes too.
  const child = spawn(process.execPath, [LAUNCHER, ...args, '--main', BROKER_MAIN], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_NODE_ID: '77' } });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const l = { child, out: () => text, exited };
  launched.push(l);
  return l;
}

async function stopLaunch(l: Launch): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  l.child.kill('SIGTERM');
  const status = await withTimeout(l.exited, 30_000, 'launcher exit after SIGTERM');
  // Every node it started (its whole output is in now) is gone.
  const pids = nodePids(l.out());
  expect(pids.length, l.out().slice(-3000)).toBeGreaterThan(0);
  for (const pid of pids) expect(alive(pid), `node pid ${pid} still running after the launcher stopped\n${l.out().slice(-3000)}`).toBe(false);
  return status;
}

describe('npm run cluster (the local launcher)', { timeout: 90_000 }, () => {
  it('starts 3 nodes, prints where each listens, forwards prefixed logs, and SIGTERM stops them all', async () => {
    const base = await freeBasePort();
    const data = await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-launcher-'));
    dirs.push(data);
    const l = launch(['--nodes', String(NODES), '--base-port', String(base), '--data', data]);
    // Every node answers (the launcher says so once ApiVersions works on its client port).
    await waitFor('3 nodes answering', () => (l.out().match(/^\[cluster\] kafka-\d answers on /gm) ?? []).length === NODES || undefined, { timeoutMs: 45_000, intervalMs: 200 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${l.out().slice(-4000)}`);
    });
    const out = l.out();
    for (let i = 1; i <= NODES; i++) {
      const client = base + i - 1;
      const controller = base + CONTROLLER_PORT_OFFSET + i - 1;
      expect(out).toContain(`[cluster] kafka-${i}  node.id=${i}  clients 127.0.0.1:${client}  controller 127.0.0.1:${controller}  data ${path.join(data, `kafka-${i}`)}`);
      expect(out, `kafka-${i}'s own output, prefixed`).toMatch(new RegExp(`^\\[kafka-${i}\\] \\{.*"node":${i}\\b`, 'm'));
    }
    expect(out).toContain(`[cluster] bootstrap servers: ${[0, 1, 2].map((k) => `127.0.0.1:${base + k}`).join(',')}`);
    expect(out).toContain(`[cluster] controller quorum voters: ${[1, 2, 3].map((i) => `${i}@127.0.0.1:${base + CONTROLLER_PORT_OFFSET + i - 1}`).join(',')}`);
    expect(nodePids(out)).toHaveLength(NODES);
    // The developer's stray KAFKA_NODE_ID=77 did not leak into the nodes.
    expect(out).not.toMatch(/"node":77/);
    const clusterId = (await readFile(path.join(data, 'cluster.id'), 'utf8')).trim();
    expect(out).toContain(`[cluster] cluster ${clusterId}: 3 combined broker+controller nodes`);

    const status = await stopLaunch(l);
    expect(status.code, l.out().slice(-3000)).toBe(0);
    expect(l.out()).toContain('[cluster] all nodes stopped');

    // A second start on the same data keeps the cluster id; SIGTERM while it is still starting
    // its nodes stops all of them too.
    const again = launch(['--nodes', String(NODES), '--base-port', String(base), '--data', data]);
    await waitFor('the second start to print its cluster id', () => /\[cluster\] cluster \S+:/.test(again.out()) || undefined, { timeoutMs: 10_000 });
    expect(again.out()).toContain(`[cluster] cluster ${clusterId}:`);
    const early = await stopLaunch(again);
    expect(early.code, again.out().slice(-3000)).toBe(0);
  });

  it('the launched nodes form one cluster: a quorum leader is reported and every node lists all 3 brokers', async () => {
    const base = await freeBasePort();
    const data = await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-launcher-'));
    dirs.push(data);
    const l = launch(['--nodes', String(NODES), '--base-port', String(base), '--data', data, '--ready-timeout-ms', '40000']);
    try {
      const line = await waitFor('the launcher to report a quorum leader', () => /^\[cluster\] (ready: quorum leader node \d+.*|every node answers, but no quorum leader.*|not answering.*)$/m.exec(l.out())?.[0], {
        timeoutMs: 45_000,
        intervalMs: 250,
      }).catch((e: Error) => {
        throw new Error(`${e.message}\n${l.out().slice(-4000)}`);
      });
      expect(line, l.out().slice(-4000)).toMatch(/ready: quorum leader node [123]\b/);
      for (let i = 0; i < NODES; i++) {
        await waitFor(`Metadata from 127.0.0.1:${base + i} listing brokers 1,2,3`, async () => {
          const md = await metadataAt(base + i);
          const ids = md.brokers.map((b) => b.nodeId).sort().join(',');
          if (ids !== '1,2,3') throw new Error(`brokers [${ids}]`);
          return true;
        }, { timeoutMs: 20_000 });
      }
    } finally {
      await stopLaunch(l);
    }
  });
});
