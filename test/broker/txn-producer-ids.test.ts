// Producer id blocks: ids come from blocks the controller allocates (never twice), the next block
// is fetched once 90% of the current one is used, failures back off and surface as errors.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ProducerIdManager, ProducerIdsUnavailableError, type ProducerIdBlock } from '../../broker/txn/producer-ids.js';

const logger = pino({ level: 'silent' });

function manager(blocks: Array<ProducerIdBlock | Error>, now = { ms: 0 }) {
  const calls: number[] = [];
  const m = new ProducerIdManager({
    nowMs: () => now.ms,
    logger,
    retryBackoffMs: 50,
    allocate: async () => {
      calls.push(now.ms);
      const b = blocks.shift();
      if (b === undefined || b instanceof Error) throw b ?? new Error('no more blocks');
      return b;
    },
  });
  return { m, calls, now };
}

describe('ProducerIdManager', () => {
  it('hands out a block in order and prefetches the next one at 90%', async () => {
    const { m, calls } = manager([{ start: 0, length: 10 }, { start: 10, length: 10 }]);
    expect(m.tryGenerate()).toBeNull();
    expect(await m.generate()).toBe(0);
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push(await m.generate());
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(calls).toHaveLength(1);
    expect(await m.generate()).toBe(8); // 9 of 10 ids used: the next block is fetched now
    expect(calls).toHaveLength(2);
    await new Promise((r) => setImmediate(r));
    expect(await m.generate()).toBe(9);
    expect(await m.generate()).toBe(10);
    expect(calls).toHaveLength(2);
  });

  it('fails with ProducerIdsUnavailableError and retries only after the backoff', async () => {
    const { m, calls, now } = manager([new Error('controller down'), { start: 1000, length: 1000 }]);
    await expect(m.generate()).rejects.toBeInstanceOf(ProducerIdsUnavailableError);
    expect(calls).toHaveLength(1);
    now.ms = 10;
    await expect(m.generate()).rejects.toBeInstanceOf(ProducerIdsUnavailableError);
    expect(calls).toHaveLength(1);
    now.ms = 60;
    expect(await m.generate()).toBe(1000);
  });
});
