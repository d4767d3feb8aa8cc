// sampling.ts — choosing the next token from logits: temperature, top-k, top-p, greedy.
import { check } from './errors';
import type { Generator } from './tensor';

export interface SamplingOptions {
  temperature?: number; // 0 = greedy (argmax)
  topK?: number;
  topP?: number;
}

/** Samples an index from one row of logits (a plain array: rows are small and live on the host). */
export function sampleLogits(logits: ArrayLike<number>, gen: Generator, opts: SamplingOptions = {}): number {
  const { temperature = 1, topK, topP } = opts;
  check(temperature >= 0, 'ERR_ARGUMENT', 'temperature must be >= 0');
  const n = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  if (topK !== undefined) order = order.slice(0, Math.max(1, Math.min(topK, n)));
  const max = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - max) / temperature));
  let total = probs.reduce((s, p) => s + p, 0);
  if (topP !== undefined && topP < 1) {
    let acc = 0, keep = 0;
    while (keep < probs.length && acc < topP * total) acc += probs[keep++];
    order = order.slice(0, Math.max(1, keep));
    probs = probs.slice(0, Math.max(1, keep));
    total = probs.reduce((s, p) => s + p, 0);
  }
  let r = gen.next() * total;
  for (let k = 0; k < order.length; k++) {
    r -= probs[k];
    if (r <= 0) return order[k];
  }
  return order[order.length - 1];
}
