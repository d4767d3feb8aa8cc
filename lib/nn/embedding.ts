// embedding.ts — nn.Embedding: a lookup table of vectors, indexed by int32 ids.
import { check } from '../errors';
import { embedding } from '../functional/embedding';
import { Tensor, empty } from '../tensor';
import { normal_ } from './init';
import type { FactoryOptions } from './linear';
import { Module, copyFromHost } from './module';

/** Rows of `weight` [numEmbeddings, embeddingDim] picked by int32 ids: [...ids.shape, embeddingDim]. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** A row that gets no gradient and is initialised to zeros (negative counts from the end). */
  readonly paddingIdx: number | null;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number,
              { paddingIdx = null, device }: { paddingIdx?: number | null } & FactoryOptions = {}) {
    super();
    check(Number.isInteger(numEmbeddings) && numEmbeddings > 0 && Number.isInteger(embeddingDim) && embeddingDim >= 0,
          'ERR_ARGUMENT', () => `Embedding(${numEmbeddings}, ${embeddingDim}): sizes must be integers (numEmbeddings > 0)`);
    if (paddingIdx !== null) {
      check(Number.isInteger(paddingIdx) && paddingIdx >= -numEmbeddings && paddingIdx < numEmbeddings, 'ERR_ARGUMENT',
            () => `Embedding: paddingIdx ${paddingIdx} must be within the ${numEmbeddings} rows`);
      if (paddingIdx < 0) paddingIdx += numEmbeddings;
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = paddingIdx;
    this.weight = this.registerParameter('weight', empty([numEmbeddings, embeddingDim], { device }));
    this.resetParameters();
  }

  /** PyTorch's default: N(0, 1), the padding row zeroed. */
  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx === null) return;
    const w = this.weight.dataSync() as Float32Array;
    w.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
    copyFromHost(this.weight, w);
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, { paddingIdx: this.paddingIdx });
  }

  extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ''}`;
  }
}
