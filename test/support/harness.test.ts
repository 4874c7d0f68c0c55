// Self-test of the e2e harness against a stand-in process (test/support/fake-broker.mjs), so
// the harness is known to work independently of the real broker.

import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, stopAllBrokers } from './broker.js';
import { probeApiVersions, RawConnection } from './raw-client.js';

const entry = path.join(REPO_ROOT, 'test', 'support', 'fake-broker.mjs');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('e2e harness (against a stand-in process)', () => {
  it('starts on a free port with env mapped, waits for ApiVersions, captures output, stops with SIGTERM', async () => {
    const b = await startBroker({ entry, env: { KAFKA_NUM_PARTITIONS: '5', FAKE_READY_DELAY_MS: '300' } });
    expect(b.bootstrap).toBe(`127.0.0.1:${b.port}`);
    expect((await probeApiVersions(b.port)).apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
    expect(b.output()).toContain('"msg":"listening"');
    expect(b.output()).toContain('KAFKA_LISTENERS');
    expect(b.output()).toContain('KAFKA_NUM_PARTITIONS');
    await b.stop();
    expect(b.exitStatus()).toEqual({ code: 0, signal: null });
    expect(b.output()).toContain('SIGTERM received');
    expect(await portOpen(b.port)).toBe(false);
  });

  it('kill9 then restart reuses the same port and data dir', async () => {
    const b = await startBroker({ entry });
    const pid = b.pid;
    await b.kill9();
    expect(b.exitStatus()?.signal).toBe('SIGKILL');
    await b.restart();
    expect(b.pid).not.toBe(pid);
    expect(await readFile(path.join(b.dataDir, 'starts'), 'utf8')).toBe('2');
    const c = await RawConnection.connect(b.port);
    c.destroy();
    await b.restart(); // restart while running = stop + start
    expect(await readFile(path.join(b.dataDir, 'starts'), 'utf8')).toBe('3');
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
    const b = await startBroker({ entry, env: { FAKE_IGNORE_SIGTERM: '1' }, stopGraceMs: 500 });
    const t0 = Date.now();
    await b.stop();
    expect(b.exitStatus()?.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('reports a process that exits before it is ready, with its output', async () => {
    await expect(startBroker({ entry, env: { FAKE_EXIT_EARLY: '1' } })).rejects.toThrow(/exited before becoming ready[\s\S]*exiting early on purpose/);
  });

  it('gives up after the readiness timeout and kills the process', async () => {
    await expect(startBroker({ entry, env: { FAKE_READY_DELAY_MS: '60000' }, readyTimeoutMs: 1_500 })).rejects.toThrow(/not ready within 1500 ms/);
  });

  it('stopAllBrokers stops everything still running', async () => {
    const b = await startBroker({ entry });
    await stopAllBrokers();
    expect(b.exitStatus()).toBeDefined();
    expect(await portOpen(b.port)).toBe(false);
  });
});
