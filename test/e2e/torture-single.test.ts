// Issue #8, crash-loop torture on one node: idempotent acks=-1 producers (kafkajs, one per
// partition) write continuously to 4 partitions with small segments and a small index interval
// (many rolls, many index entries) while the harness SIGKILLs the broker every 0.5–3 s (seeded
// PRNG) and restarts it on the same data dir, TORTURE_KILLS times (default 12, bounded for CI).
//
// After each kill, before the restart, the partition directories are read as the crash left them
// (log-checker with a torn tail allowed): what recovery has to deal with is counted (torn tails,
// index entries off the log), not asserted. At the end, producing stopped, the broker up:
// - kcat (check.crcs) reads every partition from 0: every acknowledged id exactly once and in
//   acknowledgement order, an unacknowledged (failed) id at most once, nothing else, offsets
//   contiguous from 0, ListOffsets latest = the count read;
// - the broker stopped, log-checker on every partition dir: CRCs, contiguous offsets, non-
//   decreasing epochs, index entries at batch starts, leader-epoch-checkpoint agreeing;
// - the figures (kills, records acknowledged/checked, unknown, duplicates, restart times) printed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { createTopics, kafkajs, withAdmin } from '../support/clients.js';
import { kcatConsume, kcatPath } from '../support/kcat.js';
import { readPartitionLog } from '../support/log-checker.js';
import { envKills, envSeed, expectExactlyOnce, TortureLoad } from '../support/torture.js';
import { prng, sleep, topicName, waitFor, withTimeout } from '../support/util.js';

const KILLS = envKills(12);
const SEED = envSeed(0x5eed8);
const PARTITIONS = 4;
const TOPIC = topicName('torture-single');

const figures: Record<string, unknown> = {};

