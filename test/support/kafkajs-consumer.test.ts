// RestartingConsumer (test/support/kafkajs-consumer.ts) against a stand-in for kafkajs 2.2.4's
// consumer: a retriable crash runs kafkajs's onCrash order (the instance disconnects itself, then
// `retry.restartOnFailure` decides whether kafkajs restarts it). Whatever the order of a crash,
// a restart and stop(), no instance may be in the group after stop() resolved, and kafkajs may
// never restart an instance by itself (that restart is the one disconnect() cannot cancel:
// groups-cluster.test.ts's stopped consumer that came back and took half the partitions).
import type { Consumer, ConsumerConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RestartingConsumer } from './kafkajs-consumer.js';
import { sleep } from './util.js';

const DELAY = 20;

class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

interface FakeInstance {
  readonly id: number;
  readonly config: ConsumerConfig;
  joined: boolean;
  disconnects: number;
  /** kafkajs would restart this instance itself (restartOnFailure answered true). */
  selfRestart: boolean;
  /** kafkajs's onCrash for a retriable error; `beforeDecision` runs while its own disconnect is in flight. */
  crash(beforeDecision?: () => Promise<void> | void): Promise<void>;
}

/** kafka.consumer() stand-in; `runGate` parks run() (a JoinGroup parked in a rebalance), `failConnect` fails connect(). */
function fakeKafka() {
  const instances: FakeInstance[] = [];
  const ctl = { runGate: null as Gate | null, failConnect: 0 };
  const kafka = {
    consumer(config: ConsumerConfig): Consumer {
      const inst: FakeInstance = {
        id: instances.length,
        config,
        joined: false,
        disconnects: 0,
        selfRestart: false,
        async crash(beforeDecision) {
          const disconnecting = consumer.disconnect();
          await beforeDecision?.();
          await disconnecting;
          const restart = config.retry?.restartOnFailure ? await config.retry.restartOnFailure(new Error('KafkaJSNumberOfRetriesExceeded')) : true;
          if (restart) inst.selfRestart = true;
        },
      };
      instances.push(inst);
      const consumer = {
        async connect() {
          await sleep(1);
          if (ctl.failConnect > 0) {
            ctl.failConnect--;
            throw new Error('Connection error: connect ECONNREFUSED');
          }
        },
        async subscribe() {},
        async run() {
          if (ctl.runGate) await ctl.runGate.opened;
          inst.joined = true;
        },
        async disconnect() {
          inst.disconnects++;
          await sleep(2);
          inst.joined = false;
        },
      } as unknown as Consumer;
      return consumer;
    },
  };
  return { kafka, instances, ctl };
}

function restarting(kafka: ReturnType<typeof fakeKafka>['kafka'], log: string[] = []) {
  return new RestartingConsumer({
    kafka,
    config: { groupId: 'g', retry: { retries: 3, initialRetryTime: 5 } },
    restartDelayMs: DELAY,
    start: async (c) => {
      await c.connect();
      await c.subscribe({ topics: ['t'] });
      await c.run({ eachMessage: async () => {} });
    },
    log: (l) => log.push(l),
  });
}

/** After stop(): nothing joined, nothing new created, kafkajs never restarted anything itself. */
async function expectDeadAfterStop(f: ReturnType<typeof fakeKafka>, rc: RestartingConsumer): Promise<void> {
  const count = f.instances.length;
  await sleep(DELAY * 4);
  expect(rc.stopped).toBe(true);
  expect(f.instances.length, 'no instance created after stop()').toBe(count);
  expect(f.instances.filter((i) => i.joined).map((i) => i.id), 'instances still in the group').toEqual([]);
  expect(f.instances.filter((i) => i.selfRestart).map((i) => i.id), 'instances kafkajs restarted itself').toEqual([]);
}

