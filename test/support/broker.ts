// Starts the real broker (`node dist/broker/main.js`) as a child process for end-to-end tests.
//
// - Every process started here is tracked and stopped in afterAll (and killed on process exit),
//   even when a test fails.
// - Its stdout/stderr go to an in-memory buffer: printed when a test of the file fails, printed
//   live when BROKER_LOG=1.
// - Ready = the TCP port accepts a connection AND answers an ApiVersions v0 request.
//
// Importing this module registers vitest hooks on the importing test file (module state is per
// test file: vitest isolates files).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from './ports.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { probeApiVersions } from './raw-client.js';
import { sleep } from './util.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The broker entry point; E2E_BROKER_MAIN points the suite at another build (harness checks). */
export const BROKER_MAIN = process.env.E2E_BROKER_MAIN ?? path.join(REPO_ROOT, 'dist', 'broker', 'main.js');

const READY_TIMEOUT_MS = Number(process.env.BROKER_READY_TIMEOUT_MS ?? 30_000);
const STOP_GRACE_MS = 10_000;
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
const LIVE_LOG = process.env.BROKER_LOG === '1';

export interface StartBrokerOptions {
  /** Data directory (log.dirs). Default: a fresh temp dir, removed in afterAll. */
  dataDir?: string;
  /** Extra environment, e.g. { KAFKA_LOG_SEGMENT_BYTES: '16384' }. */
  env?: Record<string, string>;
  /** Listener port. Default: a free port on 127.0.0.1. */
  port?: number;
  /** Entry script run with node. Default: dist/broker/main.js (harness self-tests use a fake). */
  entry?: string;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10 s. */
  stopGraceMs?: number;
  /** How long to wait for readiness. Default 30 s (BROKER_READY_TIMEOUT_MS). */
  readyTimeoutMs?: number;
}

export interface BrokerHandle {
  readonly port: number;
  /** '127.0.0.1:PORT' */
  readonly bootstrap: string;
  readonly dataDir: string;
  /** The pid of the current process (changes on restart). */
  readonly pid: number | undefined;
  /** SIGTERM, wait for exit; SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit. */
  kill9(): Promise<void>;
  /** Stops the process if it runs, then starts it again on the same port and data dir. */
  restart(): Promise<void>;
  /** Everything the broker printed so far (all runs). */
  output(): string;
  /** Exit code / signal of the last run, once it has exited. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

interface Tracked {
  handle: BrokerImpl;
  ownsDataDir: boolean;
}

/** (Ports come from test/support/ports.ts; re-exported for the tests that import it from here.) */
export { freePort };

const tracked = new Set<Tracked>();

class BrokerImpl implements BrokerHandle {
  readonly bootstrap: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private chunks: Buffer[] = [];
  private outBytes = 0;
  private printedChunks = 0;
  private run = 0;

  private readonly entry: string;
  private readonly stopGraceMs: number;
  private readonly readyTimeoutMs: number;

  constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly extraEnv: Record<string, string>,
    opts: StartBrokerOptions,
  ) {
    this.entry = opts.entry ?? BROKER_MAIN;
    this.stopGraceMs = opts.stopGraceMs ?? STOP_GRACE_MS;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    this.bootstrap = `127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.status === undefined;
  }

  output(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Output not yet returned by a previous call. */
  takeUnprinted(): string {
    const fresh = this.chunks.slice(this.printedChunks);
    this.printedChunks = this.chunks.length;
    return Buffer.concat(fresh).toString('utf8');
  }

  exitStatus() {
    return this.status;
  }

  private append(chunk: Buffer): void {
    if (LIVE_LOG) process.stderr.write(chunk);
    if (this.outBytes + chunk.length > MAX_OUTPUT_BYTES) {
      // Keep the first half and the most recent output.
      while (this.chunks.length > 1 && this.outBytes + chunk.length > MAX_OUTPUT_BYTES) {
        const dropped = this.chunks.splice(1, 1)[0]!;
        this.outBytes -= dropped.length;
        if (this.printedChunks > 1) this.printedChunks--;
      }
    }
    this.chunks.push(chunk);
    this.outBytes += chunk.length;
  }

  private note(line: string): void {
    this.append(Buffer.from(`[e2e harness] ${new Date().toISOString()} ${line}\n`));
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    // Inherit the environment but no stray KAFKA_* settings from the developer's shell.
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KAFKA_')) env[k] = v;
    env.KAFKA_LISTENERS = `PLAINTEXT://127.0.0.1:${this.port}`;
    env.KAFKA_LOG_DIRS = this.dataDir;
    Object.assign(env, this.extraEnv);
    return env;
  }

