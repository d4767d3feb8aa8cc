// tensor.ts — Tensor: a shape, a dtype, a device, and a reference to storage.
//
// Storage is a TypedArray on `cpu` (zero-copy: native kernels read and write it in place) or a
// DeviceBuffer on `cuda` (memory from the caching allocator). Tensors are always contiguous;
// reshape() returns a view that shares the storage, which is reference-counted, so disposing one
// view never frees memory another still uses.
//
// Memory: dispose() frees now (idempotent; any later use throws ERR_DISPOSED); a tensor that is
// never disposed is freed by the garbage collector. tidy(fn) disposes every tensor created
// inside fn except those it returns (and those kept with keep()).
import { AtentoError, callNative, check } from './errors';
import { native, type DeviceBuffer, type NativeBuffer } from './native';
import { backward as runBackward, record, type GradFn } from './autograd';
import { reshape as reshapeOp } from './functional/shape';

export type Dtype = 'float32' | 'int32' | 'bool';
export type DeviceName = 'cpu' | 'cuda';
export type Shape = readonly number[];
export type CpuArray = Float32Array | Int32Array | Uint8Array;

const DTYPES: Record<Dtype, { index: number; bytes: number; array: any }> = {
  float32: { index: 0, bytes: 4, array: Float32Array },
  int32: { index: 1, bytes: 4, array: Int32Array },
  bool: { index: 2, bytes: 1, array: Uint8Array },
};

