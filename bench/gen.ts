// The load generator process: started by bench/run.ts (pinned to its own core), it receives one
// job over IPC, reports phases and progress, sends the result and exits. Run alone it does
// nothing (it needs the IPC channel).
import { runClient, type ClientSpec } from './lib/clients.js';
import { runDiskWrite, type DiskSpec } from './lib/disk.js';
import { runLoad, type LoadSpec } from './lib/load.js';

export type GenJob = LoadSpec | ClientSpec | DiskSpec;

export type GenMessage =
  | { type: 'phase'; phase: string; at: number }
  | { type: 'progress'; phase: string; elapsedMs: number; bytes: number; requests: number }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

function send(m: GenMessage): void {
  process.send?.(m);
}

async function main(job: GenJob): Promise<void> {
  const onPhase = (phase: string) => send({ type: 'phase', phase, at: Date.now() });
  if (job.kind === 'produce' || job.kind === 'fetch') {
    const result = await runLoad(job, { onPhase, onProgress: (p) => send({ type: 'progress', ...p }) });
    send({ type: 'result', result });
  } else if (job.kind === 'disk-write') {
    send({ type: 'result', result: await runDiskWrite(job, onPhase) });
  } else {
    const result = await runClient(job, onPhase);
    send({ type: 'result', result });
  }
}

if (!process.send) {
  process.stderr.write('bench/gen.js is started by bench/run.js (it needs an IPC channel)\n');
  process.exit(2);
}
// Bounded: a job that is never sent, or a parent that goes away, ends this process.
let finished = false;
const idle = setTimeout(() => process.exit(3), 30_000);
process.on('disconnect', () => {
  if (!finished) process.exit(4);
});
const finish = (code: number) => {
  finished = true;
  // Let the last IPC message flush, then exit even if a client library left timers behind.
  process.send?.({ type: 'phase', phase: 'exit', at: Date.now() } satisfies GenMessage, () => process.exit(code));
  setTimeout(() => process.exit(code), 2_000).unref();
};
process.once('message', (m: { type: string; job: GenJob }) => {
  clearTimeout(idle);
  main(m.job).then(
    () => finish(0),
    (err: unknown) => {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      finish(1);
    },
  );
});
