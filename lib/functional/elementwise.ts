// elementwise.ts — arithmetic with PyTorch broadcasting (add, sub, mul, div, also with a number
// on either side), unary math (neg, exp, log, sqrt, abs, pow, clamp), where / maskedFill,
// comparisons (eq, ne, lt, le, gt, ge -> bool; logicalNot) and dtype conversions (toDtype).
//
// Kernels: native/{cpu,cuda}/elementwise.*. Binary ops run one strided-broadcast kernel over a
// coalesced layout (same-shape and row-broadcast cases become plain vector loops); their
// backward reduces the gradient to each input's shape with sumTo (lib/functional/reduce.ts).
// Ops with a number operand are unary kernels (x + a, a - x, a / x, ...). float32 only: other
// dtypes give ERR_DTYPE (convert with toDtype first).
import { isGradEnabled, record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, full, type Dtype } from '../tensor';
import { sumTo } from './reduce';
import { needDtype, sameDevice } from './util';

// Op codes of native/cpu/elementwise.h (UnaryOp, BinaryOp): keep in step.
const UNARY = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, addScalar: 5, mulScalar: 6, divScalar: 7, rsub: 8, rdiv: 9, pow: 10,
  clamp: 11, relu: 12, sigmoid: 13, tanh: 14, gelu: 15, geluTanh: 16, silu: 17,
} as const;
type UnaryName = keyof typeof UNARY;
// Ops whose backward kernel reads the output y (the others read the input x).
const FROM_OUTPUT = new Set<UnaryName>(['exp', 'sqrt', 'sigmoid', 'tanh']);
const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
type BinaryName = keyof typeof BINARY;

/** @internal Whether an op on these inputs will be recorded for autograd. */
export function willRecord(...inputs: (Tensor | null | undefined)[]): boolean {
  return isGradEnabled() && inputs.some((t) => t?.requiresGrad);
}

/** @internal A second handle on t's storage for a backward closure (disposed with the graph). */
export function saveForBackward(t: Tensor): Tensor {
  return t._alias(t.shape);
}

function needFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) needDtype(op, t, 'float32');
}

/**
 * @internal out = op(x; a, b) with its backward: the unary kernels behind math ops, scalar
 * arithmetic and activations.
 */
export function unaryOp(name: string, x: Tensor, op: UnaryName, a = 0, b = 0): Tensor {
  sameDevice(name, x);
  needFloat(name, x);
  const out = empty(x.shape, { device: x.device });
  callNative(() => native.unary(out.buf, x.buf, x.numel, UNARY[op], a, b));
  if (!willRecord(x)) return out;
  const linear: Partial<Record<UnaryName, (g: Tensor) => Tensor>> = {
    neg: (g) => unaryOp('neg', g, 'neg'),
    addScalar: (g) => g,
    mulScalar: (g) => unaryOp('mul', g, 'mulScalar', a),
    divScalar: (g) => unaryOp('div', g, 'divScalar', a),
    rsub: (g) => unaryOp('neg', g, 'neg'),
  };
  const lin = linear[op];
  if (lin) return record(name, out, [x], (g) => [lin(g)]);
  const saved = saveForBackward(FROM_OUTPUT.has(op) ? out : x);
  return record(name, out, [x], (g) => {
    const gx = empty(x.shape, { device: x.device });
    callNative(() => native.unaryBackward(gx.buf, g.buf, saved.buf, x.numel, UNARY[op], a, b));
    return [gx];
  }, [saved]);
}

/** The shape tensors of these shapes broadcast to (torch.broadcast_shapes); ERR_SHAPE if none. */
export function broadcastShapes(...shapes: readonly (readonly number[])[]): number[] {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = new Array(n).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = n - s.length + i, v = s[i];
      if (v === out[d] || v === 1) continue;
      check(out[d] === 1, 'ERR_SHAPE', () => `shapes ${shapes.map((x) => `[${x}]`).join(', ')} do not broadcast`);
      out[d] = v;
    }
  }
  return out;
}

// Disposes the intermediates of a backward that are not among `keep`.
function disposeExcept(ts: (Tensor | null)[], keep: (Tensor | null)[]): void {
  for (const t of ts) if (t && !keep.includes(t)) t.dispose();
}

