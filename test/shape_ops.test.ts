// shape_ops.test.ts — reshape, transpose, permute, contiguous, cat, split (PyTorch fixtures),
// and unsqueeze/squeeze/flatten, expand, narrow/slice, stack, chunk, indexSelect against an
// index-arithmetic reference; finite differences; int32/bool data; argument errors.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectCode, fromFixture } from './helpers/devices';
import { gradCheck } from './helpers/nn';

// Shape ops move values without arithmetic (gradients of cat/split/transpose too): exact.
const EXACT = { atol: 0, rtol: 0 };

const numel = (s: number[]) => s.reduce((p, q) => p * q, 1);
function iota(shape: number[], device: at.DeviceName, requiresGrad = false): at.Tensor {
  return at.tensor(Float32Array.from({ length: numel(shape) }, (_, i) => i), shape, { device, requiresGrad });
}
function expectExact(t: at.Tensor, want: ArrayLike<number>, what = ''): void {
  expect(Array.from(t.dataSync()), what).toEqual(Array.from(want));
}

describe.each(devices)('shape ops on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('shape_ops')) {
    it(c.name, () => {
      const a = c.attrs;
      const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, fromFixture(v, device, true)]));
      let outs: at.Tensor[];
      switch (c.op) {
        case 'reshape': outs = [ins.x.reshape(a.shape as number[])]; break;
        case 'transpose': outs = [at.transpose(ins.x, a.dim0 as number, a.dim1 as number)]; break;
        case 'permute': outs = [at.permute(ins.x, a.dims as number[])]; break;
        case 'contiguous': outs = [ins.x.permute(a.dims as number[]).contiguous()]; break;
        case 'transposeReshape':
          outs = [ins.x.transpose(a.dim0 as number, a.dim1 as number).reshape(a.shape as number[])];
          break;
        case 'cat':
          outs = [at.cat(Array.from({ length: a.n as number }, (_, i) => ins[`x${i}`]), a.dim as number)];
          break;
        case 'split': outs = at.split(ins.x, a.splitSizeOrSections as number | number[], a.dim as number); break;
        default: throw new Error(`unknown op ${c.op}`);
      }
      const names = c.op === 'split' ? outs.map((_, i) => `out${i}`) : ['out'];
      expect(outs.length).toBe(names.length);
      names.forEach((n, i) => {
        expect(outs[i].shape).toEqual(c.outputs[n].shape);
        expectExact(outs[i], c.outputs[n].data, `${c.name} ${n}`);
      });
      names.forEach((n, i) => outs[i].backward(fromFixture(c.gouts[n], device), { retainGraph: i < names.length - 1 }));
      for (const [k, g] of Object.entries(c.grads)) expectExact(ins[k].grad!, g.data, `${c.name} grad ${k}`);
    });
  }
});

