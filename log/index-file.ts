// Shared file handling of the two sparse index files (.index and .timeindex): they are kept in
// memory and persisted by appending the entries added since the last persist (or rewriting the
// file after a truncation), then fsync'ed. Kafka preallocates and mmaps them; we don't need to.

import { promises as fsp } from 'node:fs';

/** Reads a whole index file; null if it does not exist. */
export async function readIndexFile(file: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Appends `bytes` (or replaces the file with them when `rewrite`), then fsyncs it. */
export async function writeIndexFile(file: string, bytes: Buffer, rewrite: boolean): Promise<void> {
  const fh = await fsp.open(file, rewrite ? 'w' : 'a');
  try {
    if (bytes.length > 0) await fh.write(bytes, 0, bytes.length);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
