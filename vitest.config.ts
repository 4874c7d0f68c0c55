import { defineConfig } from 'vitest/config';

// Most end-to-end files spend their time waiting on broker processes (elections, session
// timeouts, restarts), not on the CPU, so three files run side by side even on 2 cores (vitest's
// default there is one); VITEST_MAX_FORKS overrides it.
const forks = Math.max(1, Number(process.env.VITEST_MAX_FORKS ?? 3));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: forks, minForks: 1 } },
  },
});
