// Entry point: `node dist/broker/main.js [server.properties]`. Reads the properties file (if
// given) and KAFKA_* environment variables, starts the node, and shuts it down cleanly on
// SIGTERM / SIGINT.
import { pino } from 'pino';
import { BrokerConfig, ConfigError } from './config.js';
import { FAULT_INJECTION_ENV, faults } from './fault-injection.js';
import { startHeapGrowthPolicy } from './heap-growth.js';
import { BrokerNode } from './node.js';

async function main(): Promise<void> {
  startHeapGrowthPolicy();
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
  node = new BrokerNode(config, logger.child({ node: config.nodeId }), {
    // The metadata log cannot be written: stop at once, as Kafka halts.
    onFatal: () => process.exit(1),
    // Every log dir failed (issue 8): stop (controlled shutdown moves leadership), exit 1.
    onAllLogDirsOffline: () => shutdown('all log dirs offline', 1),
  });
  try {
    await node.start();
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await node.stop().catch(() => undefined);
    process.exit(1);
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

let stopping = false;
let node: BrokerNode | null = null;
function shutdown(signal: string, exitCode = 0): void {
  if (stopping || node === null) return;
  stopping = true;
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } });
  logger.info({ signal }, 'shutting down');
  node.stop().then(
    () => process.exit(exitCode),
    (err) => {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    },
  );
}

void main();
