// index.ts — the public API: `import * as at from 'atento'` or `require('atento')`.
import { native } from './native';
import { setNumThreads } from './info';

export { AtentoError, ErrorCodes, type ErrorCode } from './errors';
export { info, setNumThreads, type Info } from './info';
export {
  Tensor, tensor, empty, zeros, ones, full, zerosLike, onesLike, arange, randn, rand, randint,
  fromTypedArray, tidy, keep, manualSeed, Generator, getDefaultDevice, setDefaultDevice, cudaAvailable,
  type Dtype, type DeviceName, type Shape, type TensorOptions,
} from './tensor';
export { noGrad, isGradEnabled, setGradEnabled } from './autograd';
export { backends, type CudaMatmulBackend } from './backends';
export * as F from './functional';
export { matmul, linear } from './functional';
// elementwise, reductions and shape ops at the top level, as torch.* has them; Tensor methods.
export {
  add, sub, mul, div, neg, exp, log, sqrt, abs, pow, clamp, where, maskedFill, broadcastShapes, relu, sigmoid, tanh,
  sum, mean, max, min, argmax, argmin, transpose, permute, cat, stack, split, chunk, narrow, unsqueeze, squeeze,
  flatten, indexSelect, dropout, eq, ne, lt, le, gt, ge, logicalNot,
} from './functional';
import './tensor_methods';
export * as optim from './optim';

/** Waits for queued GPU work (a no-op on cpu). */
export function synchronize(): void {
  native.synchronize();
}

// ATENTO_NUM_THREADS sets the CPU pool size once at load (default: every core).
if (process.env.ATENTO_NUM_THREADS) setNumThreads(Number(process.env.ATENTO_NUM_THREADS) || 0);

// nn and checkpoints
export * as nn from './nn';
export { save, load, saveAsync, loadAsync, loadSafetensors, loadSafetensorsAsync } from './checkpoint';
