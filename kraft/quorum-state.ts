/**
 * Kafka's `quorum-state` file in the `__cluster_metadata-0` directory: the Raft hard state
 * (epoch, vote, leader) as one JSON object, as Kafka's `FileQuorumStateStore` writes it
 * (`QuorumStateData`, data_version 0, static voters):
 *
 *   {"clusterId":"","leaderId":2,"leaderEpoch":7,"votedId":-1,"appliedOffset":0,
 *    "currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}
 *
 * Written atomically: a temporary file is written and fsynced, renamed over the old one, and
 * the directory is fsynced, so a crash leaves either the old or the new state. Reading accepts
 * data_version 0 and 1 (Kafka 3.9 writes 1 with dynamic voters: no currentVoters, a
 * votedDirectoryId); unknown fields are ignored, a missing file means "no state yet", anything
 * else unreadable is a `QuorumStateError`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { HardState } from './raft/index.js';

export const QUORUM_STATE_FILE = 'quorum-state';

export class QuorumStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuorumStateError';
  }
}

function intField(o: Record<string, unknown>, name: string, file: string): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new QuorumStateError(`${file}: "${name}" is not an integer`);
  return v;
}

/** Parses the file's JSON text into a hard state. */
export function parseQuorumState(text: string, file = QUORUM_STATE_FILE): HardState {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    throw new QuorumStateError(`${file}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new QuorumStateError(`${file}: not a JSON object`);
  const rec = o as Record<string, unknown>;
  const version = rec.data_version ?? 0;
  if (version !== 0 && version !== 1) throw new QuorumStateError(`${file}: unsupported data_version ${String(version)}`);
  const epoch = intField(rec, 'leaderEpoch', file);
  const leaderId = intField(rec, 'leaderId', file);
  const votedId = intField(rec, 'votedId', file);
  if (epoch < 0) throw new QuorumStateError(`${file}: negative leaderEpoch ${epoch}`);
  return { epoch, leaderId: leaderId < 0 ? null : leaderId, votedId: votedId < 0 ? null : votedId };
}

export function formatQuorumState(hs: HardState, voters: readonly number[]): string {
  return JSON.stringify({
    clusterId: '',
    leaderId: hs.leaderId ?? -1,
    leaderEpoch: hs.epoch,
    votedId: hs.votedId ?? -1,
    appliedOffset: 0,
    currentVoters: voters.map((voterId) => ({ voterId })),
    data_version: 0,
  });
}

/** The stored hard state, or null when the file does not exist yet. */
export async function readQuorumState(dir: string): Promise<HardState | null> {
  const file = path.join(dir, QUORUM_STATE_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new QuorumStateError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseQuorumState(text, file);
}

/** Replaces the file atomically (write temp, fsync, rename, fsync the directory). */
export async function writeQuorumState(dir: string, hs: HardState, voters: readonly number[]): Promise<void> {
  await writeFileAtomically(dir, QUORUM_STATE_FILE, formatQuorumState(hs, voters));
}

/** Writes `name` in `dir` atomically and durably. */
export async function writeFileAtomically(dir: string, name: string, data: string | Uint8Array): Promise<void> {
  const target = path.join(dir, name);
  const tmp = `${target}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, target);
  await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
