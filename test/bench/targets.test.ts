// The durable-mode target of issue 7 (produce-16k-fsync as a share of disk-fsync-floor), on
// known inputs: pure functions of a run's results, no process is started.
import { describe, expect, it } from 'vitest';
import { DURABLE_TARGET, durableTarget, evaluateTargets, targetRows } from '../../bench/lib/report.js';
import type { ScenarioResult, SideResult } from '../../bench/lib/runner.js';
import { SCENARIOS } from '../../bench/scenarios.js';
import { brokerSide, scenarioResult } from './results-fixtures.js';

const side = (mbps: number): SideResult => brokerSide(mbps);
const result = scenarioResult;

const runOf = (...rs: ScenarioResult[]) => new Map(rs.map((r) => [r.name, r]));

describe('durable-mode target', () => {
  it('is the broker MB/s of produce-16k-fsync as % of disk-fsync-floor MB/s, met at ≥ 50 %', () => {
    const t = durableTarget(runOf(result('produce-16k-fsync', { broker: side(150), null: { ...side(1200), server: 'null' }, ratio: 0.125 }), result('disk-fsync-floor', { broker: side(200) })))!;
    expect(t.value).toBeCloseTo(75, 9);
    expect(t.met).toBe(true);
    expect(t.margin).toBeCloseTo(0.5, 9);
    expect(t.threshold).toBe(50);
    expect(t.kind).toBe('min');
    expect(t.missing).toBeUndefined();
    expect(t.scenario).toBe('produce-16k-fsync ÷ disk-fsync-floor');

    const short = durableTarget(runOf(result('produce-16k-fsync', { broker: side(60) }), result('disk-fsync-floor', { broker: side(200) })))!;
    expect(short.value).toBeCloseTo(30, 9);
    expect(short.met).toBe(false);
    expect(short.margin).toBeCloseTo(-0.4, 9);

    const exactly = durableTarget(runOf(result('produce-16k-fsync', { broker: side(100) }), result('disk-fsync-floor', { broker: side(200) })))!;
    expect([exactly.value, exactly.met, exactly.margin]).toEqual([50, true, 0]);
  });

  it('is part of evaluateTargets and shows in the Targets table', () => {
    const t = evaluateTargets(runOf(result('produce-16k-fsync', { broker: side(120) }), result('disk-fsync-floor', { broker: side(400) })));
    expect(t.map((x) => x.name)).toEqual([DURABLE_TARGET.name]);
    const rows = targetRows(t);
    expect(rows[1]).toEqual([DURABLE_TARGET.name, '30.0 % of fsync floor', 'NO', '-40 %']);
  });

  it('bad input: a missing, failed or zero scenario gives no value and says which, without throwing', () => {
    // Neither scenario run: no row at all (as for the other targets).
    expect(durableTarget(new Map())).toBeNull();
    expect(evaluateTargets(new Map())).toEqual([]);

    const noFloor = durableTarget(runOf(result('produce-16k-fsync', { broker: side(150) })))!;
    expect([noFloor.value, noFloor.met, noFloor.margin]).toEqual([null, null, null]);
    expect(noFloor.missing).toBe('disk-fsync-floor not run');
    expect(targetRows([noFloor])[1]).toEqual([DURABLE_TARGET.name, '- (disk-fsync-floor not run)', '?', '-']);

    const noBroker = durableTarget(runOf(result('disk-fsync-floor', { broker: side(200) })))!;
    expect([noBroker.value, noBroker.met, noBroker.margin]).toEqual([null, null, null]);
    expect(noBroker.missing).toBe('produce-16k-fsync not run');

    const failed = durableTarget(runOf(result('produce-16k-fsync', { status: 'failed', error: 'boom' }), result('disk-fsync-floor', { broker: side(200) })))!;
    expect([failed.value, failed.met]).toEqual([null, null]);
    expect(failed.missing).toBe('produce-16k-fsync has no figure (failed)');

    // A floor of 0 MB/s (or NaN) must not give Infinity % or "met".
    for (const bad of [0, Number.NaN]) {
      const zero = durableTarget(runOf(result('produce-16k-fsync', { broker: side(150) }), result('disk-fsync-floor', { broker: side(bad) })))!;
      expect([zero.value, zero.met, zero.margin]).toEqual([null, null, null]);
      expect(zero.missing).toBe('disk-fsync-floor has no figure');
    }

    // A broker side without a figure (ok status but no broker result) is not measured either.
    const empty = durableTarget(runOf(result('produce-16k-fsync'), result('disk-fsync-floor')))!;
    expect(empty.value).toBeNull();
    expect(empty.missing).toBe('produce-16k-fsync has no figure; disk-fsync-floor has no figure');
  });
});

describe('durable and consumer scenarios (config only: nothing is started here)', () => {
  it('lists the fsync floor and both flush policies, and kafkajs-consume as a real client scenario, in --quick too', () => {
    for (const name of ['disk-fsync-floor', 'produce-16k-fsync', 'produce-16k-fsync-c1', 'kafkajs-consume']) {
      const s = SCENARIOS.find((x) => x.name === name);
      expect(s, name).toBeDefined();
      expect(s!.quick, name).not.toBe(false);
    }
    expect(SCENARIOS.find((x) => x.name === 'disk-fsync-floor')!.group).toBe('floor');
    expect(SCENARIOS.find((x) => x.name === 'kafkajs-consume')!.group).toBe('clients');
    expect(SCENARIOS.find((x) => x.name === 'produce-16k-fsync')!.title).toContain('"group commit"');
    expect(SCENARIOS.find((x) => x.name === 'produce-16k-fsync-c1')!.title).toContain('"per request"');
    // No placeholders left.
    expect(SCENARIOS.filter((x) => x.group === 'future').map((x) => x.name)).toEqual([]);
    expect(SCENARIOS.some((x) => x.name === 'produce-group-commit')).toBe(false);
  });
});

describe('latency target', () => {
  const withLatency = (p99Ms: number): SideResult => ({
    ...side(100),
    load: { latency: { p50: 100, p99: p99Ms * 1000, p999: p99Ms * 1000 } } as unknown as SideResult['load'],
  });
  const latencyRun = (rate: NonNullable<ScenarioResult['rates']>[number]) => runOf(result('e2e-latency', { group: 'latency', rates: [rate] }));
  const find = (t: ReturnType<typeof evaluateTargets>) => t.find((x) => x.scenario === 'e2e-latency');

  it('reads the producer-alone run at 50 %, not the run with the consumer', () => {
    const t = find(evaluateTargets(latencyRun({ pct: 50, targetRate: 1000, producerAlone: withLatency(3), broker: withLatency(700) })))!;
    expect(t.value).toBeCloseTo(3, 9);
    expect(t.met).toBe(true);
  });

  it('falls back to the run with the consumer (older results), and has no value without a 50 % run', () => {
    expect(find(evaluateTargets(latencyRun({ pct: 50, targetRate: 1000, broker: withLatency(7) })))!.met).toBe(false);
    const none = find(evaluateTargets(latencyRun({ pct: 10, targetRate: 1000, broker: withLatency(1) })));
    expect(none?.value ?? null).toBeNull();
  });
});
