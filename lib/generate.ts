// generate.ts — text generation from a language model, one token at a time.
import { noGrad } from './autograd';
import { check } from './errors';
import { CharLSTM, type LSTMState } from './models/char_lstm';
import type { LanguageModel } from './train';
import { sampleLogits, type SamplingOptions } from './sampling';
import { Generator, keep, tensor, tidy, type DeviceName } from './tensor';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed?: number;
  device?: DeviceName;
  /** Context window for models with a fixed block size (GPT). */
  blockSize?: number;
}

/** Continues `prompt` (token ids) by maxNewTokens sampled tokens; returns all ids. */
export function generateTokens(model: LanguageModel, prompt: ArrayLike<number>, opts: GenerateOptions): number[] {
  check(prompt.length > 0, 'ERR_ARGUMENT', 'generate: the prompt must hold at least one token');
  const gen = new Generator(opts.seed ?? Date.now());
  const ids = Array.from(prompt);
  const wasTraining = model.training;
  model.eval();
  try {
    if (model instanceof CharLSTM) {
      // Recurrent: feed the prompt once, then one token at a time, carrying the state.
      let state: LSTMState | null = null;
      let input = ids;
      for (let i = 0; i < opts.maxNewTokens; i++) {
        const [row, next] = tidy(() => noGrad(() => {
          const x = tensor(Int32Array.from(input), [1, input.length], { dtype: 'int32', device: opts.device });
          const [logits, s] = model.forwardWithState(x, state);
          const V = logits.shape[2];
          const flat = logits.dataSync();
          return [flat.slice(flat.length - V), s.map((t) => keep(t))] as const;
        }));
        state?.forEach((t) => t.dispose());
        state = next as unknown as LSTMState;
        const id = sampleLogits(row, gen, opts);
        ids.push(id);
        input = [id];
      }
      state?.forEach((t) => t.dispose());
    } else {
      for (let i = 0; i < opts.maxNewTokens; i++) {
        const ctx = opts.blockSize ? ids.slice(-opts.blockSize) : ids;
        const row = tidy(() => noGrad(() => {
          const x = tensor(Int32Array.from(ctx), [1, ctx.length], { dtype: 'int32', device: opts.device });
          const logits = model.forward(x);
          const V = logits.shape[2];
          const flat = logits.dataSync();
          return flat.slice(flat.length - V);
        }));
        ids.push(sampleLogits(row, gen, opts));
      }
    }
  } finally {
    if (wasTraining) model.train();
  }
  return ids;
}
