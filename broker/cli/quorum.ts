// `npm run quorum -- describe --bootstrap-controller <host:port>[,<host:port>...] [--replication]`
//
// Prints the metadata quorum as the leader reports it (DescribeQuorum, key 55), like Kafka's
// `kafka-metadata-quorum.sh describe --status --replication`: leader id and epoch, high
// watermark, the largest follower lag, then one line per voter and observer with its log end
// offset, its lag behind the high watermark and when it last fetched. Offsets are metadata log
// entry offsets. A controller that does not lead answers NOT_LEADER_OR_FOLLOWER with the leader
// and the voters' endpoints; the tool then asks the leader. Exit code 0 on success, 1 if no
// controller could describe the quorum, 2 on a usage error.
import { pino } from 'pino';
import { METADATA_PARTITION, METADATA_TOPIC_NAME } from '../../kraft/metadata-log.js';
import { ApiKey } from '../../wire/generated/api.js';
import type { DescribeQuorumResponse } from '../../wire/generated/messages/describe-quorum-response.js';
import { ErrorCode } from '../../wire/errors.js';
import { PeerConnection } from '../network/client.js';

const TIMEOUT_MS = 5_000;
const logger = pino({ level: 'silent' });

interface Address {
  readonly host: string;
  readonly port: number;
}

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write('usage: npm run quorum -- describe --bootstrap-controller <host:port>[,<host:port>...] [--replication]\n');
  process.exit(2);
}

function parseAddresses(v: string): Address[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
    if (!m) usage(`not host:port: ${s}`);
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
    return { host, port: Number(m[2]) };
  });
}

async function describeAt(addr: Address): Promise<DescribeQuorumResponse> {
  const conn = new PeerConnection(addr, 'kafka-ts-quorum-cli', logger, TIMEOUT_MS);
  try {
    const versions = await conn.send(ApiKey.ApiVersions, 0, { clientSoftwareName: 'kafka-ts-quorum-cli', clientSoftwareVersion: '1' }, TIMEOUT_MS);
    const range = versions.apiKeys.find((k) => k.apiKey === ApiKey.DescribeQuorum);
    if (!range) throw new Error(`${addr.host}:${addr.port} does not serve DescribeQuorum (not a controller listener?)`);
    const version = Math.min(2, range.maxVersion);
    return await conn.send(
      ApiKey.DescribeQuorum,
      version,
      { topics: [{ topicName: METADATA_TOPIC_NAME, partitions: [{ partitionIndex: METADATA_PARTITION }] }] },
      TIMEOUT_MS,
    );
  } finally {
    conn.close();
  }
}

function pad(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

function when(ts: bigint | undefined, now: number): string {
  if (ts === undefined || ts < 0n) return '-';
  return `${Math.max(0, now - Number(ts))} ms ago`;
}

function print(res: DescribeQuorumResponse, from: Address, replication: boolean): void {
  const p = res.topics[0]!.partitions[0]!;
  const hw = Number(p.highWatermark);
  const now = Date.now();
  const lagOf = (leo: bigint) => (leo < 0n ? -1 : Math.max(0, hw - Number(leo)));
  const followers = p.currentVoters.filter((v) => v.replicaId !== p.leaderId);
  const maxLag = followers.reduce((m, v) => Math.max(m, lagOf(v.logEndOffset)), 0);
  const lagTimes = followers.map((v) => (v.lastCaughtUpTimestamp === undefined || v.lastCaughtUpTimestamp < 0n ? -1 : now - Number(v.lastCaughtUpTimestamp)));
  const out: string[] = [];
  out.push(`Controller:             ${from.host}:${from.port}`);
  out.push(`LeaderId:               ${p.leaderId}`);
  out.push(`LeaderEpoch:            ${p.leaderEpoch}`);
  out.push(`HighWatermark:          ${hw}`);
  out.push(`MaxFollowerLag:         ${maxLag}`);
  out.push(`MaxFollowerLagTimeMs:   ${lagTimes.length === 0 ? 0 : Math.max(...lagTimes)}`);
  out.push(`CurrentVoters:          [${p.currentVoters.map((v) => v.replicaId).join(',')}]`);
  out.push(`CurrentObservers:       [${p.observers.map((v) => v.replicaId).join(',')}]`);
  out.push('');
  out.push(`${pad('NodeId', 8)}${pad('LogEndOffset', 14)}${pad('Lag', 6)}${pad('LastFetch', 16)}${pad('LastCaughtUp', 16)}Status`);
  const row = (v: DescribeQuorumResponse['topics'][number]['partitions'][number]['currentVoters'][number], status: string) =>
    `${pad(v.replicaId, 8)}${pad(Number(v.logEndOffset), 14)}${pad(lagOf(v.logEndOffset), 6)}${pad(when(v.lastFetchTimestamp, now), 16)}${pad(when(v.lastCaughtUpTimestamp, now), 16)}${status}`;
  for (const v of p.currentVoters) out.push(row(v, v.replicaId === p.leaderId ? 'Leader' : 'Follower'));
  if (replication || p.observers.length > 0) for (const v of p.observers) out.push(row(v, 'Observer'));
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] !== 'describe') usage(args[0] === undefined ? undefined : `unknown command ${args[0]}`);
  let bootstrap: Address[] = [];
  let replication = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--bootstrap-controller' || a === '--bootstrap-controllers') bootstrap = parseAddresses(args[++i] ?? usage('missing value of --bootstrap-controller'));
    else if (a.startsWith('--bootstrap-controller=')) bootstrap = parseAddresses(a.slice(a.indexOf('=') + 1));
    else if (a === '--replication') replication = true;
    else if (a === '--status') continue;
    else usage(`unknown option ${a}`);
  }
  if (bootstrap.length === 0) usage('--bootstrap-controller is required');
  const tried = new Set<string>();
  const queue = [...bootstrap];
  const errors: string[] = [];
  while (queue.length > 0) {
    const addr = queue.shift()!;
    const key = `${addr.host}:${addr.port}`;
    if (tried.has(key)) continue;
    tried.add(key);
    let res: DescribeQuorumResponse;
    try {
      res = await describeAt(addr);
    } catch (err) {
      errors.push(`${key}: ${(err as Error).message}`);
      continue;
    }
    const p = res.topics[0]?.partitions[0];
    if (res.errorCode !== ErrorCode.NONE || p === undefined) {
      errors.push(`${key}: error ${res.errorCode} ${ErrorCode[res.errorCode] ?? ''} ${res.errorMessage ?? ''}`);
      continue;
    }
    if (p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
      const leader = (res.nodes ?? []).find((n) => n.nodeId === p.leaderId)?.listeners[0];
      errors.push(`${key}: not the leader (leader ${p.leaderId}, epoch ${p.leaderEpoch})`);
      if (leader) queue.unshift({ host: leader.host, port: leader.port });
      continue;
    }
    if (p.errorCode !== ErrorCode.NONE) {
      errors.push(`${key}: error ${p.errorCode} ${ErrorCode[p.errorCode] ?? ''}`);
      continue;
    }
    print(res, addr, replication);
    return;
  }
  process.stderr.write(`could not describe the quorum:\n  ${errors.join('\n  ')}\n`);
  process.exit(1);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