function binaryOp(name: BinaryName, a: Tensor, b: Tensor): Tensor {
  sameDevice(name, a, b);
  needFloat(name, a, b);
  const shape = broadcastShapes(a.shape, b.shape);
  const out = empty(shape, { device: a.device });
  callNative(() => native.binary(out.buf, a.buf, b.buf, BINARY[name], shape, a.shape, b.shape));
  if (!willRecord(a, b)) return out;
  const sa = saveForBackward(a), sb = saveForBackward(b);
  return record(name, out, [a, b], (g) => {
    const needA = a.requiresGrad, needB = b.requiresGrad;
    let ga: Tensor | null = null, gb: Tensor | null = null;
    const tmp: (Tensor | null)[] = [];
    if (name === 'add' || name === 'sub') {
      if (needA) ga = sumTo(g, a.shape);
      if (needB) {
        gb = sumTo(g, b.shape);
        if (name === 'sub') {
          tmp.push(gb);
          gb = unaryOp('neg', gb, 'neg');
        }
      }
    } else if (name === 'mul') {
      if (needA) {
        const t = mul(g, sb);
        tmp.push(t);
        ga = sumTo(t, a.shape);
      }
      if (needB) {
        const t = mul(g, sa);
        tmp.push(t);
        gb = sumTo(t, b.shape);
      }
    } else {
      // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -(g/b) * a / b
      const q = div(g, sb);
      tmp.push(q);
      if (needA) ga = sumTo(q, a.shape);
      if (needB) {
        const m = mul(q, sa), t = div(m, sb), s = sumTo(t, b.shape);
        tmp.push(m, t, s);
        gb = unaryOp('neg', s, 'neg');
      }
    }
    disposeExcept(tmp, [ga, gb, g]);
    return [ga, gb];
  }, [sa, sb]);
}

function scalarOperand(op: string, v: unknown): number {
  check(typeof v === 'number', 'ERR_ARGUMENT', () => `${op}: operands must be tensors or numbers`);
  return v as number;
}

/** a + b with broadcasting; either side may be a number. */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryOp('add', a, b);
  if (a instanceof Tensor) return unaryOp('add', a, 'addScalar', scalarOperand('add', b));
  check(b instanceof Tensor, 'ERR_ARGUMENT', 'add: at least one operand must be a tensor');
  return unaryOp('add', b, 'addScalar', scalarOperand('add', a));
}

/** a - b with broadcasting; either side may be a number. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryOp('sub', a, b);
  if (a instanceof Tensor) return unaryOp('sub', a, 'addScalar', -scalarOperand('sub', b));
  check(b instanceof Tensor, 'ERR_ARGUMENT', 'sub: at least one operand must be a tensor');
  return unaryOp('sub', b, 'rsub', scalarOperand('sub', a));
}

/** a * b with broadcasting; either side may be a number. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryOp('mul', a, b);
  if (a instanceof Tensor) return unaryOp('mul', a, 'mulScalar', scalarOperand('mul', b));
  check(b instanceof Tensor, 'ERR_ARGUMENT', 'mul: at least one operand must be a tensor');
  return unaryOp('mul', b, 'mulScalar', scalarOperand('mul', a));
}

/** a / b (true division) with broadcasting; either side may be a number. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return binaryOp('div', a, b);
  if (a instanceof Tensor) return unaryOp('div', a, 'divScalar', scalarOperand('div', b));
  check(b instanceof Tensor, 'ERR_ARGUMENT', 'div: at least one operand must be a tensor');
  return unaryOp('div', b, 'rdiv', scalarOperand('div', a));
}

/** -x */
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', x, 'neg');
}
/** e^x */
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', x, 'exp');
}
/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  return unaryOp('log', x, 'log');
}
/** Square root. */
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', x, 'sqrt');
}
/** |x| (gradient 0 at 0). */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', x, 'abs');
}
/** x ** exponent, for a number exponent. */
export function pow(x: Tensor, exponent: number): Tensor {
  check(typeof exponent === 'number', 'ERR_NOT_IMPLEMENTED', 'pow: only a number exponent is supported');
  return unaryOp('pow', x, 'pow', exponent);
}
/** min(max(x, min), max); either bound may be null (gradient flows where min <= x <= max). */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  check(min != null || max != null, 'ERR_ARGUMENT', 'clamp: give at least one of min and max');
  return unaryOp('clamp', x, 'clamp', min ?? -Infinity, max ?? Infinity);
}

function asTensorOn(op: string, v: Tensor | number, device: Tensor['device']): Tensor {
  if (v instanceof Tensor) return v;
  return full([], scalarOperand(op, v), { device });
}

