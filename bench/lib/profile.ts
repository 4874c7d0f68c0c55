// Summarizes a V8 .cpuprofile (written by `node --cpu-prof`): self time per function, the
// functions where the samples actually landed, largest first.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  /** function (file:line) */
  name: string;
  selfMs: number;
  /** Share of all sampled time, percent. */
  pct: number;
  /** Share of the non-idle time (without "(idle)"), percent. */
  busyPct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  top: ProfileEntry[];
}

function label(n: CpuProfileNode, root: string): string {
  const f = n.callFrame;
  const fn = f.functionName || '(anonymous)';
  if (!f.url) return fn;
  let url = f.url.replace(/^file:\/\//, '');
  if (url.startsWith(root)) url = path.relative(root, url);
  url = url.replace(/^node:/, 'node:');
  return `${fn} (${url}:${f.lineNumber + 1})`;
}

/** Top `n` functions by self time. `root` shortens file paths (the repository). */
export function summarizeProfile(file: string, root: string, n = 15): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  for (const node of prof.nodes) byId.set(node.id, node);
  const self = new Map<string, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  let total = 0;
  // timeDeltas[i] is the time since the previous sample: charge it to sample i - 1.
  for (let i = 0; i < samples.length; i++) {
    const dt = (deltas[i + 1] ?? 0) / 1000;
    const node = byId.get(samples[i]!);
    if (!node || dt <= 0) continue;
    const key = label(node, root);
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = Math.max(total - idle, 1e-9);
  const top = [...self.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, selfMs: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10, busyPct: Math.round((ms / busy) * 1000) / 10 }));
  return { file, totalMs: Math.round(total), idleMs: Math.round(idle), top };
}
