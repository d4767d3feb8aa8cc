// positional.ts — position information for sequence models: the fixed sinusoidal encoding of
// "Attention Is All You Need" and learned position embeddings (GPT-2 style). Both add to their
// input x [B, T, E] (batchFirst, the default here) or [T, B, E], starting at position `offset`
// (for decoding one token at a time after `offset` earlier ones).
import { check } from '../errors';
import { dropout } from '../functional/dropout';
import { add } from '../functional/elementwise';
import { embedding } from '../functional/embedding';
import { narrow } from '../functional/shape';
import { Tensor, arange, empty, tensor } from '../tensor';
import { normal_ } from './init';
import type { FactoryOptions } from './linear';
import { Module } from './module';

export interface PositionalOptions extends FactoryOptions {
  /** Longest sequence (default 5000 for sinusoidal, required for learned). */
  maxLen?: number;
  /** Dropout after adding (default 0). */
  dropout?: number;
  /** x is [B, T, E] (default true) or [T, B, E]. */
  batchFirst?: boolean;
}

function positionsOf(x: Tensor, batchFirst: boolean, dModel: number, what: string): number {
  check(x instanceof Tensor && (x.ndim === 3 || x.ndim === 2), 'ERR_SHAPE',
        () => `${what}: input must be [B, T, ${dModel}], [T, B, ${dModel}] or [T, ${dModel}], got [${x?.shape}]`);
  check(x.shape[x.ndim - 1] === dModel, 'ERR_SHAPE', () => `${what}: input [${x.shape}] must end in ${dModel}`);
  return x.ndim === 2 || !batchFirst ? x.shape[0] : x.shape[1];
}

// [T, E] rows -> broadcastable against x: [T, E] for [B, T, E] or [T, E] inputs, [T, 1, E] for [T, B, E].
function broadcastRows(rows: Tensor, x: Tensor, batchFirst: boolean): Tensor {
  return x.ndim === 3 && !batchFirst ? rows.reshape([rows.shape[0], 1, rows.shape[1]]) : rows;
}

/**
 * pe[pos, 2i] = sin(pos / 10000^(2i/dModel)), pe[pos, 2i+1] = cos(pos / 10000^(2i/dModel)), added
 * to x. No parameters; the table is a non-persistent buffer `pe` [maxLen, dModel] (not in stateDict).
 */
export class SinusoidalPositionalEncoding extends Module {
  readonly dModel: number;
  readonly maxLen: number;
  readonly p: number;
  readonly batchFirst: boolean;
  pe: Tensor;

  constructor(dModel: number, { maxLen = 5000, dropout: p = 0, batchFirst = true, device }: PositionalOptions = {}) {
    super();
    check(Number.isInteger(dModel) && dModel > 0 && Number.isInteger(maxLen) && maxLen > 0, 'ERR_ARGUMENT',
          () => `SinusoidalPositionalEncoding(${dModel}, maxLen ${maxLen}): sizes must be positive integers`);
    this.dModel = dModel;
    this.maxLen = maxLen;
    this.p = p;
    this.batchFirst = batchFirst;
    const f = new Float32Array(maxLen * dModel);
    for (let pos = 0; pos < maxLen; pos++) {
      for (let i = 0; i < dModel; i += 2) {
        const angle = pos * Math.exp((-i * Math.log(10000)) / dModel);
        f[pos * dModel + i] = Math.sin(angle);
        if (i + 1 < dModel) f[pos * dModel + i + 1] = Math.cos(angle);
      }
    }
    this.pe = this.registerBuffer('pe', tensor(f, [maxLen, dModel], { device }), { persistent: false });
  }

  forward(x: Tensor, { offset = 0 }: { offset?: number } = {}): Tensor {
    const T = positionsOf(x, this.batchFirst, this.dModel, 'SinusoidalPositionalEncoding');
    check(Number.isInteger(offset) && offset >= 0 && offset + T <= this.maxLen, 'ERR_INDEX',
          () => `SinusoidalPositionalEncoding: positions ${offset}..${offset + T - 1} exceed maxLen ${this.maxLen}`);
    const rows = narrow(this.pe, 0, offset, T);
    return dropout(add(x, broadcastRows(rows, x, this.batchFirst)), this.p, this.training);
  }
}

/**
 * Learned position embeddings: a parameter `weight` [maxLen, dModel] (initialised N(0, 1) as
 * nn.Embedding, or N(0, std²) with `std`), whose rows offset..offset+T-1 are added to x.
 */
export class LearnedPositionalEmbedding extends Module {
  readonly dModel: number;
  readonly maxLen: number;
  readonly p: number;
  readonly batchFirst: boolean;
  weight: Tensor;

  constructor(maxLen: number, dModel: number,
              { dropout: p = 0, batchFirst = true, std = 1, device }: Omit<PositionalOptions, 'maxLen'> & { std?: number } = {}) {
    super();
    check(Number.isInteger(dModel) && dModel > 0 && Number.isInteger(maxLen) && maxLen > 0, 'ERR_ARGUMENT',
          () => `LearnedPositionalEmbedding(${maxLen}, ${dModel}): sizes must be positive integers`);
    this.dModel = dModel;
    this.maxLen = maxLen;
    this.p = p;
    this.batchFirst = batchFirst;
    this.weight = this.registerParameter('weight', normal_(empty([maxLen, dModel], { device }), { std }));
  }

  forward(x: Tensor, { offset = 0 }: { offset?: number } = {}): Tensor {
    const T = positionsOf(x, this.batchFirst, this.dModel, 'LearnedPositionalEmbedding');
    check(Number.isInteger(offset) && offset >= 0 && offset + T <= this.maxLen, 'ERR_INDEX',
          () => `LearnedPositionalEmbedding: positions ${offset}..${offset + T - 1} exceed maxLen ${this.maxLen}`);
    const ids = arange(offset, offset + T, { device: x.device });
    const rows = embedding(ids, this.weight);
    return dropout(add(x, broadcastRows(rows, x, this.batchFirst)), this.p, this.training);
  }
}
