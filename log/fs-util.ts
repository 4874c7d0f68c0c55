// Promise wrappers over the callback fs API on raw file descriptors. Segments use fds (not
// FileHandle) so a roll can open the next segment synchronously, in order with queued appends,
// and because the callback API is the cheapest way into libuv's pwritev/pread.

import fs from 'node:fs';

/** Reads into `buf[offset, offset+length)` at `position`; throws on a short read. */
export async function preadInto(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await readOnce(fd, buf, offset + done, length - done, position + done);
    if (n === 0) throw Object.assign(new Error(`short read: ${done} of ${length} bytes at ${position}`), { code: 'ESHORTREAD' });
    done += n;
  }
}

function readOnce(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

export function fsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function ftruncate(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve())));
}

export function fstatSize(fd: number): Promise<{ size: number; mtimeMs: number }> {
  return new Promise((resolve, reject) =>
    fs.fstat(fd, (err, st) => (err ? reject(err) : resolve({ size: st.size, mtimeMs: st.mtimeMs }))),
  );
}

export function openFd(file: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsync a directory so renames and creations in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    await closeFd(fd);
  }
}

/** Unlinks a file, ignoring ENOENT. */
export async function unlinkQuiet(file: string): Promise<void> {
  try {
    await fs.promises.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Renames a file, ignoring ENOENT; true if it existed. */
export async function renameQuiet(from: string, to: string): Promise<boolean> {
  try {
    await fs.promises.rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
