import { defineConfig } from 'vitest/config';

// Integration tests share one Podman service; running files in parallel on 2 cores
// makes timings noisy without saving much, so files run one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // builds the Kubernetes harness once, before any file's time-outs start (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
