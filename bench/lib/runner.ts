// Running one side of a scenario: start a server (null or real broker) on the broker core, run
// the generator process on the other core, sample the server's CPU time over exactly the
// measure window and its peak RSS, check that the broker stored what was acknowledged, stop
// everything.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { GenJob, GenMessage } from '../gen.js';
import type { ClientResult } from './clients.js';
import type { LoadResult } from './load.js';
import { coreTimes, cpuSeconds, memory, spawnNode, stopChild } from './proc.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import type { Progress } from './progress.js';
import { startBroker, startCluster, startNullBroker, type ServerHandle } from './servers.js';

export interface Ctx {
  quick: boolean;
  profile: boolean;
  warmupMs: number;
  durationMs: number;
  brokerCpu: number | null;
  genCpu: number | null;
  root: string;
  brokerMain: string;
  nullMain: string;
  genMain: string;
  cacheDir: string;
  progress: Progress;
  /** Results of scenarios already run in this invocation (later ones may use them). */
  done: Map<string, ScenarioResult>;
  /** "[3/24] name" for progress lines. */
  tag: string;
  /** Alternating runs per side (best kept). */
  reps: number;
  /** More runs of a side whose best run was disturbed by other work. */
  extraTries: number;
  /** Longest wait for quiet cores before a run. */
  quietWaitMs: number;
  /** What is left of the run's total budget for such waits, ms (keeps a full run bounded). */
  quietBudgetMs: number;
  /** What is left of the run's budget of extra runs after disturbed ones. */
  extraBudget: number;
}

export interface SideResult {
  server: 'null' | 'broker';
  load?: LoadResult;
  client?: ClientResult;
  /** MB/s (10^6 bytes): record-batch bytes for the generator, record values for client libraries. */
  mbps: number;
  recordsPerSec: number;
  requestsPerSec: number;
  /** Server CPU seconds (user + system) during the measure window. */
  cpuSeconds: number | null;
  cpuSecPerGB: number | null;
  peakRssMB: number | null;
  rssMB: number | null;
  /** A cluster: each node's peak RSS and CPU in the window (`cpuSeconds` above is their sum). */
  nodes?: NodeFigures[];
  stored?: { expected: number; stored: number; ok: boolean };
  profile?: ProfileSummary;
  /**
   * CPU used on the two pinned cores during the window by processes that are not part of the
   * benchmark (other work on the machine), in CPUs (0..1 each): `brokerCore`/`genCore` at normal
   * priority (high values mean a disturbed run), `nicedBrokerCore`/`nicedGenCore` by niced
   * processes (they mostly fill idle time).
   */
  otherLoad?: OtherLoad;
}

export interface NodeFigures {
  id: number;
  name: string;
  /** The node the generator talked to (the partition leader). */
  leader: boolean;
  cpuSeconds: number | null;
  peakRssMB: number | null;
}

export interface OtherLoad {
  brokerCore: number;
  genCore: number;
  nicedBrokerCore: number;
  nicedGenCore: number;
}

export interface GenOutcome {
  result: LoadResult | ClientResult;
  cpuSeconds: number | null;
  /** A cluster: each process's CPU seconds in the window (same order as the pids given). */
  serverCpuByPid?: Array<number | null>;
  otherLoad?: OtherLoad;
}

export interface ScenarioResult {
  name: string;
  title: string;
  group: string;
  params: Record<string, unknown>;
  status: 'ok' | 'failed' | 'not-measurable' | 'placeholder';
  null?: SideResult;
  broker?: SideResult;
  /** Replication scenarios: the same job on a single node (replication factor 1); `broker` is the cluster. */
  single?: SideResult;
  /** broker / null throughput. */
  ratio?: number | null;
  /**
   * Fixed-rate runs: `broker` with the tail consumer (end-to-end latency), `producerAlone` the
   * same rate without it (produce latency, the target: the generator also decodes every
   * consumer response, which at high rates makes it the bottleneck).
   */
  rates?: Array<{ pct: number; targetRate: number; null?: SideResult; broker?: SideResult; producerAlone?: SideResult }>;
  scaling?: Array<{ partitions: number; createMs: number | null; idleRssMB: number | null; side: SideResult | null; error?: string }>;
  notes: string[];
  error?: string;
  seconds: number;
  /** /proc/loadavg when the scenario started (other work on the machine). */
  loadAvg?: number[];
  /** Every run of the alternating null/broker sequence. */
  attempts?: Attempt[];
}

