// One-shot requests to a node for tooling (the launcher's readiness, the container healthcheck):
// connect, send one request encoded with the generated codecs, decode the answer, close.
// Everything is bounded by one timeout; errors reject, nothing is retried here.
import net from 'node:net';
import { API_SPECS, ApiKey, type ApiRequests, type ApiResponses } from '../../wire/generated/api.js';
import { decodeResponseHeader, encodeRequestFrame } from '../../wire/header.js';
import { Reader } from '../../wire/primitives.js';

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export function parseHostPort(address: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.trim());
  if (m) return { host: m[1] ?? (m[2] || defaultHost), port: Number(m[3]) };
  if (/^\d+$/.test(address.trim())) return { host: defaultHost, port: Number(address) };
  throw new Error(`not a host:port address: "${address}"`);
}

/** Sends one request and resolves with the decoded response; rejects on close, error or timeout. */
export function requestOnce<K extends keyof ApiRequests & keyof ApiResponses>(
  host: string,
  port: number,
  apiKey: K,
  version: number,
  body: ApiRequests[K],
  timeoutMs = 5_000,
): Promise<ApiResponses[K]> {
  return new Promise((resolve, reject) => {
    const correlationId = 1 + Math.floor(Math.random() * 0x7ffffffe);
    const socket = net.connect({ host, port });
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, value?: ApiResponses[K]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`${API_SPECS[apiKey]?.name ?? apiKey} to ${host}:${port}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(encodeRequestFrame(apiKey, version, correlationId, 'kafka-ts-tooling', body)));
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const size = buffered.readInt32BE(0);
      if (size < 0 || size > MAX_RESPONSE_BYTES) return finish(new Error(`bad response size ${size}`));
      if (buffered.length < 4 + size) return;
      try {
        const r = new Reader(buffered.subarray(4, 4 + size));
        const got = decodeResponseHeader(r, apiKey, version);
        if (got !== correlationId) return finish(new Error(`correlation id ${got}, expected ${correlationId}`));
        finish(null, API_SPECS[apiKey]!.decodeResponse(r, version) as ApiResponses[K]);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('error', (err) => finish(new Error(`${host}:${port}: ${err.message}`)));
    socket.on('close', () => finish(new Error(`${host}:${port} closed the connection without an answer`)));
  });
}

/** True when the node answers ApiVersions v0 with no error (the container healthcheck's test). */
export async function answersApiVersions(host: string, port: number, timeoutMs = 5_000): Promise<boolean> {
  try {
    const r = await requestOnce(host, port, ApiKey.ApiVersions, 0, {}, timeoutMs);
    return r.errorCode === 0 && r.apiKeys.length > 0;
  } catch {
    return false;
  }
}

export interface QuorumSummary {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: bigint;
  voters: Array<{ id: number; logEndOffset: bigint }>;
}

/** DescribeQuorum v0 of `__cluster_metadata` at a controller listener, or the reason it failed. */
export async function describeQuorum(host: string, port: number, timeoutMs = 3_000): Promise<QuorumSummary> {
  const r = await requestOnce(host, port, ApiKey.DescribeQuorum, 0, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] }, timeoutMs);
  const p = r.topics[0]?.partitions[0];
  if (r.errorCode !== 0 || !p || p.errorCode !== 0) throw new Error(`DescribeQuorum error ${r.errorCode}/${p?.errorCode}`);
  return {
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    highWatermark: p.highWatermark,
    voters: p.currentVoters.map((v) => ({ id: v.replicaId, logEndOffset: v.logEndOffset })),
  };
}
