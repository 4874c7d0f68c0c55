import { describe, expect, it } from 'vitest';
import { placeReplicas, seededRandomInt, type UsableBroker } from '../../kraft/placement.js';

const brokers = (n: number, rack: (id: number) => string | null = () => null): UsableBroker[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, rack: rack(i + 1), fenced: false }));

function place(bs: UsableBroker[], partitions: number, rf: number, seed = 'seed', existing: number[][] = []): number[][] {
  const r = placeReplicas(bs, partitions, rf, seededRandomInt(seed), existing);
  if (!r.ok) throw new Error(r.message);
  return r.assignments;
}

function count(values: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

describe('striped replica placement', () => {
  it('3 brokers, RF 3, 6 partitions: every partition on all brokers, each broker leads 2', () => {
    for (const seed of ['a', 'b', 'c', 'orders', 'x'.repeat(40)]) {
      const a = place(brokers(3), 6, 3, seed);
      expect(a).toHaveLength(6);
      for (const replicas of a) expect([...replicas].sort()).toEqual([1, 2, 3]);
      expect([...count(a.map((r) => r[0]!)).values()]).toEqual([2, 2, 2]);
    }
  });

  it('spreads leaders and replicas evenly over many brokers', () => {
    const a = place(brokers(5), 10, 2);
    expect([...count(a.map((r) => r[0]!)).values()]).toEqual([2, 2, 2, 2, 2]);
    expect([...count(a.flat()).values()]).toEqual([4, 4, 4, 4, 4]);
    for (const r of a) expect(new Set(r).size).toBe(2);
  });

  it('rack-aware: each partition spans distinct racks, leaders alternate racks and brokers', () => {
    const rackOf = (id: number): string => ['a', 'b', 'c'][(id - 1) % 3]!; // 6 brokers, 2 per rack
    const bs = brokers(6, rackOf);
    const a = place(bs, 12, 3);
    for (const replicas of a) {
      expect(new Set(replicas.map(rackOf)).size).toBe(3);
      expect(new Set(replicas).size).toBe(3);
    }
    expect([...count(a.map((r) => r[0]!)).values()]).toEqual([2, 2, 2, 2, 2, 2]);
    // Consecutive partitions start on different racks (the stripe).
    for (let p = 1; p < 3; p++) expect(rackOf(a[p]![0]!)).not.toBe(rackOf(a[p - 1]![0]!));
  });

  it('rack-aware with RF 2 over 3 racks: no partition has both replicas in one rack', () => {
    const rackOf = (id: number): string => (id <= 2 ? 'a' : id <= 4 ? 'b' : 'c');
    const a = place(brokers(6, rackOf), 9, 2);
    for (const [x, y] of a) expect(rackOf(x!)).not.toBe(rackOf(y!));
  });

  it('uses fenced brokers only when needed, never as leader', () => {
    const bs: UsableBroker[] = [
      { id: 1, rack: null, fenced: false },
      { id: 2, rack: null, fenced: true },
      { id: 3, rack: null, fenced: false },
    ];
    const a = place(bs, 6, 3);
    for (const r of a) {
      expect(r[0]).not.toBe(2);
      expect([...r].sort()).toEqual([1, 2, 3]);
    }
    const two = place(bs, 4, 2);
    for (const r of two) expect(r).not.toContain(2);
  });

  it('fails with Kafka\'s messages', () => {
    const r1 = placeReplicas(brokers(3), 1, 4, seededRandomInt('s'));
    expect(r1).toEqual({
      ok: false,
      message: 'The target replication factor of 4 cannot be reached because only 3 broker(s) are registered.',
    });
    const r2 = placeReplicas([{ id: 1, rack: null, fenced: true }], 1, 1, seededRandomInt('s'));
    expect(r2).toEqual({ ok: false, message: 'All brokers are currently fenced.' });
    const r3 = placeReplicas(brokers(3), 1, 0, seededRandomInt('s'));
    expect(r3.ok).toBe(false);
    const r4 = placeReplicas([], 1, 1, seededRandomInt('s'));
    expect(r4.ok).toBe(false);
  });

  it('continues after the existing partitions when adding partitions', () => {
    const first = place(brokers(3), 3, 1, 'x');
    const more = place(brokers(3), 3, 1, 'y', first);
    // The new leaders continue the round-robin after the last existing leader.
    const last = first[2]![0]!;
    expect(more[0]![0]).toBe((last % 3) + 1);
    expect(new Set(more.map((r) => r[0])).size).toBe(3);
  });

  it('is deterministic for a given random source', () => {
    expect(place(brokers(4), 8, 2, 'k')).toEqual(place(brokers(4), 8, 2, 'k'));
  });
});