/** cond ? a : b elementwise, broadcasting all three; cond is bool, a and b float32 tensors or numbers. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  check(cond instanceof Tensor, 'ERR_ARGUMENT', 'where: cond must be a bool tensor');
  needDtype('where', cond, 'bool', 'cond');
  const ta = asTensorOn('where', a, cond.device), tb = asTensorOn('where', b, cond.device);
  sameDevice('where', cond, ta, tb);
  needFloat('where', ta, tb);
  const shape = broadcastShapes(cond.shape, ta.shape, tb.shape);
  const out = empty(shape, { device: cond.device });
  callNative(() => native.where(out.buf, cond.buf, ta.buf, tb.buf, shape, cond.shape, ta.shape, tb.shape));
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  const A = a instanceof Tensor ? a : null, B = b instanceof Tensor ? b : null;
  if (!willRecord(A, B)) return out;
  const sc = saveForBackward(cond);
  return record('where', out, [A, B], (g) => {
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (A?.requiresGrad) {
      const t = where(sc, g, 0);
      ga = sumTo(t, A.shape);
      if (ga !== t) t.dispose();
    }
    if (B?.requiresGrad) {
      const t = where(sc, 0, g);
      gb = sumTo(t, B.shape);
      if (gb !== t) t.dispose();
    }
    return [ga, gb];
  }, [sc]);
}

/** x with `value` where mask (bool, broadcastable to x) is true. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  check(x instanceof Tensor && mask instanceof Tensor, 'ERR_ARGUMENT', 'maskedFill: x and mask must be tensors');
  const shape = broadcastShapes(x.shape, mask.shape);
  check(shape.length === x.ndim && shape.every((d, i) => d === x.shape[i]), 'ERR_SHAPE',
        () => `maskedFill: mask [${mask.shape}] does not broadcast to x [${x.shape}]`);
  return where(mask, value, x);
}

// --- comparisons ----------------------------------------------------------------------------------

// CompareOp codes of native/cpu/elementwise.h.
const COMPARE = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;

// Compares in int32 when both sides are integers (int32/bool tensors, integer numbers), else in
// float32; the result is bool and carries no gradient.
function compareOp(name: keyof typeof COMPARE, a: Tensor | number, b: Tensor | number): Tensor {
  const ts = [a, b].filter((v): v is Tensor => v instanceof Tensor);
  check(ts.length > 0, 'ERR_ARGUMENT', () => `${name}: at least one operand must be a tensor`);
  for (const v of [a, b]) if (!(v instanceof Tensor)) scalarOperand(name, v);
  sameDevice(name, ...ts);
  const device = ts[0].device;
  const isInt = (v: Tensor | number) => (v instanceof Tensor ? v.dtype !== 'float32' : Number.isInteger(v));
  const dtype: Dtype = isInt(a) && isInt(b) ? 'int32' : 'float32';
  const conv = (v: Tensor | number) => (v instanceof Tensor ? toDtype(v, dtype) : full([], v, { dtype, device }));
  const ta = conv(a), tb = conv(b);
  const shape = broadcastShapes(ta.shape, tb.shape);
  const out = empty(shape, { dtype: 'bool', device });
  callNative(() => native.compare(out.buf, ta.buf, tb.buf, COMPARE[name], shape, ta.shape, tb.shape));
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return out;
}

/** a == b elementwise (bool), broadcasting; either side may be a number. */
export function eq(a: Tensor | number, b: Tensor | number): Tensor {
  return compareOp('eq', a, b);
}
/** a != b elementwise (bool); NaN != anything. */
export function ne(a: Tensor | number, b: Tensor | number): Tensor {
  return compareOp('ne', a, b);
}
/** a < b elementwise (bool). */
export function lt(a: Tensor | number, b: Tensor | number): Tensor {
  return compareOp('lt', a, b);
}
/** a <= b elementwise (bool). */
export function le(a: Tensor | number, b: Tensor | number): Tensor {
  return compareOp('le', a, b);
}
/** a > b elementwise (bool). */
export function gt(a: Tensor | number, b: Tensor | number): Tensor {
  return compareOp('gt', a, b);
}
/** a >= b elementwise (bool). */
export function ge(a: Tensor | number, b: Tensor | number): Tensor {
  return compareOp('ge', a, b);
}
/** Elementwise not (bool): true where x is false / zero. */
export function logicalNot(x: Tensor): Tensor {
  check(x instanceof Tensor, 'ERR_ARGUMENT', 'logicalNot: x must be a tensor');
  return compareOp('eq', x, 0);
}

/** A copy of x converted to `dtype` (x itself when it already has it); float -> int truncates. */
export function toDtype(x: Tensor, dtype: Dtype): Tensor {
  check(dtype === 'float32' || dtype === 'int32' || dtype === 'bool', 'ERR_DTYPE', () => `toDtype: unknown dtype ${dtype}`);
  sameDevice('toDtype', x);
  if (x.dtype === dtype) return x;
  const out = empty(x.shape, { dtype, device: x.device });
  if (x.numel) callNative(() => native.cast(out.buf, x.buf, x.numel));
  return out;
}
