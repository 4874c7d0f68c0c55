// Helpers of the crash-loop torture tests (test/e2e/torture-*.test.ts) and the torn-tail test:
//
// - `TortureLoad`: one kafkajs idempotent producer per partition (acks -1, 1 request in flight),
//   each a sequential send loop writing records whose value starts with a unique id. A send that
//   kafkajs gives up on leaves its batch *unknown* (maybe stored, maybe not); the loop then throws
//   its producer away and starts a new one (a new producer id): kafkajs does not consume the
//   sequence numbers of a failed send, so reusing the old producer would make the broker take the
//   next batch for a retry of the failed one (and answer it without storing it) if the failed one
//   was in fact stored. Acknowledged ids are kept in acknowledgement order per partition.
// - `verifyReadBack`: what was read back (kcat) against what was acknowledged: every acknowledged
//   id exactly once, in acknowledgement order within its partition, an unknown id at most once,
//   nothing else, offsets contiguous from 0 in every partition.
// - `envKills`: the TORTURE_KILLS / TORTURE_SEED knobs.

import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { KcatRecord } from './kcat.js';
import { expect } from 'vitest';
import { sleep, withTimeout } from './util.js';

/** Kill count: TORTURE_KILLS when set (a longer run outside CI), else `ciDefault`. */
export function envKills(ciDefault: number): number {
  const v = process.env.TORTURE_KILLS;
  if (v === undefined || v === '') return ciDefault;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TORTURE_KILLS=${v}: not a positive integer`);
  return n;
}

/** The PRNG seed: TORTURE_SEED when set, else `fallback` (printed either way, so a run reproduces its schedule). */
export function envSeed(fallback: number): number {
  const v = process.env.TORTURE_SEED;
  return v === undefined || v === '' ? fallback : Number(v) >>> 0;
}

export interface TortureLoadOptions {
  brokers: string[];
  topic: string;
  partitions: number;
  /** Records per send (one batch). */
  perSend: number;
  /** Pause between a partition's sends. */
  pauseMs: number;
  /** Bytes of padding after the id in each value (bigger batches, more segment rolls). */
  padBytes: number;
  clientId: string;
  /** kafkajs retries of one send (connection errors, NOT_LEADER, NOT_ENOUGH_REPLICAS, ...). */
  retries?: number;
}

export interface LoadFailure {
  at: number;
  partition: number;
  error: string;
}

export class TortureLoad {
  /** Acknowledged ids per partition, in acknowledgement order. */
  readonly acked = new Map<number, string[]>();
  /** Ids of sends kafkajs gave up on (maybe stored): allowed at most once, never required. */
  readonly unknown = new Map<number, Set<string>>();
  readonly failures: LoadFailure[] = [];
  /** When each acknowledgement arrived (all partitions). */
  readonly ackTimes: number[] = [];
  producersStarted = 0;
  connectFailures = 0;
  private seq = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly live = new Set<Producer>();
  private readonly pad: string;
  private readonly kafka: Kafka;

  constructor(private readonly opts: TortureLoadOptions) {
    for (let p = 0; p < opts.partitions; p++) {
      this.acked.set(p, []);
      this.unknown.set(p, new Set());
    }
    this.pad = '.'.repeat(opts.padBytes);
    const retries = opts.retries ?? 60;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: process.env.KAFKAJS_LOG === '1' ? logLevel.INFO : logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
  }

  start(): void {
    this.loops = Array.from({ length: this.opts.partitions }, (_, p) => this.loop(p));
  }

  get stopped(): boolean {
    return this.stopping;
  }

  ackedCount(): number {
    let n = 0;
    for (const a of this.acked.values()) n += a.length;
    return n;
  }

  unknownCount(): number {
    let n = 0;
    for (const u of this.unknown.values()) n += u.size;
    return n;
  }

  /** The id at the start of a stored value (`<id>|<padding>`). */
  static idOf(value: string): string {
    const bar = value.indexOf('|');
    return bar < 0 ? value : value.slice(0, bar);
  }

  private async newProducer(): Promise<Producer | undefined> {
    for (let attempt = 0; !this.stopping; attempt++) {
      const producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      try {
        await withTimeout(producer.connect(), 20_000, 'producer.connect');
        this.producersStarted++;
        this.live.add(producer);
        return producer;
      } catch {
        this.connectFailures++;
        await withTimeout(producer.disconnect(), 5_000, 'producer.disconnect').catch(() => undefined);
        await sleep(Math.min(1_000, 100 * (attempt + 1)));
      }
    }
    return undefined;
  }

  private async drop(producer: Producer): Promise<void> {
    this.live.delete(producer);
    await withTimeout(producer.disconnect(), 5_000, 'producer.disconnect').catch(() => undefined);
  }

  private async loop(p: number): Promise<void> {
    let producer = await this.newProducer();
    while (!this.stopping && producer) {
      const ids = Array.from({ length: this.opts.perSend }, () => `t${this.seq++}-p${p}`);
      try {
        await producer.send({
          topic: this.opts.topic,
          acks: -1,
          timeout: 10_000,
          messages: ids.map((id) => ({ partition: p, key: id, value: `${id}|${this.pad}` })),
        });
        this.acked.get(p)!.push(...ids);
        this.ackTimes.push(Date.now());
      } catch (err) {
        const u = this.unknown.get(p)!;
        for (const id of ids) u.add(id);
        this.failures.push({ at: Date.now(), partition: p, error: `${(err as Error).name}: ${(err as Error).message}` });
        await this.drop(producer);
        producer = await this.newProducer();
        continue;
      }
      await sleep(this.opts.pauseMs);
    }
    if (producer) await this.drop(producer);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await withTimeout(Promise.all(this.loops), 90_000, 'torture send loops to finish');
    await Promise.all([...this.live].map((pr) => this.drop(pr)));
  }

  /** A short summary of the failures by error text (without ids). */
  failureSummary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.failures) {
      const k = f.error.replace(/\d+/g, 'N').slice(0, 160);
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
}

export interface ReadBackResult {
  recordsRead: number;
  acked: number;
  ackedFound: number;
  unknownFound: number;
  unknownAbsent: number;
  /** Every problem found (empty = pass); the callers assert it is empty. */
  problems: string[];
  perPartition: Record<number, number>;
}

/**
 * Checks `records` (every record of the topic, e.g. kcat from the beginning to the end) against
 * the load: every acknowledged id exactly once and in acknowledgement order in its partition, an
 * unknown id at most once, no other id, offsets 0..n-1 in every partition.
 */
export function verifyReadBack(records: KcatRecord[], load: TortureLoad, partitions: number): ReadBackResult {
  const problems: string[] = [];
  const count = new Map<string, number>();
  const perPartition: Record<number, number> = {};
  for (let p = 0; p < partitions; p++) {
    const stored = records.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset);
    perPartition[p] = stored.length;
    const badOffset = stored.findIndex((r, i) => r.offset !== i);
    if (badOffset >= 0) problems.push(`partition ${p}: offsets not contiguous from 0: position ${badOffset} holds offset ${stored[badOffset]!.offset}`);
    const ackedList = load.acked.get(p)!;
    const ackedSet = new Set(ackedList);
    const unknown = load.unknown.get(p)!;
    const storedAckedOrder: string[] = [];
    for (const r of stored) {
      const id = TortureLoad.idOf(r.value?.toString('utf8') ?? '<null>');
      count.set(id, (count.get(id) ?? 0) + 1);
      if (ackedSet.has(id)) storedAckedOrder.push(id);
      else if (!unknown.has(id)) problems.push(`partition ${p} offset ${r.offset}: id ${id} was never sent to this partition`);
    }
    // Acknowledged records keep acknowledgement order (one sequential loop per partition).
    const seen = new Set<string>();
    const dedup = storedAckedOrder.filter((id) => !seen.has(id) && seen.add(id) !== undefined);
    const firstDiff = dedup.findIndex((id, i) => id !== ackedList[i]);
    if (firstDiff >= 0) problems.push(`partition ${p}: acknowledged records out of order at #${firstDiff}: stored ${dedup[firstDiff]}, acknowledged ${ackedList[firstDiff]}`);
  }
  let ackedFound = 0;
  let acked = 0;
  const missing: string[] = [];
  for (const list of load.acked.values()) {
    for (const id of list) {
      acked++;
      const n = count.get(id) ?? 0;
      if (n >= 1) ackedFound++;
      if (n === 0) missing.push(id);
    }
  }
  if (missing.length > 0) problems.push(`${missing.length} acknowledged records missing (first: ${missing.slice(0, 10).join(', ')})`);
  const dups = [...count].filter(([, n]) => n > 1);
  if (dups.length > 0) problems.push(`${dups.length} ids stored more than once (first: ${dups.slice(0, 10).map(([id, n]) => `${id}×${n}`).join(', ')})`);
  let unknownFound = 0;
  let unknownAbsent = 0;
  for (const u of load.unknown.values()) for (const id of u) (count.has(id) ? unknownFound++ : unknownAbsent++);
  return { recordsRead: records.length, acked, ackedFound, unknownFound, unknownAbsent, problems, perPartition };
}

/** verifyReadBack, its figures recorded in `figures`, then the torture tests' assertions. */
export function expectExactlyOnce(records: KcatRecord[], load: TortureLoad, partitions: number, figures: Record<string, unknown>): ReadBackResult {
  const v = verifyReadBack(records, load, partitions);
  Object.assign(figures, {
    'records read back': v.recordsRead,
    'acknowledged records found': `${v.ackedFound}/${v.acked}`,
    'unknown records stored / absent': `${v.unknownFound} / ${v.unknownAbsent}`,
    'records per partition': v.perPartition,
    problems: v.problems.length,
  });
  expect(v.problems).toEqual([]);
  expect(v.ackedFound).toBe(v.acked);
  return v;
}
