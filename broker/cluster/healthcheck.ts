// Container healthcheck: `node dist/broker/cluster/healthcheck.js [host:port]` (default
// 127.0.0.1:9092) exits 0 when the node answers ApiVersions, 1 otherwise (within 5 s).
import { answersApiVersions, parseHostPort } from './probe.js';

const { host, port } = parseHostPort(process.argv[2] ?? '127.0.0.1:9092');
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 5_000);
answersApiVersions(host, port, timeoutMs).then(
  (ok) => process.exit(ok ? 0 : 1),
  () => process.exit(1),
);
