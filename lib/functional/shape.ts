// shape.ts — reshape (a view; no kernel) and, from the shape-ops family, transpose/permute/concat.
import { record } from '../autograd';
import { check } from '../errors';
import { Tensor, numel } from '../tensor';

/** A view with a new shape (one entry may be -1), sharing storage. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const s = [...shape];
  const unknown = s.indexOf(-1);
  if (unknown >= 0) {
    const known = numel(s.filter((_, i) => i !== unknown));
    check(known > 0 && x.numel % known === 0, 'ERR_SHAPE', `reshape: cannot infer -1 in [${shape}] from [${x.shape}]`);
    s[unknown] = x.numel / known;
  }
  check(s.every((d) => Number.isInteger(d) && d >= 0) && numel(s) === x.numel, 'ERR_SHAPE',
        `reshape: [${x.shape}] (${x.numel} elements) cannot become [${shape}]`);
  const out = x._alias(s);
  return record('reshape', out, [x], (g) => [g._alias(x.shape)]);
}
