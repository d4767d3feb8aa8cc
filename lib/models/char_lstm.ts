// char_lstm.ts — a character-level LSTM language model (Karpathy's char-rnn): embedding ->
// stacked LSTM -> linear head. Its state can be carried from batch to batch (truncated BPTT) and
// from token to token when generating.
//
//   idx [B, T] int32 (+ optional state) -> logits [B, T, vocabSize], new state
import { Module } from '../nn/module';
import { Dropout, Embedding, LSTM, Linear } from '../nn';
import { Tensor } from '../tensor';

export interface CharLSTMConfig {
  vocabSize: number;
  embedDim: number;
  hiddenSize: number;
  numLayers: number;
  dropout?: number;
}

export type LSTMState = [Tensor, Tensor]; // [hN, cN], each [numLayers, B, hiddenSize]

export class CharLSTM extends Module {
  embedding: Embedding;
  lstm: LSTM;
  drop: Dropout;
  head: Linear;
  constructor(readonly config: CharLSTMConfig) {
    super();
    this.embedding = this.registerModule('embedding', new Embedding(config.vocabSize, config.embedDim));
    this.lstm = this.registerModule('lstm', new LSTM(config.embedDim, config.hiddenSize, {
      numLayers: config.numLayers, batchFirst: true, dropout: config.dropout ?? 0,
    }));
    this.drop = this.registerModule('drop', new Dropout(config.dropout ?? 0));
    this.head = this.registerModule('head', new Linear(config.hiddenSize, config.vocabSize));
  }

  /** Logits [B, T, V] and the final state. */
  forwardWithState(idx: Tensor, state?: LSTMState | null): [Tensor, LSTMState] {
    const [out, next] = this.lstm.forward(this.embedding.forward(idx), state ?? undefined);
    return [this.head.forward(this.drop.forward(out)), next as LSTMState];
  }

  forward(idx: Tensor): Tensor {
    return this.forwardWithState(idx)[0];
  }
}
