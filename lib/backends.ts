// backends.ts — global backend switches, named as PyTorch's torch.backends:
//
//   at.backends.cuda.matmul.allowTf32 = true;   // torch.backends.cuda.matmul.allow_tf32 = True
//
// allowTf32 lets the cuda device use tensor cores with TF32 operands (float32's range, 10 mantissa
// bits instead of 23; products accumulated in float32) for float32 work: the cuBLAS GEMMs (matmul,
// linear, bmm, ...) and F.scaledDotProductAttention, whose `precision` option overrides it per call.
// Results then differ from float32 by about 1e-3 relative. Default false (float32 everywhere, as
// PyTorch since 1.12). No effect on the cpu device, nor on GPUs below compute capability 8.0.
import { callNative, check } from './errors';
import { native } from './native';

let allowTf32 = false;

/** Switches of float32 matrix products on cuda. */
export interface CudaMatmulBackend {
  /** TF32 tensor-core math for cuBLAS GEMMs and fused attention (default false). */
  allowTf32: boolean;
}

const matmul: CudaMatmulBackend = Object.seal({
  get allowTf32(): boolean {
    return allowTf32;
  },
  set allowTf32(on: boolean) {
    check(typeof on === 'boolean', 'ERR_ARGUMENT',
          () => `backends.cuda.matmul.allowTf32 must be a boolean, got ${String(on)}`);
    callNative(() => native.setTf32(on));
    allowTf32 = on;
  },
});

/** Global backend switches (PyTorch's torch.backends). */
export const backends: { readonly cuda: { readonly matmul: CudaMatmulBackend } } = Object.freeze({
  cuda: Object.freeze({ matmul }),
});
