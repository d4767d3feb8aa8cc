// native.ts — the only file that touches the .node module. Its surface is typed by hand here.
//
// Which binary loads, in order:
//   1. $ATENTO_BINARY (a path), for tests and experiments;
//   2. with ATENTO_CUDA_EMULATE=1, build/Release/atento_emu.node: the CUDA kernels run on the
//      CPU emulator and the `cuda` device is the emulator (tests only);
//   3. build/Release/atento.node (a local build: CUDA via cmake-js or CPU via node-gyp);
//   4. prebuilds/<platform>-<arch>/atento.cuda.node, then node-gyp-build's pick of the CPU
//      prebuild. A candidate that fails to load (e.g. a missing libdnnl) is skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AtentoError } from './errors';

/** Opaque CUDA memory owned by the native module. */
export interface DeviceBuffer {
  readonly bytes: number;
  free(): void;
  /** A freed wrapper takes a new allocation (returns itself). */
  reuse(bytes: number, dtype: number): DeviceBuffer;
}
export type NativeBuffer = Float32Array | Int32Array | Uint8Array | DeviceBuffer;
type B = NativeBuffer;
type OptB = NativeBuffer | null;

export interface BuildInfo {
  cpu: { blas: string; threads: number; openmp: boolean };
  cuda: {
    compiled: boolean;
    emulated: boolean;
    archs: string[];
    devices: { index: number; name: string; computeCapability: string; totalMemory: number; multiProcessors: number }[];
    error: string | null;
    blas: string | null;
    blasError: string | null;
  };
}

