// The test-only fault-injection hook (broker/fault-injection.ts) in-process: the fault file's
// format, polling, malformed files ignored with a warning, and a PeerConnection of an isolated
// node failing at once (and losing its open socket).
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { faults, parseFaultState } from '../../broker/fault-injection.js';
import { PeerConnection, PeerUnavailableError } from '../../broker/network/client.js';
import { ApiKey } from '../../wire/generated/api.js';
import { clearFaults, setIsolated, writeFaultFile } from '../support/faults.js';
import { sleep, waitFor } from '../support/util.js';

function captureLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    warn: (_obj: unknown, msg?: string) => void warnings.push(String(msg ?? _obj)),
    info: () => {},
    debug: () => {},
    error: () => {},
    child: () => logger,
  } as unknown as Logger;
  return { logger, warnings };
}

const dirs: string[] = [];
afterEach(async () => {
  faults.stop();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempFile(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'faults-unit-'));
  dirs.push(d);
  return path.join(d, 'faults.json');
}

describe('fault injection (test-only hook)', () => {
  it('parses the fault file', () => {
    expect(parseFaultState('{"isolated": true}')).toEqual({ isolated: true });
    expect(parseFaultState('{"isolated": false}')).toEqual({ isolated: false });
    expect(parseFaultState('{}')).toEqual({ isolated: false });
    expect(parseFaultState('  ')).toEqual({ isolated: false });
    for (const bad of ['{', '[]', 'null', '"x"', '{"isolated": "yes"}', '{"isolated": 1}']) expect(() => parseFaultState(bad), bad).toThrow();
  });

  it('is off without a file name; follows the file; a missing file is no fault; a malformed one is ignored with a warning', async () => {
    const { logger, warnings } = captureLogger();
    faults.start(undefined, logger);
    expect(faults.enabled).toBe(false);
    faults.start('', logger);
    expect(faults.enabled).toBe(false);

    const file = await tempFile();
    faults.start(file, logger);
    expect(faults.enabled).toBe(true);
    expect(faults.isolated).toBe(false);
    await setIsolated(file, true);
    expect(faults.isolated).toBe(true);
    for (const bad of ['{not json', '{"isolated": "yes"}', '[1,2]']) {
      const before = warnings.filter((w) => w.includes('malformed')).length;
      await writeFaultFile(file, bad);
      await waitFor('a warning about the malformed file', () => warnings.filter((w) => w.includes('malformed')).length === before + 1, { timeoutMs: 2_000, intervalMs: 50 });
      expect(faults.isolated, `state kept after ${bad}`).toBe(true);
    }
    // One warning per distinct content, not one per poll.
    const n = warnings.length;
    await sleep(400);
    expect(warnings.length).toBe(n);
      await setIsolated(file, false);
    expect(faults.isolated).toBe(false);
    await setIsolated(file, true);
    await clearFaults(file);
    expect(faults.isolated).toBe(false);
  });

  it('an isolated node\'s PeerConnection fails at once and its open socket is destroyed; requests to itself still go', async () => {
    const { logger } = captureLogger();
    const file = await tempFile();
    faults.start(file, logger);
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const other = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const selfPort = (other.address() as net.AddressInfo).port;
    faults.setSelf(1, 'CONTROLLER', [{ host: '127.0.0.1', port: selfPort }]);
    const peer = new PeerConnection({ host: '127.0.0.1', port }, 'broker-1-txn', logger, 1_000);
    const self = new PeerConnection({ host: '127.0.0.1', port: selfPort }, 'broker-1-txn', logger, 1_000);
    try {
      // Connected, the request parked at the silent server.
      const parked = peer.send(ApiKey.ApiVersions, 0, {} as never, 10_000).then(
        () => 'answered',
        (e: Error) => e,
      );
      await waitFor('the peer connection', () => sockets.length === 1, { timeoutMs: 3_000, intervalMs: 20 });
      const selfParked = self.send(ApiKey.ApiVersions, 0, {} as never, 1_500).then(
        () => 'answered',
        (e: Error) => e,
      );
      const t0 = Date.now();
      await setIsolated(file, true);
      const err = await parked;
      expect(err).toBeInstanceOf(PeerUnavailableError);
      expect(Date.now() - t0).toBeLessThan(2_000);
      // New requests fail without waiting for a timeout, send and sendRaw alike.
      const t1 = Date.now();
      await expect(peer.send(ApiKey.ApiVersions, 0, {} as never, 10_000)).rejects.toBeInstanceOf(PeerUnavailableError);
      await expect(peer.sendRaw(ApiKey.ApiVersions, 0, () => {}, () => 0, 10_000)).rejects.toBeInstanceOf(PeerUnavailableError);
      expect(Date.now() - t1).toBeLessThan(200);
      // The connection to its own listener is not cut (it times out at the silent server instead).
      const selfErr = await selfParked;
      expect(selfErr).not.toBeInstanceOf(PeerUnavailableError);
      await setIsolated(file, false);
      const again = peer.send(ApiKey.ApiVersions, 0, {} as never, 300).catch((e: Error) => e);
      expect((await again).constructor.name).toBe('RequestTimeoutError');
      } finally {
      peer.close();
      self.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});
