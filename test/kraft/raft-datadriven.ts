// etcd-style data-driven test files: a command line, `----`, the expected output up to the next
// blank line. Lines starting with `#` are comments. With REWRITE=1 the expectations are
// rewritten from the actual output (review the diff before committing it).
import { readFileSync, writeFileSync } from 'node:fs';

export interface Directive {
  /** 1-based line of the command. */
  readonly line: number;
  readonly command: string;
  readonly positional: readonly string[];
  readonly args: ReadonlyMap<string, string>;
  readonly raw: string;
  readonly expected: string;
}

interface Block {
  readonly preamble: string[];
  readonly directive: Directive;
}

function parseLine(raw: string): Pick<Directive, 'command' | 'positional' | 'args'> {
  const words = raw.trim().split(/\s+/);
  const command = words[0] ?? '';
  const positional: string[] = [];
  const args = new Map<string, string>();
  for (const w of words.slice(1)) {
    const eq = w.indexOf('=');
    if (eq > 0) args.set(w.slice(0, eq), w.slice(eq + 1));
    else positional.push(w);
  }
  return { command, positional, args };
}

export function parseDataDriven(text: string, file = '<input>'): { blocks: Block[]; trailer: string[] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const blocks: Block[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('#')) {
      preamble.push(l);
      i++;
      continue;
    }
    const line = i + 1;
    if (lines[i + 1] !== '----') throw new Error(`${file}:${line}: expected ---- after the command`);
    const out: string[] = [];
    i += 2;
    while (i < lines.length && lines[i]!.trim() !== '') out.push(lines[i++]!);
    blocks.push({ preamble, directive: { line, raw: l, expected: out.join('\n'), ...parseLine(l) } });
    preamble = [];
  }
  return { blocks, trailer: preamble };
}

export interface Mismatch {
  readonly line: number;
  readonly raw: string;
  readonly expected: string;
  readonly actual: string;
}

/**
 * Runs every directive of `file` through `handle`. Returns the mismatches; with `rewrite` the
 * file is rewritten with the actual outputs instead (and no mismatch is reported).
 */
export function runDataDrivenFile(file: string, handle: (d: Directive) => string, rewrite: boolean): Mismatch[] {
  const { blocks, trailer } = parseDataDriven(readFileSync(file, 'utf8'), file);
  const mismatches: Mismatch[] = [];
  const out: string[] = [];
  for (const { preamble, directive } of blocks) {
    let actual: string;
    try {
      actual = handle(directive).trimEnd();
    } catch (err) {
      actual = `error: ${(err as Error).message}`;
    }
    if (actual === '') actual = 'ok';
    if (actual.split('\n').some((l) => l.trim() === '')) throw new Error(`${file}:${directive.line}: output has a blank line`);
    if (actual !== directive.expected) mismatches.push({ line: directive.line, raw: directive.raw, expected: directive.expected, actual });
    out.push(...preamble, directive.raw, '----', actual);
  }
  out.push(...trailer);
  if (rewrite) {
    writeFileSync(file, out.join('\n') + '\n');
    return [];
  }
  return mismatches;
}