export interface Native {
  setErrorClass(cls: typeof AtentoError): void;
  buildInfo(): BuildInfo;
  deviceAlloc(bytes: number, dtype: number): DeviceBuffer;
  copyBuffer(dst: B, src: B, bytes: number): void;
  zeroBuffer(buf: B): void;
  hostAlignOffset(buf: ArrayBuffer | ArrayBufferView): number;
  setNumThreads(n: number): number;
  synchronize(): void;
  cudaMemory(): { inUse: number; cached: number };
  emptyCache(): void;
  setTf32(on: boolean): void;
  gemm(c: B, a: B, b: B, transA: boolean, transB: boolean, M: number, N: number, K: number,
       strideA: number, strideB: number, batch: number, alpha: number, beta: number,
       offC?: number, offA?: number, offB?: number): void;
  // Kernel families add their entry points below (see native/ops/<family>.cc).
  // optim (native/ops/optim.cc): fused optimizer steps, in place; gradient norms of a list.
  adamStep(p: B, g: B, m: B, v: B, vmax: OptB, n: number, beta1: number, beta2: number, oneMinusBeta1: number,
           oneMinusBeta2: number, eps: number, paramScale: number, gradDecay: number, stepSize: number,
           biasCorrection2Sqrt: number): void;
  sgdStep(p: B, g: B, buf: OptB, n: number, lr: number, momentum: number, dampening: number, weightDecay: number,
          nesterov: boolean, firstStep: boolean): void;
  gradNorms(bufs: B[], counts: number[], normType: number): number[];
  gradScale(x: B, n: number, coef: number): void;
  // lstm (native/ops/lstm.cc): the whole sequence in one call; ws = gates [T,B,4H] then c [T,B,H].
  lstmForward(out: B, hN: OptB, cN: OptB, ws: B, x: B, h0: OptB, c0: OptB, wIh: B, wHh: B, bIh: OptB, bHh: OptB,
              T: number, batch: number, I: number, H: number): void;
  lstmBackward(dX: OptB, dWih: OptB, dWhh: OptB, dbIh: OptB, dbHh: OptB, dh: B, dc: B, dGates: B, dOut: OptB,
               ws: B, out: B, x: B, h0: OptB, c0: OptB, wIh: B, wHh: B, T: number, batch: number, I: number,
               H: number): void;
  // attention (native/ops/attention.cc): fused scaled-dot-product attention, q [B,H,Tq,D], k [B,H,Tk,D],
  // v [B,H,Tk,Dv] -> out [B,H,Tq,Dv], lse [B,H,Tq]; mask additive float32 with 4 broadcast strides.
  // The *Ref twins run the CPU reference kernels (tests).
  // tf32 (default false): the tensor-core forward on cuda (TF32 operands, float32 accumulation); cpu ignores it.
  // layout (cpu only): 16 integers, {offset, b, h, t strides} of q, k, v and out (dq, dk, dv, dout alike), so
  // the kernels read and write packed or transposed tensors in place (native/cpu/attention.h).
  attentionForward(out: B, lse: B, q: B, k: B, v: B, mask: OptB, maskStrides: number[], batch: number, heads: number,
                   Tq: number, Tk: number, D: number, Dv: number, scale: number, causal: boolean, tf32?: boolean,
                   layout?: number[]): void;
  attentionBackward(dq: B, dk: B, dv: B, dout: B, q: B, k: B, v: B, out: B, lse: B, mask: OptB, maskStrides: number[],
                    batch: number, heads: number, Tq: number, Tk: number, D: number, Dv: number, scale: number,
                    causal: boolean, layout?: number[]): void;
  attentionForwardRef(out: B, lse: B, q: B, k: B, v: B, mask: OptB, maskStrides: number[], batch: number, heads: number,
                      Tq: number, Tk: number, D: number, Dv: number, scale: number, causal: boolean): void;
  attentionBackwardRef(dq: B, dk: B, dv: B, dout: B, q: B, k: B, v: B, out: B, lse: B, mask: OptB,
                       maskStrides: number[], batch: number, heads: number, Tq: number, Tk: number, D: number,
                       Dv: number, scale: number, causal: boolean): void;
  // elementwise / reduce / shape / embedding / dropout (native/ops/{elementwise,reduce,shape,embedding,dropout}.cc).
  // Op codes: UNARY and BINARY in lib/functional/elementwise.ts. Shapes are plain arrays.
  unary(out: B, x: B, n: number, op: number, a: number, b: number): void;
  unaryBackward(dx: B, dy: B, saved: B, n: number, op: number, a: number, b: number): void;
  binary(out: B, a: B, b: B, op: number, outShape: number[], aShape: number[], bShape: number[]): void;
  where(out: B, cond: B, a: B, b: B, outShape: number[], condShape: number[], aShape: number[], bShape: number[]): void;
  compare(out: B, a: B, b: B, op: number, outShape: number[], aShape: number[], bShape: number[]): void;
  cast(out: B, x: B, n: number): void;
  reduceSum(out: B, x: B, outer: number, R: number, inner: number, scale: number): void;
  reduceMax(values: OptB, indices: OptB, x: B, outer: number, R: number, inner: number, isMin: boolean): void;
  reduceMaxBackward(dx: B, dy: B, indices: B, outer: number, R: number, inner: number): void;
  stridedCopy(dst: B, src: B, shape: number[], dstStrides: number[], dstOffset: number, srcStrides: number[],
              srcOffset: number): void;
  embeddingForward(out: B, ids: B, weight: B, N: number, V: number, C: number): void;
  embeddingBackward(dweight: B, dout: B, ids: B, N: number, V: number, C: number, paddingIdx: number): void;
  dropout(out: B, x: B, n: number, seed: number, threshold: number, scale: number): void;
  // layernorm / softmax / losses (native/ops/{layernorm,softmax,losses}.cc). layerNorm: x [N, C];
  // softmax: x [outer, C, inner] over C; losses: reduction 0 none, 1 mean, 2 sum. The *Ref twins run
  // the CPU reference kernels (tests).
  layerNormForward(out: B, mean: B, rstd: B, x: B, w: OptB, b: OptB, N: number, C: number, eps: number): void;
  layerNormBackward(dx: OptB, dw: OptB, db: OptB, dout: B, x: B, w: OptB, mean: B, rstd: B, N: number, C: number): void;
  layerNormForwardRef(out: B, mean: B, rstd: B, x: B, w: OptB, b: OptB, N: number, C: number, eps: number): void;
  layerNormBackwardRef(dx: OptB, dw: OptB, db: OptB, dout: B, x: B, w: OptB, mean: B, rstd: B, N: number,
                       C: number): void;
  softmaxForward(out: B, x: B, outer: number, C: number, inner: number, log: boolean): void;
  softmaxBackward(dx: B, dout: B, out: B, outer: number, C: number, inner: number, log: boolean): void;
  softmaxForwardRef(out: B, x: B, outer: number, C: number, inner: number, log: boolean): void;
  softmaxBackwardRef(dx: B, dout: B, out: B, outer: number, C: number, inner: number, log: boolean): void;
  crossEntropyForward(out: B, lse: B, count: B, logits: B, target: B, N: number, C: number, ignoreIndex: number,
                      labelSmoothing: number, reduction: number): void;
  crossEntropyBackward(dlogits: B, dout: B, logits: B, lse: B, count: B, target: B, N: number, C: number,
                       ignoreIndex: number, labelSmoothing: number, reduction: number): void;
  crossEntropyForwardRef(out: B, lse: B, count: B, logits: B, target: B, N: number, C: number, ignoreIndex: number,
                         labelSmoothing: number, reduction: number): void;
  crossEntropyBackwardRef(dlogits: B, dout: B, logits: B, lse: B, count: B, target: B, N: number, C: number,
                          ignoreIndex: number, labelSmoothing: number, reduction: number): void;
  mseForward(out: B, input: B, target: B, n: number, reduction: number): void;
  mseBackward(dinput: OptB, dtarget: OptB, dout: B, input: B, target: B, n: number, reduction: number): void;
  bceWithLogitsForward(out: B, input: B, target: B, posWeight: OptB, n: number, C: number, reduction: number): void;
  bceWithLogitsBackward(dinput: OptB, dtarget: OptB, dout: B, input: B, target: B, posWeight: OptB, n: number,
                        C: number, reduction: number): void;
  [name: string]: any;
}

