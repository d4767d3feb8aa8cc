import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

// float32 GEMM with K <= ~64 here: errors are a few ulps of the result's magnitude.
const TOL = { atol: 1e-5, rtol: 1e-4 };

describe.each(devices)('matmul and linear on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('matmul')) {
    it(c.name, () => {
      const grads: Record<string, at.Tensor> = {};
      const ins: Record<string, at.Tensor> = {};
      for (const [k, v] of Object.entries(c.inputs)) ins[k] = grads[k] = fromFixture(v, device, true);
      const out = c.op === 'matmul' ? at.F.matmul(ins.a, ins.b) : at.F.linear(ins.x, ins.weight, ins.bias);
      expect(out.shape).toEqual(c.outputs.out.shape);
      expectClose(out, c.outputs.out.data, { ...TOL, what: `${c.name} out` });
      out.backward(fromFixture(c.gouts.out, device));
      for (const [k, g] of Object.entries(c.grads)) expectClose(ins[k].grad!, g.data, { ...TOL, what: `${c.name} grad ${k}` });
    });
  }

  it('gradients are zeros, not leftover memory, when a size is 0', () => {
    // Freed buffers are handed out again with their old values (cpu: >= 4 KiB): leave one of a's
    // size holding 7s, then ask for a's gradient through a product with no columns.
    at.full([64, 32], 7, { device }).dispose();
    const a = at.randn([64, 32], { device, requiresGrad: true }), b = at.randn([32, 0], { device, requiresGrad: true });
    const out = at.F.matmul(a, b);
    expect(out.shape).toEqual([64, 0]);
    out.sum().backward();
    expect(a.grad!.dataSync().every((v) => v === 0)).toBe(true);
    expect(b.grad!.shape).toEqual([32, 0]);
  });

  it('checks shapes, dtypes and devices', () => {
    expectCode(() => at.matmul(at.zeros([2, 3], { device }), at.zeros([4, 5], { device })), 'ERR_SHAPE');
    expectCode(() => at.matmul(at.zeros([2, 2, 3], { device }), at.zeros([3, 3, 5], { device })), 'ERR_SHAPE');
    expectCode(() => at.matmul(at.zeros([2, 2], { device, dtype: 'int32' }), at.zeros([2, 2], { device })), 'ERR_DTYPE');
    expectCode(() => at.F.linear(at.zeros([2, 3], { device }), at.zeros([4, 5], { device })), 'ERR_SHAPE');
    if (device === 'cuda') expectCode(() => at.matmul(at.zeros([2, 2], { device }), at.zeros([2, 2], { device: 'cpu' })), 'ERR_DEVICE');
  });
});

describe('native gemm guards its buffers', () => {
  it('rejects sizes larger than the buffers instead of reading out of bounds', () => {
    const small = new Float32Array(4);
    expectCode(() => native.gemm(small, small, small, false, false, 100, 100, 100, 0, 0, 1, 1, 0), 'ERR_SHAPE');
    expectCode(() => native.gemm(small, new Int32Array(4), small, false, false, 2, 2, 2, 0, 0, 1, 1, 0), 'ERR_DTYPE');
    expectCode(() => native.gemm(small, {}, small, false, false, 2, 2, 2, 0, 0, 1, 1, 0), 'ERR_ARGUMENT');
    expectCode(() => native.gemm(small, small, small, false, false, 2.5, 2, 2, 0, 0, 1, 1, 0), 'ERR_ARGUMENT');
  });
});
