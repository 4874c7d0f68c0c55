// `npm run bench [-- --quick] [-- --scenario NAME[,NAME…]] [-- --profile] [-- --list]`
//
// Starts the servers itself (the null broker and the real broker, pinned to core 0 with taskset;
// the generator and this process on core 1), runs the scenarios (bench/scenarios.ts), shows
// progress, prints tables, and writes bench/results/<date>-<name>.{json,md,svg}.
// Every process it starts is stopped at the end, on errors and on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './lib/chart.js';
import { cpuCount, cpuModel, installCleanup, killAllChildren, loadAverage, pinSelf, raiseAutogroupPriority, taskset } from './lib/proc.js';
import { Progress } from './lib/progress.js';
import { chartInput, evaluateTargets, latencyRows, markdownTable, replicationRows, scalingRows, storageRows, targetRows, terminalTable, throughputRows } from './lib/report.js';
import type { Ctx, ScenarioResult } from './lib/runner.js';
import { repoPaths } from './lib/servers.js';
import { SCENARIOS } from './scenarios.js';

interface Args {
  quick: boolean;
  profile: boolean;
  list: boolean;
  pin: boolean;
  scenarios: string[];
  warmupS?: number;
  durationS?: number;
  out?: string;
  brokerMain?: string;
  reps?: number;
  priority: boolean;
}

