// The local cluster launcher: `npm run cluster -- --nodes 3 [--base-port 19092] [--data ./data-cluster]`.
// Starts the node set of ./nodes.ts as local `node dist/broker/main.js` processes, prints where
// each listens, forwards their output prefixed with the node's name (or writes it to
// <log-dir>/kafka-i.log), and stops them all on Ctrl-C / SIGTERM (SIGKILL after a grace period;
// a second signal kills at once).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterNodes, DEFAULT_BASE_PORT, isValidClusterId, randomClusterId, type ClusterNode } from './nodes.js';
import { answersApiVersions, describeQuorum } from './probe.js';

const USAGE = `usage: npm run cluster -- [options]
  --nodes N          combined broker+controller nodes (default 3)
  --base-port P      node i: clients on P+i-1, controllers on P+100+i-1 (default ${DEFAULT_BASE_PORT})
  --host H           address to bind and advertise (default 127.0.0.1)
  --data DIR         data root; node i uses DIR/kafka-i (default ./data-cluster)
  --cluster-id ID    22-char base64url id (default: DIR/cluster.id, else a new one kept there)
  --log-dir DIR      write each node's output to DIR/kafka-i.log instead of this terminal
  --env K=V          extra variable for every node, e.g. --env KAFKA_NUM_PARTITIONS=3 (repeatable)
  --main FILE        broker entry (default dist/broker/main.js)
  --ready-timeout-ms how long to wait for every node and a quorum leader (default 60000)`;

const STOP_GRACE_MS = 15_000;

function say(line: string): void {
  process.stdout.write(`[cluster] ${line}\n`);
}

