import { defineConfig } from 'vitest/config';

// Integration tests share one Podman service; running files in parallel on 2 cores
// makes timings noisy without saving much, so files run one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
