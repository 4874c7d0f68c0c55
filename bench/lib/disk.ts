// The storage floor: what one Node process achieves appending to a file the way the broker's
// log does (sequential fs.writev of `chunkBytes`, one write in flight), pinned to the broker's
// core. The broker cannot persist faster than this; on a VM the figure also moves with how much
// guest memory the page cache has touched before, so it is measured in the same run.
// With `sync: 'fsync'` every chunk is followed by fs.fsync (the call the broker's log flush
// makes, log/fs-util.ts), one write+fsync at a time: the machine's durable write rate.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClientResult } from './clients.js';
import { LatencyHistogram } from './histogram.js';
import type { Phase } from './load.js';

export interface DiskSpec {
  kind: 'disk-write';
  dir: string;
  chunkBytes: number;
  warmupMs: number;
  durationMs: number;
  /** Bytes after which the file is truncated to 0 and written again (bounds disk use). */
  maxFileBytes: number;
  /** 'fsync': fs.fsync after every chunk (write, fsync, next write); default: never. */
  sync?: 'none' | 'fsync';
}

export async function runDiskWrite(spec: DiskSpec, onPhase: (p: Phase) => void = () => {}): Promise<ClientResult & { cpuSeconds: number }> {
  fs.mkdirSync(spec.dir, { recursive: true });
  const file = path.join(spec.dir, `floor-${process.pid}.log`);
  const fd = fs.openSync(file, 'w+');
  const chunk = Buffer.alloc(spec.chunkBytes, 0x5a);
  const hist = new LatencyHistogram();
  const t0 = performance.now();
  const start = t0 + spec.warmupMs;
  const end = start + spec.durationMs;
  let pos = 0;
  let bytes = 0;
  let calls = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  onPhase('warmup');
  try {
    for (let i = 0; i < 100_000_000; i++) {
      const s = performance.now();
      if (s >= end) break;
      if (cpu0 === null && s >= start) {
        cpu0 = process.cpuUsage();
        onPhase('measure');
      }
      if (pos + chunk.length > spec.maxFileBytes) {
        fs.ftruncateSync(fd, 0);
        pos = 0;
      }
      await new Promise<void>((resolve, reject) => fs.writev(fd, [chunk], pos, (err) => (err ? reject(err) : resolve())));
      if (spec.sync === 'fsync') await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
      pos += chunk.length;
      const e = performance.now();
      if (s >= start) {
        bytes += chunk.length;
        calls++;
        hist.recordMillis(e - s);
      }
    }
    if (cpu0) cpu = process.cpuUsage(cpu0);
  } finally {
    onPhase('drain');
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return {
    kind: 'disk-write',
    elapsedMs: spec.durationMs,
    calls,
    records: 0,
    bytes,
    errors: 0,
    latency: hist.summary(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
