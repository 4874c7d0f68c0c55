// Processes of a benchmark run: start them pinned to a core, read their CPU time and memory
// from /proc, and make sure every one is stopped (normal end, error, Ctrl-C).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let tasksetPath: string | null | undefined;

/** The taskset binary, or null when it is missing (then nothing is pinned, and the report says so). */
export function taskset(): string | null {
  if (tasksetPath !== undefined) return tasksetPath;
  tasksetPath = null;
  for (const p of ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      tasksetPath = p;
      break;
    } catch {
      // not here
    }
  }
  return tasksetPath;
}

export function cpuCount(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
  } catch {
    return 1;
  }
}

/** Pins this process (all its threads) to `cpu`; returns false when that is not possible. */
export function pinSelf(cpu: number): boolean {
  const ts = taskset();
  if (!ts) return false;
  try {
    execFileSync(ts, ['-a', '-c', '-p', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const children = new Set<ChildProcess>();

/** Spawns `node args…`, pinned to `cpu` with taskset when there is one (cpu null: unpinned). */
export function spawnNode(args: string[], cpu: number | null, opts: SpawnOptions): ChildProcess {
  const ts = cpu === null ? null : taskset();
  const child = ts ? spawn(ts, ['-c', String(cpu), process.execPath, ...args], opts) : spawn(process.execPath, args, opts);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills every child still running (synchronous: usable from 'exit' handlers). */
export function killAllChildren(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

let cleanupInstalled = false;
/** On Ctrl-C, SIGTERM, an uncaught error or a normal exit: every started process is killed. */
export function installCleanup(onSignal?: () => Promise<void>): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAllChildren);
  const bail = (why: string, code: number) => {
    process.stderr.write(`\nbench: ${why}, stopping every process started\n`);
    const done = () => {
      killAllChildren();
      process.exit(code);
    };
    if (onSignal) onSignal().then(done, done);
    else done();
    setTimeout(done, 5_000).unref();
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  process.once('uncaughtException', (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    bail('uncaught error', 1);
  });
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null if unreadable. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Memory of a process from /proc/<pid>/status, in bytes: VmRSS now and VmHWM (peak RSS). */
export function memory(pid: number): { rss: number; peakRss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    };
    return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
  } catch {
    return null;
  }
}

export function cpuModel(): string {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    return /^Model name:\s*(.+)$/m.exec(out)?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Per CPU, seconds so far from /proc/stat: `busy` = user + system + steal, `niced` = user time of
 * niced processes. Interrupt and softirq time is left out: loopback networking of the
 * benchmark's own sockets lands there without being charged to any process.
 */
export function coreTimes(): Array<{ busy: number; niced: number }> {
  try {
    const out: Array<{ busy: number; niced: number }> = [];
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal
      out[Number(m[1])] = { busy: ((f[0] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0)) / CLK_TCK, niced: (f[1] ?? 0) / CLK_TCK };
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * With the kernel's autogroup scheduling, `nice` only orders processes within one session: a
 * niced test run in another session still gets an equal share of a core against the benchmark.
 * Raising this session's autogroup priority restores what nice intends (niced background work
 * yields). Returns a function that restores the previous value, or null when not possible.
 */
export function raiseAutogroupPriority(nice: number): { previous: number; restore: () => void } | null {
  try {
    const cur = /nice (-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'));
    if (!cur) return null;
    const previous = Number(cur[1]);
    writeFileSync('/proc/self/autogroup', String(nice));
    return {
      previous,
      restore: () => {
        try {
          writeFileSync('/proc/self/autogroup', String(previous));
        } catch {
          // best effort
        }
      },
    };
  } catch {
    return null;
  }
}

export function loadAverage(): number[] {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return [];
  }
}
