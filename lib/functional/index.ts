// functional/index.ts — at.F: stateless ops with PyTorch's names in camelCase. Each family lives
// in its own file; this one only re-exports.
export * from './matmul';
export * from './shape';
export {
  add, sub, mul, div, neg, exp, log, sqrt, abs, pow, clamp, where, maskedFill, broadcastShapes, toDtype, eq, ne, lt, le,
  gt, ge, logicalNot,
} from './elementwise';
export * from './activations';
export * from './reduce';
export * from './embedding';
export * from './dropout';
export * from './lstm';
export * from './attention';
export * from './layernorm';
export * from './softmax';
export * from './losses';
