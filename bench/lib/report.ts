// Tables (terminal and Markdown), the issue's targets, and the chart input, from a run's results.
import type { ChartInput, LatencyRow, RatioRow, ScalingRow } from './chart.js';
import { DISTURBED_CPU, isDisturbed, type ScenarioResult, type SideResult } from './runner.js';

export interface TargetResult {
  name: string;
  scenario: string;
  /** What was measured, in the target's unit. */
  value: number | null;
  threshold: number;
  unit: string;
  /** 'min': value ≥ threshold; 'max': value ≤ threshold. */
  kind: 'min' | 'max';
  met: boolean | null;
  /** How far from the threshold, relative: value/threshold - 1 (positive = better). */
  margin: number | null;
  /** Why there is no value (a scenario it needs was not run or has no figure). */
  missing?: string;
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const n1 = (v: number) => (v >= 100 ? n0(v) : v.toFixed(1));
const ms = (us: number) => (us / 1000 >= 10 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2));

function target(name: string, scenario: string, value: number | null | undefined, threshold: number, unit: string, kind: 'min' | 'max', missing?: string): TargetResult {
  const v = value ?? null;
  const met = v === null ? null : kind === 'min' ? v >= threshold : v <= threshold;
  const margin = v === null ? null : kind === 'min' ? v / threshold - 1 : threshold / v - 1;
  return { name, scenario, value: v, threshold, unit, kind, met, margin, ...(v === null && missing ? { missing } : {}) };
}

/** The durable-mode target: the broker's fsync'd produce as a share of the machine's fsync'd writes. */
export const DURABLE_TARGET = {
  name: "durable mode (flush.messages=1, group commit), 16 KiB requests: ≥ 50 % of the machine's fsync-every-1 MiB write rate",
  scenario: 'produce-16k-fsync',
  floor: 'disk-fsync-floor',
  threshold: 50,
  unit: '% of fsync floor',
} as const;

/**
 * The broker's `produce-16k-fsync` MB/s as a percentage of `disk-fsync-floor` MB/s (both from the
 * same run). No row when neither scenario was run; when only one was, or one has no figure
 * (failed, or a floor of 0 MB/s), the row has no value and says which.
 */
export function durableTarget(results: Map<string, ScenarioResult>): TargetResult | null {
  const d = DURABLE_TARGET;
  const broker = results.get(d.scenario);
  const floor = results.get(d.floor);
  if (!broker && !floor) return null;
  const figure = (name: string, r: ScenarioResult | undefined): number | string => {
    if (!r) return `${name} not run`;
    const mbps = r.status === 'ok' ? r.broker?.mbps : undefined;
    if (mbps === undefined || !Number.isFinite(mbps) || mbps <= 0) return `${name} has no figure${r.status === 'ok' ? '' : ` (${r.status})`}`;
    return mbps;
  };
  const b = figure(d.scenario, broker);
  const f = figure(d.floor, floor);
  const missing = [b, f].filter((x): x is string => typeof x === 'string');
  const value = typeof b === 'number' && typeof f === 'number' ? (b / f) * 100 : null;
  return target(d.name, `${d.scenario} ÷ ${d.floor}`, value, d.threshold, d.unit, 'min', missing.join('; '));
}

