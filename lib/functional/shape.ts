// shape.ts — reshape and the views made from it (unsqueeze, squeeze, flatten), and the shape
// ops that move data: transpose, permute, expand, narrow/slice, cat/stack, split/chunk,
// indexSelect.
//
// Tensors here are always contiguous, so an op that PyTorch answers with a strided view
// (transpose, permute, expand, narrow) makes a contiguous copy through one native kernel,
// stridedCopy (native/{cpu,cuda}/shape.*): dst[i . dstStrides + dstOffset] =
// src[i . srcStrides + srcOffset] over a shape; stride 0 expands, an offset selects a slice.
// contiguous(x) is x itself. Backward: the inverse copy (inverse permutation, the slice of the
// gradient, the gradient written into zeros at the slice, or sumTo for expand).
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, normDim, numel, zeros } from '../tensor';
import { saveForBackward, willRecord } from './elementwise';
import { sumTo } from './reduce';
import { needDtype, sameDevice } from './util';

/** A view with a new shape (one entry may be -1), sharing storage. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const s = [...shape];
  const unknown = s.indexOf(-1);
  if (unknown >= 0) {
    const known = numel(s.filter((_, i) => i !== unknown));
    check(known > 0 && x.numel % known === 0, 'ERR_SHAPE',
          () => `reshape: cannot infer -1 in [${shape}] from [${x.shape}]`);
    s[unknown] = x.numel / known;
  }
  check(s.every((d) => Number.isInteger(d) && d >= 0) && numel(s) === x.numel, 'ERR_SHAPE',
        () => `reshape: [${x.shape}] (${x.numel} elements) cannot become [${shape}]`);
  const out = x._alias(s);
  return record('reshape', out, [x], (g) => [g._alias(x.shape)]);
}

// --- the strided copy -----------------------------------------------------------------------------

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function copy(dst: Tensor, src: Tensor, shape: number[], dstStrides: number[], dstOffset: number,
              srcStrides: number[], srcOffset: number): void {
  if (numel(shape) === 0) return;
  callNative(() => native.stridedCopy(dst.buf, src.buf, shape, dstStrides, dstOffset, srcStrides, srcOffset));
}

// x with its dims permuted (p[i] = the source dim of output dim i), as a new dense tensor.
function permuteCopy(x: Tensor, p: number[]): Tensor {
  const xs = stridesOf(x.shape);
  const shape = p.map((d) => x.shape[d]);
  const out = empty(shape, { dtype: x.dtype, device: x.device });
  copy(out, x, shape, stridesOf(shape), 0, p.map((d) => xs[d]), 0);
  return out;
}

// Elements start, start+step, ... (count of them) along dim d, as a new dense tensor of `shape`
// (x's shape with `count` at d, or that shape with the dim dropped).
function sliceCopy(x: Tensor, d: number, start: number, count: number, step = 1, shape?: number[]): Tensor {
  const xs = stridesOf(x.shape);
  const full = x.shape.map((s, i) => (i === d ? count : s));
  const out = empty(shape ?? full, { dtype: x.dtype, device: x.device });
  copy(out, x, full, stridesOf(full), 0, xs.map((s, i) => (i === d ? s * step : s)), start * xs[d]);
  return out;
}

// Writes g (holding `count` elements along d) into gx at start, start+step, ... along d.
function sliceInto(gx: Tensor, g: Tensor, d: number, start: number, count: number, step = 1): void {
  const xs = stridesOf(gx.shape);
  const full = gx.shape.map((s, i) => (i === d ? count : s));
  copy(gx, g, full, xs.map((s, i) => (i === d ? s * step : s)), start * xs[d], stridesOf(full), 0);
}

// x broadcast to `shape` as a new dense tensor (no autograd).
function expandCopy(x: Tensor, shape: number[]): Tensor {
  const lead = shape.length - x.ndim;
  const xs = stridesOf(x.shape);
  const src = shape.map((s, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : xs[i - lead]));
  const out = empty(shape, { dtype: x.dtype, device: x.device });
  copy(out, x, shape, stridesOf(shape), 0, src, 0);
  return out;
}

// --- permutations ---------------------------------------------------------------------------------

/** x with dims d0 and d1 swapped (a copy: tensors are always contiguous). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  sameDevice('transpose', x);
  const a = normDim(dim0, x.ndim), b = normDim(dim1, x.ndim);
  const p = x.shape.map((_, i) => i);
  if (x.ndim > 0) [p[a], p[b]] = [p[b], p[a]];
  return permute(x, p);
}

/** x with its dims reordered: output dim i is input dim dims[i] (a copy). */
export function permute(x: Tensor, dims: number[]): Tensor {
  sameDevice('permute', x);
  check(Array.isArray(dims) && dims.length === x.ndim, 'ERR_ARGUMENT',
        () => `permute: dims [${dims}] must list each of the ${x.ndim} dims once`);
  const p = dims.map((d) => normDim(d, x.ndim));
  check(new Set(p).size === p.length, 'ERR_ARGUMENT', () => `permute: dims [${dims}] repeat a dim`);
  if (p.every((d, i) => d === i)) return reshape(x, x.shape);
  const out = permuteCopy(x, p);
  const inv = new Array<number>(p.length);
  p.forEach((d, i) => (inv[d] = i));
  return record('permute', out, [x], (g) => [permuteCopy(g, inv)]);
}

