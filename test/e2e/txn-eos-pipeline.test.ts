// An exactly-once pipeline (consume → transform → produce with sendOffsets, kafkajs, in a child
// process: fixtures/eos-pipeline.mjs) is SIGKILLed and restarted several times mid-stream. In
// the end the output, read with read_committed, holds every input record exactly once; the
// aborted attempts' duplicates exist only below the LSO as aborted data (read_uncommitted).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withAdmin, withProducer } from '../support/clients.js';
import { kcatPath } from '../support/kcat.js';
import { prng, sleep, waitFor } from '../support/util.js';
import { kcatRead, values } from './txn-support.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'eos-pipeline.mjs');
const INPUT = 'eos-in';
const OUTPUT = 'eos-out';
const GROUP = 'eos-group';
const PARTITIONS = 3;
const RECORDS = 4_000;
const KILLS = 4;

interface Pipeline {
  child: ChildProcess;
  /** Committed transactions reported so far. */
  commits: number;
  output: string[];
  exited: Promise<void>;
}

const live = new Set<ChildProcess>();

function startPipeline(bootstrap: string): Pipeline {
  const child = spawn(process.execPath, [FIXTURE], {
    cwd: REPO_ROOT,
    env: { ...process.env, BOOTSTRAP: bootstrap, INPUT, OUTPUT, GROUP, TXN_ID: 'eos-pipeline', BATCH_DELAY_MS: '10', MAX_BYTES_PER_PARTITION: '1024' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const p: Pipeline = { child, commits: 0, output: [], exited: new Promise((r) => child.once('exit', () => r())) };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('committed ')) p.commits++;
      p.output.push(l);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => p.output.push(chunk.toString('utf8')));
  void p.exited.then(() => live.delete(child));
  return p;
}

async function kill9(p: Pipeline): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

describe('exactly-once pipeline under SIGKILL', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({
      env: {
        KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '4',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '4',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
      },
    });
  });

  afterEach(() => {
    for (const c of live) c.kill('SIGKILL');
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('every input record is in the output exactly once (read_committed) after kills and restarts', async () => {
    const kafka = kafkajs(broker.bootstrap, 'e2e-eos');
    await createTopics(kafka, [
      { topic: INPUT, numPartitions: PARTITIONS },
      { topic: OUTPUT, numPartitions: PARTITIONS },
    ]);
    const inputs = Array.from({ length: RECORDS }, (_, i) => `in-${i}`);
    // Small stored batches, so each transaction (one fetch of 1 KiB per partition) is small and
    // the killed runs leave most of the input to the last one.
    await withProducer(kafka, async (p) => {
      for (let i = 0; i < RECORDS; i += 50) {
        await p.send({ topic: INPUT, acks: -1, messages: inputs.slice(i, i + 50).map((v, k) => ({ key: `k${(i + k) % 17}`, value: v })) });
      }
    });

    const committedTotal = async () =>
      withAdmin(kafka, async (a) => {
        const offsets = await a.fetchOffsets({ groupId: GROUP, topics: [INPUT] });
        return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      });
    const rand = prng(4);
    const logs: string[] = [];
    let kills = 0;
    for (let k = 0; k < KILLS; k++) {
      const p = startPipeline(broker.bootstrap);
      // Let it commit a few transactions, then kill it at a random moment (usually mid-transaction).
      try {
        await waitFor(`pipeline run ${k} to commit`, () => p.commits >= 2 || p.child.exitCode !== null, { timeoutMs: 60_000, intervalMs: 50 });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${logs.join('\n')}\nrun ${k} output:\n${p.output.slice(-60).join('\n')}`);
      }
      await sleep(Math.floor(rand() * 150));
      await kill9(p);
      kills++;
      logs.push(`run ${k}: ${p.commits} commits, exit ${p.child.exitCode ?? p.child.signalCode}`);
      if (process.env.EOS_DEBUG) process.stderr.write(`${new Date().toISOString()} ${logs[logs.length - 1]}\n${p.output.slice(-5).join('\n')}\n`);
      if ((await committedTotal()) === RECORDS) break;
    }
    // Killed mid-stream every time: the input was not used up.
    expect(kills).toBe(KILLS);
    expect(await committedTotal()).toBeLessThan(RECORDS);

    const last = startPipeline(broker.bootstrap);
    try {
      await waitFor('the pipeline to consume every input record', async () => (await committedTotal()) === RECORDS, { timeoutMs: 120_000, intervalMs: 500 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs.join('\n')}\nlast run output:\n${last.output.slice(-40).join('\n')}`);
    }
    last.child.kill('SIGTERM');
    await Promise.race([last.exited, sleep(10_000)]);
    logs.push(`final run: ${last.commits} commits`);

    const committed = values(await kcatRead(broker.bootstrap, OUTPUT, 'read_committed'));
    const counts = new Map<string, number>();
    for (const v of committed) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1);
    expect(duplicates, `duplicated in the committed output (${logs.join('; ')})`).toEqual([]);
    expect(committed.length, logs.join('; ')).toBe(RECORDS);
    expect(new Set(committed)).toEqual(new Set(inputs.map((v) => `out:${v}`)));
    // The killed runs left aborted work behind: only read_uncommitted readers see it.
    const all = values(await kcatRead(broker.bootstrap, OUTPUT, 'read_uncommitted'));
    expect(all.length).toBeGreaterThanOrEqual(RECORDS);
  }, 240_000);
});
