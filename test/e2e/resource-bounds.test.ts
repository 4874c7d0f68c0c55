// Issue 8, resource bounds (socket.request.max.bytes is covered by bad-input.test.ts):
// - max.connections and max.connections.per.ip: connections past either limit are closed at
//   once, the others keep working (a second source address, 127.0.0.2, has its own per-ip count);
// - queued.max.requests / per-connection in-flight bound: a client pipelining 30,000 requests
//   without reading any answer stops being read; the broker's RSS stays bounded;
// - a slow consumer pipelining 300 large fetches and never reading: RSS bounded by the
//   connection's response budget (fetches reserve their bytes; without it: +258 MiB, with: ≈+60);
// - 1,000 idle connections: RSS before/after, the cost per connection.
// RSS is VmRSS of /proc/<pid>/status; the figures are printed and kept in test/e2e/README.md.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ApiKey } from '../../wire/generated/api.js';
import { encodeRequestFrame } from '../../wire/header.js';
import { startBroker } from '../support/broker.js';
import { createTopics, kafkajs, withProducer } from '../support/clients.js';
import { withClient } from '../support/kafka-client.js';
import { RawConnection } from '../support/raw-client.js';
import { sleep, topicName, waitFor } from '../support/util.js';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** RSS after things settle: the max of a few samples over `ms`. */
async function settledRss(pid: number, ms = 1_500): Promise<number> {
  let max = 0;
  for (let i = 0; i < 6; i++) {
    max = Math.max(max, rssMiB(pid));
    await sleep(ms / 6);
  }
  return max;
}

function connectFrom(port: number, localAddress: string): Promise<RawSock> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    const rs: RawSock = { socket: s, closed: false };
    s.on('close', () => (rs.closed = true));
    s.on('error', () => undefined);
    s.once('connect', () => resolve(rs));
    s.once('error', reject);
  });
}
interface RawSock {
  socket: net.Socket;
  closed: boolean;
}

describe('connection limits', () => {
  it('max.connections and max.connections.per.ip close the excess connections', async () => {
    const broker = await startBroker({ env: { KAFKA_MAX_CONNECTIONS: '8', KAFKA_MAX_CONNECTIONS_PER_IP: '5' } });
    const a: RawSock[] = [];
    for (let i = 0; i < 6; i++) a.push(await connectFrom(broker.port, '127.0.0.1'));
    await sleep(500);
    expect(a.map((s) => s.closed)).toEqual([false, false, false, false, false, true]);
    const b: RawSock[] = [];
    for (let i = 0; i < 4; i++) b.push(await connectFrom(broker.port, '127.0.0.2'));
    await sleep(500);
    // 5 + 3 = max.connections 8: the 4th from 127.0.0.2 is refused.
    expect(b.map((s) => s.closed)).toEqual([false, false, false, true]);
    // A closed slot is free again.
    a[0]!.socket.destroy();
    await sleep(300);
    const again = await connectFrom(broker.port, '127.0.0.1');
    await sleep(300);
    expect(again.closed).toBe(false);
    for (const s of [...a, ...b, again]) s.socket.destroy();
    await broker.stop();
  });
});

describe('memory bounds (RSS)', () => {
  it('pipelining without reading, a slow consumer, 1,000 idle connections', async () => {
    const broker = await startBroker({ env: { KAFKA_LOG_SEGMENT_BYTES: String(64 * 1024 * 1024) } });
    const pid = broker.pid!;
    const figures: Record<string, number> = {};
    figures.baseline = await settledRss(pid);

    // 1. 1,000 idle connections.
    const idle: net.Socket[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = net.connect({ port: broker.port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      idle.push(s);
      if (i % 100 === 99) await sleep(20);
    }
    await waitFor('1000 connected', () => idle.every((s) => !s.connecting), { timeoutMs: 20_000 });
    figures.idle1000 = await settledRss(pid);
    const perConnKiB = ((figures.idle1000 - figures.baseline) * 1024) / 1000;
    figures.perIdleConnectionKiB = Math.round(perConnKiB * 10) / 10;
    expect(idle.filter((s) => s.destroyed).length, 'idle connections kept').toBe(0);
    for (const s of idle) s.destroy();
    await sleep(500);
    // Still serving.
    await withClient(broker.port, (c) => c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'e2e', clientSoftwareVersion: '1' }));

    // 2. One connection pipelines 30,000 Metadata requests and never reads.
    const before = await settledRss(pid, 600);
    const flood = await RawConnection.connect(broker.port);
    const one = encodeRequestFrame(ApiKey.Metadata, 12, 1, 'e2e-flood', { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const many = Buffer.concat(Array.from({ length: 30_000 }, () => one));
    void flood.write(many); // resolves only once the broker read it all: it does not
    await sleep(3_000);
    figures.pipelined30k = await settledRss(pid);
    figures.pipelinedDelta = Math.round((figures.pipelined30k - before) * 10) / 10;
    flood.destroy();
    await sleep(500);

    // 3. A slow consumer: 300 pipelined fetches of up to 1 MiB each (≈300 MiB of answers) of 8 MiB
    // of data, never reading: the connection's response budget (64 MiB) holds the rest back.
    const topic = topicName('slow');
    await createTopics(kafkajs(broker.bootstrap, 'e2e-bounds'), [{ topic, numPartitions: 1 }]);
    await withProducer(kafkajs(broker.bootstrap, 'e2e-bounds-p'), async (p) => {
      const v = 'v'.repeat(100 * 1024);
      for (let i = 0; i < 8; i++) await p.send({ topic, acks: 1, messages: Array.from({ length: 10 }, () => ({ value: v })) });
    });
    const beforeSlow = await settledRss(pid, 600);
    const slow = await RawConnection.connect(broker.port);
    const fetches: Buffer[] = [];
    for (let i = 1; i <= 300; i++) {
      fetches.push(
        encodeRequestFrame(ApiKey.Fetch, 12, i, 'e2e-slow', {
          replicaId: -1,
          maxWaitMs: 100,
          minBytes: 1,
          maxBytes: 1024 * 1024,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt((i * 7) % 70), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 * 1024 }] }],
          forgottenTopicsData: [],
          rackId: '',
        }),
      );
    }
    (slow as unknown as { socket: net.Socket }).socket.pause(); // never read
    void slow.write(Buffer.concat(fetches));
    await sleep(3_000);
    figures.slowConsumer = await settledRss(pid);
    figures.slowConsumerDelta = Math.round((figures.slowConsumer - beforeSlow) * 10) / 10;
    slow.destroy();

    console.info(`RSS figures (MiB unless noted): ${JSON.stringify(figures)}`);
    // Bounds: 1,000 idle connections cost < 40 KiB each; the flood and the slow consumer stay
    // far below what they asked for (30,000 answers ≈ 60 MiB+ of objects; ≈300 MiB of fetches).
    expect(figures.perIdleConnectionKiB).toBeLessThan(40);
    expect(figures.pipelinedDelta).toBeLessThan(60);
    expect(figures.slowConsumerDelta).toBeLessThan(120);
    await broker.stop();
  });
});
