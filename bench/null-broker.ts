// `node dist/bench/null-broker.js [--port N] [--partitions N] [--record-bytes N --records-per-batch N]`
// Starts the null broker (bench/lib/null-broker.ts) on 127.0.0.1 and prints one JSON line
// {"port": N} when it listens. Stops on SIGTERM/SIGINT, or when its parent goes away.
import { NullBroker } from './lib/null-broker.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

const recordBytes = arg('record-bytes', 0);
const broker = new NullBroker({
  port: arg('port', 0),
  partitions: arg('partitions', 1),
  fetchBatch: recordBytes > 0 ? { recordBytes, recordsPerBatch: arg('records-per-batch', 1) } : undefined,
});
const port = await broker.start();
process.stdout.write(JSON.stringify({ port }) + '\n');
const stop = () => {
  broker.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// If started with an IPC channel or a piped stdin, a vanished parent ends this process too.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
