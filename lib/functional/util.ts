// util.ts — argument checks shared by the functional ops.
import { check } from '../errors';
import type { Tensor } from '../tensor';

/** Throws ERR_DEVICE unless every given tensor is on one device. */
export function sameDevice(op: string, ...ts: (Tensor | null | undefined)[]): void {
  let dev: string | undefined;
  for (const t of ts) {
    if (!t) continue;
    void t.buf; // throws ERR_DISPOSED for a disposed tensor
    if (dev === undefined) dev = t.device;
    else check(t.device === dev, 'ERR_DEVICE',
               () => `${op}: tensors on ${dev} and ${t.device}; move them to one device with .to()`);
  }
}

/** Throws ERR_DTYPE unless t has dtype d. */
export function needDtype(op: string, t: Tensor, d: Tensor['dtype'], name = 'input'): void {
  check(t.dtype === d, 'ERR_DTYPE', () => `${op}: ${name} must be ${d}, got ${t.dtype}`);
}
