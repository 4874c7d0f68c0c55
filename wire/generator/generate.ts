/**
 * Generates `wire/generated/` from Apache Kafka's JSON message definitions in
 * `<repo>/../shared/kafka-protocol` (override with KAFKA_PROTOCOL_DIR).
 *
 *   npm run gen      # build, then node dist/wire/generator/generate.js
 *
 * The output is deterministic: sorted inputs, no timestamps. A test regenerates it in memory
 * and fails on any difference from the committed files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateMessageModule } from './codegen.js';
import { generateApiIndex, generateCoordinatorIndex, generateMetadataIndex } from './indexes.js';
import { kebabCase, loadMessages, type MessageSpec } from './schema.js';

/** Where generated files go, relative to the repository root. */
export const GENERATED_DIR = 'wire/generated';

/** The repository root: the nearest directory above this file holding package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The Kafka protocol definitions: $KAFKA_PROTOCOL_DIR or `<repo>/../shared/kafka-protocol`. */
export function protocolDir(root = repoRoot()): string {
  return process.env['KAFKA_PROTOCOL_DIR'] ?? resolve(root, '..', 'shared', 'kafka-protocol');
}

/** Path (relative to the repository root, with `/`) of the module generated for a message. */
export function modulePath(msg: MessageSpec): string {
  return `${GENERATED_DIR}/${msg.dir}/${kebabCase(msg.name)}.ts`;
}

/** Every generated file: repository-relative path → content. */
/** Definitions from later Kafka releases that replace the shared ones (see overlays/). */
export function overlayDir(root = repoRoot()): string {
  return resolve(root, 'wire', 'generator', 'overlays');
}

export function generateAll(dir = protocolDir()): Map<string, string> {
  const messages = loadMessages(dir, overlayDir());
  const files = new Map<string, string>();
  for (const msg of messages) {
    const path = modulePath(msg);
    if (files.has(path)) throw new Error(`two definitions generate ${path}`);
    files.set(path, generateMessageModule(msg));
  }
  files.set(`${GENERATED_DIR}/api.ts`, generateApiIndex(messages));
  files.set(`${GENERATED_DIR}/metadata/index.ts`, generateMetadataIndex(messages));
  files.set(`${GENERATED_DIR}/coordinator/index.ts`, generateCoordinatorIndex(messages));
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every `.ts` file currently under `wire/generated`, repository-relative. */
export function existingGeneratedFiles(root = repoRoot()): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(join(root, GENERATED_DIR));
  return out;
}

/** Writes the generated files (only those that changed) and deletes stale ones. */
export function writeGenerated(root = repoRoot(), dir = protocolDir(root)): { written: number; deleted: number; total: number } {
  const files = generateAll(dir);
  let written = 0;
  let deleted = 0;
  for (const [path, content] of files) {
    const abs = join(root, path);
    if (existsSync(abs) && readFileSync(abs, 'utf8') === content) continue;
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    written++;
  }
  for (const path of existingGeneratedFiles(root)) {
    if (!files.has(path)) {
      rmSync(join(root, path));
      deleted++;
    }
  }
  return { written, deleted, total: files.size };
}

function main(): void {
  const root = repoRoot();
  const dir = protocolDir(root);
  if (!existsSync(dir)) {
    process.stderr.write(`Kafka protocol definitions not found at ${dir}\n`);
    process.exit(1);
  }
  const { written, deleted, total } = writeGenerated(root, dir);
  process.stdout.write(`${GENERATED_DIR}: ${total} files, ${written} written, ${deleted} deleted (from ${dir})\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main();
}