const USAGE = `usage: npm run bench [-- options]
  --quick               short runs (≈2 min in all)
  --scenario NAME[,…]   only these scenarios (repeatable); --list shows them
  --profile             start the broker with --cpu-prof (bench/.cache/prof) and print its top self-time functions
  --duration S          measure window per run (default 5, quick 1)
  --warmup S            warm-up per run (default 1, quick 0.3)
  --reps N              alternating null/broker runs per scenario, best kept (default 2, quick 1)
  --no-pin              do not pin processes to cores
  --no-priority         leave this session's autogroup priority alone (by default it is raised
                        to nice -10 for the run, so niced background work yields as nice intends)
  --out DIR             results directory (default bench/results)
  --broker-main FILE    the broker entry to run (default dist/broker/main.js), e.g. a build of a
                        clean checkout of a commit, to measure it without work in progress`;

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, profile: false, list: false, pin: true, scenarios: [], priority: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${x} needs a value`);
      return v;
    };
    if (x === '--quick') a.quick = true;
    else if (x === '--profile') a.profile = true;
    else if (x === '--list') a.list = true;
    else if (x === '--no-pin') a.pin = false;
    else if (x === '--no-priority') a.priority = false;
    else if (x === '--scenario' || x === '-s') a.scenarios.push(...val().split(',').filter(Boolean));
    else if (x.startsWith('--scenario=')) a.scenarios.push(...x.slice(11).split(',').filter(Boolean));
    else if (x === '--duration') a.durationS = Number(val());
    else if (x === '--warmup') a.warmupS = Number(val());
    else if (x === '--out') a.out = val();
    else if (x === '--broker-main') a.brokerMain = path.resolve(val());
    else if (x === '--reps') a.reps = Math.max(1, Math.floor(Number(val())));
    else if (x === '--help' || x === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${x}\n${USAGE}`);
  }
  return a;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(22)} ${s.quick === false ? '(full only) ' : ''}${s.title}`);
    return;
  }
  const selected = args.scenarios.length > 0 ? args.scenarios.map((n) => SCENARIOS.find((s) => s.name === n) ?? fail(`unknown scenario ${n} (see --list)`)) : SCENARIOS.filter((s) => !args.quick || s.quick !== false);

  const distBench = path.dirname(fileURLToPath(import.meta.url));
  const paths = repoPaths(distBench);
  const benchDir = path.join(paths.root, 'bench');
  const outDir = path.resolve(args.out ?? path.join(benchDir, 'results'));
  const cacheDir = path.join(benchDir, '.cache');
  mkdirSync(outDir, { recursive: true });
  mkdirSync(cacheDir, { recursive: true });
  // Run every process (broker, null broker, generator) from a private copy of dist/: a rebuild of
  // dist/ while the benchmark runs (tests started by others) must not swap code under it.
  const snapshot = path.join(cacheDir, `dist-${process.pid}`);
  rmSync(snapshot, { recursive: true, force: true });
  cpSync(path.join(paths.root, 'dist'), snapshot, { recursive: true });
  process.on('exit', () => rmSync(snapshot, { recursive: true, force: true }));
  paths.genMain = path.join(snapshot, 'bench', 'gen.js');
  paths.nullMain = path.join(snapshot, 'bench', 'null-broker.js');
  paths.brokerMain = args.brokerMain ?? path.join(snapshot, 'broker', 'main.js');
  const brokerRoot = args.brokerMain ? path.resolve(path.dirname(args.brokerMain), '..', '..') : paths.root;

  const ncpu = cpuCount();
  const ts = taskset();
  let pinning: string;
  let brokerCpu: number | null = null;
  let genCpu: number | null = null;
  if (!args.pin) pinning = 'off (--no-pin)';
  else if (!ts) pinning = 'off: taskset not found';
  else if (ncpu < 2) pinning = 'off: fewer than 2 CPUs';
  else {
    brokerCpu = 0;
    genCpu = 1;
    pinning = pinSelf(1)
      ? 'broker/null broker (every node of a cluster too) on CPU 0, generator and harness on CPU 1 (taskset)'
      : 'broker/null broker (every node of a cluster too) on CPU 0, generator on CPU 1 (harness unpinned)';
  }
  const warmupMs = (args.warmupS ?? (args.quick ? 0.3 : 1)) * 1000;
  const durationMs = (args.durationS ?? (args.quick ? 1 : 5)) * 1000;
  const progress = new Progress();
  const prio = args.priority ? raiseAutogroupPriority(-10) : null;
  if (prio) process.on('exit', prio.restore);
  installCleanup();

  const started = new Date();
  const meta = {
    date: started.toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    quick: args.quick,
    profile: args.profile,
    warmupMs,
    durationMs,
    node: process.version,
    nproc: ncpu,
    cpuModel: cpuModel(),
    memoryGB: Math.round(os.totalmem() / 1e9),
    pinning,
    priority: prio ? `autogroup nice -10 for this session during the run (was ${prio.previous})` : args.priority ? 'unchanged (autogroup not writable)' : 'unchanged (--no-priority)',
    brokerMain: args.brokerMain ?? 'dist/broker/main.js (copied at start)',
    commit: git(brokerRoot, ['rev-parse', '--short', 'HEAD']),
    benchCommit: git(paths.root, ['rev-parse', '--short', 'HEAD']),
    /** Uncommitted changes in the broker's sources when it was measured. */
    dirty: git(brokerRoot, ['status', '--porcelain', '--', 'broker', 'log', 'wire', 'kraft']) !== '',
    units: 'MB = 10^6 bytes; generator throughput counts record-batch bytes, client libraries count record values',
    loadAvgAtStart: loadAverage(),
    loadAvgAtEnd: [] as number[],
    otherCpuNote: 'other CPU = CPUs used on the broker core / generator core by processes outside the benchmark at normal priority during the window ("!" above 0.15; niced work is recorded apart in the JSON)',
  };
  progress.log(`bench: ${selected.length} scenario(s), warm-up ${warmupMs / 1000} s + measure ${durationMs / 1000} s per run; node ${meta.node}, ${ncpu} CPUs (${meta.cpuModel}); pinning: ${pinning}; priority: ${meta.priority}`);

  const ctx: Ctx = {
    quick: args.quick,
    profile: args.profile,
    warmupMs,
    durationMs,
    brokerCpu,
    genCpu,
    root: paths.root,
    brokerMain: paths.brokerMain,
    nullMain: paths.nullMain,
    genMain: paths.genMain,
    cacheDir,
    progress,
    done: new Map(),
    tag: '',
    reps: args.reps ?? (args.quick ? 1 : 2),
    extraTries: args.quick ? 0 : 1,
    quietWaitMs: args.quick ? 0 : 15_000,
    quietBudgetMs: args.quick ? 0 : 120_000,
    extraBudget: args.quick ? 0 : 8,
  };
  const results: ScenarioResult[] = [];
  for (let i = 0; i < selected.length; i++) {
    const s = selected[i]!;
    ctx.tag = `[${i + 1}/${selected.length}] ${s.name}`;
    const t = Date.now();
    const loadAvg = loadAverage();
    progress.status(`${ctx.tag} · starting (load average ${loadAvg.join(' ')})`, true);
    let r: ScenarioResult;
    try {
      r = await s.run(ctx);
    } catch (e) {
      killAllChildren();
      const msg = e instanceof Error ? e.message : String(e);
      r = { name: s.name, title: s.title, group: s.group, params: {}, status: 'failed', notes: [], error: msg, seconds: 0 };
    }
    r.seconds = Math.round((Date.now() - t) / 100) / 10;
    r.loadAvg = loadAvg;
    results.push(r);
    ctx.done.set(r.name, r);
    progress.log(`${ctx.tag} ${summaryLine(r)} (${r.seconds} s)`);
  }

  const byName = new Map(results.map((r) => [r.name, r]));
  const targets = evaluateTargets(byName);
  const label = args.scenarios.length > 0 ? args.scenarios.join('+') : args.quick ? 'quick' : 'full';
  const base = `${stamp(started)}-${label}`;
  const subtitle = `${meta.date.slice(0, 16).replace('T', ' ')} UTC · node ${meta.node} · ${ncpu} × ${meta.cpuModel} · ${args.quick ? 'quick' : 'full'} run · commit ${meta.commit}${meta.dirty ? '+' : ''}`;

  meta.loadAvgAtEnd = loadAverage();
  let md = `# Benchmark run ${base}\n\n${subtitle}\n\nCommand: \`${meta.command}\`; broker: \`${meta.brokerMain}\`; pinning: ${pinning}; priority: ${meta.priority}; warm-up ${warmupMs / 1000} s, measure ${durationMs / 1000} s per run; load average at start ${meta.loadAvgAtStart.join(' ')}, at end ${meta.loadAvgAtEnd.join(' ')}. ${meta.units}; ${meta.otherCpuNote}.\n\n`;
  const sections: Array<[string, string[][]]> = [['Throughput (null broker = ceiling)', throughputRows(results)]];
  const storage = storageRows(results);
  if (storage) sections.push(['Produce against the storage floor (CPU on the broker core)', storage]);
  const replication = replicationRows(results);
  if (replication) sections.push(['Replication, acks=-1 (every node of the cluster on the broker core; L = the partition leader)', replication]);
  if (byName.get('e2e-latency')?.rates?.length) sections.push(['Latency at fixed rates (from the intended send time)', latencyRows(byName.get('e2e-latency'))]);
  if (byName.get('partitions-scaling')?.scaling?.length) sections.push(['Partition scaling', scalingRows(byName.get('partitions-scaling'))]);
  if (targets.length > 0) sections.push(['Targets', targetRows(targets)]);
  console.log('');
  for (const [title, rows] of sections) {
    console.log(`${title}\n${terminalTable(rows)}\n`);
    md += `## ${title}\n\n${markdownTable(rows)}\n\n`;
  }
  const notes = results.flatMap((r) => [...r.notes.map((n) => `${r.name}: ${n}`), ...(r.error ? [`${r.name}: FAILED: ${r.error.split('\n')[0]}`] : [])]);
  if (notes.length > 0) {
    console.log(`Notes\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    md += `## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\n`;
  }
  const profiles = results.flatMap((r) => [
    ...(r.broker?.profile ? [[r.name, r.broker.profile] as const] : []),
    ...(r.scaling ?? []).flatMap((x) => (x.side?.profile ? [[`${r.name} ${x.partitions}`, x.side.profile] as const] : [])),
  ]);
  for (const [name, p] of profiles) {
    const rows = [['function', 'self ms', '% of busy'], ...p.top.map((e) => [e.name, String(e.selfMs), e.busyPct.toFixed(1)])];
    const title = `Broker profile: ${name} (${Math.round(p.totalMs / 1000)} s sampled, ${Math.round((p.idleMs / Math.max(1, p.totalMs)) * 100)} % idle)`;
    console.log(`${title}\n${terminalTable(rows)}\n`);
    md += `## ${title}\n\n${markdownTable(rows)}\n\n`;
  }

  const json = { meta, scenarios: results, targets };
  writeFileSync(path.join(outDir, `${base}.json`), JSON.stringify(json, null, 1) + '\n');
  writeFileSync(path.join(outDir, `${base}.md`), md);
  const svg = renderChart(chartInput(results, `kafka-ts-broker benchmark (${args.quick ? 'quick' : label} run)`, subtitle));
  writeFileSync(path.join(outDir, `${base}.svg`), svg);
  if (label === 'full') copyFileSync(path.join(outDir, `${base}.svg`), path.join(outDir, 'latest-full.svg'));
  progress.log(`results: ${path.relative(process.cwd(), path.join(outDir, base))}.{json,md,svg}`);
  if (results.some((r) => r.status === 'failed')) process.exitCode = 1;
}

function summaryLine(r: ScenarioResult): string {
  if (r.status === 'failed') return `FAILED: ${(r.error ?? '').split('\n')[0]}`;
  if (r.status !== 'ok') return r.status === 'placeholder' ? 'placeholder' : 'not yet measurable';
  if (r.broker && r.null) return `broker ${r.broker.mbps.toFixed(1)} MB/s, null ${r.null.mbps.toFixed(1)} MB/s → ${r.ratio === null || r.ratio === undefined ? '-' : Math.round(r.ratio * 100)} %`;
  if (r.rates) return r.rates.map((x) => `${x.pct} %: p99 ${(((x.producerAlone ?? x.broker)?.load?.latency.p99 ?? 0) / 1000).toFixed(2)} ms, e2e p99 ${((x.broker?.load?.endToEnd?.p99 ?? 0) / 1000).toFixed(2)} ms`).join('; ');
  if (r.scaling) return r.scaling.map((x) => `${x.partitions}: ${x.side ? `${Math.round(x.side.peakRssMB ?? 0)} MB` : 'failed'}`).join(', ');
  return 'done';
}

function fail(msg: string): never {
  throw new Error(msg);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  killAllChildren();
  process.exit(1);
});