export function evaluateTargets(results: Map<string, ScenarioResult>): TargetResult[] {
  const get = (n: string) => results.get(n);
  const out: TargetResult[] = [];
  const pct = (r: ScenarioResult | undefined) => (r?.ratio === undefined || r.ratio === null ? null : r.ratio * 100);
  if (get('produce-1m-acks1')) out.push(target('1 MiB requests, acks=1: ≥ 50 % of null', 'produce-1m-acks1', pct(get('produce-1m-acks1')), 50, '% of null', 'min'));
  const p16 = get('produce-16k-acks1');
  if (p16) {
    out.push(target('16 KiB requests, 4 conns, acks=1: ≥ 400 MB/s', 'produce-16k-acks1', p16.broker?.mbps, 400, 'MB/s', 'min'));
    out.push(target('16 KiB requests, 4 conns, acks=1: ≥ 40 % of null', 'produce-16k-acks1', pct(p16), 40, '% of null', 'min'));
  }
  if (get('produce-16k-100b')) out.push(target('100 B records in 16 KiB batches: ≥ 1,000,000 records/s', 'produce-16k-100b', get('produce-16k-100b')!.broker?.recordsPerSec, 1_000_000, 'records/s', 'min'));
  if (get('produce-1rec-1k')) out.push(target('one 1 KiB record per request: ≥ 30,000 requests/s', 'produce-1rec-1k', get('produce-1rec-1k')!.broker?.requestsPerSec, 30_000, 'requests/s', 'min'));
  const durable = durableTarget(results);
  if (durable) out.push(durable);
  if (get('fetch-tail-1m')) out.push(target('fetch from the tail, 1 MiB max bytes: ≥ 60 % of null', 'fetch-tail-1m', pct(get('fetch-tail-1m')), 60, '% of null', 'min'));
  const lat = get('e2e-latency');
  if (lat) {
    const r50 = lat.rates?.find((r) => r.pct === 50);
    const at50 = (r50?.producerAlone ?? r50?.broker)?.load?.latency.p99;
    out.push(target('p99 produce latency at 50 % of max rate, acks=1: ≤ 5 ms', 'e2e-latency', at50 === undefined ? null : at50 / 1000, 5, 'ms', 'max'));
  }
  const sc = get('partitions-scaling');
  if (sc) {
    const row = sc.scaling?.find((r) => r.partitions === 1000);
    out.push(target('peak RSS at max throughput, 1,000 partitions: ≤ 300 MB', 'partitions-scaling', row?.side?.peakRssMB ?? null, 300, 'MB', 'max'));
  }
  return out;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Foreign CPU on the (broker, generator) cores during the window, worst of both sides. */
function otherText(...sides: Array<SideResult | undefined>): string {
  let bc = -1;
  let gc = -1;
  for (const s of sides) {
    if (!s?.otherLoad) continue;
    bc = Math.max(bc, s.otherLoad.brokerCore);
    gc = Math.max(gc, s.otherLoad.genCore);
  }
  if (bc < 0) return '-';
  return `${bc.toFixed(2)}/${gc.toFixed(2)}${bc > DISTURBED_CPU || gc > DISTURBED_CPU ? ' !' : ''}`;
}


function latencyText(s: SideResult | undefined): string {
  const l = s?.load?.latency ?? s?.client?.latency;
  return l && l.count > 0 ? `${ms(l.p50)}/${ms(l.p99)}` : '-';
}

/** Rows: scenario, null MB/s, broker MB/s, %, records/s, requests/s, latency, CPU-s/GB, peak RSS, stored. */
export function throughputRows(results: ScenarioResult[]): string[][] {
  const rows: string[][] = [['scenario', 'null MB/s', 'broker MB/s', '% of null', 'broker rec/s', 'broker req/s', 'p50/p99 ms', 'CPU-s/GB', 'peak RSS MB', 'stored', 'other CPU']];
  for (const r of results) {
    if (r.group === 'latency' || r.group === 'partitions') continue;
    if (r.status === 'not-measurable' || r.status === 'placeholder') {
      rows.push([r.name, '-', '-', r.status === 'placeholder' ? 'placeholder' : 'not yet', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    if (r.status === 'failed') {
      rows.push([r.name, '-', '-', 'FAILED', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const b = r.broker;
    const st = b?.stored ? (b.stored.ok ? 'yes' : `NO ${b.stored.stored}/${b.stored.expected}`) : '-';
    rows.push([
      r.name,
      r.null ? n1(r.null.mbps) : '-',
      b ? n1(b.mbps) : '-',
      r.ratio === null || r.ratio === undefined ? '-' : `${Math.round(r.ratio * 100)} %`,
      b ? n0(b.recordsPerSec) : '-',
      b ? n0(b.requestsPerSec) : '-',
      latencyText(b),
      b?.cpuSecPerGB === null || b?.cpuSecPerGB === undefined ? '-' : b.cpuSecPerGB.toFixed(2),
      b?.peakRssMB === null || b?.peakRssMB === undefined ? '-' : n0(b.peakRssMB),
      st,
      otherText(r.null, b),
    ]);
  }
  return rows;
}

/**
 * Produce scenarios against the storage floor: with the broker's work on one core, receiving
 * costs at least what it costs the null broker and writing at least what it costs the plain file
 * writer (disk-write-floor), per GB. 1 / (sum of both) is a bound no broker reaches on this core;
 * broker − floor CPU-s/GB is what the broker itself spends beyond writing the bytes.
 */
export function storageRows(results: ScenarioResult[]): string[][] | null {
  const floor = results.find((r) => r.name === 'disk-write-floor')?.broker?.cpuSecPerGB;
  if (floor === undefined || floor === null) return null;
  const rows: string[][] = [['scenario', 'broker CPU-s/GB', 'null CPU-s/GB', 'floor CPU-s/GB', 'broker beyond the floor', 'bound MB/s', 'broker % of bound']];
  for (const r of results) {
    if (r.group !== 'produce' || r.status !== 'ok' || !r.broker || !r.null) continue;
    const b = r.broker.cpuSecPerGB;
    const nl = r.null.cpuSecPerGB;
    if (b === null || nl === null) continue;
    const bound = 1000 / (nl + floor);
    rows.push([r.name, b.toFixed(2), nl.toFixed(2), floor.toFixed(2), (b - floor).toFixed(2), n0(bound), `${Math.round((r.broker.mbps / bound) * 100)} %`]);
  }
  return rows.length > 1 ? rows : null;
}

/**
 * Replication scenarios: the null broker, one node (replication factor 1) and the cluster, all
 * at acks=-1 with the same job; CPU-s/GB of the cluster is summed over its nodes.
 */
export function replicationRows(results: ScenarioResult[]): string[][] | null {
  const rows: string[][] = [['scenario', 'null MB/s', '1 node MB/s', 'cluster MB/s', 'cluster % of 1 node', 'cluster rec/s', '1 node p50/p99 ms', 'cluster p50/p99 ms', '1 node CPU-s/GB', 'cluster CPU-s/GB (sum)', 'cluster CPU-s per node', 'peak RSS MB per node', 'stored', 'other CPU']];
  for (const r of results) {
    if (r.group !== 'replication') continue;
    if (r.status !== 'ok' || !r.broker) {
      rows.push([r.name, r.null ? n1(r.null.mbps) : '-', r.single ? n1(r.single.mbps) : '-', 'FAILED', '-', '-', latencyText(r.single), '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const b = r.broker;
    const one = r.single;
    const cpu = (x: SideResult | undefined) => (x?.cpuSecPerGB === null || x?.cpuSecPerGB === undefined ? '-' : x.cpuSecPerGB.toFixed(2));
    const nodes = b.nodes ?? [];
    const tag = (n: { id: number; leader: boolean }) => `${n.id}${n.leader ? 'L' : ''}`;
    const stored = (x: SideResult | undefined) => (x?.stored ? (x.stored.ok ? 'yes' : `NO ${x.stored.stored}/${x.stored.expected}`) : '-');
    rows.push([
      r.name,
      r.null ? n1(r.null.mbps) : '-',
      one ? n1(one.mbps) : '-',
      n1(b.mbps),
      one && one.mbps > 0 ? `${Math.round((b.mbps / one.mbps) * 100)} %` : '-',
      n0(b.recordsPerSec),
      latencyText(one),
      latencyText(b),
      cpu(one),
      cpu(b),
      nodes.map((n) => `${tag(n)}:${n.cpuSeconds === null ? '-' : n.cpuSeconds.toFixed(2)}`).join(' '),
      nodes.map((n) => `${tag(n)}:${n.peakRssMB === null ? '-' : n0(n.peakRssMB)}`).join(' '),
      `${stored(one)}/${stored(b)}`,
      otherText(r.null, one, b),
    ]);
  }
  return rows.length > 1 ? rows : null;
}

export function latencyRows(r: ScenarioResult | undefined): string[][] {
  const rows: string[][] = [
    ['rate', 'req/s asked', 'req/s done (alone / with consumer)', 'produce p50/p99/p99.9 ms (alone)', 'send lag / service p99 ms (alone)', 'produce p50/p99/p99.9 ms (with consumer)', 'e2e p50/p99/p99.9 ms', 'send lag / service p99 ms (with consumer)', 'null produce p50/p99/p99.9 ms', 'other CPU'],
  ];
  const probe = r?.broker?.load;
  if (probe) {
    const f = (l: { p50: number; p99: number; p999: number } | undefined) => (l ? `${ms(l.p50)}/${ms(l.p99)}/${ms(l.p999)}` : '-');
    rows.push(['max', '-', `- / ${n0(probe.requests / (probe.elapsedMs / 1000))}`, '-', '-', f(probe.latency), f(probe.endToEnd), '-', '-', otherText(r!.broker)]);
  }
  for (const x of r?.rates ?? []) {
    const b = x.broker?.load;
    const a = x.producerAlone?.load;
    const nl = x.null?.load;
    const f = (l: { p50: number; p99: number; p999: number } | undefined) => (l ? `${ms(l.p50)}/${ms(l.p99)}/${ms(l.p999)}` : '-');
    const done = (l: typeof b) => (l ? n0(l.requests / (l.elapsedMs / 1000)) : '-');
    const lags = (l: typeof b) => `${l?.sendLag ? ms(l.sendLag.p99) : '-'} / ${l?.service ? ms(l.service.p99) : '-'}`;
    rows.push([
      `${x.pct} %`,
      n0(x.targetRate),
      `${done(a)} / ${done(b)}`,
      f(a?.latency),
      lags(a),
      f(b?.latency),
      f(b?.endToEnd),
      lags(b),
      f(nl?.latency),
      otherText(x.producerAlone ?? x.broker, x.null),
    ]);
  }
  return rows;
}

export function scalingRows(r: ScenarioResult | undefined): string[][] {
  const rows: string[][] = [['partitions', 'create s', 'RSS idle MB', 'peak RSS MB', 'MB/s', 'CPU-s/GB', 'stored', 'other CPU']];
  for (const x of r?.scaling ?? []) {
    if (!x.side) {
      rows.push([n0(x.partitions), '-', '-', `FAILED: ${x.error ?? ''}`.slice(0, 60), '-', '-', '-', '-']);
      continue;
    }
    const s = x.side;
    rows.push([
      n0(x.partitions),
      x.createMs === null ? '-' : (x.createMs / 1000).toFixed(1),
      x.idleRssMB === null ? '-' : n0(x.idleRssMB),
      s.peakRssMB === null ? '-' : n0(s.peakRssMB),
      n1(s.mbps),
      s.cpuSecPerGB === null ? '-' : s.cpuSecPerGB.toFixed(2),
      s.stored ? (s.stored.ok ? 'yes' : `NO ${s.stored.stored}/${s.stored.expected}`) : '-',
      otherText(s),
    ]);
  }
  return rows;
}

export function targetRows(t: TargetResult[]): string[][] {
  const rows: string[][] = [['target', 'measured', 'met', 'margin']];
  for (const x of t) {
    const v = x.value === null ? (x.missing ? `- (${x.missing})` : '-') : `${x.unit === 'ms' ? x.value.toFixed(2) : n1(x.value)} ${x.unit}`;
    const m = x.margin === null ? '-' : `${x.margin >= 0 ? '+' : ''}${Math.round(x.margin * 100)} %`;
    rows.push([x.name, v, x.met === null ? '?' : x.met ? 'yes' : 'NO', m]);
  }
  return rows;
}

export function terminalTable(rows: string[][]): string {
  return pad(rows);
}

export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head!), `|${head!.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...body.map(line)].join('\n');
}

export function chartInput(results: ScenarioResult[], title: string, subtitle: string): ChartInput {
  const targets: Record<string, number> = { 'produce-1m-acks1': 0.5, 'produce-16k-acks1': 0.4, 'fetch-tail-1m': 0.6 };
  const ratios: RatioRow[] = results
    // Measured without a null broker by design (kafkajs-consume): no ratio to draw.
    .filter((r) => r.group !== 'latency' && r.group !== 'partitions' && r.group !== 'future' && r.group !== 'floor' && !(r.status === 'ok' && r.broker && !r.null))
    .map((r) => ({
      label: r.name,
      ratio: r.ratio ?? null,
      brokerText: r.broker ? `${n1(r.broker.mbps)} MB/s${(r.null && isDisturbed(r.null)) || isDisturbed(r.broker) ? ', disturbed' : ''}` : '-',
      nullText: r.null ? `${n1(r.null.mbps)}` : '-',
      target: targets[r.name],
    }));
  const latency: LatencyRow[] = [];
  const lat = results.find((r) => r.name === 'e2e-latency');
  for (const x of lat?.rates ?? []) {
    const l = x.broker?.load;
    if (!l) continue;
    latency.push({ label: `produce @ ${x.pct} %`, p50: l.latency.p50 / 1000, p99: l.latency.p99 / 1000, p999: l.latency.p999 / 1000 });
    if (l.endToEnd) latency.push({ label: `end-to-end @ ${x.pct} %`, p50: l.endToEnd.p50 / 1000, p99: l.endToEnd.p99 / 1000, p999: l.endToEnd.p999 / 1000 });
  }
  const sc = results.find((r) => r.name === 'partitions-scaling');
  const scaling: ScalingRow[] = (sc?.scaling ?? []).map((x) => ({
    partitions: x.partitions,
    peakRssMB: x.side?.peakRssMB ?? null,
    cpuSecPerGB: x.side?.cpuSecPerGB ?? null,
    mbps: x.side?.mbps ?? null,
    error: x.error,
  }));
  return { title, subtitle, ratios, latency, scaling, rssTargetMB: 300 };
}
