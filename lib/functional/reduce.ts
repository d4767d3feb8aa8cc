// reduce.ts — sum, mean, max/min (with indices), argmax/argmin, and sumTo (the reduction that
// undoes broadcasting in backward passes).
//
// Kernels: native/{cpu,cuda}/reduce.*, which reduce one block of adjacent dims, x viewed as
// [outer, R, inner]. Reducing separate blocks of dims (e.g. dims 0 and 2 of [3,4,5]) is done
// one block at a time, innermost first. Backward: sum/mean broadcast the gradient back with
// expand (a strided copy with stride 0); max/min scatter it to the saved index.
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, normDim, numel } from '../tensor';
import { saveForBackward, unaryOp, willRecord } from './elementwise';
import { expand } from './shape';
import { needDtype, sameDevice } from './util';

/** The sorted, distinct dims that `dim` names (all of them for null/undefined or []). */
function reducedDims(op: string, x: Tensor, dim: number | number[] | null | undefined): number[] {
  if (dim === null || dim === undefined) return x.shape.map((_, i) => i);
  const list = Array.isArray(dim) ? dim : [dim];
  if (list.length === 0) return x.shape.map((_, i) => i);
  const dims = list.map((d) => normDim(d, x.ndim));
  check(new Set(dims).size === dims.length, 'ERR_ARGUMENT', () => `${op}: dim [${list}] names a dim twice`);
  return dims.filter((d) => d < x.ndim).sort((p, q) => p - q); // a 0-d tensor accepts dim 0 / -1
}

function keptShape(shape: number[], dims: number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}
function finalShape(shape: number[], dims: number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(shape, dims) : shape.filter((_, i) => !dims.includes(i));
}

// sum (scale per element = 1) or mean over `dims`, without autograd; the result has `outShape`.
function sumRaw(x: Tensor, dims: number[], mean: boolean, outShape: number[]): Tensor {
  // Maximal runs of adjacent reduced dims, reduced innermost first.
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d) last[1] = d + 1;
    else runs.push([d, d + 1]);
  }
  if (runs.length === 0) {
    const out = empty(outShape, { device: x.device }); // nothing to reduce: a copy
    callNative(() => native.copyBuffer(out.buf, x.buf, x.numel * 4));
    return out;
  }
  let cur = x;
  let shape = [...x.shape];
  for (let k = runs.length - 1; k >= 0; k--) {
    const [s, e] = runs[k];
    const outer = numel(shape.slice(0, s)), R = numel(shape.slice(s, e)), inner = numel(shape.slice(e));
    shape = shape.map((v, i) => (i >= s && i < e ? 1 : v));
    const out = empty(k === 0 ? outShape : shape, { device: x.device });
    const src = cur;
    callNative(() => native.reduceSum(out.buf, src.buf, outer, R, inner, mean ? 1 / R : 1));
    if (cur !== x) cur.dispose();
    cur = out;
  }
  return cur;
}

function sumOrMean(op: 'sum' | 'mean', x: Tensor, dim: number | number[] | null | undefined, keepdim: boolean): Tensor {
  sameDevice(op, x);
  needDtype(op, x, 'float32');
  const dims = reducedDims(op, x, dim);
  const shape = finalShape(x.shape, dims, keepdim);
  const out = sumRaw(x, dims, op === 'mean', shape);
  const count = numel(dims.map((d) => x.shape[d]));
  return record(op, out, [x], (g) => {
    const gk = g._alias(keptShape(x.shape, dims));
    const gx = expand(gk, x.shape);
    gk.dispose();
    if (op === 'sum') return [gx];
    const scaled = unaryOp('mean', gx, 'mulScalar', 1 / count);
    gx.dispose();
    return [scaled];
  });
}

/** Sum over `dim` (a dim, a list of dims, or all when omitted); keepdim keeps them as size 1. */
export function sum(x: Tensor, dim?: number | number[] | null, keepdim = false): Tensor {
  return sumOrMean('sum', x, dim, keepdim);
}

/** Mean over `dim` (a dim, a list of dims, or all when omitted); keepdim keeps them as size 1. */
export function mean(x: Tensor, dim?: number | number[] | null, keepdim = false): Tensor {
  return sumOrMean('mean', x, dim, keepdim);
}

/**
 * g summed down to `shape`, the inverse of broadcasting `shape` up to g's shape (PyTorch's
 * sum_to_size): leading dims are summed away, dims where `shape` has 1 are summed with keepdim.
 * Returns g itself when the shapes already agree.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  check(lead >= 0, 'ERR_SHAPE', () => `sumTo: [${g.shape}] cannot be summed to [${shape}]`);
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead) dims.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) dims.push(i);
    else check(shape[i - lead] === g.shape[i], 'ERR_SHAPE', () => `sumTo: [${g.shape}] cannot be summed to [${shape}]`);
  }
  const out = sumRaw(g, dims, false, [...shape]);
  return record('sumTo', out, [g], (gg) => [expand(gg, g.shape)]);
}

export interface MaxResult {
  values: Tensor;
  indices: Tensor;
}

function extreme(op: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean,
                 wantValues: boolean): { values: Tensor | null; indices: Tensor; shape: number[] } {
  sameDevice(op, x);
  needDtype(op, x, 'float32');
  let outer: number, R: number, inner: number, shape: number[];
  if (dim === undefined) {
    [outer, R, inner] = [1, x.numel, 1];
    shape = keepdim ? x.shape.map(() => 1) : [];
  } else {
    const d = x.ndim === 0 ? 0 : normDim(dim, x.ndim);
    outer = numel(x.shape.slice(0, d));
    R = x.ndim === 0 ? 1 : x.shape[d];
    inner = numel(x.shape.slice(d + 1));
    shape = x.ndim === 0 ? [] : finalShape(x.shape, [d], keepdim);
  }
  check(R > 0 || outer * inner === 0, 'ERR_SHAPE', () => `${op}: cannot reduce an empty dim of [${x.shape}]`);
  const values = wantValues ? empty(shape, { device: x.device }) : null;
  const indices = empty(shape, { dtype: 'int32', device: x.device });
  callNative(() => native.reduceMax(values?.buf ?? null, indices.buf, x.buf, outer, R, inner, op === 'min'));
  if (values && willRecord(x)) {
    const saved = saveForBackward(indices);
    record(op, values, [x], (g) => {
      const gx = empty(x.shape, { device: x.device });
      callNative(() => native.reduceMaxBackward(gx.buf, g.buf, saved.buf, outer, R, inner));
      return [gx];
    }, [saved]);
  }
  return { values, indices, shape };
}

/**
 * max(x): the largest element (0-d). max(x, dim, keepdim?): { values, indices } along dim, the
 * index of the first maximum; NaN counts as the maximum. The gradient goes to that index (for
 * max(x) too; PyTorch spreads it evenly over ties there).
 */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): MaxResult;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | MaxResult {
  return minMax('max', x, dim, keepdim);
}

/** As max, for the smallest element. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): MaxResult;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | MaxResult {
  return minMax('min', x, dim, keepdim);
}

function minMax(op: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor | MaxResult {
  const r = extreme(op, x, dim, keepdim, true);
  if (dim === undefined) {
    r.indices.dispose();
    return r.values!;
  }
  return { values: r.values!, indices: r.indices };
}

/** Index (int32) of the first maximum along dim, or in the flattened tensor when dim is omitted. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return extreme('max', x, dim, keepdim, false).indices;
}

/** Index (int32) of the first minimum along dim, or in the flattened tensor when dim is omitted. */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return extreme('min', x, dim, keepdim, false).indices;
}
