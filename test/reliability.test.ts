// Failure paths a host application must survive: device out of memory, no usable GPU, misuse of
// disposed tensors — each a clear AtentoError, never a crash — and signals arriving mid-kernel.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { devices, emulated } from './helpers/devices';

const dist = path.join(__dirname, '..', 'dist');
function child(script: string, env: Record<string, string>): any {
  const out = execFileSync(process.execPath, ['-e', `const at = require(${JSON.stringify(dist)});\n${script}`],
                           { encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe.runIf(emulated)('cuda failure paths (emulated device)', () => {
  it('out of device memory is ERR_OOM, and the process goes on', () => {
    const r = child(`
      let code = null;
      try { at.zeros([4 << 20], { device: 'cuda' }); } catch (e) { code = e.code; }
      const small = at.ones([1024], { device: 'cuda' });
      console.log(JSON.stringify({ code, sum: small.dataSync().reduce((a, b) => a + b, 0) }));`,
      { ATENTO_EMU_MEMORY_LIMIT: String(8 << 20) });
    expect(r).toEqual({ code: 'ERR_OOM', sum: 1024 });
  });

  it('the allocator cache is given back before an allocation fails', () => {
    const r = child(`
      // fill most of the memory, free it into the cache, then ask for a different size class
      const a = at.zeros([1500000], { device: 'cuda' }); a.dispose();
      const b = at.zeros([1600000], { device: 'cuda' });
      console.log(JSON.stringify({ ok: b.shape[0] }));`, { ATENTO_EMU_MEMORY_LIMIT: String(8 << 20) });
    expect(r).toEqual({ ok: 1600000 });
  });

  it('a CUDA build on a machine without a usable GPU loads, says why, and runs on cpu', () => {
    const r = child(`
      const i = at.info();
      let code = null;
      try { at.zeros([2], { device: 'cuda' }); } catch (e) { code = e.code; }
      const c = at.matmul(at.ones([2, 2]), at.ones([2, 2]));
      console.log(JSON.stringify({ compiled: i.cuda.compiled, devices: i.cuda.devices.length, error: i.cuda.error,
                                   def: i.defaultDevice, code, c: c.toArray() }));`,
      { ATENTO_EMU_DEVICE_ERROR: 'insufficient_driver' });
    expect(r.compiled).toBe(true);
    expect(r.devices).toBe(0);
    expect(r.error).toMatch(/driver/i);
    expect(r.def).toBe('cpu');
    expect(r.code).toBe('ERR_DEVICE');
    expect(r.c).toEqual([[2, 2], [2, 2]]);
  });
});

describe.each(devices)('misuse on %s', (device) => {
  it('every op rejects a disposed input with ERR_DISPOSED', () => {
    const x = at.randn([2, 3], { device });
    x.dispose();
    const y = at.randn([2, 3], { device });
    const ops: [string, () => unknown][] = [
      ['add', () => at.F.add(x, y)], ['mul', () => at.F.mul(y, x)], ['matmul', () => at.F.matmul(x, y.reshape([3, 2]))],
      ['relu', () => at.F.relu(x)], ['softmax', () => at.F.softmax(x, -1)], ['layerNorm', () => at.F.layerNorm(x, [3])],
      ['sum', () => at.F.sum(x)], ['transpose', () => at.F.transpose(x, 0, 1)], ['to', () => x.to('cpu')],
      ['crossEntropy', () => at.F.crossEntropy(x, at.zeros([2], { dtype: 'int32', device }))],
    ];
    for (const [name, fn] of ops) {
      let code: string | undefined;
      try { fn(); } catch (e) { code = (e as at.AtentoError).code; }
      expect(code, name).toBe('ERR_DISPOSED');
    }
  });

  it('token ids out of range are ERR_INDEX before any kernel reads them', () => {
    const w = at.randn([5, 4], { device });
    let code: string | undefined;
    try { at.F.embedding(at.tensor([0, 5], { dtype: 'int32', device }), w); } catch (e) { code = (e as at.AtentoError).code; }
    expect(code).toBe('ERR_INDEX');
    try { at.F.crossEntropy(at.randn([2, 5], { device }), at.tensor([1, -3], { dtype: 'int32', device })); code = undefined; }
    catch (e) { code = (e as at.AtentoError).code; }
    expect(code).toBe('ERR_INDEX');
  });
});

describe('signals during CPU kernels', () => {
  // V8's sampling profiler interrupts the JS thread with SIGPROF (here every 50 us). oneDNN's
  // sgemm corrupted the heap when that landed inside it (a crash within ~1 s of matmuls, before
  // native/cpu/signal_guard.h); the LSTM's packed oneDNN matmul is covered the same way.
  it('matmul and lstm under node --cpu-prof: no crash, same results as without signals', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atento-prof-'));
    try {
      const script = `const at = require(${JSON.stringify(dist)});
        const a = at.randn([128, 256], { seed: 1 }), b = at.randn([256, 256], { seed: 2 });
        const x = at.randn([8, 4, 32], { seed: 3 });
        const w = [[256, 32], [256, 64], [256], [256]].map((s, i) => at.randn(s, { seed: 4 + i }));
        const mm = () => at.matmul(a, b).dataSync().slice();
        const ls = () => at.F.lstm(x, null, ...w)[0].dataSync().slice();
        const refMm = mm(), refLs = ls();
        let mismatches = 0;
        for (let i = 0; i < 1500; i++) {
          at.tidy(() => {
            const c = mm();
            if (c.some((v, j) => v !== refMm[j])) mismatches++;
            if (i % 10 === 0 && ls().some((v, j) => v !== refLs[j])) mismatches++;
          });
        }
        console.log(JSON.stringify({ mismatches }));`;
      const out = execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir,
                                                  '-e', script],
                               { encoding: 'utf8', env: { ...process.env, ATENTO_DEVICE: 'cpu' } });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ mismatches: 0 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
