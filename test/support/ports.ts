// Ports for the brokers the tests start. Binding port 0 hands out ports from the kernel's
// ephemeral range, which is also where every outgoing connection takes its source port: with
// several test files running side by side, a port picked that way and released for a broker to
// bind was sometimes taken in between by another test's client connection (EADDRINUSE). So ports
// come from below the ephemeral range instead, a separate block per vitest worker, each checked
// by binding it before it is handed out.
import net from 'node:net';

const FIRST_PORT = 20_000;
const BLOCK = 1_500;
const BLOCKS = 8; // 20000–31999, below Linux's default ephemeral range (32768–60999)

const worker = Math.max(0, Number(process.env.VITEST_POOL_ID ?? 1) - 1) % BLOCKS;
const blockStart = FIRST_PORT + worker * BLOCK;
// Each test file runs in a fresh process: start somewhere else in the block than the last file.
let next = Math.floor(Math.random() * BLOCK);

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that nothing listens on now, from this worker's block. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < BLOCK; tries++) {
    const port = blockStart + (next++ % BLOCK);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${blockStart}–${blockStart + BLOCK - 1}`);
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort());
  return out;
}
