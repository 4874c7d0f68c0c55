// Running one side of a scenario: start a server (null or real broker) on the broker core, run
// the generator process on the other core, sample the server's CPU time over exactly the
// measure window and its peak RSS, check that the broker stored what was acknowledged, stop
// everything.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { GenJob, GenMessage } from '../gen.js';
import type { ClientResult } from './clients.js';
import type { LoadResult } from './load.js';
import { cpuSeconds, memory, spawnNode, stopChild } from './proc.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import type { Progress } from './progress.js';
import { startBroker, startNullBroker, type ServerHandle } from './servers.js';

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
  stored?: { expected: number; stored: number; ok: boolean };
  profile?: ProfileSummary;
}

export interface ScenarioResult {
  name: string;
  title: string;
  group: string;
  params: Record<string, unknown>;
  status: 'ok' | 'failed' | 'not-measurable' | 'placeholder';
  null?: SideResult;
  broker?: SideResult;
  /** broker / null throughput. */
  ratio?: number | null;
  rates?: Array<{ pct: number; targetRate: number; null?: SideResult; broker?: SideResult }>;
  scaling?: Array<{ partitions: number; createMs: number | null; idleRssMB: number | null; side: SideResult | null; error?: string }>;
  notes: string[];
  error?: string;
  seconds: number;
}

/** Runs one generator job in its own (pinned) process; samples `serverPid`'s CPU over the measure window. */
export function runGen(ctx: Ctx, job: GenJob, serverPid: number | null, label: string): Promise<{ result: LoadResult | ClientResult; cpuSeconds: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnNode([ctx.genMain], ctx.genCpu, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const limitMs = job.warmupMs + job.durationMs + 90_000;
    let cpu0: number | null = null;
    let cpu1: number | null = null;
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
        if (m.phase === 'measure' && serverPid !== null) cpu0 = cpuSeconds(serverPid);
        if (m.phase === 'drain' && serverPid !== null) cpu1 = cpuSeconds(serverPid);
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
      if (result) resolve({ result, cpuSeconds: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null });
      else reject(new Error(`${label}: ${error ?? `generator exited (${code ?? signal}) in phase ${phase} without a result`}`));
    });
    child.send({ type: 'run', job });
  });
}

export function sideFrom(server: 'null' | 'broker', r: LoadResult | ClientResult, cpu: number | null, pid: number | null): SideResult {
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

export async function withServer<T>(start: () => Promise<ServerHandle>, fn: (s: ServerHandle) => Promise<T>): Promise<T> {
  const s = await start();
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

export { stopChild };
