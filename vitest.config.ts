// Two projects run the same tests: `cpu` with the real module, and `emu` with the CUDA-emulator
// flavour (build/Release/atento_emu.node), in which the `cuda` device runs the CUDA kernels'
// own source on the CPU. Tests parametrised over devices() cover both kernels that way.
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const emu = existsSync('build/Release/atento_emu.node');

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'cpu', include: ['test/**/*.test.ts'] } },
      ...(emu
        ? [{ extends: true, test: { name: 'emu', include: ['test/**/*.test.ts'], exclude: ['test/**/*.cpu-only.test.ts'],
                                      env: { ATENTO_CUDA_EMULATE: '1' } } }]
        : []),
    ],
  },
});