function fail(message: string): never {
  process.stderr.write(`[cluster] ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        nodes: { type: 'string', default: '3' },
        'base-port': { type: 'string', default: String(DEFAULT_BASE_PORT) },
        host: { type: 'string', default: '127.0.0.1' },
        data: { type: 'string', default: './data-cluster' },
        'cluster-id': { type: 'string' },
        'log-dir': { type: 'string' },
        env: { type: 'string', multiple: true, default: [] },
        main: { type: 'string' },
        'ready-timeout-ms': { type: 'string', default: '60000' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const nodes = Number(parsed.nodes);
  const basePort = Number(parsed['base-port']);
  const readyTimeoutMs = Number(parsed['ready-timeout-ms']);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 99) fail(`--nodes must be 1..99, got ${parsed.nodes}`);
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + 100 + nodes > 65535) fail(`bad --base-port ${parsed['base-port']}`);
  if (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0) fail(`bad --ready-timeout-ms ${parsed['ready-timeout-ms']}`);
  const env: Record<string, string> = {};
  for (const kv of parsed.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) fail(`--env wants K=V, got "${kv}"`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const dataRoot = path.resolve(parsed.data!);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const main = path.resolve(parsed.main ?? path.join(here, '..', 'main.js'));
  return { nodes, basePort, host: parsed.host!, dataRoot, clusterIdArg: parsed['cluster-id'], logDir: parsed['log-dir'], env, main, readyTimeoutMs };
}

/** --cluster-id, else the id kept in <data>/cluster.id, else a new one (kept there for the next start). */
function resolveClusterId(dataRoot: string, given: string | undefined): string {
  const file = path.join(dataRoot, 'cluster.id');
  const kept = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  if (given !== undefined) {
    if (!isValidClusterId(given)) fail(`--cluster-id must be 22 base64url characters, got "${given}"`);
    if (kept !== undefined && kept !== given) fail(`${file} says the data belongs to cluster ${kept}, not ${given}`);
    if (kept === undefined) writeFileSync(file, `${given}\n`);
    return given;
  }
  if (kept !== undefined) {
    if (!isValidClusterId(kept)) fail(`${file} holds an invalid cluster id "${kept}"`);
    return kept;
  }
  const id = randomClusterId();
  writeFileSync(file, `${id}\n`);
  return id;
}

/** Writes `chunk` line by line to `out`, each line prefixed; keeps a partial last line for later. */
class LinePrefixer {
  private partial = '';
  constructor(
    private readonly prefix: string,
    private readonly out: NodeJS.WritableStream,
  ) {}
  write(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    if (lines.length > 0) this.out.write(lines.map((l) => `${this.prefix}${l}\n`).join(''));
  }
  flush(): void {
    if (this.partial !== '') this.out.write(`${this.prefix}${this.partial}\n`);
    this.partial = '';
  }
}

interface Running {
  node: ClusterNode;
  child: ChildProcess;
  exited: Promise<void>;
  status?: { code: number | null; signal: NodeJS.Signals | null };
  file?: WriteStream;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function main(): Promise<void> {
  const running: Running[] = [];
  let stopping = false;
  // Handlers first: a stop requested while the nodes are being started still stops every one
  // (without a listener, SIGTERM would end the launcher at once and orphan the nodes).
  let firstSignalAt = 0;
  const stopAll = async (signal: string): Promise<void> => {
    if (stopping) {
      // `timeout`, process managers and terminals may deliver one stop twice (to us and to the
      // process group): only a later, deliberate second signal escalates.
      if (Date.now() - firstSignalAt < 1_000) return;
      say(`${signal} again: SIGKILL every node`);
      for (const r of running) if (!r.status) r.child.kill('SIGKILL');
      return;
    }
    stopping = true;
    firstSignalAt = Date.now();
    say(`${signal}: stopping ${running.filter((r) => !r.status).length} node(s) (SIGTERM, SIGKILL after ${STOP_GRACE_MS / 1000} s)`);
    for (const r of running) if (!r.status) r.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const r of running) {
        if (!r.status) {
          say(`${r.node.name} still running ${STOP_GRACE_MS / 1000} s after SIGTERM: SIGKILL`);
          r.child.kill('SIGKILL');
        }
      }
    }, STOP_GRACE_MS);
    await Promise.all(running.map((r) => r.exited));
    clearTimeout(timer);
    say('all nodes stopped');
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stopAll(sig));
  // `npm run cluster` runs us under `sh -c "npm run build && node ..."`: a SIGTERM to npm ends npm
  // and that shell but never reaches us. Our parent going away means the same: stop.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stopAll(`parent process ${parent} exited`);
  }, 500).unref();
  // If the launcher dies some other way, do not leave nodes behind.
  process.on('exit', () => {
    for (const r of running) if (!r.status) r.child.kill('SIGKILL');
  });
  const opts = parse();
  if (!existsSync(opts.main)) fail(`${opts.main} does not exist: run \`npm run build\` first (npm run cluster does)`);
  mkdirSync(opts.dataRoot, { recursive: true });
  const clusterId = resolveClusterId(opts.dataRoot, opts.clusterIdArg);
  let nodes: ClusterNode[];
  try {
    nodes = clusterNodes({ nodes: opts.nodes, host: opts.host, basePort: opts.basePort, clusterId, dataRoot: opts.dataRoot, env: opts.env });
  } catch (err) {
    fail((err as Error).message);
  }
  if (opts.logDir) mkdirSync(opts.logDir, { recursive: true });

  say(`cluster ${clusterId}: ${nodes.length} combined broker+controller nodes, data under ${opts.dataRoot}`);
  for (const n of nodes) {
    const log = opts.logDir ? `  log ${path.join(path.resolve(opts.logDir), `${n.name}.log`)}` : '';
    say(`${n.name}  node.id=${n.id}  clients ${n.bootstrap}  controller ${n.controllerAddress}  data ${n.dataDir}${log}`);
  }
  say(`bootstrap servers: ${nodes.map((n) => n.bootstrap).join(',')}`);
  say(`controller quorum voters: ${nodes[0]!.env.KAFKA_CONTROLLER_QUORUM_VOTERS}`);

  const baseEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KAFKA_') && k !== 'CLUSTER_ID') baseEnv[k] = v;

  for (const node of nodes) {
    mkdirSync(node.dataDir, { recursive: true });
    const child = spawn(process.execPath, [opts.main], { env: { ...baseEnv, ...node.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const r: Running = { node, child, exited: Promise.resolve() };
    let out: NodeJS.WritableStream = process.stdout;
    let err: NodeJS.WritableStream = process.stderr;
    if (opts.logDir) {
      r.file = createWriteStream(path.join(opts.logDir, `${node.name}.log`), { flags: 'a' });
      out = err = r.file;
    }
    const prefix = opts.logDir ? '' : `[${node.name}] `;
    const so = new LinePrefixer(prefix, out);
    const se = new LinePrefixer(prefix, err);
    child.stdout!.on('data', (c: Buffer) => so.write(c));
    child.stderr!.on('data', (c: Buffer) => se.write(c));
    r.exited = new Promise<void>((resolve) => {
      child.once('close', (code, signal) => {
        so.flush();
        se.flush();
        r.status = { code, signal };
        r.file?.end();
        say(`${node.name} (pid ${child.pid}) exited code=${code} signal=${signal}${stopping ? '' : ' (unexpectedly)'}`);
        resolve();
      });
      child.once('error', (e) => {
        say(`${node.name}: could not start: ${e.message}`);
        r.status ??= { code: null, signal: null };
        resolve();
      });
    });
    running.push(r);
    say(`${node.name} started, pid ${child.pid}`);
  }

  // Every node gone on its own: nothing left to run.
  void Promise.all(running.map((r) => r.exited)).then(() => {
    if (!stopping) {
      say('every node exited; stopping the launcher');
      process.exit(1);
    }
  });

  // Readiness report: each node answers ApiVersions, then the quorum names a leader.
  const deadline = Date.now() + opts.readyTimeoutMs;
  const pending = new Set(running);
  while (pending.size > 0 && Date.now() < deadline && !stopping) {
    for (const r of [...pending]) {
      if (r.status) {
        pending.delete(r);
      } else if (await answersApiVersions(r.node.host, r.node.clientPort, 1_000)) {
        pending.delete(r);
        say(`${r.node.name} answers on ${r.node.bootstrap}`);
      }
    }
    if (pending.size > 0) await sleep(250);
  }
  if (stopping) return;
  if (pending.size > 0) {
    say(`not answering after ${opts.readyTimeoutMs} ms: ${[...pending].map((r) => r.node.name).join(', ')}`);
    return;
  }
  let lastErr = '';
  while (Date.now() < deadline && !stopping) {
    for (const r of running) {
      if (r.status) continue;
      try {
        const q = await describeQuorum(r.node.host, r.node.controllerPort, 1_000);
        if (q.leaderId >= 0) {
          const lag = q.voters.map((v) => `${v.id}:${v.logEndOffset}`).join(' ');
          say(`ready: quorum leader node ${q.leaderId}, epoch ${q.leaderEpoch}, high watermark ${q.highWatermark}, voter log end offsets ${lag}`);
          return;
        }
        lastErr = `no leader yet (asked ${r.node.name})`;
      } catch (err) {
        lastErr = (err as Error).message;
      }
    }
    await sleep(500);
  }
  if (!stopping) say(`every node answers, but no quorum leader known within ${opts.readyTimeoutMs} ms (last: ${lastErr})`);
}

void main();
