// errors.ts — AtentoError, the one error class atento throws, with a stable `code`.
//
// Native code throws instances of this class (lib/native.ts hands it to C++ at load). Codes are
// part of the API: match on `err.code`, never on the message.

export const ErrorCodes = [
  'ERR_SHAPE', // shapes do not fit the op
  'ERR_DTYPE', // wrong element type
  'ERR_DEVICE', // mixed devices, or a device that is not available
  'ERR_INDEX', // an index or token id out of range
  'ERR_DISPOSED', // the tensor was disposed
  'ERR_CUDA', // a CUDA or cuBLAS failure
  'ERR_OOM', // out of device (or host) memory
  'ERR_CHECKPOINT', // a checkpoint file is malformed or does not match
  'ERR_NOT_IMPLEMENTED', // the feature does not exist (yet)
  'ERR_ARGUMENT', // any other bad argument
  'ERR_NAN', // a NaN or infinity where it must not be
  'ERR_INTERNAL', // a bug in atento: please report it
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class AtentoError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'ERR_ARGUMENT') {
    super(message);
    this.name = 'AtentoError';
    this.code = code;
  }
}

/** Throws AtentoError(code, message) unless cond holds. */
export function check(cond: unknown, code: ErrorCode, message: string | (() => string)): asserts cond {
  if (!cond) throw new AtentoError(typeof message === 'function' ? message() : message, code);
}

/** Runs a native call; re-throws its error with the caller's stack (sharp's trick). */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AtentoError) {
      const here = new AtentoError(e.message, e.code);
      Error.captureStackTrace?.(here, callNative);
      throw here;
    }
    throw e;
  }
}