/** x itself: atento's tensors are always contiguous. */
export function contiguous(x: Tensor): Tensor {
  return x;
}

// --- views through reshape ------------------------------------------------------------------------

/** x with a size-1 dim inserted at dim (a view). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/** x without its size-1 dims (all of them, or only `dim` when it has size 1) (a view). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const d = normDim(dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] !== 1) return reshape(x, x.shape);
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

/** x with dims startDim..endDim merged into one (a view). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.ndim), e = normDim(endDim, x.ndim);
  check(s <= e, 'ERR_ARGUMENT', () => `flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

// --- expand ---------------------------------------------------------------------------------------

/**
 * x broadcast to `shape` (like torch.expand: new dims go in front, -1 keeps a size, only size-1
 * dims grow), as a dense copy. Backward sums the gradient back (sumTo).
 */
export function expand(x: Tensor, shape: number[]): Tensor {
  sameDevice('expand', x);
  check(Array.isArray(shape) && shape.length >= x.ndim, 'ERR_SHAPE',
        () => `expand: [${shape}] has fewer dims than the tensor [${x.shape}]`);
  const lead = shape.length - x.ndim;
  const target = shape.map((s, i) => {
    const own = i >= lead ? x.shape[i - lead] : undefined;
    if (s === -1 && own !== undefined) return own;
    check(Number.isInteger(s) && s >= 0, 'ERR_SHAPE', () => `expand: bad size ${s} in [${shape}]`);
    check(own === undefined || own === s || own === 1, 'ERR_SHAPE',
          () => `expand: [${x.shape}] cannot expand to [${shape}]`);
    return s;
  });
  if (lead === 0 && target.every((s, i) => s === x.shape[i])) return reshape(x, x.shape);
  const out = expandCopy(x, target);
  return record('expand', out, [x], (g) => [sumTo(g, x.shape)]);
}

// --- slicing --------------------------------------------------------------------------------------

