// devices.ts — which devices a test runs on: always `cpu`, plus `cuda` when usable — a real GPU,
// or the CPU emulator of CUDA when the suite runs with ATENTO_CUDA_EMULATE=1 (the `emu` project).
import * as at from '../../lib';

export const devices: at.DeviceName[] = at.cudaAvailable() ? ['cpu', 'cuda'] : ['cpu'];
export const emulated = at.info().cuda.emulated;

/** Tensor from a fixture tensor, on a device. */
export function fromFixture(t: { dtype: at.Dtype; shape: number[]; data: Float32Array | Int32Array | Uint8Array },
                            device: at.DeviceName, requiresGrad = false): at.Tensor {
  return at.tensor(t.data, t.shape, { dtype: t.dtype, device, requiresGrad });
}

/** Largest |a - b| / (atol + rtol |b|) over all elements; <= 1 means within tolerance. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue; // also equal infinities
    const r = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** Asserts two arrays agree within atol + rtol*|expected| elementwise, with a useful message. */
export function expectClose(actual: ArrayLike<number> | at.Tensor, expected: ArrayLike<number> | at.Tensor,
                            { atol = 1e-5, rtol = 1e-4, what = '' } = {}): void {
  const a = actual instanceof at.Tensor ? actual.dataSync() : actual;
  const e = expected instanceof at.Tensor ? expected.dataSync() : expected;
  const c = closeness(a, e, atol, rtol);
  if (c > 1) {
    let idx = 0, worst = -1;
    for (let i = 0; i < Math.min(a.length, e.length); i++) {
      const r = Math.abs(a[i] - e[i]) / (atol + rtol * Math.abs(e[i]));
      if (!(r <= worst)) { worst = r; idx = i; }
    }
    throw new Error(`${what} not close: lengths ${a.length}/${e.length}, worst at [${idx}]: got ${a[idx]}, want ${e[idx]} ` +
                    `(atol ${atol}, rtol ${rtol})`);
  }
}

/** Expects fn to throw an AtentoError with `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof at.AtentoError)) throw new Error(`expected AtentoError ${code}, got ${String(e)}`);
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    return;
  }
  throw new Error(`expected AtentoError ${code}, nothing was thrown`);
}
