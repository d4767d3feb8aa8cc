// dropout.test.ts — dropout by its properties: kept fraction ~ 1-p, scaling 1/(1-p), the same
// seed gives the same mask on cpu and cuda and for any thread count, backward = mask * scale,
// p = 0 / eval is the identity, p = 1 gives zeros; argument errors.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { devices, expectCode } from './helpers/devices';

function maskOf(out: Float32Array | Int32Array | Uint8Array): boolean[] {
  return Array.from(out, (v) => v !== 0);
}

describe.each(devices)('dropout on %s', (device) => {
  it('keeps about 1-p of the elements and scales them by 1/(1-p)', () => {
    const n = 20000;
    for (const p of [0.1, 0.5, 0.9]) {
      const x = at.full([n], 2, { device });
      const out = at.dropout(x, p, true, { seed: 123 }).dataSync();
      let kept = 0;
      for (const v of out) {
        if (v !== 0) {
          kept++;
          expect(v).toBe(Math.fround(2 * Math.fround(1 / (1 - p))));
        }
      }
      // binomial: 5 standard deviations of the kept fraction
      const sd = Math.sqrt(p * (1 - p) / n);
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * sd);
    }
  });

  it('same seed, same mask; other seeds differ; the generator advances', () => {
    const x = at.ones([3, 333], { device });
    const a = maskOf(at.dropout(x, 0.5, true, { seed: 7 }).dataSync());
    const b = maskOf(at.dropout(x, 0.5, true, { seed: 7 }).dataSync());
    const c = maskOf(at.dropout(x, 0.5, true, { seed: 8 }).dataSync());
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const g1 = new at.Generator(1), g2 = new at.Generator(1);
    const m1 = maskOf(at.dropout(x, 0.5, true, { generator: g1 }).dataSync());
    expect(maskOf(at.dropout(x, 0.5, true, { generator: g2 }).dataSync())).toEqual(m1);
    expect(maskOf(at.dropout(x, 0.5, true, { generator: g1 }).dataSync())).not.toEqual(m1);
    at.manualSeed(5);
    const d1 = maskOf(at.dropout(x, 0.5).dataSync());
    at.manualSeed(5);
    expect(maskOf(at.dropout(x, 0.5).dataSync())).toEqual(d1);
  });

  it('backward is the mask times the scale', () => {
    const x = at.randn([5, 41], { seed: 2, device, requiresGrad: true });
    const out = at.dropout(x, 0.3, true, { seed: 99 });
    const g = at.randn([5, 41], { seed: 3, device });
    out.backward(g);
    const o = out.dataSync(), xv = x.dataSync(), gv = g.dataSync(), gx = x.grad!.dataSync();
    const scale = Math.fround(1 / 0.7);
    for (let i = 0; i < o.length; i++) {
      const kept = o[i] !== 0 || xv[i] === 0;
      expect(o[i]).toBe(kept ? Math.fround(xv[i] * scale) : 0);
      expect(gx[i]).toBe(kept ? Math.fround(gv[i] * scale) : 0);
    }
  });

  it('p = 0 and eval mode are the identity; p = 1 gives zeros', () => {
    const x = at.randn([4, 5], { seed: 1, device, requiresGrad: true });
    expect(at.dropout(x, 0)).toBe(x);
    expect(at.dropout(x, 0.5, false)).toBe(x);
    const z = at.dropout(x, 1);
    expect(Array.from(z.dataSync()).every((v) => v === 0)).toBe(true);
    z.sum().backward();
    expect(Array.from(x.grad!.dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('checks arguments', () => {
    const x = at.ones([3], { device });
    expectCode(() => at.dropout(x, 1.5), 'ERR_ARGUMENT');
    expectCode(() => at.dropout(x, -0.1), 'ERR_ARGUMENT');
    expectCode(() => at.dropout(x, 0.5, true, { seed: -1 }), 'ERR_ARGUMENT');
    expectCode(() => at.dropout(x, 0.5, true, { seed: 1.5 }), 'ERR_ARGUMENT');
    expectCode(() => at.dropout(at.ones([3], { device, dtype: 'int32' }), 0.5), 'ERR_DTYPE');
  });

  if (device === 'cuda') {
    it('the same seed draws the same mask on cpu and cuda', () => {
      for (const [n, seed] of [[1, 3], [1000, 42], [4097, 2 ** 40 + 5]]) {
        const c = at.dropout(at.ones([n], { device: 'cpu' }), 0.37, true, { seed }).dataSync();
        const g = at.dropout(at.ones([n], { device }), 0.37, true, { seed }).dataSync();
        expect(maskOf(g)).toEqual(maskOf(c));
      }
    });
  } else {
    it('the mask does not depend on the thread count', () => {
      const x = at.ones([200003]);
      const before = at.info().threads;
      at.setNumThreads(1);
      const one = maskOf(at.dropout(x, 0.5, true, { seed: 11 }).dataSync());
      at.setNumThreads(2);
      const two = maskOf(at.dropout(x, 0.5, true, { seed: 11 }).dataSync());
      at.setNumThreads(before);
      expect(two).toEqual(one);
    });
  }
});
