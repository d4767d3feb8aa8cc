// matmul.ts — matmul (batched, broadcasting like torch.matmul) and linear, forward and backward,
// all on the native GEMM (oneDNN on cpu, cuBLAS on cuda).
//
// a [..., M, K] @ b [..., K, N] -> [..., M, N]; leading dims broadcast; a 1-d `a` is a row
// vector and a 1-d `b` a column vector, squeezed from the result, as in PyTorch.
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, full, keep, numel, zeros } from '../tensor';
import { sameDevice } from './util';

interface Plan {
  M: number; N: number; K: number;
  batch: number[]; // broadcast batch shape
  aIndex: number[]; bIndex: number[]; // matrix index in a and b for each batch element
}

function broadcastBatch(as: number[], bs: number[], what: string): number[] {
  const n = Math.max(as.length, bs.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = as[as.length - n + i] ?? 1, y = bs[bs.length - n + i] ?? 1;
    check(x === y || x === 1 || y === 1, 'ERR_SHAPE', () => `${what}: batch dims [${as}] and [${bs}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

// For each element of the broadcast batch, the index of the matching matrix in `src` batch dims.
function batchIndices(src: number[], full: number[]): number[] {
  const total = numel(full);
  const out = new Array<number>(total);
  const pad = full.length - src.length;
  for (let flat = 0; flat < total; flat++) {
    let rem = flat, idx = 0, stride = 1;
    for (let d = full.length - 1; d >= 0; d--) {
      const coord = rem % full[d];
      rem = Math.floor(rem / full[d]);
      const s = d - pad >= 0 ? src[d - pad] : 1;
      if (s !== 1) idx += coord * stride;
      stride *= s;
    }
    out[flat] = idx;
  }
  return out;
}

function gemmCalls(C: Tensor, A: Tensor, B: Tensor, tA: boolean, tB: boolean, M: number, N: number, K: number,
                   cIdx: number[], aIdx: number[], bIdx: number[], beta: number): void {
  const count = cIdx.length;
  const affine = (idx: number[]) => {
    // idx[i] = start + i*stride for all i? Then one strided-batched call does it.
    if (count <= 1) return { ok: true, stride: 0, start: idx[0] ?? 0 };
    const stride = idx[1] - idx[0];
    for (let i = 2; i < count; i++) if (idx[i] - idx[i - 1] !== stride) return { ok: false, stride: 0, start: 0 };
    return { ok: stride >= 0, stride, start: idx[0] };
  };
  const a = affine(aIdx), b = affine(bIdx), c = affine(cIdx);
  // One call when C is written densely and A, B are affine in the batch index.
  if (a.ok && b.ok && c.ok && c.start === 0 && (c.stride === 1 || count === 1)) {
    callNative(() => native.gemm(C.buf, A.buf, B.buf, tA, tB, M, N, K, a.stride * M * K, b.stride * K * N, count, 1, beta,
                                 0, a.start * M * K, b.start * K * N));
    return;
  }
  // Otherwise one GEMM per batch element, accumulating with beta where outputs repeat.
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const cOff = cIdx[i] * M * N;
    const accumulate = beta !== 0 || seen.has(cIdx[i]);
    seen.add(cIdx[i]);
    callNative(() => native.gemm(C.buf, A.buf, B.buf, tA, tB, M, N, K, 0, 0, 1, 1, accumulate ? 1 : 0,
                                 cOff, aIdx[i] * M * K, bIdx[i] * K * N));
  }
}

function plan(a: Tensor, b: Tensor): Plan {
  const [M, K] = a.shape.slice(-2);
  const [K2, N] = b.shape.slice(-2);
  check(K === K2, 'ERR_SHAPE', () => `matmul: [${a.shape}] @ [${b.shape}]: inner sizes ${K} and ${K2} differ`);
  const aB = a.shape.slice(0, -2), bB = b.shape.slice(0, -2);
  const batch = broadcastBatch(aB, bB, 'matmul');
  return { M, N, K, batch, aIndex: batchIndices(aB, batch), bIndex: batchIndices(bB, batch) };
}

/** Matrix product with PyTorch's broadcasting rules. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  sameDevice('matmul', a, b);
  check(a.dtype === 'float32' && b.dtype === 'float32', 'ERR_DTYPE', 'matmul: float32 tensors only');
  check(a.ndim >= 1 && b.ndim >= 1, 'ERR_SHAPE', 'matmul: scalars are not matrices');
  if (a.ndim === 1 || b.ndim === 1) {
    const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
    const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
    const out = matmul(a2, b2);
    const shape = out.shape.slice();
    if (b.ndim === 1) shape.splice(shape.length - 1, 1);
    if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
    return out.reshape(shape);
  }
  const p = plan(a, b);
  const out = empty([...p.batch, p.M, p.N], { device: a.device });
  const count = numel(p.batch);
  const cIdx = Array.from({ length: count }, (_, i) => i);
  if (count && p.M && p.N) gemmCalls(out, a, b, false, false, p.M, p.N, p.K, cIdx, p.aIndex, p.bIndex, 0);
  return record('matmul', out, [a, b], (g) => {
    let ga: Tensor | null = null, gb: Tensor | null = null;
    // Gradients are written, not accumulated (beta 0: no zero fill, no read of C), whenever a GEMM
    // covers them: every matrix of a (of b) is used by some batch element, and gemmCalls adds
    // into one only when a broadcast maps a second batch element onto it. With nothing to sum
    // over (an empty batch or inner size) they are zeros.
    const covered = count > 0 && p.M > 0 && p.N > 0 && p.K > 0;
    if (a.requiresGrad) {
      // dA_i = dC_i @ B_i^T, summed where A was broadcast
      ga = covered ? empty(a.shape, { device: a.device }) : zeros(a.shape, { device: a.device });
      if (covered) gemmCalls(ga, g, b, false, true, p.M, p.K, p.N, p.aIndex, cIdx, p.bIndex, 0);
    }
    if (b.requiresGrad) {
      gb = covered ? empty(b.shape, { device: b.device }) : zeros(b.shape, { device: b.device });
      if (covered && numel(b.shape.slice(0, -2)) === 1 && p.aIndex.every((v, i) => v === i)) {
        // b shared by the whole batch (e.g. a weight): dB = A_flat^T @ dC_flat, one GEMM
        callNative(() => native.gemm(gb!.buf, a.buf, g.buf, true, false, p.K, p.N, count * p.M, 0, 0, 1, 1, 0));
      } else if (covered) {
        // dB_i = A_i^T @ dC_i, summed where B was broadcast
        gemmCalls(gb, a, g, true, false, p.K, p.N, p.M, p.bIndex, p.aIndex, cIdx, 0);
      }
    }
    return [ga, gb];
  });
}

/** y = x W^T + b, with weight [out, in] as in torch.nn.functional.linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  sameDevice('linear', x, weight, bias);
  check(weight.ndim === 2, 'ERR_SHAPE', () => `linear: weight must be [out, in], got [${weight.shape}]`);
  check(x.ndim >= 1 && x.shape[x.ndim - 1] === weight.shape[1], 'ERR_SHAPE',
        () => `linear: input [${x.shape}] does not end in in_features ${weight.shape[1]}`);
  const [O, I] = weight.shape;
  check(!bias || (bias.ndim === 1 && bias.shape[0] === O), 'ERR_SHAPE', () => `linear: bias must be [${O}]`);
  const rows = numel(x.shape.slice(0, -1));
  const out = empty([...x.shape.slice(0, -1), O], { device: x.device });
  if (rows && O) {
    if (bias) {
      // out = bias copied into every row (a strided copy with row stride 0; a K = 1 GEMM doing
      // the same took 2-3x longer on cpu), then out += x W^T (beta = 1)
      callNative(() => native.stridedCopy(out.buf, bias.buf, [rows, O], [O, 1], 0, [0, 1], 0));
    }
    callNative(() => native.gemm(out.buf, x.buf, weight.buf, false, true, rows, O, I, 0, 0, 1, 1, bias ? 1 : 0));
  }
  return record('linear', out, [x, weight, bias], (g) => {
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (x.requiresGrad) {
      gx = empty(x.shape, { device: x.device }); // dX = dY W
      callNative(() => native.gemm(gx!.buf, g.buf, weight.buf, false, false, rows, I, O, 0, 0, 1, 1, 0));
    }
    if (weight.requiresGrad) {
      gw = empty(weight.shape, { device: x.device }); // dW = dY^T X
      callNative(() => native.gemm(gw!.buf, g.buf, x.buf, true, false, O, I, rows, 0, 0, 1, 1, 0));
    }
    if (bias?.requiresGrad) {
      gb = empty([O], { device: x.device }); // db = 1^T dY
      callNative(() => native.gemm(gb!.buf, onesColumn(rows, x.device).buf, g.buf, true, false, 1, O, rows, 0, 0, 1, 1, 0));
    }
    return [gx, gw, gb];
  });
}

// A cached column of ones per device and length, used to broadcast and sum bias rows by GEMM.
const onesCache = new Map<string, Tensor>();
function onesColumn(n: number, device: Tensor['device']): Tensor {
  const key = `${device}:${n}`;
  let t = onesCache.get(key);
  if (!t || t.disposed) {
    t = keep(full([n], 1, { device }));
    if (onesCache.size > 64) onesCache.clear();
    onesCache.set(key, t);
  }
  return t;
}
