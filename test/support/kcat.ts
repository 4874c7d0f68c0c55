// Helpers to run kcat (librdkafka's command-line client) against a broker, with timeouts.
// Tests that need kcat fail with a clear message when it is not installed (CI installs it).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';

// kcat processes still running when a test ends (e.g. it timed out) are killed.
const live = new Set<ChildProcess>();
afterEach(() => {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
});
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

let cachedPath: string | undefined;

/** Absolute path of the kcat binary (KCAT env var overrides), or throws a clear error. */
export function kcatPath(): string {
  if (cachedPath) return cachedPath;
  const candidate = process.env.KCAT ?? 'kcat';
  const r = spawnSync(candidate, ['-V'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    throw new Error(
      `kcat is required by this test but \`${candidate} -V\` failed (${r.error?.message ?? `exit ${r.status}`}). ` +
        'Install it: apt-get install -y kcat (.ci/run does).',
    );
  }
  cachedPath = candidate;
  return candidate;
}

export interface KcatResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  args: string[];
}

/** Runs kcat with `args`, feeding `input` on stdin; kills it after `timeoutMs`. Never throws. */
export function runKcat(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<KcatResult> {
  const bin = kcatPath();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => err.push(Buffer.from(`\n[e2e] spawn error: ${e.message}`)));
    child.stdin.on('error', () => {
      // kcat exited before reading all of stdin; its exit status tells the story
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      let stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) stderr += `\n[e2e] kcat killed after ${timeoutMs} ms timeout`;
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, args });
    });
  });
}

function describe(r: KcatResult): string {
  const so = r.stdout.length > 2000 ? `${r.stdout.subarray(0, 2000).toString('utf8')}...` : r.stdout.toString('utf8');
  return `kcat ${r.args.map((a) => JSON.stringify(a)).join(' ')} -> code=${r.code} signal=${r.signal}\nstderr:\n${r.stderr}\nstdout:\n${so}`;
}

/** Error lines kcat/librdkafka print for real problems (not informational '%' lines). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /ERROR|FAIL|failed|Corrupt|CRC/i.test(l));
}

export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface KcatProduceOptions {
  codec?: Codec;
  /** Fixed partition (-p); default: librdkafka's partitioner. */
  partition?: number;
  /** Key delimiter (-K): each line is KEY<delim>VALUE. */
  keyDelimiter?: string;
  /** Extra librdkafka properties (-X k=v). */
  props?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Produces one message per line (lines must not contain '\n'). Throws with kcat's output if
 * kcat fails, times out, or reports a delivery error.
 */
export async function kcatProduce(bootstrap: string, topic: string, lines: string[], opts: KcatProduceOptions = {}): Promise<KcatResult> {
  for (const l of lines) if (l.includes('\n')) throw new Error('kcatProduce: a line contains a newline');
  const args = ['-P', '-b', bootstrap, '-t', topic, '-X', 'message.timeout.ms=30000'];
  if (opts.codec) args.push('-z', opts.codec);
  if (opts.partition !== undefined) args.push('-p', String(opts.partition));
  if (opts.keyDelimiter !== undefined) args.push('-K', opts.keyDelimiter);
  for (const [k, v] of Object.entries(opts.props ?? {})) args.push('-X', `${k}=${v}`);
  const input = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  const r = await runKcat(args, { input, timeoutMs: opts.timeoutMs ?? 60_000 });
  if (r.code !== 0 || errorLines(r.stderr).length > 0) throw new Error(`kcat produce failed\n${describe(r)}`);
  return r;
}

export interface KcatRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Headers as kcat prints them ("n=v" comma-separated); values must avoid ',' and '='. */
  headers: Array<[string, string]>;
}

// One record = a text line with the fields and the key/value sizes, then the raw key and value
// bytes, then '\n'. The sizes make binary keys/values (with '\n', '|', NUL...) parse exactly.
const RECORD_FORMAT = '%p %o %T %K %S %h\\n%k%s\\n';

export interface KcatConsumeOptions {
  partition?: number;
  /** -o: 'beginning' (default), 'end', 'stored', an absolute offset, or a negative relative one. */
  offset?: string | number;
  /** Stop after this many messages (-c). */
  count?: number;
  props?: Record<string, string>;
  timeoutMs?: number;
  /** When false, kcat error lines on stderr do not fail the call (exit status still does). */
  strict?: boolean;
}

/** Consumes from `offset` to the end of every partition (-e) with a custom -f format. */
export async function kcatConsumeRaw(bootstrap: string, topic: string, format: string, opts: KcatConsumeOptions = {}): Promise<KcatResult> {
  const args = ['-C', '-b', bootstrap, '-t', topic, '-o', String(opts.offset ?? 'beginning'), '-e', '-q', '-f', format];
  if (opts.partition !== undefined) args.push('-p', String(opts.partition));
  if (opts.count !== undefined) args.push('-c', String(opts.count));
  for (const [k, v] of Object.entries(opts.props ?? {})) args.push('-X', `${k}=${v}`);
  const r = await runKcat(args, { timeoutMs: opts.timeoutMs ?? 60_000 });
  if (r.code !== 0 || ((opts.strict ?? true) && errorLines(r.stderr).length > 0)) {
    throw new Error(`kcat consume failed\n${describe(r)}`);
  }
  return r;
}

/** Every record of `topic` from the beginning to the end (per partition, in offset order). */
export async function kcatConsume(bootstrap: string, topic: string, opts: KcatConsumeOptions = {}): Promise<KcatRecord[]> {
  const r = await kcatConsumeRaw(bootstrap, topic, RECORD_FORMAT, opts);
  return parseRecords(r.stdout);
}