export function dtypeBytes(d: Dtype): number {
  return DTYPES[d].bytes;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function checkShape(shape: Shape, what = 'shape'): number[] {
  check(Array.isArray(shape), 'ERR_SHAPE', () => `${what} must be an array of sizes`);
  for (const s of shape)
    check(Number.isInteger(s) && s >= 0, 'ERR_SHAPE',
          () => `${what} [${shape.join(', ')}] must hold non-negative integers`);
  return [...shape];
}

function checkDtype(d: unknown): Dtype {
  check(typeof d === 'string' && d in DTYPES, 'ERR_DTYPE', () => `unknown dtype ${String(d)} (float32, int32, bool)`);
  return d as Dtype;
}

// --- devices ------------------------------------------------------------------------------------

let cudaUsable: boolean | undefined;
export function cudaAvailable(): boolean {
  if (cudaUsable === undefined) {
    const c = native.buildInfo().cuda;
    cudaUsable = c.compiled && c.devices.length > 0;
  }
  return cudaUsable;
}

let defaultDevice: DeviceName | undefined;
/** The device new tensors go to: ATENTO_DEVICE, else `cuda` when usable, else `cpu`. */
export function getDefaultDevice(): DeviceName {
  if (!defaultDevice) {
    const env = process.env.ATENTO_DEVICE;
    if (env === 'cpu' || env === 'cuda') defaultDevice = checkDevice(env);
    else defaultDevice = cudaAvailable() ? 'cuda' : 'cpu';
  }
  return defaultDevice;
}
export function setDefaultDevice(d: DeviceName): void {
  defaultDevice = checkDevice(d);
}

export function checkDevice(d: unknown): DeviceName {
  check(d === 'cpu' || d === 'cuda', 'ERR_DEVICE', () => `unknown device ${String(d)} (cpu, cuda)`);
  if (d === 'cuda' && !cudaAvailable()) {
    const c = native.buildInfo().cuda;
    throw new AtentoError(`device 'cuda' is not available: ${c.error ?? 'no CUDA device'}`, 'ERR_DEVICE');
  }
  return d;
}

// --- storage ------------------------------------------------------------------------------------

class Storage {
  refs = 1;
  constructor(
    public buf: NativeBuffer | null,
    readonly bytes: number,
    readonly pooled = false, // a cpu array atento allocated itself, reusable once released
    readonly zeroed = false, // known to hold zeros (a fresh cpu array)
  ) {}
  release(): void {
    if (--this.refs > 0 || !this.buf) return;
    if (!ArrayBuffer.isView(this.buf)) {
      const db = this.buf as DeviceBuffer;
      db.free();
      if (freeWrappers.length < 4096) freeWrappers.push(db);
    } else if (this.pooled) {
      cpuCache.put(this.buf as CpuArray);
    }
    this.buf = null;
  }
}

// Freed DeviceBuffer wrappers, reused for new allocations (see native/device_buffer.h: their
// native finalizers only run between event-loop turns, so a synchronous loop must not leave one
// per tensor behind). The device memory itself goes back to the native caching allocator.
const freeWrappers: DeviceBuffer[] = [];

// Disposed cpu arrays wait here to be handed out again (not zeroed), so a training loop that
// disposes its intermediates reuses memory instead of making V8 collect large buffers every
// step. Bounded by ATENTO_CPU_CACHE_MB (default 256); garbage-collected tensors never come back.
// Small arrays are kept too, at most kSmallPerSize of each length: V8 gives a typed array of more
// than 64 bytes its own off-heap allocation, ~1.5 us here, and a small op's forward and backward
// makes several (bench/op-overhead.js). Lists by constructor, then length: no key strings to build.
const kSmallBytes = 4096, kSmallPerSize = 64;
const cpuCache = {
  free: new Map<unknown, Map<number, CpuArray[]>>(),
  bytes: 0,
  limit: Number(process.env.ATENTO_CPU_CACHE_MB ?? 256) * 2 ** 20,
  take(ctor: unknown, n: number): CpuArray | undefined {
    const arr = this.free.get(ctor)?.get(n)?.pop();
    if (arr) this.bytes -= arr.byteLength;
    return arr;
  },
  put(arr: CpuArray): void {
    if (this.bytes + arr.byteLength > this.limit) return;
    let byLength = this.free.get(arr.constructor);
    if (!byLength) this.free.set(arr.constructor, (byLength = new Map()));
    let list = byLength.get(arr.length);
    if (!list) byLength.set(arr.length, (list = []));
    if (arr.byteLength < kSmallBytes && list.length >= kSmallPerSize) return;
    list.push(arr);
    this.bytes += arr.byteLength;
  },
};

/** Empties the cache of disposed cpu buffers (the GC then frees them). */
export function emptyCpuCache(): void {
  cpuCache.free.clear();
  cpuCache.bytes = 0;
}

// ATENTO_DEBUG_POISON=1 fills every new cpu buffer with NaN (int32: -123456789, bool: 0xAB), as
// the CUDA emulator does for device memory, so code that forgets to write its output shows up.
const poison = process.env.ATENTO_DEBUG_POISON === '1';
const POISON: Record<Dtype, number> = { float32: NaN, int32: -123456789, bool: 0xab };

// A new host array whose data starts on a 64-byte boundary (a cache line, one AVX-512 vector):
// V8 places large ArrayBuffers 16 bytes past one, and the kernels' 64-byte loads and stores then
// straddle two lines each. Small arrays are left as V8 makes them. Zero-filled, like any new one.
function newHostArray(n: number, dtype: Dtype): CpuArray {
  const bytes = n * DTYPES[dtype].bytes;
  if (bytes < 4096) return new DTYPES[dtype].array(n) as CpuArray;
  const ab = new ArrayBuffer(bytes + 64);
  return new DTYPES[dtype].array(ab, native.hostAlignOffset(ab), n) as CpuArray;
}

function allocate(n: number, dtype: Dtype, device: DeviceName): Storage {
  const bytes = n * DTYPES[dtype].bytes;
  if (device === 'cpu') {
    let arr: CpuArray | undefined = cpuCache.take(DTYPES[dtype].array, n);
    const fresh = !arr;
    try {
      arr ??= newHostArray(n, dtype);
    } catch (e) {
      throw new AtentoError(`cannot allocate ${bytes} bytes of host memory: ${(e as Error).message}`, 'ERR_OOM');
    }
    if (poison) arr.fill(POISON[dtype]);
    return new Storage(arr, bytes, true, fresh && !poison);
  }
  const w = freeWrappers.pop();
  const buf = callNative(() => (w ? w.reuse(bytes, DTYPES[dtype].index) : native.deviceAlloc(bytes, DTYPES[dtype].index)));
  return new Storage(buf, bytes);
}

// --- scopes (tidy) ------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

/** Runs fn and disposes every tensor it created, except what it returns or keep()s. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  check(!(result instanceof Promise), 'ERR_ARGUMENT', 'tidy(fn): fn must be synchronous');
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) outer?.add(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 8 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collectTensors(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
}

/** Takes t out of every enclosing tidy scope, so it outlives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

// --- Tensor ---------------------------------------------------------------------------------------

export interface TensorOptions {
  dtype?: Dtype;
  device?: DeviceName;
  requiresGrad?: boolean;
}

export class Tensor {
  readonly shape: number[];
  readonly dtype: Dtype;
  readonly device: DeviceName;
  private storage: Storage | null;
  /** Autograd: whether gradients flow to/through this tensor. */
  requiresGrad = false;
  /** Autograd: the accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
  /** Autograd: the op that produced this tensor (null for leaves). */
  gradFn: GradFn | null = null;

  /** @internal Use at.tensor / at.empty / ops; this wraps existing storage. */
  constructor(shape: Shape, dtype: Dtype, device: DeviceName, storage: Storage) {
    this.shape = [...shape];
    this.dtype = dtype;
    this.device = device;
    this.storage = storage;
    scopes[scopes.length - 1]?.add(this);
  }

  get numel(): number {
    return numel(this.shape);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this.storage === null || this.storage.buf === null;
  }
  /** @internal Whether another live tensor shares this one's storage (a view). */
  get _sharesStorage(): boolean {
    return (this.storage?.refs ?? 0) > 1;
  }
  /** @internal Whether the storage is known to hold zeros (a fresh cpu allocation). */
  get _zeroed(): boolean {
    return !!this.storage?.zeroed;
  }

  /** @internal The buffer native kernels read and write. */
  get buf(): NativeBuffer {
    const b = this.storage?.buf;
    if (!b) throw new AtentoError(`tensor [${this.shape.join(', ')}] was disposed`, 'ERR_DISPOSED');
    return b;
  }

  size(dim?: number): number | number[] {
    return dim === undefined ? [...this.shape] : this.shape[normDim(dim, this.ndim)];
  }

  /** Frees the memory now. Safe to call twice; any later use throws ERR_DISPOSED. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.gradFn = null;
    this.grad?.dispose();
    this.grad = null;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A view with another shape over the same storage (one size may be -1). */
  reshape(...shape: (number | number[])[]): Tensor {
    return reshapeOp(this, shape.flat() as number[]);
  }
  view(...shape: (number | number[])[]): Tensor {
    return this.reshape(...shape);
  }

  /** @internal A tensor sharing this one's storage with another shape (same numel). */
  _alias(shape: Shape): Tensor {
    check(numel(shape) === this.numel, 'ERR_SHAPE', () => `cannot view [${this.shape}] as [${shape}]`);
    const s = this.storage;
    if (!s?.buf) throw new AtentoError('tensor was disposed', 'ERR_DISPOSED');
    s.refs++;
    return new Tensor(shape, this.dtype, this.device, s);
  }

  /** A copy on `device` (this same tensor when it is already there). */
  to(device: DeviceName): Tensor {
    checkDevice(device);
    void this.buf; // ERR_DISPOSED for a disposed tensor, even when no copy is needed
    if (device === this.device) return this;
    const out = empty(this.shape, { dtype: this.dtype, device });
    callNative(() => native.copyBuffer(out.buf, this.buf, this.numel * dtypeBytes(this.dtype)));
    return record('to', out, [this], (g) => [g.to(this.device)]);
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(): Tensor {
    return this.to('cuda');
  }

  /** A new tensor with the same values, detached from autograd. */
  clone(): Tensor {
    const out = empty(this.shape, { dtype: this.dtype, device: this.device });
    callNative(() => native.copyBuffer(out.buf, this.buf, this.numel * dtypeBytes(this.dtype)));
    return out;
  }

  /** The same storage, cut from the autograd graph. */
  detach(): Tensor {
    return this._alias(this.shape);
  }

  /** The values as a flat typed array (a copy), synchronously. */
  dataSync(): CpuArray {
    const out: CpuArray = new DTYPES[this.dtype].array(this.numel);
    if (this.numel) callNative(() => native.copyBuffer(out, this.buf, out.byteLength));
    else void this.buf;
    return out;
  }
  /** The values as a flat typed array (a copy). */
  async data(): Promise<CpuArray> {
    return this.dataSync();
  }
  /** The values as nested arrays, like PyTorch's tolist(). Booleans come back as true/false. */
  toArray(): any {
    const flat = this.dataSync();
    const conv = this.dtype === 'bool' ? (x: number) => x !== 0 : (x: number) => x;
    if (this.ndim === 0) return conv(flat[0]);
    const build = (dim: number, offset: number): any[] => {
      const n = this.shape[dim];
      const stride = numel(this.shape.slice(dim + 1));
      const out = new Array(n);
      for (let i = 0; i < n; i++)
        out[i] = dim === this.ndim - 1 ? conv(flat[offset + i]) : build(dim + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }
  /** The single value of a one-element tensor. */
  item(): number {
    check(this.numel === 1, 'ERR_SHAPE', () => `item() needs one element, the tensor has ${this.numel}`);
    return this.dataSync()[0];
  }

  /** Autograd: back-propagates from this tensor (a scalar, or pass `grad` of the same shape). */
  backward(grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    runBackward(this, grad, opts);
  }

  /** Marks this leaf as needing gradients (in place, like PyTorch's requires_grad_()). */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${
      this.disposed ? ', disposed' : ''
    })`;
  }
}

export function normDim(dim: number, ndim: number): number {
  check(Number.isInteger(dim) && dim >= -ndim && dim < Math.max(ndim, 1), 'ERR_ARGUMENT',
        () => `dim ${dim} is out of range for a ${ndim}-d tensor`);
  return dim < 0 ? dim + ndim : dim;
}

// --- creation -------------------------------------------------------------------------------------

/** An uninitialised tensor: its contents are unspecified until written (use zeros() for zeros). */
export function empty(shape: Shape, opts: TensorOptions = {}): Tensor {
  const s = checkShape(shape);
  const dtype = checkDtype(opts.dtype ?? 'float32');
  const device = opts.device ? checkDevice(opts.device) : getDefaultDevice();
  const t = new Tensor(s, dtype, device, allocate(numel(s), dtype, device));
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Zero-copy: a cpu tensor over an existing typed array (writes show through both ways). */
export function fromTypedArray(arr: CpuArray, shape?: Shape, opts: { requiresGrad?: boolean } = {}): Tensor {
  const dtype: Dtype = arr instanceof Float32Array ? 'float32' : arr instanceof Int32Array ? 'int32' :
    arr instanceof Uint8Array ? 'bool' : (undefined as never);
  check(dtype, 'ERR_DTYPE', 'fromTypedArray takes a Float32Array, Int32Array or Uint8Array');
  const s = checkShape(shape ?? [arr.length]);
  check(numel(s) === arr.length, 'ERR_SHAPE', () => `shape [${s}] needs ${numel(s)} elements, the array has ${arr.length}`);
  const t = new Tensor(s, dtype, 'cpu', new Storage(arr, arr.byteLength));
  t.requiresGrad = !!opts.requiresGrad;
  return t;
}

function inferShape(data: unknown): number[] {
  const shape: number[] = [];
  let d: any = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0];
  }
  return shape;
}

/**
 * A tensor from data: a number, nested arrays, or a typed array (copied). `shape` is inferred
 * from nested arrays; a flat array or typed array may be given a shape.
 */
export function tensor(data: unknown, shapeOrOpts?: Shape | TensorOptions, maybeOpts: TensorOptions = {}): Tensor {
  const shapeGiven = Array.isArray(shapeOrOpts) ? (shapeOrOpts as Shape) : undefined;
  const opts = (Array.isArray(shapeOrOpts) ? maybeOpts : (shapeOrOpts as TensorOptions)) ?? {};
  let flat: ArrayLike<number | boolean>;
  let inferred: number[];
  let defaultDtype: Dtype = 'float32';
  if (ArrayBuffer.isView(data)) {
    flat = data as unknown as ArrayLike<number>;
    inferred = [flat.length];
    if (data instanceof Int32Array) defaultDtype = 'int32';
    else if (data instanceof Uint8Array) defaultDtype = 'bool';
    else check(data instanceof Float32Array || data instanceof Float64Array, 'ERR_DTYPE', 'unsupported typed array');
  } else if (typeof data === 'number' || typeof data === 'boolean') {
    flat = [data as number];
    inferred = [];
    if (typeof data === 'boolean') defaultDtype = 'bool';
  } else if (Array.isArray(data)) {
    inferred = inferShape(data);
    flat = (data as unknown[]).flat(Infinity) as number[];
    check(flat.length === numel(inferred), 'ERR_SHAPE', 'nested arrays are ragged');
    if (flat.length && typeof flat[0] === 'boolean') defaultDtype = 'bool';
  } else {
    throw new AtentoError('tensor(data): data must be a number, an array or a typed array', 'ERR_ARGUMENT');
  }
  const shape = checkShape(shapeGiven ?? inferred);
  check(numel(shape) === flat.length, 'ERR_SHAPE',
        () => `shape [${shape}] needs ${numel(shape)} values, got ${flat.length}`);
  const dtype = checkDtype(opts.dtype ?? defaultDtype);
  const device = opts.device ? checkDevice(opts.device) : getDefaultDevice();
  const host = fromTypedArray(toTyped(flat, dtype), shape);
  let t = host;
  if (device !== 'cpu') {
    t = empty(shape, { dtype, device });
    callNative(() => native.copyBuffer(t.buf, host.buf, host.numel * dtypeBytes(dtype)));
    host.dispose();
  }
  t.requiresGrad = !!opts.requiresGrad;
  return t;
}

function toTyped(flat: ArrayLike<number | boolean>, dtype: Dtype): CpuArray {
  const out: CpuArray = newHostArray(flat.length, dtype);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i] as number;
    if (dtype === 'int32') check(Number.isInteger(+v), 'ERR_DTYPE', () => `int32 tensor: ${v} is not an integer`);
    out[i] = dtype === 'bool' ? (v ? 1 : 0) : +v;
  }
  return out;
}

/** A tensor filled with one value. */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  const s = checkShape(shape);
  const dtype = checkDtype(opts.dtype ?? 'float32');
  const device = opts.device ? checkDevice(opts.device) : getDefaultDevice();
  if (device === 'cpu') { // straight into a (recycled) buffer: backward() makes one per call
    check(dtype !== 'int32' || Number.isInteger(+value), 'ERR_DTYPE', () => `int32 tensor: ${value} is not an integer`);
    const t = empty(s, { dtype, device });
    (t.buf as CpuArray).fill(dtype === 'bool' ? (value ? 1 : 0) : +value);
    t.requiresGrad = !!opts.requiresGrad;
    return t;
  }
  const arr: CpuArray = new DTYPES[dtype].array(numel(s));
  arr.fill(value);
  return tensor(arr, s, { ...opts, dtype });
}
export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  const s = checkShape(shape);
  const t = empty(s, opts);
  if (!t._zeroed) callNative(() => native.zeroBuffer(t.buf));
  return t;
}
export function ones(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device, ...opts });
}
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device, ...opts });
}

/** [start, end) in steps (like torch.arange); int32 when all arguments are integers. */
export function arange(start: number, end?: number | TensorOptions, step: number | TensorOptions = 1,
                       opts: TensorOptions = {}): Tensor {
  if (typeof end === 'object') [opts, end] = [end, undefined];
  if (typeof step === 'object') [opts, step] = [step, 1];
  if (end === undefined) [start, end] = [0, start];
  check(step !== 0 && Number.isFinite(step), 'ERR_ARGUMENT', 'arange: step must be a non-zero number');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = [start, end, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (ints ? 'int32' : 'float32');
  const arr: CpuArray = newHostArray(n, checkDtype(dtype));
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return tensor(arr, [n], { ...opts, dtype });
}

// A small, fast, seeded PRNG (xoshiro128**, seeded through splitmix32): the same seed gives the
// same numbers on every machine and device, since tensors are drawn on the host.
function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded source of random numbers (deterministic per seed). */
export class Generator {
  private s: Uint32Array;
  constructor(seed: number = Date.now()) {
    const sm = splitmix32(Math.floor(seed) | 0);
    this.s = new Uint32Array([sm(), sm(), sm(), sm()]);
  }
  private u32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }
  /** Uniform in [0, 1), 53 random bits. */
  next(): number {
    return (this.u32() * 2 ** 21 + (this.u32() >>> 11)) / 2 ** 53;
  }
  normal(): number {
    const u1 = 1 - this.next(), u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  /** A 31-bit integer seed for native kernels (dropout). */
  int(): number {
    return this.u32() >>> 1;
  }
}
function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalGenerator = new Generator(0x5eed);
/** Seeds the global generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  globalGenerator = new Generator(seed);
}
export function defaultGenerator(): Generator {
  return globalGenerator;
}

export interface RandomOptions extends TensorOptions {
  seed?: number;
  generator?: Generator;
}
function gen(opts: RandomOptions): Generator {
  return opts.generator ?? (opts.seed !== undefined ? new Generator(opts.seed) : globalGenerator);
}

/** Standard normal samples. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  const s = checkShape(shape);
  const g = gen(opts);
  const arr = newHostArray(numel(s), 'float32') as Float32Array;
  for (let i = 0; i < arr.length; i++) arr[i] = g.normal();
  return tensor(arr, s, { ...opts, dtype: 'float32' });
}

/** Uniform samples in [low, high). */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const s = checkShape(shape);
  const g = gen(opts);
  const lo = opts.low ?? 0, hi = opts.high ?? 1;
  const arr = newHostArray(numel(s), 'float32') as Float32Array;
  for (let i = 0; i < arr.length; i++) arr[i] = lo + (hi - lo) * g.next();
  return tensor(arr, s, { ...opts, dtype: 'float32' });
}

/** Random integers in [low, high). */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  const s = checkShape(shape);
  check(Number.isInteger(low) && Number.isInteger(high) && high > low, 'ERR_ARGUMENT', 'randint: need integers low < high');
  const g = gen(opts);
  const arr = newHostArray(numel(s), 'int32') as Int32Array;
  for (let i = 0; i < arr.length; i++) arr[i] = low + Math.floor(g.next() * (high - low));
  return tensor(arr, s, { ...opts, dtype: 'int32' });
}
