import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as at from '../lib';

describe('info()', () => {
  it('reports the build and the devices', () => {
    const i = at.info();
    // Say plainly, once per project, whether any kernel ran on real CUDA hardware.
    console.log(`[atento] ${i.cuda.emulated ? 'cuda device = CPU emulator (the CUDA kernels run from their own source on the CPU)'
      : i.cuda.devices.length ? `cuda device = ${i.cuda.devices[0].name}: the GPU tests run natively`
      : `GPU tests: skipped, no usable GPU (${i.cuda.error})`}`);
    expect(i.version).toBe(require('../package.json').version);
    expect(['onednn', 'builtin']).toContain(i.blas);
    expect(i.threads).toBeGreaterThan(0);
    expect(typeof i.cuda.compiled).toBe('boolean');
    if (i.cuda.emulated) {
      expect(i.cuda.devices).toHaveLength(1);
      expect(i.defaultDevice).toBe('cuda');
    } else if (i.cuda.devices.length === 0) {
      // no GPU here: the module loads, says why, and runs on cpu
      expect(typeof i.cuda.error).toBe('string');
      expect(i.cuda.error!.length).toBeGreaterThan(0);
      expect(i.defaultDevice).toBe('cpu');
    }
    if (i.cuda.compiled && !i.cuda.emulated) expect(i.cuda.archs.some((a) => a.startsWith('sm_'))).toBe(true);
  });

  it('ATENTO_DEVICE=cpu overrides the default device, ATENTO_NUM_THREADS the pool', () => {
    const out = execFileSync(process.execPath, ['-e', "const at=require('./dist');console.log(JSON.stringify([at.info().defaultDevice, at.info().threads]))"],
                             { env: { ...process.env, ATENTO_DEVICE: 'cpu', ATENTO_NUM_THREADS: '1' }, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['cpu', 1]);
  });

  it('loads as an ES module and as CommonJS, sharing one instance', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e',
      "import * as at from 'atento'; import { createRequire } from 'node:module'; const req = createRequire(import.meta.url);" +
      "console.log(at.Tensor === req('atento').Tensor, typeof at.F.matmul)"], { encoding: 'utf8' });
    expect(out.trim()).toBe('true function');
  });
});

describe('the README example (examples/xor.mjs)', () => {
  it('runs as an ES module and learns XOR', () => {
    const out = execFileSync(process.execPath, [require('node:path').join(__dirname, '..', 'examples', 'xor.mjs')],
                             { encoding: 'utf8', env: { ...process.env, ATENTO_DEVICE: 'cpu' } });
    expect(out.trim()).toBe('XOR predictions: [ 0, 1, 1, 0 ]');
  });
});