export function parseRecords(out: Buffer): KcatRecord[] {
  const records: KcatRecord[] = [];
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`kcat output: unterminated record line at byte ${pos}`);
    const line = out.toString('utf8', pos, nl);
    const m = /^(\d+) (\d+) (-?\d+) (-?\d+) (-?\d+) ?(.*)$/.exec(line);
    if (!m) throw new Error(`kcat output: cannot parse record line ${JSON.stringify(line)} at byte ${pos}`);
    const keyLen = Number(m[4]);
    const valueLen = Number(m[5]);
    let p = nl + 1;
    const key = keyLen < 0 ? null : out.subarray(p, p + keyLen);
    p += Math.max(0, keyLen);
    const value = valueLen < 0 ? null : out.subarray(p, p + valueLen);
    p += Math.max(0, valueLen);
    if (out[p] !== 0x0a) {
      throw new Error(`kcat output: record at byte ${pos} (${line}) is not followed by a newline`);
    }
    const headerText = m[6] ?? '';
    const headers: Array<[string, string]> =
      headerText === ''
        ? []
        : headerText.split(',').map((h) => {
            const eq = h.indexOf('=');
            return eq < 0 ? [h, ''] : [h.slice(0, eq), h.slice(eq + 1)];
          });
    records.push({ partition: Number(m[1]), offset: Number(m[2]), timestamp: Number(m[3]), key, value, headers });
    pos = p + 1;
  }
  return records;
}

export interface KcatMetadata {
  controllerid?: number;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{
    topic: string;
    error?: string;
    partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }>; error?: string }>;
  }>;
}

/** `kcat -L -J`: the cluster's metadata as JSON (optionally for one topic). */
export async function kcatMetadata(bootstrap: string, topic?: string, timeoutMs = 30_000): Promise<KcatMetadata> {
  const args = ['-L', '-J', '-b', bootstrap];
  if (topic) args.push('-t', topic);
  const r = await runKcat(args, { timeoutMs });
  if (r.code !== 0) throw new Error(`kcat -L failed\n${describe(r)}`);
  try {
    return JSON.parse(r.stdout.toString('utf8')) as KcatMetadata;
  } catch (err) {
    throw new Error(`kcat -L -J printed invalid JSON (${(err as Error).message})\n${describe(r)}`);
  }
}

/** `kcat -L` in its human-readable form. */
export async function kcatList(bootstrap: string, timeoutMs = 30_000): Promise<string> {
  const r = await runKcat(['-L', '-b', bootstrap], { timeoutMs });
  if (r.code !== 0) throw new Error(`kcat -L failed\n${describe(r)}`);
  return r.stdout.toString('utf8');
}

/** A kcat process left running (e.g. a balanced consumer, `-G`), stopped by the test. */
export interface KcatProcess {
  readonly pid: number | undefined;
  readonly args: string[];
  /** Everything printed on stdout so far. */
  stdout(): Buffer;
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Exit status once it exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Writes to its stdin (only when started with `stdin: true`); resolves once handed to the pipe. */
  write(data: string | Buffer): Promise<void>;
  /** Closes its stdin (kcat -P then flushes, waits for delivery and exits). */
  endInput(): void;
  /** Waits for the exit (at most `timeoutMs`, then SIGKILL); the exit status. */
  wait(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Sends `signal` (default SIGTERM: kcat closes its consumer, committing and leaving the group)
   * and waits for the exit; SIGKILL after `graceMs`.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/**
 * Starts kcat with `args` and returns at once. The process is killed when the test ends if it
 * still runs (like runKcat's), and after `maxLifeMs` (default 120 s) in any case.
 */
export function startKcat(args: string[], opts: { maxLifeMs?: number; stdin?: boolean } = {}): KcatProcess {
  const bin = kcatPath();
  const child = spawn(bin, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => {
    // kcat exited before reading all of stdin; its exit status tells the story
  });
  live.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  child.on('error', (e) => err.push(Buffer.from(`\n[e2e] spawn error: ${e.message}`)));
  const closed = new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      status = { code, signal };
      live.delete(child);
      clearTimeout(lifeTimer);
      resolve();
    });
  });
  const lifeTimer = setTimeout(() => {
    err.push(Buffer.from(`\n[e2e] kcat killed after its maximum life of ${opts.maxLifeMs ?? 120_000} ms`));
    child.kill('SIGKILL');
  }, opts.maxLifeMs ?? 120_000);
  return {
    pid: child.pid,
    args,
    stdout: () => Buffer.concat(out),
    stderr: () => Buffer.concat(err).toString('utf8'),
    exited: () => status,
    write(data: string | Buffer) {
      const stdin = child.stdin;
      if (!stdin) return Promise.reject(new Error('startKcat: started without stdin: true'));
      if (status || stdin.destroyed || stdin.writableEnded) return Promise.reject(new Error(`kcat exited or its stdin is closed (${JSON.stringify(status)})`));
      return new Promise<void>((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve())));
    },
    endInput() {
      child.stdin?.end();
    },
    async wait(timeoutMs: number) {
      if (!status) {
        const timer = setTimeout(() => {
          err.push(Buffer.from(`\n[e2e] kcat still running after ${timeoutMs} ms: SIGKILL`));
          child.kill('SIGKILL');
        }, timeoutMs);
        try {
          await closed;
        } finally {
          clearTimeout(timer);
        }
      }
      return status!;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) {
      if (status) return;
      child.kill(signal);
      const timer = setTimeout(() => {
        err.push(Buffer.from(`\n[e2e] kcat still running ${graceMs} ms after ${signal}: SIGKILL`));
        child.kill('SIGKILL');
      }, graceMs);
      try {
        await closed;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
