// init.ts — nn.init: in-place initialisers with PyTorch's names, formulas and defaults.
//
// Values are drawn on the host in float64 from a seeded Generator (at.manualSeed seeds the global
// one; pass { generator } for a private stream) and copied into the tensor on its device, so the
// same seed gives the same weights on cpu and cuda. Each returns the tensor it filled.
//
// fanIn / fanOut follow torch.nn.init._calculate_fan_in_and_fan_out: for a weight of shape
// [out, in, ...k], fanIn = in * prod(k) and fanOut = out * prod(k).
import { AtentoError, callNative, check } from '../errors';
import { native } from '../native';
import { Generator, Tensor, defaultGenerator } from '../tensor';

export interface InitOptions {
  generator?: Generator;
}
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

function gen(opts: InitOptions): Generator {
  return opts.generator ?? defaultGenerator();
}

// Writes float64 host values into t (float32, any device).
function fill(t: Tensor, values: ArrayLike<number>): Tensor {
  check(t instanceof Tensor, 'ERR_ARGUMENT', 'nn.init: expected a Tensor');
  check(t.dtype === 'float32', 'ERR_DTYPE', () => `nn.init: float32 tensors only, got ${t.dtype}`);
  const host = Float32Array.from(values);
  if (host.length) callNative(() => native.copyBuffer(t.buf, host, host.byteLength));
  return t;
}

function draw(t: Tensor, f: () => number): Tensor {
  const v = new Float64Array(t.numel);
  for (let i = 0; i < v.length; i++) v[i] = f();
  return fill(t, v);
}

/** fanIn and fanOut of a weight (at least 2-d), as PyTorch computes them. */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  check(t.ndim >= 2, 'ERR_SHAPE', () => `nn.init: fan in and fan out need a tensor with at least 2 dims, got [${t.shape}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      check(Number.isFinite(slope), 'ERR_ARGUMENT', () => `calculateGain: negative slope ${slope} is not a number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new AtentoError(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`, 'ERR_ARGUMENT');
  }
}

/** U(a, b). */
export function uniform_(t: Tensor, { a = 0, b = 1, ...opts }: { a?: number; b?: number } & InitOptions = {}): Tensor {
  check(a <= b, 'ERR_ARGUMENT', () => `uniform_: a (${a}) must not exceed b (${b})`);
  const g = gen(opts);
  return draw(t, () => a + (b - a) * g.next());
}

/** N(mean, std²). */
export function normal_(t: Tensor, { mean = 0, std = 1, ...opts }: { mean?: number; std?: number } & InitOptions = {}): Tensor {
  check(std >= 0, 'ERR_ARGUMENT', () => `normal_: std (${std}) must be non-negative`);
  const g = gen(opts);
  return draw(t, () => mean + std * g.normal());
}

/** Every element = value. */
export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, new Float64Array(t.numel).fill(value));
}
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** The identity matrix (2-d tensors). */
export function eye_(t: Tensor): Tensor {
  check(t.ndim === 2, 'ERR_SHAPE', () => `eye_: needs a 2-d tensor, got [${t.shape}]`);
  const [r, c] = t.shape;
  const v = new Float64Array(r * c);
  for (let i = 0; i < Math.min(r, c); i++) v[i * c + i] = 1;
  return fill(t, v);
}

/** Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, { gain = 1, ...opts }: { gain?: number } & InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, { a: -a, b: a, ...opts });
}

/** Glorot/Xavier normal: N(0, std²), std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, { gain = 1, ...opts }: { gain?: number } & InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, { mean: 0, std: gain * Math.sqrt(2 / (fanIn + fanOut)), ...opts });
}

interface KaimingOptions extends InitOptions {
  /** The negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' }: KaimingOptions): number {
  check(mode === 'fanIn' || mode === 'fanOut', 'ERR_ARGUMENT',
        () => `kaiming: mode must be 'fanIn' or 'fanOut', got '${mode}'`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  check(fan > 0, 'ERR_SHAPE', () => `kaiming: cannot initialise a tensor with a zero-element dimension [${t.shape}]`);
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/** He/Kaiming uniform: U(-bound, bound), bound = gain * sqrt(3 / fan). Linear's default uses a = sqrt(5). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, { a: -bound, b: bound, generator: opts.generator });
}

/** He/Kaiming normal: N(0, std²), std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, { mean: 0, std: kaimingStd(t, opts), generator: opts.generator });
}

/**
 * A (semi-)orthogonal matrix times gain, as torch.nn.init.orthogonal_: the tensor is viewed as
 * [rows, cols] with rows = shape[0]; a Gaussian matrix is orthonormalised (QR by modified
 * Gram–Schmidt, run twice for accuracy, in float64), with R's diagonal made positive so the
 * result is uniformly distributed.
 */
export function orthogonal_(t: Tensor, { gain = 1, ...opts }: { gain?: number } & InitOptions = {}): Tensor {
  check(t.ndim >= 2, 'ERR_SHAPE', () => `orthogonal_: needs at least 2 dims, got [${t.shape}]`);
  const rows = t.shape[0];
  const cols = t.numel / Math.max(rows, 1);
  if (t.numel === 0) return t;
  const g = gen(opts);
  // Orthonormalise the columns of an m x n matrix (m >= n); transpose when rows < cols.
  const m = Math.max(rows, cols), n = Math.min(rows, cols);
  const q: Float64Array[] = []; // n columns of length m
  for (let j = 0; j < n; j++) {
    const col = new Float64Array(m);
    for (let i = 0; i < m; i++) col[i] = g.normal();
    q.push(col);
  }
  for (let j = 0; j < n; j++) {
    const v = q[j];
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[k][i] * v[i];
        for (let i = 0; i < m; i++) v[i] -= dot * q[k][i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    check(norm > 1e-12, 'ERR_INTERNAL', 'orthogonal_: degenerate random matrix');
    for (let i = 0; i < m; i++) v[i] /= norm;
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // rows >= cols: out = Q (m x n) ; rows < cols: out = Q^T (n x m)
      out[r * cols + c] = gain * (rows >= cols ? q[c][r] : q[r][c]);
    }
  }
  return fill(t, out);
}
