// models/index.ts — ready-made models, and saving/loading one with everything needed to rebuild
// it (its kind, config and tokenizer) in the checkpoint's metadata.
import { load, save } from '../checkpoint';
import { CharTokenizer } from '../data';
import { check } from '../errors';
import type { DeviceName } from '../tensor';
import { CharLSTM, type CharLSTMConfig } from './char_lstm';
import { GPT, type GPTConfig } from './gpt';

export { GPT, type GPTConfig } from './gpt';
export { CharLSTM, type CharLSTMConfig, type LSTMState } from './char_lstm';

export type ModelKind = 'gpt' | 'lstm';

export function createModel(kind: ModelKind, config: GPTConfig | CharLSTMConfig): GPT | CharLSTM {
  if (kind === 'gpt') return new GPT(config as GPTConfig);
  if (kind === 'lstm') return new CharLSTM(config as CharLSTMConfig);
  throw new (require('../errors').AtentoError)(`unknown model kind '${kind}' (gpt, lstm)`, 'ERR_ARGUMENT');
}

/** Saves weights + kind + config + tokenizer to a safetensors file (atomically). */
export function saveModel(file: string, kind: ModelKind, model: GPT | CharLSTM, tokenizer: CharTokenizer,
                          extra: Record<string, unknown> = {}): void {
  save({ model: model.stateDict(), meta: { kind, config: model.config, tokenizer: tokenizer.chars, ...extra } }, file);
}

/** Loads what saveModel wrote. */
export function loadModel(file: string, device?: DeviceName): { kind: ModelKind; model: GPT | CharLSTM; tokenizer: CharTokenizer; meta: any } {
  const ckpt = load(file, { device });
  check(ckpt.meta && ckpt.model, 'ERR_CHECKPOINT', () => `${file} is not an atento model checkpoint (no model/meta)`);
  const kind = ckpt.meta.kind as ModelKind;
  const model = createModel(kind, ckpt.meta.config);
  if (device) model.to(device);
  model.loadStateDict(ckpt.model);
  return { kind, model, tokenizer: new CharTokenizer(ckpt.meta.tokenizer as string[]), meta: ckpt.meta };
}