describe(`crash-loop torture, one node: ${KILLS} SIGKILLs under idempotent acks=-1 producers`, { timeout: 120_000 + KILLS * 8_000 }, () => {
  let broker: BrokerHandle;
  let load: TortureLoad;

  beforeAll(async () => {
    kcatPath();
    broker = await startBroker({
      env: {
        KAFKA_LOG_SEGMENT_BYTES: String(64 * 1024),
        KAFKA_LOG_INDEX_INTERVAL_BYTES: '1024',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
    });
    await createTopics(kafkajs(broker.bootstrap, 'e2e-torture-setup'), [{ topic: TOPIC, numPartitions: PARTITIONS }]);
  });

  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`torture-single figures: ${JSON.stringify(figures, null, 1)}`);
  });

  it('survives the kills: the broker restarts every time and the producers keep being acknowledged', async () => {
    const rand = prng(SEED);
    figures.seed = SEED;
    figures['kills planned'] = KILLS;
    load = new TortureLoad({ brokers: [broker.bootstrap], topic: TOPIC, partitions: PARTITIONS, perSend: 5, pauseMs: 5, padBytes: 150, clientId: 'e2e-torture-single' });
    const t0 = Date.now();
    load.start();
    const restartMs: number[] = [];
    const ackedAtKill: number[] = [];
    const crashState = { tornTails: 0, segmentsRead: 0, otherProblems: [] as string[] };
    let kills = 0;
    try {
      await waitFor('first acknowledgements', () => load.ackedCount() >= 100, { timeoutMs: 30_000 });
      for (let i = 0; i < KILLS; i++) {
        await sleep(500 + Math.floor(rand() * 2_500));
        ackedAtKill.push(load.ackedCount());
        await broker.kill9();
        kills++;
        // The data as the crash left it (not asserted: recovery's input).
        for (let p = 0; p < PARTITIONS; p++) {
          const r = await readPartitionLog(broker.dataDir, TOPIC, p, { allowTornTail: true });
          crashState.segmentsRead += r.segments.length;
          const last = r.segments[r.segments.length - 1];
          if (last && last.invalidTailBytes > 0) crashState.tornTails++;
          for (const pr of r.problems) if (crashState.otherProblems.length < 20) crashState.otherProblems.push(`kill ${kills} p${p}: ${pr}`);
        }
        if (rand() < 0.3) await sleep(Math.floor(rand() * 1_000)); // sometimes stay down a while
        const r0 = Date.now();
        await broker.restart();
        restartMs.push(Date.now() - r0);
      }
      // Acknowledgements after the last restart too.
      const mark = load.ackedCount();
      await waitFor('acknowledgements after the last restart', () => load.ackedCount() > mark + 50, { timeoutMs: 30_000 });
    } catch (err) {
      // Keep the campaign's own error (a broker that did not restart, ...), not the stop's.
      await load.stop().catch(() => undefined);
      throw err;
    }
    await load.stop();
    const ms = Date.now() - t0;
    // Progress between kills: the producers were acknowledged between most consecutive kills.
    const intervalsWithAcks = ackedAtKill.slice(1).filter((n, i) => n > ackedAtKill[i]!).length;
    Object.assign(figures, {
      'kills survived': kills,
      'campaign ms': ms,
      'records acknowledged': load.ackedCount(),
      'records of failed sends (unknown)': load.unknownCount(),
      'failed sends (kafkajs gave up; producer replaced)': load.failures.length,
      'failures by kind': load.failureSummary(),
      'producers started': load.producersStarted,
      'restart ms (min/avg/max)': `${Math.min(...restartMs)}/${Math.round(restartMs.reduce((a, b) => a + b, 0) / restartMs.length)}/${Math.max(...restartMs)}`,
      'kill intervals with acknowledgements': `${intervalsWithAcks}/${Math.max(0, kills - 1)}`,
      'crash state: segments read / torn tails / other checker reports': `${crashState.segmentsRead} / ${crashState.tornTails} / ${crashState.otherProblems.length}`,
    });
    if (crashState.otherProblems.length > 0) figures['crash state reports (first 20)'] = crashState.otherProblems;
    expect(kills).toBe(KILLS);
    expect(intervalsWithAcks, 'acknowledgements between most consecutive kills').toBeGreaterThanOrEqual(Math.floor((kills - 1) * 0.6));
  });

  it('every acknowledged record exactly once, in order; offsets contiguous; ListOffsets agrees', async () => {
    const t0 = Date.now();
    const records = await kcatConsume(broker.bootstrap, TOPIC, { props: { 'check.crcs': 'true' }, timeoutMs: 120_000 });
    figures['read back ms'] = Date.now() - t0;
    const v = expectExactlyOnce(records, load, PARTITIONS, figures);
    await withAdmin(kafkajs(broker.bootstrap, 'e2e-torture-offsets'), async (admin) => {
      for (const o of await admin.fetchTopicOffsets(TOPIC)) {
        expect(o.low).toBe('0');
        expect(o.high, `high watermark of partition ${o.partition}`).toBe(String(v.perPartition[o.partition] ?? 0));
      }
    });
  });

  it('the log checker passes on every partition dir (CRCs, offsets, index entries at batch starts, epoch checkpoint)', async () => {
    await withTimeout(broker.stop(), 30_000, 'broker stop');
    let segments = 0;
    let indexEntries = 0;
    let batches = 0;
    const problems: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const r = await readPartitionLog(broker.dataDir, TOPIC, p);
      problems.push(...r.problems.map((x) => `p${p}: ${x}`));
      segments += r.segments.length;
      batches += r.batches.length;
      indexEntries += r.segments.reduce((s, x) => s + (x.indexEntries ?? 0), 0);
      expect(r.firstOffset ?? 0).toBe(0);
    }
    Object.assign(figures, { 'segments checked': segments, 'batches checked': batches, 'index entries checked': indexEntries });
    expect(problems.slice(0, 30)).toEqual([]);
    expect(segments, 'small segments rolled').toBeGreaterThan(PARTITIONS);
    expect(indexEntries).toBeGreaterThan(0);
  });
});