const root = path.join(__dirname, '..');

function candidates(): string[] {
  const env = process.env;
  if (env.ATENTO_BINARY) return [path.resolve(env.ATENTO_BINARY)];
  if (env.ATENTO_CUDA_EMULATE === '1') return [path.join(root, 'build', 'Release', 'atento_emu.node')];
  const list = [path.join(root, 'build', 'Release', 'atento.node')];
  const prebuilds = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  list.push(path.join(prebuilds, 'atento.cuda.node'));
  try {
    // node-gyp-build resolves the CPU prebuild (or a build/ folder) for this platform and ABI.
    list.push(require('node-gyp-build').path(root));
  } catch {
    /* nothing prebuilt for this platform */
  }
  return list;
}

function load(): Native {
  // OpenMP threads spin briefly after a kernel, then sleep (unless the user set OMP_WAIT_POLICY or
  // GOMP_SPINCOUNT): 10000 spins is well under a millisecond. Sleeping at once (passive) made
  // every parallel region wait for its threads to wake — on this VM that doubled small ops
  // (layernorm 768x128 forward + backward: ~210 -> ~140 us); libgomp's default spin (300000, many
  // milliseconds) burned the cores a host application or another process needs, and on a busy
  // machine made small training steps ~10x slower. libgomp reads this when the module loads it.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.GOMP_SPINCOUNT = '10000';
  }
  const errors: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) continue;
    try {
      const mod = require(file) as Native;
      mod.setErrorClass(AtentoError);
      loadedFrom = file;
      return mod;
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
  }
  throw new AtentoError(
    'atento: no native module could be loaded. Build it with `npm run build:native`' +
      (process.env.ATENTO_CUDA_EMULATE === '1' ? ' (with ATENTO_EMULATOR=1 for the emulator flavour)' : '') +
      (errors.length ? `\n  ${errors.join('\n  ')}` : ''),
    'ERR_INTERNAL',
  );
}

export let loadedFrom = '';
export const native: Native = load();