/** length elements of x from start along dim (start may be negative) (a copy). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  sameDevice('narrow', x);
  check(x.ndim > 0, 'ERR_ARGUMENT', 'narrow: a 0-d tensor has no dims');
  const d = normDim(dim, x.ndim), size = x.shape[d];
  check(Number.isInteger(start) && Number.isInteger(length), 'ERR_ARGUMENT', 'narrow: start and length must be integers');
  const s = start < 0 ? start + size : start;
  check(s >= 0 && s <= size, 'ERR_INDEX', () => `narrow: start ${start} is out of range for size ${size}`);
  check(length >= 0 && s + length <= size, 'ERR_INDEX',
        () => `narrow: start ${start} + length ${length} exceeds size ${size}`);
  return sliceOp('narrow', x, d, s, length, 1);
}

/**
 * x[..., start:end:step, ...] along dim, Python-style: negative start/end count from the end,
 * both are clamped to the size, step > 0 (a copy).
 */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  sameDevice('slice', x);
  check(x.ndim > 0, 'ERR_ARGUMENT', 'slice: a 0-d tensor has no dims');
  const d = normDim(dim, x.ndim), size = x.shape[d];
  check([start, end ?? 0, step].every(Number.isInteger), 'ERR_ARGUMENT', 'slice: start, end and step must be integers');
  check(step > 0, 'ERR_ARGUMENT', () => `slice: step must be positive, got ${step}`);
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clampIdx(start), e = clampIdx(end ?? size);
  return sliceOp('slice', x, d, s, Math.max(0, Math.ceil((e - s) / step)), step);
}

function sliceOp(name: string, x: Tensor, d: number, start: number, count: number, step: number): Tensor {
  const out = sliceCopy(x, d, start, count, step);
  return record(name, out, [x], (g) => {
    const gx = zeros(x.shape, { device: x.device });
    sliceInto(gx, g, d, start, count, step);
    return [gx];
  });
}

// --- cat / stack / split --------------------------------------------------------------------------

function checkList(op: string, tensors: Tensor[]): void {
  check(Array.isArray(tensors) && tensors.length > 0 && tensors.every((t) => t instanceof Tensor), 'ERR_ARGUMENT',
        () => `${op}: expected a non-empty array of tensors`);
  sameDevice(op, ...tensors);
  for (const t of tensors) check(t.dtype === tensors[0].dtype, 'ERR_DTYPE',
                                 () => `${op}: tensors of dtypes ${tensors[0].dtype} and ${t.dtype}`);
}

/** The tensors joined along dim (sizes must agree elsewhere). */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  checkList('cat', tensors);
  const first = tensors[0];
  check(first.ndim > 0, 'ERR_SHAPE', 'cat: 0-d tensors cannot be concatenated (use stack)');
  const d = normDim(dim, first.ndim);
  for (const t of tensors)
    check(t.ndim === first.ndim && t.shape.every((s, i) => i === d || s === first.shape[i]), 'ERR_SHAPE',
          () => `cat: [${t.shape}] does not match [${first.shape}] outside dim ${d}`);
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += t.shape[d];
  }
  const shape = first.shape.map((s, i) => (i === d ? total : s));
  const out = empty(shape, { dtype: first.dtype, device: first.device });
  const os = stridesOf(shape);
  tensors.forEach((t, i) => copy(out, t, t.shape, os, offsets[i] * os[d], stridesOf(t.shape), 0));
  return record('cat', out, tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? sliceCopy(g, d, offsets[i], t.shape[d]) : null)));
}

/** The tensors (all of one shape) joined along a new dim. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  checkList('stack', tensors);
  const first = tensors[0];
  for (const t of tensors)
    check(t.ndim === first.ndim && t.shape.every((s, i) => s === first.shape[i]), 'ERR_SHAPE',
          () => `stack: [${t.shape}] differs from [${first.shape}]`);
  const d = normDim(dim, first.ndim + 1);
  const unsq = [...first.shape];
  unsq.splice(d, 0, 1);
  const shape = [...first.shape];
  shape.splice(d, 0, tensors.length);
  const out = empty(shape, { dtype: first.dtype, device: first.device });
  const os = stridesOf(shape);
  tensors.forEach((t, i) => copy(out, t, unsq, os, i * os[d], stridesOf(unsq), 0));
  return record('stack', out, tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? sliceCopy(g, d, i, 1, 1, t.shape) : null)));
}

/**
 * x cut along dim into pieces of splitSize (the last may be smaller), or of the listed sizes
 * (which must add up to the dim's size). The pieces are copies.
 */