  async spawnAndWait(): Promise<void> {
    if (!existsSync(this.entry)) {
      throw new Error(`${this.entry} does not exist: run \`npm run build\` first (npm test does)`);
    }
    this.run++;
    this.status = undefined;
    this.note(`start #${this.run}: node ${this.entry} port=${this.port} dataDir=${this.dataDir} env=${JSON.stringify(this.extraEnv)}`);
    const child = spawn(process.execPath, [this.entry], {
      cwd: REPO_ROOT,
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => this.append(c));
    child.stderr!.on('data', (c: Buffer) => this.append(c));
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        this.note(`process ${child.pid} exited code=${code} signal=${signal}`);
        resolve();
      });
      child.once('error', (err) => {
        this.status ??= { code: null, signal: null };
        this.note(`spawn error: ${err.message}`);
        resolve();
      });
    });
    await this.waitReady();
  }

  private async waitReady(): Promise<void> {
    const started = Date.now();
    const deadline = started + this.readyTimeoutMs;
    let lastError = 'no attempt';
    for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
      if (this.status !== undefined) {
        throw new Error(
          `broker exited before becoming ready (code=${this.status.code} signal=${this.status.signal})\n${tail(this.output())}`,
        );
      }
      try {
        const left = Math.max(500, Math.min(3_000, deadline - Date.now()));
        const resp = await probeApiVersions(this.port, 0, left);
        if (resp.apiKeys.length === 0 && resp.errorCode === 0) throw new Error('ApiVersions listed no api keys');
        this.note(`ready after ${Date.now() - started} ms`);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await sleep(100);
    }
    // Not ready in time: kill it so nothing leaks, and report what it printed.
    await this.kill9();
    throw new Error(
      `broker on port ${this.port} not ready within ${this.readyTimeoutMs} ms (last probe: ${lastError})\n${tail(this.output())}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.status !== undefined) return;
    this.note(`SIGTERM ${child.pid}`);
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.status === undefined) {
        this.note(`still running ${this.stopGraceMs} ms after SIGTERM: SIGKILL ${child.pid}`);
        child.kill('SIGKILL');
      }
    }, this.stopGraceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || this.status !== undefined) return;
    this.note(`SIGKILL ${child.pid}`);
    child.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.spawnAndWait();
  }

  /** Synchronous last resort for process exit handlers. */
  killNow(): void {
    if (this.child && this.status === undefined) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function tail(text: string, lines = 150): string {
  const all = text.split('\n');
  const shown = all.slice(-lines).join('\n');
  return all.length > lines ? `--- broker output (last ${lines} of ${all.length} lines) ---\n${shown}` : `--- broker output ---\n${shown}`;
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<BrokerHandle> {
  const port = opts.port ?? (await freePort());
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'kafka-ts-e2e-')));
  const handle = new BrokerImpl(port, dataDir, opts.env ?? {}, opts);
  tracked.add({ handle, ownsDataDir });
  await handle.spawnAndWait();
  return handle;
}

/** Stops every broker this test file started and removes the temp dirs it made. */
export async function stopAllBrokers(): Promise<void> {
  const all = [...tracked];
  tracked.clear();
  await Promise.all(all.map((t) => t.handle.stop().catch(() => t.handle.killNow())));
  if (process.env.BROKER_KEEP_DATA !== '1') {
    await Promise.all(all.filter((t) => t.ownsDataDir).map((t) => rm(t.handle.dataDir, { recursive: true, force: true })));
  }
}

/** Prints what each broker printed since the last time (so each failure shows its own part). */
function printOutputs(reason: string): void {
  for (const t of tracked) {
    const h = t.handle;
    const fresh = h.takeUnprinted();
    if (fresh === '') continue;
    // eslint-disable-next-line no-console
    console.error(`\n===== ${reason}: broker ${h.bootstrap} (dataDir ${h.dataDir}) =====\n${tail(fresh, 300)}\n`);
  }
}

// Print the brokers' output when a test fails (unless it is already streaming live).
afterEach((ctx) => {
  if (LIVE_LOG) {
    for (const t of tracked) t.handle.takeUnprinted();
  } else if (ctx.task.result?.state === 'fail') {
    printOutputs(`test failed: ${ctx.task.name}`);
  }
});

afterAll(async (suite) => {
  if (!LIVE_LOG && suiteFailed(suite)) printOutputs('suite failed');
  await stopAllBrokers();
});

interface TaskLike {
  result?: { state?: string };
  tasks?: TaskLike[];
}
function suiteFailed(t: TaskLike): boolean {
  if (t.result?.state === 'fail') return true;
  return (t.tasks ?? []).some(suiteFailed);
}

// Never leave a broker behind, whatever happens to the test worker.
process.once('exit', () => {
  for (const t of tracked) t.handle.killNow();
});
const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    for (const t of tracked) t.handle.killNow();
    // Keep the default behaviour (terminate) unless someone else handles the signal.
    if (process.listenerCount(sig) === 0) process.exit(128 + SIGNAL_NUMBERS[sig]);
  });
}
