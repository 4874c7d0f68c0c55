// A real QuorumController on a quorum of one voter (no peers), for tests of controller operations
// that must go through proposal and commit: `startOneVoterController` waits until it is active
// and commits the seed records; `stopOneVoterControllers` (in afterEach) stops every one started.
import { RaftMetadataQuorum } from '../../kraft/raft-quorum.js';
import type { ApiMessageAndVersion } from '../../kraft/records.js';
import { BrokerConfig } from '../../broker/config.js';
import { QuorumController } from '../../broker/controller/quorum-controller.js';
import { cleanupTempDirs, logger, tempDir } from '../kraft/helpers.js';

export interface OneVoterController {
  quorum: RaftMetadataQuorum;
  controller: QuorumController;
}

const running: OneVoterController[] = [];

export async function stopOneVoterControllers(): Promise<void> {
  for (const r of running.splice(0)) {
    r.controller.stop();
    await r.quorum.close();
  }
  cleanupTempDirs();
}

export async function waitUntil(what: string, fn: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startOneVoterController(overrides: Record<string, string>, seed: readonly ApiMessageAndVersion[]): Promise<OneVoterController> {
  const clusterId = 'one-voter-test-cluster';
  const quorum = await RaftMetadataQuorum.open({
    dir: tempDir('one-voter-'),
    nodeId: 1,
    clusterId,
    voterIds: [1],
    transport: { send: () => Promise.reject(new Error('no peers')), close: () => {} },
    logger,
    clock: { nowMs: () => Date.now() },
    timing: { tickMs: 10, electionTimeoutMs: 100, fetchTimeoutMs: 200, requestTimeoutMs: 200, retryBackoffMs: 10, fetchMaxWaitMs: 20 },
    endpoint: null,
    snapshotBytes: 1 << 30,
    onFatal: (err) => {
      throw err;
    },
  });
  const controller = new QuorumController({
    nodeId: 1,
    clusterId,
    quorum,
    // Registered brokers never heartbeat here: a session that does not expire during the test.
    config: BrokerConfig.load({ overrides: { 'broker.session.timeout.ms': '600000', ...overrides } }),
    voters: [{ id: 1, address: null }],
    controllerListenerName: 'CONTROLLER',
    logger,
    nowMs: () => Date.now(),
  });
  const r = { quorum, controller };
  running.push(r);
  quorum.start();
  await waitUntil('the controller is active', () => controller.isActive() && quorum.image.metadataVersion > 0);
  await quorum.commit([...seed]);
  return r;
}

/** Stops one controller before the test ends (the others keep running until afterEach). */
export async function stopOneVoterController(r: OneVoterController): Promise<void> {
  const i = running.indexOf(r);
  if (i >= 0) running.splice(i, 1);
  r.controller.stop();
  await r.quorum.close();
}
