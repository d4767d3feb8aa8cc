// Two projects run the same tests: `cpu` with the real module, and `emu` with the CUDA-emulator
// flavour (atento_emu.node), in which the `cuda` device runs the CUDA kernels' own source on the
// CPU. Tests parametrised over devices() cover both kinds of kernel that way.
//   ATENTO_BINARY      the module for the `cpu` project (default: build/Release/atento.node)
//   ATENTO_EMU_BINARY  the module for the `emu` project (default: build/Release/atento_emu.node)
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const emuBinary = process.env.ATENTO_EMU_BINARY ?? 'build/Release/atento_emu.node';

export default defineConfig({
  test: {
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'cpu', include: ['test/**/*.test.ts'] } },
      ...(existsSync(emuBinary)
        ? [{ extends: true, test: { name: 'emu', include: ['test/**/*.test.ts'], exclude: ['test/**/*.cpu-only.test.ts'],
                                      env: { ATENTO_CUDA_EMULATE: '1', ATENTO_BINARY: emuBinary } } }]
        : []),
    ],
  },
});