describe.each(devices)('shape ops on %s', (device) => {
  it('permute matches index arithmetic, for float32, int32 and bool', () => {
    const shape = [2, 3, 4, 5, 3], dims = [4, 1, 3, 0, 2];
    const x = iota(shape, device);
    const out = at.permute(x, dims);
    expect(out.shape).toEqual(dims.map((d) => shape[d]));
    const want = new Float32Array(out.numel);
    const xs = [180, 60, 15, 3, 1];
    for (let i = 0; i < want.length; i++) {
      let rem = i, src = 0;
      for (let k = dims.length - 1; k >= 0; k--) {
        const c = rem % out.shape[k];
        rem = Math.floor(rem / out.shape[k]);
        src += c * xs[dims[k]];
      }
      want[i] = src;
    }
    expectExact(out, want);
    expectExact(at.permute(x.int(), dims), want);
    expectExact(at.permute(x.bool(), dims).int(), Array.from(want, (v) => (v ? 1 : 0)));
    expectExact(x.permute(4, 1, 3, 0, 2), want); // method with varargs
  });

  it('transpose of odd sizes and contiguous()', () => {
    const x = iota([37, 19], device);
    const t = x.transpose(0, 1);
    const d = t.dataSync();
    for (let i = 0; i < 19; i++) for (let j = 0; j < 37; j++) expect(d[i * 37 + j]).toBe(j * 19 + i);
    expect(x.contiguous()).toBe(x);
    // batched, with partial 32x32 tiles (the tiled transpose paths of both devices)
    const b = iota([3, 45, 70], device), bt = b.transpose(1, 2).dataSync();
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 70; i++)
        for (let j = 0; j < 45; j++) expect(bt[(k * 70 + i) * 45 + j]).toBe((k * 45 + j) * 70 + i);
    const bb = at.tensor(Array.from({ length: 40 * 33 }, (_, i) => i % 3 === 0), [40, 33], { device });
    const bbt = bb.transpose(0, 1).toArray() as boolean[][];
    for (let i = 0; i < 33; i++) for (let j = 0; j < 40; j++) expect(bbt[i][j]).toBe((j * 33 + i) % 3 === 0);
    expect(at.transpose(x, 1, 1).shape).toEqual([37, 19]);
  });

  it('unsqueeze, squeeze, flatten are views', () => {
    const x = iota([2, 1, 3], device);
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 1, 3]);
    expect(x.unsqueeze(-1).shape).toEqual([2, 1, 3, 1]);
    expect(x.squeeze().shape).toEqual([2, 3]);
    expect(x.squeeze(1).shape).toEqual([2, 3]);
    expect(x.squeeze(0).shape).toEqual([2, 1, 3]);
    expect(x.flatten().shape).toEqual([6]);
    expect(iota([2, 3, 4, 5], device).flatten(1, 2).shape).toEqual([2, 12, 5]);
    expect(at.tensor(3, { device }).flatten().shape).toEqual([1]);
    expectExact(x.flatten(), [0, 1, 2, 3, 4, 5]);
  });

  it('expand', () => {
    const x = at.tensor([[1], [2]], { device });
    const e = x.expand(3, 2, 4);
    expect(e.shape).toEqual([3, 2, 4]);
    expectExact(e, Array.from({ length: 24 }, (_, i) => (Math.floor(i / 4) % 2) + 1));
    expect(at.F.expand(x, [-1, 2]).toArray()).toEqual([[1, 1], [2, 2]]);
    expectCode(() => x.expand(3, 3), 'ERR_SHAPE');
    expectCode(() => x.expand(4), 'ERR_SHAPE');
  });

  it('narrow and slice', () => {
    const x = iota([4, 6], device);
    expect(at.narrow(x, 1, 2, 3).toArray()).toEqual([[2, 3, 4], [8, 9, 10], [14, 15, 16], [20, 21, 22]]);
    expect(at.narrow(x, 0, -1, 1).toArray()).toEqual([[18, 19, 20, 21, 22, 23]]);
    expect(at.F.slice(x, 1, 1, undefined, 2).toArray()).toEqual([[1, 3, 5], [7, 9, 11], [13, 15, 17], [19, 21, 23]]);
    expect(at.F.slice(x, 0, -2).shape).toEqual([2, 6]);
    expect(at.F.slice(x, 0, 5, 9).shape).toEqual([0, 6]);
    expectCode(() => at.narrow(x, 1, 4, 3), 'ERR_INDEX');
    expectCode(() => at.narrow(x, 1, 7, 0), 'ERR_INDEX');
    expectCode(() => at.F.slice(x, 1, 0, 3, 0), 'ERR_ARGUMENT');
  });

  it('cat and stack keep dtypes; split/chunk sizes', () => {
    const a = at.tensor([[1, 2]], { dtype: 'int32', device }), b = at.tensor([[3, 4], [5, 6]], { dtype: 'int32', device });
    const c = at.cat([a, b]);
    expect(c.dtype).toBe('int32');
    expect(c.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    const s = at.stack([at.tensor([1, 2], { device }), at.tensor([3, 4], { device })], 1);
    expect(s.toArray()).toEqual([[1, 3], [2, 4]]);
    const parts = at.chunk(iota([7, 2], device), 3);
    expect(parts.map((p) => p.shape)).toEqual([[3, 2], [3, 2], [1, 2]]);
    expect(at.split(iota([4], device), [1, 0, 3]).map((p) => p.shape)).toEqual([[1], [0], [3]]);
    const m = at.cat([at.tensor([true], { device }), at.tensor([false, true], { device })]);
    expect(m.toArray()).toEqual([true, false, true]);
  });

  it('indexSelect along any dim', () => {
    const x = iota([3, 4], device);
    const idx = at.tensor([2, 0, 2], { dtype: 'int32', device });
    expect(at.indexSelect(x, 0, idx).toArray()).toEqual([[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
    expect(at.indexSelect(x, 1, idx).toArray()).toEqual([[2, 0, 2], [6, 4, 6], [10, 8, 10]]);
    expectCode(() => at.indexSelect(x, 0, at.tensor([3], { dtype: 'int32', device })), 'ERR_INDEX');
    expectCode(() => at.indexSelect(x, 1, at.tensor([-1], { dtype: 'int32', device })), 'ERR_INDEX');
    expectCode(() => at.indexSelect(x, 0, at.tensor([0], { device })), 'ERR_DTYPE');
  });

  it('gradients by finite differences', () => {
    // Linear ops: finite differences are exact up to float32 rounding of the objective.
    const x = at.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 3, 4], { device, requiresGrad: true });
    const y = at.tensor(Float32Array.from({ length: 8 }, (_, i) => Math.cos(i)), [2, 1, 4], { device, requiresGrad: true });
    gradCheck(() => [at.permute(x, [2, 0, 1])], [x], { what: 'permute' });
    gradCheck(() => [x.expand(3, 2, 3, 4)], [x], { what: 'expand' });
    gradCheck(() => [at.F.slice(x, 2, 1, 4, 2)], [x], { what: 'slice' });
    gradCheck(() => [at.narrow(x, 1, 1, 2)], [x], { what: 'narrow' });
    gradCheck(() => [at.cat([x, y], 1)], [x, y], { what: 'cat' });
    gradCheck(() => [at.stack([x, x], -1)], [x], { what: 'stack' });
    gradCheck(() => at.split(x, [1, 3], 2), [x], { what: 'split' });
    gradCheck(() => [at.split(x, 2, 1)[1]], [x], { what: 'split, one piece used' });
    gradCheck(() => [at.indexSelect(x, 1, at.tensor([2, 2, 0], { dtype: 'int32', device }))], [x], { what: 'indexSelect' });
  });

  it('checks dims, shapes, dtypes and devices', () => {
    const x = at.zeros([2, 3], { device });
    expectCode(() => at.transpose(x, 0, 2), 'ERR_ARGUMENT');
    expectCode(() => at.permute(x, [0]), 'ERR_ARGUMENT');
    expectCode(() => at.permute(x, [0, 0]), 'ERR_ARGUMENT');
    expectCode(() => at.unsqueeze(x, 3), 'ERR_ARGUMENT');
    expectCode(() => at.flatten(x, 1, 0), 'ERR_ARGUMENT');
    expectCode(() => at.cat([x, at.zeros([3, 3], { device })], 1), 'ERR_SHAPE');
    expectCode(() => at.cat([x, at.zeros([2, 3, 1], { device })]), 'ERR_SHAPE');
    expectCode(() => at.cat([x, at.zeros([2, 3], { device, dtype: 'int32' })]), 'ERR_DTYPE');
    expectCode(() => at.cat([]), 'ERR_ARGUMENT');
    expectCode(() => at.stack([x, at.zeros([3, 2], { device })]), 'ERR_SHAPE');
    expectCode(() => at.split(x, [1, 1], 1), 'ERR_SHAPE');
    expectCode(() => at.split(x, 0, 1), 'ERR_ARGUMENT');
    expectCode(() => at.permute(at.zeros([1, 1, 1, 1, 1, 1, 1, 1, 2], { device }), [8, 0, 1, 2, 3, 4, 5, 6, 7]),
               'ERR_ARGUMENT'); // more than 8 dims
    if (device === 'cuda') expectCode(() => at.cat([x, at.zeros([2, 3], { device: 'cpu' })]), 'ERR_DEVICE');
  });
});

describe('native stridedCopy guards its buffers', () => {
  it('rejects copies past the buffers, mixed dtypes and racing destinations', () => {
    const f4 = new Float32Array(4);
    expectCode(() => native.stridedCopy(f4, f4, [2, 2], [2, 1], 1, [2, 1], 0), 'ERR_SHAPE');
    expectCode(() => native.stridedCopy(f4, f4, [2, 2], [2, 1], 0, [3, 1], 0), 'ERR_SHAPE');
    expectCode(() => native.stridedCopy(f4, new Int32Array(4), [4], [1], 0, [1], 0), 'ERR_DTYPE');
    expectCode(() => native.stridedCopy(f4, f4, [4], [0], 0, [1], 0), 'ERR_ARGUMENT');
    expectCode(() => native.stridedCopy(f4, f4, [4], [-1], 3, [1], 0), 'ERR_ARGUMENT');
    expectCode(() => native.stridedCopy(f4, f4, [4], [1, 1], 0, [1], 0), 'ERR_ARGUMENT');
  });
});