export function split(x: Tensor, splitSizeOrSections: number | number[], dim = 0): Tensor[] {
  sameDevice('split', x);
  check(x.ndim > 0, 'ERR_ARGUMENT', 'split: a 0-d tensor has no dims');
  const d = normDim(dim, x.ndim), size = x.shape[d];
  let sizes: number[];
  if (Array.isArray(splitSizeOrSections)) {
    sizes = splitSizeOrSections;
    check(sizes.every((s) => Number.isInteger(s) && s >= 0), 'ERR_ARGUMENT', () => `split: bad sizes [${sizes}]`);
    check(sizes.reduce((p, q) => p + q, 0) === size, 'ERR_SHAPE',
          () => `split: sizes [${sizes}] do not add up to the size ${size} of dim ${d}`);
    check(sizes.length > 0, 'ERR_ARGUMENT', 'split: no sizes given');
  } else {
    const k = splitSizeOrSections;
    check(Number.isInteger(k) && (k > 0 || (k === 0 && size === 0)), 'ERR_ARGUMENT', () => `split: bad split size ${k}`);
    sizes = [];
    for (let s = 0; s < size; s += k) sizes.push(Math.min(k, size - s));
    if (sizes.length === 0) sizes.push(0);
  }
  const starts: number[] = [];
  let acc = 0;
  for (const s of sizes) {
    starts.push(acc);
    acc += s;
  }
  const pieces = sizes.map((s, i) => sliceCopy(x, d, starts[i], s));
  return record('split', pieces, [x], (gs) => {
    const gx = gs.every((g) => g) ? empty(x.shape, { device: x.device }) : zeros(x.shape, { device: x.device });
    gs.forEach((g, i) => g && sliceInto(gx, g, d, starts[i], sizes[i]));
    return [gx];
  });
}

/** x cut into `chunks` pieces of equal size along dim (the last may be smaller), as torch.chunk. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  check(Number.isInteger(chunks) && chunks > 0, 'ERR_ARGUMENT',
        () => `chunk: chunks must be a positive integer, got ${chunks}`);
  check(x.ndim > 0, 'ERR_ARGUMENT', 'chunk: a 0-d tensor has no dims');
  const size = x.shape[normDim(dim, x.ndim)];
  return split(x, Math.max(1, Math.ceil(size / chunks)), dim);
}

// --- gathers --------------------------------------------------------------------------------------

/**
 * The entries of x at `index` (int32, 1-d or 0-d) along dim, as torch.index_select. float32.
 * Indices out of range give ERR_INDEX. Backward scatter-adds into the selected rows.
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  sameDevice('indexSelect', x, index);
  needDtype('indexSelect', x, 'float32');
  needDtype('indexSelect', index, 'int32', 'index');
  check(index.ndim <= 1, 'ERR_SHAPE', () => `indexSelect: index must be 1-d, got [${index.shape}]`);
  const d = x.ndim === 0 ? 0 : normDim(dim, x.ndim);
  if (d !== 0) {
    const p = x.shape.map((_, i) => i);
    p.splice(d, 1);
    p.unshift(d); // dim d first
    const inv = x.shape.map((_, i) => (i < d ? i + 1 : i === d ? 0 : i));
    return permute(indexSelect(permute(x, p), 0, index), inv);
  }
  const V = x.ndim === 0 ? 1 : x.shape[0], C = numel(x.shape.slice(1)), N = index.numel;
  const shape = x.ndim === 0 ? (index.ndim === 0 ? [] : [N]) : [N, ...x.shape.slice(1)];
  const out = empty(shape, { device: x.device });
  callNative(() => native.embeddingForward(out.buf, index.buf, x.buf, N, V, C));
  if (!willRecord(x)) return out;
  const ids = saveForBackward(index);
  return record('indexSelect', out, [x], (g) => {
    const gx = zeros(x.shape, { device: x.device });
    callNative(() => native.embeddingBackward(gx.buf, g.buf, ids.buf, N, V, C, -1));
    return [gx];
  }, [ids]);
}
