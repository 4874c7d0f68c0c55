// Test-only network partitions through the broker's fault-injection hook (broker/fault-injection.ts):
// a broker started with KAFKA_FAULT_INJECTION_FILE=<file> polls <file> every 100 ms; JSON
// `{"isolated": true}` cuts it off from its peers (both directions) while clients still reach it.
import { rename, rm, writeFile } from 'node:fs/promises';
import { FAULT_INJECTION_ENV } from '../../broker/fault-injection.js';
import { RawConnection } from './raw-client.js';
import { sleep } from './util.js';
import { API_SPECS, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { decodeResponseHeader, encodeRequestFrame } from '../../wire/header.js';
import { Reader } from '../../wire/primitives.js';

export { FAULT_INJECTION_ENV };

/** How long a broker may take to notice a change of its fault file (polls every 100 ms). */
export const FAULT_POLL_SLACK_MS = 400;

/** Writes the fault file atomically (temp file + rename), so the broker never reads half of it. */
export async function writeFaultFile(file: string, content: string | { isolated: boolean }): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  await rename(tmp, file);
}

/** Isolates (or heals) the broker watching `file`, then waits for it to have read the file. */
export async function setIsolated(file: string, isolated: boolean): Promise<void> {
  await writeFaultFile(file, { isolated });
  await sleep(FAULT_POLL_SLACK_MS);
}

/** Removes the fault file (= no faults). */
export async function clearFaults(file: string): Promise<void> {
  await rm(file, { force: true });
  await sleep(FAULT_POLL_SLACK_MS);
}

/**
 * One request on a fresh connection with the given client id (e.g. a peer's `broker-2-txn`):
 * the decoded response, or 'closed' when the broker closed the connection instead of answering.
 */
export async function requestAs<K extends keyof ApiRequests & keyof ApiResponses>(
  port: number,
  clientId: string,
  apiKey: K,
  version: number,
  body: ApiRequests[K],
  timeoutMs = 5_000,
): Promise<{ kind: 'closed' } | { kind: 'response'; response: ApiResponses[K] }> {
  const conn = await RawConnection.connect(port);
  try {
    const correlationId = conn.correlationId();
    await conn.write(encodeRequestFrame(apiKey, version, correlationId, clientId, body));
    const out = await conn.read(timeoutMs);
    if (out.kind === 'closed') return { kind: 'closed' };
    if (out.kind === 'timeout') throw new Error(`no answer and no close within ${timeoutMs} ms (client id ${clientId})`);
    const r = new Reader(out.payload);
    const got = decodeResponseHeader(r, apiKey, version);
    if (got !== correlationId) throw new Error(`correlation id ${got}, expected ${correlationId}`);
    return { kind: 'response', response: API_SPECS[apiKey]!.decodeResponse(r, version) as ApiResponses[K] };
  } finally {
    conn.destroy();
  }
}
