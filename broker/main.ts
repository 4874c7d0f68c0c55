// Entry point: `node dist/broker/main.js [server.properties]`. Reads the properties file (if
// given) and KAFKA_* environment variables, starts the node, and shuts it down cleanly on
// SIGTERM / SIGINT.
import { pino } from 'pino';
import { BrokerConfig, ConfigError } from './config.js';
import { FAULT_INJECTION_ENV, faults } from './fault-injection.js';
import { BrokerNode } from './node.js';

async function main(): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } });
  let config: BrokerConfig;
  try {
    config = BrokerConfig.load({ file: process.argv[2], env: process.env });
  } catch (err) {
    logger.fatal({ err: err instanceof ConfigError ? err.message : err }, 'invalid configuration');
    process.exit(2);
  }
  // Test-only network partitions, off unless KAFKA_FAULT_INJECTION_FILE is set (broker/fault-injection.ts).
  faults.start(process.env[FAULT_INJECTION_ENV], logger.child({ node: config.nodeId, mod: 'fault-injection' }));
  const node = new BrokerNode(config, logger.child({ node: config.nodeId }), {
    // The metadata log cannot be written: stop at once, as Kafka halts.
    onFatal: () => process.exit(1),
  });
  try {
    await node.start();
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await node.stop().catch(() => undefined);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    node.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