/**
 * Runs one generator job in its own process pinned to `cpu` (default: the generator core);
 * samples the server's CPU time (summed over every process of a cluster), and how busy both
 * cores were, over the measure window.
 */
export function runGen(ctx: Ctx, job: GenJob, serverPid: number | readonly number[] | null, label: string, cpu: number | null = ctx.genCpu): Promise<GenOutcome> {
  const serverPids = serverPid === null ? [] : typeof serverPid === 'number' ? [serverPid] : [...serverPid];
  return new Promise((resolve, reject) => {
    const child = spawnNode([ctx.genMain], cpu, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const limitMs = job.warmupMs + job.durationMs + 90_000;
    interface Sample {
      at: number;
      server: number | null;
      /** Per server process, in `serverPids` order. */
      servers: Array<number | null>;
      gen: number | null;
      self: number;
      cores: Array<{ busy: number; niced: number }>;
    }
    const sample = (): Sample => {
      const u = process.cpuUsage();
      const servers = serverPids.map((p) => cpuSeconds(p));
      return {
        at: Date.now(),
        server: servers.length === 0 || servers.some((x) => x === null) ? null : servers.reduce<number>((t, x) => t + x!, 0),
        servers,
        gen: child.pid === undefined ? null : cpuSeconds(child.pid),
        self: (u.user + u.system) / 1e6,
        cores: coreTimes(),
      };
    };
    let s0: Sample | null = null;
    let s1: Sample | null = null;
    let result: LoadResult | ClientResult | null = null;
    let error: string | null = null;
    let phase = 'start';
    const timer = setTimeout(() => {
      error = `generator did not finish within ${Math.round(limitMs / 1000)} s`;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('message', (m: GenMessage) => {
      if (m.type === 'phase') {
        phase = m.phase;
        if (m.phase === 'measure') s0 = sample();
        if (m.phase === 'drain' && s0 !== null && s1 === null) s1 = sample();
        if (m.phase !== 'exit') ctx.progress.status(`${ctx.tag} · ${label} · ${m.phase}`, true);
      } else if (m.type === 'progress') {
        const s = m.elapsedMs / 1000;
        const rate = m.phase === 'measure' ? ` · ${Math.round(m.bytes / Math.max(1, m.elapsedMs - job.warmupMs) / 1000)} MB/s so far` : '';
        ctx.progress.status(`${ctx.tag} · ${label} · ${m.phase} ${s.toFixed(0)}/${((job.warmupMs + job.durationMs) / 1000).toFixed(0)} s${rate}`);
      } else if (m.type === 'result') {
        result = m.result as LoadResult | ClientResult;
      } else if (m.type === 'error') {
        error = m.message;
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!result) {
        reject(new Error(`${label}: ${error ?? `generator exited (${code ?? signal}) in phase ${phase} without a result`}`));
        return;
      }
      const a = s0 as Sample | null;
      const b = s1 as Sample | null;
      let serverCpu: number | null = null;
      let serverCpuByPid: GenOutcome['serverCpuByPid'];
      let otherLoad: GenOutcome['otherLoad'];
      if (a && b) {
        if (a.server !== null && b.server !== null) serverCpu = b.server - a.server;
        if (serverPids.length > 1) serverCpuByPid = serverPids.map((_, i) => (a.servers[i] == null || b.servers[i] == null ? null : b.servers[i]! - a.servers[i]!));
        const window = Math.max(0.001, (b.at - a.at) / 1000);
        const delta = (c: number | null, k: 'busy' | 'niced') => (c === null || a.cores[c] === undefined || b.cores[c] === undefined ? null : b.cores[c]![k] - a.cores[c]![k]);
        const bc = delta(ctx.brokerCpu, 'busy');
        const gc = delta(ctx.genCpu, 'busy');
        const genUsed = a.gen !== null && b.gen !== null ? b.gen - a.gen : 0;
        if (bc !== null && gc !== null) {
          // The job pinned to the broker core (the storage floor) is the "server" there.
          const onBrokerCore = (serverCpu ?? 0) + (cpu === ctx.brokerCpu ? genUsed : 0);
          const onGenCore = (cpu === ctx.genCpu ? genUsed : 0) + (b.self - a.self);
          const clamp = (v: number) => Math.max(0, Math.round(v * 100) / 100);
          otherLoad = {
            brokerCore: clamp((bc - onBrokerCore) / window),
            genCore: clamp((gc - onGenCore) / window),
            nicedBrokerCore: clamp((delta(ctx.brokerCpu, 'niced') ?? 0) / window),
            nicedGenCore: clamp((delta(ctx.genCpu, 'niced') ?? 0) / window),
          };
        }
      }
      resolve({ result, cpuSeconds: serverCpu, serverCpuByPid, otherLoad });
    });
    child.send({ type: 'run', job });
  });
}

export function sideFrom(server: 'null' | 'broker', r: LoadResult | ClientResult, cpu: number | null, pid: number | null, otherLoad?: OtherLoad): SideResult {
  const elapsedS = r.elapsedMs / 1000;
  const isLoad = 'totalRecords' in r;
  const mem = pid === null ? null : memory(pid);
  const gb = r.bytes / 1e9;
  return {
    server,
    load: isLoad ? (r as LoadResult) : undefined,
    client: isLoad ? undefined : (r as ClientResult),
    mbps: r.bytes / 1e6 / elapsedS,
    recordsPerSec: r.records / elapsedS,
    requestsPerSec: (isLoad ? (r as LoadResult).requests : (r as ClientResult).calls) / elapsedS,
    cpuSeconds: cpu,
    cpuSecPerGB: cpu !== null && gb > 0 ? cpu / gb : null,
    peakRssMB: mem ? mem.peakRss / 1e6 : null,
    rssMB: mem ? mem.rss / 1e6 : null,
    otherLoad,
  };
}

/** Starts the real broker for a scenario (fresh data dir; profiled with --profile). */
export function brokerFor(ctx: Ctx, name: string, env?: Record<string, string>): Promise<ServerHandle> {
  return startBroker({
    root: ctx.root,
    brokerMain: ctx.brokerMain,
    dataDir: path.join(ctx.cacheDir, 'data', name),
    cpu: ctx.brokerCpu,
    env,
    profileDir: ctx.profile ? profileDir(ctx, name) : undefined,
  });
}

/** Starts an N-node cluster (broker/cluster/nodes.ts), every node on the broker core. */
export function clusterFor(ctx: Ctx, nodes: number, env?: Record<string, string>): ReturnType<typeof startCluster> {
  return startCluster({ root: ctx.root, brokerMain: ctx.brokerMain, cpu: ctx.brokerCpu, nodes, env });
}

export function nullFor(ctx: Ctx, partitions: number, fetchBatch?: { recordBytes: number; recordsPerBatch: number }): Promise<ServerHandle> {
  return startNullBroker({ nullMain: ctx.nullMain, cpu: ctx.brokerCpu, partitions, recordBytes: fetchBatch?.recordBytes, recordsPerBatch: fetchBatch?.recordsPerBatch });
}

export function profileDir(ctx: Ctx, name: string): string {
  return path.join(ctx.cacheDir, 'prof', name);
}

/** Removes old profiles of a scenario (before its broker starts). */
export function clearProfiles(ctx: Ctx, name: string): void {
  rmSync(profileDir(ctx, name), { recursive: true, force: true });
}

/** The newest .cpuprofile of a scenario, summarized. */
export function latestProfile(ctx: Ctx, name: string): ProfileSummary | undefined {
  const dir = profileDir(ctx, name);
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) return undefined;
  return summarizeProfile(files[0]!, ctx.root, 15);
}

export async function withServer<T, H extends ServerHandle = ServerHandle>(start: () => Promise<H>, fn: (s: H) => Promise<T>): Promise<T> {
  const s = await start();
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

export { stopChild };

/** Foreign CPU (in CPUs) on a pinned core above which a run counts as disturbed. */
export const DISTURBED_CPU = 0.15;

export function isDisturbed(s: SideResult): boolean {
  return s.otherLoad !== undefined && (s.otherLoad.brokerCore > DISTURBED_CPU || s.otherLoad.genCore > DISTURBED_CPU);
}

/**
 * Waits (bounded) until the two benchmark cores are quiet: other work on the machine (tests run
 * by others) would otherwise be measured as the broker's slowness. Returns the ms waited.
 */
export async function waitQuiet(ctx: Ctx, maxMsWanted: number, ownPids: readonly number[] = []): Promise<number> {
  const maxMs = Math.min(maxMsWanted, ctx.quietBudgetMs);
  if (ctx.brokerCpu === null || ctx.genCpu === null || maxMs <= 0) return 0;
  const t0 = Date.now();
  try {
    return await waitQuietFor(ctx, maxMs, t0, ownPids);
  } finally {
    ctx.quietBudgetMs = Math.max(0, ctx.quietBudgetMs - (Date.now() - t0));
  }
}

async function waitQuietFor(ctx: Ctx, maxMs: number, t0: number, ownPids: readonly number[]): Promise<number> {
  // The benchmark's own idle servers on the broker core (a cluster's heartbeats and replica
  // fetches) are not other work.
  const own = () => ownPids.reduce((t, p) => t + (cpuSeconds(p) ?? 0), 0);
  for (let i = 0; i < 1000; i++) {
    const a = coreTimes();
    const o0 = own();
    const u0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 400));
    const b = coreTimes();
    const u = process.cpuUsage(u0);
    const self = (u.user + u.system) / 1e6;
    const busyB = (b[ctx.brokerCpu!]!.busy - a[ctx.brokerCpu!]!.busy - (own() - o0)) / 0.4;
    const busyG = (b[ctx.genCpu!]!.busy - a[ctx.genCpu!]!.busy - self) / 0.4;
    if ((busyB <= DISTURBED_CPU && busyG <= DISTURBED_CPU) || Date.now() - t0 >= maxMs) break;
    ctx.progress.status(`${ctx.tag} · waiting for other work on the benchmark cores to calm down (${busyB.toFixed(2)}/${busyG.toFixed(2)} CPUs busy)`);
  }
  return Date.now() - t0;
}

export interface Attempt {
  server: 'null' | 'broker';
  /** Replication scenarios: which broker side ('1 node', '3 nodes'). */
  side?: string;
  mbps: number;
  otherLoad?: SideResult['otherLoad'];
  waitedMs: number;
}

/**
 * Runs the same job against each server, alternating (null, broker, null, broker, …) `ctx.reps`
 * times, with a bounded wait for quiet cores before each run and up to `ctx.extraTries` more runs
 * of a side whose best run was disturbed. Keeps each side's best run (interference only slows a
 * max-throughput run down); every attempt is reported.
 */
export async function alternate(
  ctx: Ctx,
  servers: Array<{ server: 'null' | 'broker'; handle: ServerHandle; job: GenJob }>,
  res: ScenarioResult,
  onBrokerResult?: (r: LoadResult | ClientResult) => void,
): Promise<void> {
  const runs = new Map<'null' | 'broker', SideResult[]>();
  const attempts: Attempt[] = [];
  const pidsOf = (h: ServerHandle) => (h.nodes ? h.nodes.map((nd) => nd.pid) : [h.pid]);
  const ownPids = servers.flatMap((x) => pidsOf(x.handle));
  const once = async (x: (typeof servers)[number], n: number, of: number) => {
    const waitedMs = await waitQuiet(ctx, ctx.quietWaitMs, ownPids);
    const what = x.server === 'null' ? 'null broker' : x.handle.nodes ? `${x.handle.nodes.length}-node cluster` : 'broker';
    const g = await runGen(ctx, x.job, pidsOf(x.handle), `${what}${of > 1 ? ` (run ${n}/${of})` : ''}`);
    const side = sideFrom(x.server, g.result, g.cpuSeconds, x.handle.pid, g.otherLoad);
    if (x.handle.nodes) {
      side.nodes = x.handle.nodes.map((nd, i) => ({ id: nd.id, name: nd.name, leader: nd.pid === x.handle.pid, cpuSeconds: g.serverCpuByPid?.[i] ?? null, peakRssMB: null }));
    }
    if (x.server === 'broker') onBrokerResult?.(g.result);
    attempts.push({ server: x.server, mbps: Math.round(side.mbps * 10) / 10, otherLoad: side.otherLoad, waitedMs });
    const list = runs.get(x.server) ?? [];
    list.push(side);
    runs.set(x.server, list);
  };
  for (let rep = 0; rep < ctx.reps; rep++) for (const x of servers) await once(x, rep + 1, ctx.reps);
  for (const x of servers) {
    for (let extra = 0; extra < ctx.extraTries; extra++) {
      const best = bestOf(runs.get(x.server)!);
      if (!isDisturbed(best) || ctx.extraBudget <= 0) break;
      ctx.extraBudget--;
      await once(x, ctx.reps + extra + 1, ctx.reps + extra + 1);
    }
  }
  for (const x of servers) {
    const best = bestOf(runs.get(x.server)!);
    // Peak RSS is the process's whole life; read it after the last run.
    const mem = memory(x.handle.pid);
    if (mem) best.peakRssMB = mem.peakRss / 1e6;
    if (x.handle.nodes && best.nodes) {
      for (const [i, nd] of x.handle.nodes.entries()) {
        const m = memory(nd.pid);
        best.nodes[i]!.peakRssMB = m ? m.peakRss / 1e6 : null;
      }
      // The cluster's peak RSS: the largest node's.
      const peaks = best.nodes.map((nd) => nd.peakRssMB ?? 0);
      best.peakRssMB = Math.max(...peaks);
    }
    if (x.server === 'null') res.null = best;
    else res.broker = best;
  }
  res.attempts = attempts;
  if (res.null && res.broker) res.ratio = res.null.mbps > 0 ? res.broker.mbps / res.null.mbps : null;
}

function bestOf(list: SideResult[]): SideResult {
  return list.reduce((a, b) => (b.mbps > a.mbps ? b : a));
}

/**
 * One run with a bounded wait for quiet cores first; if it was disturbed by other work and
 * retries are allowed, once more, keeping the less disturbed of the two.
 */
export async function runSteady(ctx: Ctx, job: GenJob, serverPid: number | null, label: string): Promise<GenOutcome & { tries: number }> {
  await waitQuiet(ctx, ctx.quietWaitMs);
  const first = await runGen(ctx, job, serverPid, label);
  const worst = (o: GenOutcome) => (o.otherLoad ? Math.max(o.otherLoad.brokerCore, o.otherLoad.genCore) : 0);
  if (ctx.extraTries === 0 || ctx.extraBudget <= 0 || worst(first) <= DISTURBED_CPU) return { ...first, tries: 1 };
  ctx.extraBudget--;
  await waitQuiet(ctx, ctx.quietWaitMs);
  const second = await runGen(ctx, job, serverPid, `${label} (again: the first run was disturbed)`);
  return { ...(worst(second) < worst(first) ? second : first), tries: 2 };
}