describe('RestartingConsumer: restarts after a crash, never after stop()', () => {
  it('a crash before stop(): a new instance after the delay (the user config kept), stopped by stop()', async () => {
    const f = fakeKafka();
    const log: string[] = [];
    const rc = restarting(f.kafka, log);
    await rc.start();
    expect(f.instances[0]!.joined).toBe(true);
    expect(f.instances[0]!.config.retry?.retries).toBe(3);
    await f.instances[0]!.crash();
    expect(f.instances.length).toBe(1);
    await sleep(DELAY * 3);
    expect(f.instances.length).toBe(2);
    expect(f.instances[1]!.joined).toBe(true);
    expect(f.instances[1]!.config.groupId).toBe('g');
    expect(rc.restarts).toBe(1);
    expect(log).toEqual(['restart #1']);
    await rc.stop();
    expect(f.instances[1]!.disconnects).toBe(1);
    await expectDeadAfterStop(f, rc);
  });

  it('stop() while the crash disconnects the instance itself (kafkajs shares that stop): no restart', async () => {
    const f = fakeKafka();
    const rc = restarting(f.kafka);
    await rc.start();
    let stopped: Promise<void> | undefined;
    await f.instances[0]!.crash(() => {
      stopped = rc.stop();
    });
    await stopped;
    await expectDeadAfterStop(f, rc);
  });

  it('stop() after the crash, before the restart is due: the restart is cancelled', async () => {
    const f = fakeKafka();
    const rc = restarting(f.kafka);
    await rc.start();
    await f.instances[0]!.crash();
    await rc.stop();
    await expectDeadAfterStop(f, rc);
    expect(f.instances.length).toBe(1);
  });

  it('stop() while a restart is joining: waits for it, then disconnects that instance', async () => {
    const f = fakeKafka();
    const rc = restarting(f.kafka);
    await rc.start();
    f.ctl.runGate = new Gate();
    await f.instances[0]!.crash();
    await sleep(DELAY * 3);
    expect(f.instances.length).toBe(2); // the restart is parked in run()
    let resolved = false;
    const stopped = rc.stop().then(() => (resolved = true));
    await sleep(DELAY);
    expect(resolved, 'stop() waits for the join in progress').toBe(false);
    f.ctl.runGate.open();
    await stopped;
    expect(f.instances[1]!.disconnects).toBeGreaterThanOrEqual(1);
    await expectDeadAfterStop(f, rc);
  });

  it('a restart whose start fails is tried again; stop() ends the retries', async () => {
    const f = fakeKafka();
    const log: string[] = [];
    const rc = restarting(f.kafka, log);
    await rc.start();
    f.ctl.failConnect = 2;
    await f.instances[0]!.crash();
    await sleep(DELAY * 6);
    expect(f.instances.length).toBe(4); // the first, two failed starts (each disconnected), one that runs
    expect(f.instances.map((i) => i.disconnects)).toEqual([1, 1, 1, 0]);
    expect(f.instances[3]!.joined).toBe(true);
    expect(log.filter((l) => l.includes('failed'))).toHaveLength(2);
    f.ctl.failConnect = 1_000;
    await f.instances[3]!.crash();
    await sleep(DELAY * 3);
    await rc.stop();
    await expectDeadAfterStop(f, rc);
  });

  it('bad orders: a crash of a superseded or stopped instance, stop() twice, start() twice or after stop(), a failing first start', async () => {
    const f = fakeKafka();
    const rc = restarting(f.kafka);
    await rc.start();
    await expect(rc.start()).rejects.toThrow(/already started/);
    await f.instances[0]!.crash();
    await sleep(DELAY * 3);
    expect(f.instances.length).toBe(2);
    // The old instance crashing again does not start a third one.
    await f.instances[0]!.crash();
    await sleep(DELAY * 3);
    expect(f.instances.length).toBe(2);
    const a = rc.stop();
    const b = rc.stop();
    expect(a).toBe(b);
    await a;
    expect(f.instances[1]!.disconnects).toBe(1);
    // A late crash of the stopped instance (its fetch loop failing after the disconnect).
    await f.instances[1]!.crash();
    await expectDeadAfterStop(f, rc);
    await expect(rc.start()).rejects.toThrow(/stopped/);

    const g = fakeKafka();
    g.ctl.failConnect = 1;
    const first = restarting(g.kafka);
    await expect(first.start()).rejects.toThrow(/ECONNREFUSED/);
    expect(g.instances[0]!.disconnects).toBe(1);
    await first.stop();
    await expectDeadAfterStop(g, first);
  });
});
