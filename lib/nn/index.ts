// nn/index.ts — at.nn: modules with PyTorch's names (camelCase), initialisers, losses.
export { Module, Sequential, ModuleList, Parameter, deepCopy, type StateDict, type LoadStateDictResult } from './module';
export { Linear, Identity, type FactoryOptions } from './linear';
export { Embedding } from './embedding';
export { LayerNorm } from './normalization';
export { Dropout } from './dropout';
export { ReLU, GELU, Sigmoid, Tanh, SiLU, Softmax, LogSoftmax } from './activation';
export { LSTM, GRU, type RNNOptions } from './rnn';
export {
  MultiheadAttention, KVCache, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions,
} from './attention';
export {
  TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer,
  type Activation, type TransformerLayerOptions, type TransformerOptions, type EncoderLayerForwardOptions,
  type DecoderLayerForwardOptions, type EncoderForwardOptions, type TransformerForwardOptions,
} from './transformer';
export { SinusoidalPositionalEncoding, LearnedPositionalEmbedding, type PositionalOptions } from './positional';
export { CrossEntropyLoss, MSELoss, BCEWithLogitsLoss } from './loss';
export * as init from './init';
