// train.ts — the training loop for language models: random windows of a token stream, AdamW
// with warm-up and cosine decay, gradient clipping, periodic validation. Each step runs inside
// at.tidy (its intermediates are freed), and the loop yields to the event loop between steps so a
// server embedding atento stays responsive.
import * as F from './functional';
import { getBatch } from './data';
import { check } from './errors';
import { noGrad } from './autograd';
import type { Module } from './nn/module';
import { AdamW, clipGradNorm } from './optim';
import { Generator, tidy, type DeviceName, type Tensor } from './tensor';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  blockSize: number;
  lr?: number;
  minLr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  gradClip?: number;
  evalEvery?: number;
  evalIters?: number;
  seed?: number;
  device?: DeviceName;
  onLog?: (e: { step: number; loss: number; valLoss?: number; lr: number; msPerStep: number }) => void;
}

export type LanguageModel = Module & { forward(idx: Tensor): Tensor };

/** Mean cross-entropy of next-token prediction for a batch (logits [B,T,V], targets [B,T]). */
export function lmLoss(model: LanguageModel, x: Tensor, y: Tensor): Tensor {
  const logits = model.forward(x);
  const [B, T, V] = logits.shape;
  return F.crossEntropy(logits.reshape([B * T, V]), y.reshape([B * T]));
}

function lrAt(step: number, o: Required<Pick<TrainOptions, 'lr' | 'minLr' | 'warmupSteps' | 'steps'>>): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const progress = (step - o.warmupSteps) / Math.max(1, o.steps - o.warmupSteps);
  return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}

/** Estimated loss over `iters` random batches, without gradients. */
export function estimateLoss(model: LanguageModel, ids: Int32Array, iters: number, batchSize: number, blockSize: number,
                             gen: Generator, device?: DeviceName): number {
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  for (let i = 0; i < iters; i++) {
    total += tidy(() => noGrad(() => {
      const { x, y } = getBatch(ids, batchSize, blockSize, gen, device);
      return lmLoss(model, x, y).item();
    }));
  }
  if (wasTraining) model.train();
  return total / iters;
}

/** Trains `model` on next-token prediction over `train` (and reports loss on `val`). */
export async function trainLanguageModel(model: LanguageModel, train: Int32Array, val: Int32Array | null,
                                         opts: TrainOptions): Promise<{ finalLoss: number; valLoss?: number; msPerStep: number }> {
  const o = { lr: 1e-3, minLr: 1e-4, warmupSteps: Math.min(100, Math.floor(opts.steps / 10)), weightDecay: 0.1,
              gradClip: 1.0, evalEvery: 0, evalIters: 10, seed: 1337, ...opts };
  check(o.steps > 0 && o.batchSize > 0 && o.blockSize > 0, 'ERR_ARGUMENT', 'train: steps, batchSize, blockSize must be > 0');
  const gen = new Generator(o.seed);
  const params = model.parameters();
  // As nanoGPT: weight decay on matrices (2-d and up), none on biases and norms.
  const opt = new AdamW([
    { params: params.filter((p) => p.ndim >= 2), weightDecay: o.weightDecay },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ], { lr: o.lr, betas: [0.9, 0.95] });
  model.train();
  let loss = NaN, valLoss: number | undefined, totalMs = 0;
  for (let step = 0; step < o.steps; step++) {
    const lr = lrAt(step, o);
    for (const g of opt.paramGroups) g.lr = lr;
    const t0 = performance.now();
    loss = tidy(() => {
      const { x, y } = getBatch(train, o.batchSize, o.blockSize, gen, o.device);
      const l = lmLoss(model, x, y);
      opt.zeroGrad();
      l.backward();
      if (o.gradClip > 0) clipGradNorm(params, o.gradClip);
      opt.step();
      return l.item();
    });
    check(Number.isFinite(loss), 'ERR_NAN', () => `train: the loss became ${loss} at step ${step}`);
    const ms = performance.now() - t0;
    totalMs += ms;
    const last = step === o.steps - 1;
    if (val && o.evalEvery > 0 && (step % o.evalEvery === 0 || last))
      valLoss = estimateLoss(model, val, o.evalIters, o.batchSize, o.blockSize, gen, o.device);
    o.onLog?.({ step, loss, valLoss, lr, msPerStep: ms });
    await new Promise((resolve) => setImmediate(resolve)); // let the event loop breathe
  }
  return { finalLoss: loss, valLoss, msPerStep: totalMs / o.steps };
}
