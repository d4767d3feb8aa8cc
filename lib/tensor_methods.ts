// tensor_methods.ts — PyTorch-style method sugar on Tensor (x.add(y), x.sum(-1), x.relu(), ...).
//
// Each method calls the functional op of the same name (lib/functional/*), so autograd and
// argument checks are the same either way. The methods are declared on Tensor through module
// augmentation and installed on its prototype when this file is imported (lib/index.ts does).
import { Tensor, type Dtype } from './tensor';
import * as A from './functional/activations';
import * as E from './functional/elementwise';
import { matmul } from './functional/matmul';
import * as R from './functional/reduce';
import * as S from './functional/shape';

declare module './tensor' {
  interface Tensor {
    add(other: Tensor | number): Tensor;
    sub(other: Tensor | number): Tensor;
    mul(other: Tensor | number): Tensor;
    div(other: Tensor | number): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    pow(exponent: number): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    matmul(other: Tensor): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
    eq(other: Tensor | number): Tensor;
    ne(other: Tensor | number): Tensor;
    lt(other: Tensor | number): Tensor;
    le(other: Tensor | number): Tensor;
    gt(other: Tensor | number): Tensor;
    ge(other: Tensor | number): Tensor;
    logicalNot(): Tensor;

    sum(dim?: number | number[] | null, keepdim?: boolean): Tensor;
    mean(dim?: number | number[] | null, keepdim?: boolean): Tensor;
    max(): Tensor;
    max(dim: number, keepdim?: boolean): R.MaxResult;
    min(): Tensor;
    min(dim: number, keepdim?: boolean): R.MaxResult;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;

    transpose(dim0: number, dim1: number): Tensor;
    permute(...dims: (number | number[])[]): Tensor;
    contiguous(): Tensor;
    unsqueeze(dim: number): Tensor;
    squeeze(dim?: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    expand(...sizes: (number | number[])[]): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    split(splitSizeOrSections: number | number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    indexSelect(dim: number, index: Tensor): Tensor;

    relu(): Tensor;
    gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    silu(): Tensor;

    /** A float32 copy (this tensor when it is already float32). */
    float(): Tensor;
    /** An int32 copy, truncating toward zero (this tensor when it is already int32). */
    int(): Tensor;
    /** A bool copy, true where non-zero (this tensor when it is already bool). */
    bool(): Tensor;
    /** This tensor converted to dtype (itself when it already has it). */
    toDtype(dtype: Dtype): Tensor;
  }
}

const P = Tensor.prototype;

P.add = function (this: Tensor, o: Tensor | number) { return E.add(this, o); };
P.sub = function (this: Tensor, o: Tensor | number) { return E.sub(this, o); };
P.mul = function (this: Tensor, o: Tensor | number) { return E.mul(this, o); };
P.div = function (this: Tensor, o: Tensor | number) { return E.div(this, o); };
P.neg = function (this: Tensor) { return E.neg(this); };
P.exp = function (this: Tensor) { return E.exp(this); };
P.log = function (this: Tensor) { return E.log(this); };
P.sqrt = function (this: Tensor) { return E.sqrt(this); };
P.abs = function (this: Tensor) { return E.abs(this); };
P.pow = function (this: Tensor, e: number) { return E.pow(this, e); };
P.clamp = function (this: Tensor, lo?: number | null, hi?: number | null) { return E.clamp(this, lo, hi); };
P.matmul = function (this: Tensor, o: Tensor) { return matmul(this, o); };
P.maskedFill = function (this: Tensor, mask: Tensor, value: number) { return E.maskedFill(this, mask, value); };
P.eq = function (this: Tensor, o: Tensor | number) { return E.eq(this, o); };
P.ne = function (this: Tensor, o: Tensor | number) { return E.ne(this, o); };
P.lt = function (this: Tensor, o: Tensor | number) { return E.lt(this, o); };
P.le = function (this: Tensor, o: Tensor | number) { return E.le(this, o); };
P.gt = function (this: Tensor, o: Tensor | number) { return E.gt(this, o); };
P.ge = function (this: Tensor, o: Tensor | number) { return E.ge(this, o); };
P.logicalNot = function (this: Tensor) { return E.logicalNot(this); };

P.sum = function (this: Tensor, dim?: number | number[] | null, keepdim?: boolean) { return R.sum(this, dim, keepdim); };
P.mean = function (this: Tensor, dim?: number | number[] | null, keepdim?: boolean) { return R.mean(this, dim, keepdim); };
P.max = function (this: Tensor, dim?: number, keepdim?: boolean) {
  return dim === undefined ? R.max(this) : R.max(this, dim, keepdim);
} as Tensor['max'];
P.min = function (this: Tensor, dim?: number, keepdim?: boolean) {
  return dim === undefined ? R.min(this) : R.min(this, dim, keepdim);
} as Tensor['min'];
P.argmax = function (this: Tensor, dim?: number, keepdim?: boolean) { return R.argmax(this, dim, keepdim); };
P.argmin = function (this: Tensor, dim?: number, keepdim?: boolean) { return R.argmin(this, dim, keepdim); };

P.transpose = function (this: Tensor, d0: number, d1: number) { return S.transpose(this, d0, d1); };
P.permute = function (this: Tensor, ...dims: (number | number[])[]) { return S.permute(this, dims.flat()); };
P.contiguous = function (this: Tensor) { return S.contiguous(this); };
P.unsqueeze = function (this: Tensor, dim: number) { return S.unsqueeze(this, dim); };
P.squeeze = function (this: Tensor, dim?: number) { return S.squeeze(this, dim); };
P.flatten = function (this: Tensor, s?: number, e?: number) { return S.flatten(this, s, e); };
P.expand = function (this: Tensor, ...sizes: (number | number[])[]) { return S.expand(this, sizes.flat()); };
P.narrow = function (this: Tensor, dim: number, start: number, length: number) { return S.narrow(this, dim, start, length); };
P.split = function (this: Tensor, s: number | number[], dim?: number) { return S.split(this, s, dim); };
P.chunk = function (this: Tensor, chunks: number, dim?: number) { return S.chunk(this, chunks, dim); };
P.indexSelect = function (this: Tensor, dim: number, index: Tensor) { return S.indexSelect(this, dim, index); };

P.relu = function (this: Tensor) { return A.relu(this); };
P.gelu = function (this: Tensor, opts?: { approximate?: 'none' | 'tanh' }) { return A.gelu(this, opts); };
P.sigmoid = function (this: Tensor) { return A.sigmoid(this); };
P.tanh = function (this: Tensor) { return A.tanh(this); };
P.silu = function (this: Tensor) { return A.silu(this); };

P.float = function (this: Tensor) { return E.toDtype(this, 'float32'); };
P.int = function (this: Tensor) { return E.toDtype(this, 'int32'); };
P.bool = function (this: Tensor) { return E.toDtype(this, 'bool'); };
P.toDtype = function (this: Tensor, dtype: Dtype) { return E.toDtype(this, dtype); };
