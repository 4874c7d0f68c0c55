// Transactions with librdkafka: confluent-kafka-python (Debian's python3-confluent-kafka, run
// with /usr/bin/python3, fixtures/txn-confluent.py) commits, aborts and commits again, then
// commits a read-process-write step with send_offsets_to_transaction (TxnOffsetCommit v3 with
// the member's generation). read_committed readers (the Python consumer and kcat) see exactly
// the committed records; the group's offset commits with the output.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withProducer } from '../support/clients.js';
import { kcatPath } from '../support/kcat.js';
import { kcatRead, values } from './txn-support.js';

const PYTHON = '/usr/bin/python3';
const FIXTURE = path.join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'txn-confluent.py');

function requireConfluentKafka(): void {
  const r = spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    throw new Error(`this test needs confluent-kafka for ${PYTHON} (apt-get install -y python3-confluent-kafka, as .ci/run does): ${r.stderr || r.error?.message}`);
  }
}

describe('transactions with confluent-kafka-python (librdkafka)', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    kcatPath();
    requireConfluentKafka();
    broker = await startBroker({ env: { KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '3', KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '3', KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('a transactional producer commits and aborts; send_offsets_to_transaction commits the offsets with the output', async () => {
    const kafka = kafkajs(broker.bootstrap, 'e2e-txn-librdkafka');
    await createTopics(kafka, [
      { topic: 'py-out', numPartitions: 2 },
      { topic: 'py-in', numPartitions: 1 },
    ]);
    await withProducer(kafka, (p) => p.send({ topic: 'py-in', messages: ['a', 'b', 'c', 'd'].map((value) => ({ value })) }));
    const r = spawnSync(PYTHON, [FIXTURE, broker.bootstrap, 'py-out', 'py-in', 'py-group'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `python exited with ${r.status} ${r.signal ?? ''}\n${r.stderr}\n${r.stdout}`).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { committed: string[]; uncommitted: string[]; groupOffset: number };
    const committed = [...[0, 1, 2, 3, 4].map((i) => `py-commit-${i}`), 'py-commit2-0', 'py-commit2-1', ...['a', 'b', 'c', 'd'].map((v) => `py-processed-${v}`)].sort();
    expect([...out.committed].sort()).toEqual(committed);
    expect([...out.uncommitted].sort()).toEqual([...committed, 'py-abort-0', 'py-abort-1', 'py-abort-2'].sort());
    expect(out.groupOffset).toBe(4);
    expect(values(await kcatRead(broker.bootstrap, 'py-out', 'read_committed')).sort()).toEqual(committed);
  });
});
