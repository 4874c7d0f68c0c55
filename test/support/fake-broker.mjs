// A stand-in process used ONLY by test/support/harness.test.ts to check the e2e harness
// (startBroker/stop/kill9/restart/output capture) without depending on the real broker.
// It answers every request frame with an ApiVersions v0 response and nothing else.
//
// Env: KAFKA_LISTENERS (port), KAFKA_LOG_DIRS (a start counter is kept there),
// FAKE_EXIT_EARLY=1 (exit with code 3 before listening), FAKE_READY_DELAY_MS (listen late),
// FAKE_IGNORE_SIGTERM=1 (never exits on SIGTERM).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const log = (msg, extra = {}) => process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg, ...extra })}\n`);
const port = Number(/:(\d+)$/.exec(process.env.KAFKA_LISTENERS ?? '')?.[1]);
const dir = process.env.KAFKA_LOG_DIRS;
if (!port || !dir) {
  log('missing KAFKA_LISTENERS or KAFKA_LOG_DIRS');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const counter = path.join(dir, 'starts');
const starts = (fs.existsSync(counter) ? Number(fs.readFileSync(counter, 'utf8')) : 0) + 1;
fs.writeFileSync(counter, String(starts));
log('fake broker starting', { starts, env: Object.keys(process.env).filter((k) => k.startsWith('KAFKA_')).sort() });

if (process.env.FAKE_EXIT_EARLY === '1') {
  log('exiting early on purpose');
  process.exit(3);
}

// ApiVersions v0 response: correlation id, error 0, [ {18, 0, 3} ].
function answer(socket, frame) {
  const corr = frame.readInt32BE(4);
  const body = Buffer.alloc(4 + 2 + 4 + 6);
  body.writeInt32BE(corr, 0);
  body.writeInt16BE(0, 4);
  body.writeInt32BE(1, 6);
  body.writeInt16BE(18, 10);
  body.writeInt16BE(0, 12);
  body.writeInt16BE(3, 14);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  socket.write(Buffer.concat([size, body]));
}

const server = net.createServer((socket) => {
  let buf = Buffer.alloc(0);
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const n = buf.readInt32BE(0);
      answer(socket, buf.subarray(4, 4 + n));
      buf = buf.subarray(4 + n);
    }
  });
});
setTimeout(() => server.listen(port, '127.0.0.1', () => log('listening', { port })), Number(process.env.FAKE_READY_DELAY_MS ?? 0));

process.on('SIGTERM', () => {
  log('SIGTERM received');
  if (process.env.FAKE_IGNORE_SIGTERM === '1') return;
  server.close();
  process.exit(0);
});
