import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { devices, expectCode } from './helpers/devices';

describe.each(devices)('tensors on %s', (device) => {
  it('round-trips values, shapes and dtypes', () => {
    const t = at.tensor([[1, 2, 3], [4, 5, 6]], { device });
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe(device);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    const i = at.tensor([7, -8, 2147483647], { dtype: 'int32', device });
    expect(i.dataSync()).toBeInstanceOf(Int32Array);
    expect(i.toArray()).toEqual([7, -8, 2147483647]);
    const b = at.tensor([true, false, true], { device });
    expect(b.dtype).toBe('bool');
    expect(b.toArray()).toEqual([true, false, true]);
    expect(at.tensor(3.5, { device }).item()).toBe(3.5);
  });

  it('reads back asynchronously and moves between devices', async () => {
    const t = at.arange(0, 6, 1, { dtype: 'float32', device });
    expect(Array.from(await t.data())).toEqual([0, 1, 2, 3, 4, 5]);
    const back = t.to('cpu').to(device);
    expect(back.toArray()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('creates zeros, ones, full, arange and seeded randn', () => {
    expect(at.zeros([2, 2], { device }).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(at.ones([3], { device }).toArray()).toEqual([1, 1, 1]);
    expect(at.full([2], 7, { device }).toArray()).toEqual([7, 7]);
    expect(at.arange(5, { device }).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(at.arange(5, { device }).dtype).toBe('int32');
    expect(at.arange(0, 1, 0.25, { device }).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    const a = at.randn([1000], { seed: 42, device }).dataSync();
    const b = at.randn([1000], { seed: 42, device }).dataSync();
    expect(a).toEqual(b);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(variance - 1)).toBeLessThan(0.15);
    expect(at.randn([1000], { seed: 43, device }).dataSync()).not.toEqual(a);
  });

  it('reshape shares storage; dispose frees and later use throws ERR_DISPOSED', () => {
    const t = at.tensor([1, 2, 3, 4], { device });
    const v = t.reshape(2, -1);
    expect(v.shape).toEqual([2, 2]);
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(v.toArray()).toEqual([[1, 2], [3, 4]]); // the view keeps the storage alive
    t.dispose(); // idempotent
    expectCode(() => t.toArray(), 'ERR_DISPOSED');
    expectCode(() => at.matmul(t, t), 'ERR_DISPOSED');
    v.dispose();
    expectCode(() => v.dataSync(), 'ERR_DISPOSED');
  });

  it('supports `using` through Symbol.dispose', () => {
    let saved: at.Tensor;
    {
      const t = at.ones([2], { device });
      saved = t;
      t[Symbol.dispose]();
    }
    expect(saved.disposed).toBe(true);
  });

  it('tidy frees what the callback created, except what it returns or keeps', () => {
    let inner: at.Tensor[] = [];
    let kept!: at.Tensor;
    const result = at.tidy(() => {
      const a = at.ones([2], { device });
      const b = at.zeros([2], { device });
      kept = at.keep(at.full([1], 3, { device }));
      inner = [a, b];
      return { out: a.reshape([1, 2]) };
    });
    expect(inner.every((t) => t.disposed)).toBe(true);
    expect(result.out.toArray()).toEqual([[1, 1]]);
    expect(kept.item()).toBe(3);
    // nested scopes hand returned tensors to the outer scope
    let escaped!: at.Tensor;
    at.tidy(() => {
      escaped = at.tidy(() => at.ones([1], { device }));
      expect(escaped.disposed).toBe(false);
    });
    expect(escaped.disposed).toBe(true);
  });

  it('rejects bad input with stable codes', () => {
    expectCode(() => at.tensor([1, 2, 3], [2, 2], { device }), 'ERR_SHAPE');
    expectCode(() => at.tensor([[1, 2], [3]], { device }), 'ERR_SHAPE');
    expectCode(() => at.zeros([2, -1], { device }), 'ERR_SHAPE');
    expectCode(() => at.zeros([2], { device, dtype: 'float16' as any }), 'ERR_DTYPE');
    expectCode(() => at.tensor([1.5], { device, dtype: 'int32' }), 'ERR_DTYPE');
    expectCode(() => at.zeros([2], { device: 'tpu' as any }), 'ERR_DEVICE');
    expectCode(() => at.tensor([1, 2]).item(), 'ERR_SHAPE');
    const e = (() => { try { at.zeros([-1]); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(at.AtentoError);
    expect(e).toBeInstanceOf(Error);
  });

  // backward hands a gradient that flows to several inputs on as views of one buffer; these
  // check that nothing written in place (accumulation, clipping) leaks into another gradient.
  it('autograd: a gradient shared by several inputs stays separate where it is written', () => {
    const a = at.tensor([1, 2], { device, requiresGrad: true }), b = at.tensor([3, 4], { device, requiresGrad: true });
    at.F.add(a, b).backward(at.tensor([0.5, -1], { device }));
    at.optim.clipGradNorm([a, b], 0.5); // total norm sqrt(2.5): each grad scaled once
    const s = 0.5 / (Math.sqrt(2.5) + 1e-6);
    for (const t of [a, b]) {
      const g = t.grad!.toArray() as number[];
      expect(g[0]).toBeCloseTo(0.5 * s, 6);
      expect(g[1]).toBeCloseTo(-1 * s, 6);
    }
    // x + x (the same gradient twice into one leaf), and z + z, z = x * 3 (twice into one node)
    const x = at.tensor([1, -2], { device, requiresGrad: true });
    at.F.add(x, x).sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 2]);
    x.grad = null;
    const z = at.F.mul(x, 3);
    at.F.add(z, z).sum().backward();
    expect(x.grad!.toArray()).toEqual([6, 6]);
    // a leaf whose gradient is the caller's: the caller's tensor is not the leaf's grad
    const w = at.tensor([1, 1], { device, requiresGrad: true }), gw = at.tensor([2, 3], { device });
    w.backward(gw);
    at.optim.clipGradNorm([w], 1);
    expect(gw.toArray()).toEqual([2, 3]);
  });
});

describe('cpu buffers', () => {
  it('large new tensors start on a 64-byte boundary (a cache line, one AVX-512 vector)', () => {
    for (const n of [1024, 4097, 98304]) {
      for (const t of [at.empty([n], { device: 'cpu' }), at.zeros([n], { device: 'cpu' }), at.randn([n], { device: 'cpu' })]) {
        const arr = t.buf as Float32Array; // the storage itself (dataSync() gives a copy)
        expect(native.hostAlignOffset(arr)).toBe(0); // the data pointer, read in C++
        expect(arr.length).toBe(n);
        t.dispose();
      }
      expect(at.zeros([n], { device: 'cpu' }).dataSync().every((v) => v === 0)).toBe(true);
    }
  });

  it('disposed buffers of any size are reused, and zeros() on a reused one still gives zeros', () => {
    for (const n of [3, 64, 1000, 5000]) {
      const a = at.full([n], 7, { device: 'cpu' });
      const buf = a.buf;
      a.dispose();
      const b = at.zeros([n], { device: 'cpu' });
      expect(b.buf).toBe(buf); // the same array back from the cache
      expect(b.dataSync().every((v) => v === 0)).toBe(true);
      b.dispose();
      const c = at.ones([n], { dtype: 'int32', device: 'cpu' }); // another dtype: its own list
      expect(c.buf).not.toBe(buf);
      expect(c.dataSync().every((v) => v === 1)).toBe(true);
      c.dispose();
    }
  });
});

describe('zero-copy cpu tensors', () => {
  it('fromTypedArray shares memory with the array', () => {
    const arr = new Float32Array([1, 2, 3, 4]);
    const t = at.fromTypedArray(arr, [2, 2]);
    arr[0] = 10;
    expect(t.toArray()).toEqual([[10, 2], [3, 4]]);
    const out = at.matmul(t, t);
    expect(out.toArray()).toEqual([[106, 28], [42, 22]]);
  });
});
