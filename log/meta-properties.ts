// `meta.properties` in every log dir (Kafka's MetaProperties, version 1 = KRaft):
//   #<comment line(s)>
//   version=1
//   node.id=<int>
//   cluster.id=<base64url uuid>
// Java properties syntax, `key=value` per line, '#' or '!' comments. Written atomically. A broker
// refuses to start when a dir belongs to another node or cluster.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './checkpoint.js';

export const META_PROPERTIES = 'meta.properties';

export interface MetaProperties {
  version: number;
  nodeId: number;
  clusterId: string;
  /** Any other keys found in the file (e.g. directory.id), kept as read. */
  extra?: Record<string, string>;
}

export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Reads `<dir>/meta.properties`; null if absent; throws on a malformed file. */
export async function readMetaProperties(dir: string): Promise<MetaProperties | null> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, META_PROPERTIES), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const props = parseProperties(text);
  const version = Number(props.get('version'));
  const nodeId = Number(props.get('node.id') ?? props.get('broker.id'));
  const clusterId = props.get('cluster.id');
  if (!Number.isInteger(version) || !Number.isInteger(nodeId) || clusterId === undefined || clusterId === '') {
    throw new Error(`${path.join(dir, META_PROPERTIES)}: missing or invalid version, node.id or cluster.id`);
  }
  const extra: Record<string, string> = {};
  for (const [k, v] of props) if (k !== 'version' && k !== 'node.id' && k !== 'broker.id' && k !== 'cluster.id') extra[k] = v;
  return { version, nodeId, clusterId, extra };
}

export async function writeMetaProperties(dir: string, meta: { nodeId: number; clusterId: string; extra?: Record<string, string> }): Promise<void> {
  const extra = Object.entries(meta.extra ?? {}).map(([k, v]) => `${k}=${v}\n`).join('');
  const text =
    `#\n#${new Date().toUTCString()}\n` + `node.id=${meta.nodeId}\n` + `version=1\n` + `cluster.id=${meta.clusterId}\n` + extra;
  await fsp.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, META_PROPERTIES), text);
}

/**
 * Checks every log dir's meta.properties against this node and writes it where missing.
 * Returns null when all is well, or the error message the caller logs before refusing to start.
 */
export async function ensureMetaProperties(logDirs: readonly string[], expected: { nodeId: number; clusterId: string }): Promise<string | null> {
  for (const dir of logDirs) {
    let meta: MetaProperties | null;
    try {
      meta = await readMetaProperties(dir);
    } catch (err) {
      return (err as Error).message;
    }
    if (meta === null) {
      await writeMetaProperties(dir, expected);
      continue;
    }
    if (meta.version !== 1) return `${dir}: unsupported meta.properties version ${meta.version}`;
    if (meta.nodeId !== expected.nodeId) {
      return `Stored node id ${meta.nodeId} in ${dir} doesn't match the configured node.id ${expected.nodeId}`;
    }
    if (meta.clusterId !== expected.clusterId) {
      return `Stored cluster.id ${meta.clusterId} in ${dir} doesn't match the expected cluster id ${expected.clusterId}`;
    }
  }
  return null;
}
