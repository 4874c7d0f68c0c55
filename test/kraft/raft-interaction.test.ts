// Runs the scripted interaction files in test/kraft/testdata/ (see raft-env.ts for commands).
// REWRITE=1 npx vitest run test/kraft/raft-interaction.test.ts rewrites the expectations.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDataDrivenFile } from './raft-datadriven.js';
import { RaftInteractionEnv } from './raft-env.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe('raft interaction scripts', () => {
  it('has scripts', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    it(f, () => {
      const env = new RaftInteractionEnv();
      const mismatches = runDataDrivenFile(path.join(dir, f), (d) => env.handle(d), process.env.REWRITE === '1');
      for (const m of mismatches) {
        expect(m.actual, `testdata/${f}:${m.line}: ${m.raw}`).toBe(m.expected);
      }
    });
  }
});
