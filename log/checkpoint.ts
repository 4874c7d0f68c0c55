// Kafka's offset checkpoint files in each log dir: `recovery-point-offset-checkpoint`,
// `log-start-offset-checkpoint`, `replication-offset-checkpoint` (OffsetCheckpointFile).
//
// Text format, version 0:
//   0                          version
//   <count>                    number of entries
//   <topic> <partition> <offset>   one line per partition (topic names contain no spaces)
// Written atomically: `<file>.tmp` is written and fsync'ed, renamed over the file, and the
// directory is fsync'ed. A missing file reads as empty; a malformed one is an error.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDir } from './fs-util.js';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';

export interface CheckpointEntry {
  topic: string;
  partition: number;
  offset: number;
}

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

export function formatCheckpoint(entries: readonly CheckpointEntry[]): string {
  let out = `0\n${entries.length}\n`;
  for (const e of entries) out += `${e.topic} ${e.partition} ${e.offset}\n`;
  return out;
}

export function parseCheckpoint(text: string, file = 'checkpoint'): CheckpointEntry[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== '0') throw new CheckpointFormatError(`${file}: unsupported version ${JSON.stringify(lines[0])}`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== count + 2) {
    throw new CheckpointFormatError(`${file}: expected ${lines[1]} entries, found ${lines.length - 2}`);
  }
  const entries: CheckpointEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const parts = lines[i]!.split(' ');
    const partition = Number(parts[1]);
    const offset = Number(parts[2]);
    if (parts.length !== 3 || parts[0] === '' || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) {
      throw new CheckpointFormatError(`${file}: malformed line ${i + 1}: ${JSON.stringify(lines[i])}`);
    }
    entries.push({ topic: parts[0]!, partition, offset });
  }
  return entries;
}

/** Reads a checkpoint file; [] when it does not exist. */
export async function readCheckpoint(file: string): Promise<CheckpointEntry[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseCheckpoint(text, file);
}

/** Writes `content` to `file` atomically (tmp file + fsync + rename + fsync of the directory). */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = file + '.tmp';
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

export function writeCheckpoint(file: string, entries: readonly CheckpointEntry[]): Promise<void> {
  return writeFileAtomic(file, formatCheckpoint(entries));
}
