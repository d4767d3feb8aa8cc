// rnn.ts — nn.LSTM and nn.GRU: stacked, unidirectional recurrent layers with PyTorch's
// parameter names, layouts, gate orders and defaults.
//
//   input  [T, B, inputSize]   ([B, T, inputSize] with batchFirst; [T, inputSize] unbatched)
//   output [T, B, hiddenSize]  (the last layer's h_t for every t; batch-first likewise)
//   state  [numLayers, B, hiddenSize] for h (and c for the LSTM); [numLayers, hiddenSize] unbatched
//
// Carrying state across batches (Keras' `stateful=True`, truncated back-propagation through time):
// pass the final state of one call as the initial state of the next, detached so the graph does
// not grow across batches, and returned from the step's tidy so it survives it:
//
//   let state: [at.Tensor, at.Tensor] | null = null;
//   for (const [x, y] of batches) {
//     const next = at.tidy(() => {
//       const [out, [h, c]] = lstm.forward(x, state);
//       const loss = lossFn(head.forward(out), y);
//       loss.backward();
//       opt.step();
//       opt.zeroGrad();
//       return [h.detach(), c.detach()] as [at.Tensor, at.Tensor];
//     });
//     state?.forEach((t) => t.dispose());
//     state = next;
//   }
//
// Without an initial state (null) both start at zeros, as in PyTorch.
import { check, AtentoError } from '../errors';
import { sigmoid, tanh } from '../functional/activations';
import { dropout } from '../functional/dropout';
import { add, mul, sub } from '../functional/elementwise';
import { lstm } from '../functional/lstm';
import { linear } from '../functional/matmul';
import { chunk, split, stack, transpose, unsqueeze, squeeze } from '../functional/shape';
import { Tensor, empty, zeros } from '../tensor';
import { uniform_ } from './init';
import type { FactoryOptions } from './linear';
import { Module } from './module';

export interface RNNOptions extends FactoryOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Biases bias_ih_l{k} and bias_hh_l{k} (default true). */
  bias?: boolean;
  /** Input and output as [B, T, features] instead of [T, B, features] (default false). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in train mode (default 0). */
  dropout?: number;
  /** Not supported: ERR_NOT_IMPLEMENTED when true. */
  bidirectional?: boolean;
}

// The shared part of LSTM and GRU: parameters, argument checks, layout changes.
abstract class RNNBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;

  constructor(readonly mode: 'LSTM' | 'GRU', gates: number, inputSize: number, hiddenSize: number,
              { numLayers = 1, bias = true, batchFirst = false, dropout = 0, bidirectional = false, device }: RNNOptions) {
    super();
    check([inputSize, hiddenSize].every((n) => Number.isInteger(n) && n > 0), 'ERR_ARGUMENT',
          () => `${mode}(${inputSize}, ${hiddenSize}): sizes must be positive integers`);
    check(Number.isInteger(numLayers) && numLayers >= 1, 'ERR_ARGUMENT',
          () => `${mode}: numLayers must be >= 1, got ${numLayers}`);
    check(typeof dropout === 'number' && dropout >= 0 && dropout <= 1, 'ERR_ARGUMENT',
          () => `${mode}: dropout must be in [0, 1]`);
    if (bidirectional) throw new AtentoError(`${mode}: bidirectional is not implemented`, 'ERR_NOT_IMPLEMENTED');
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = bias;
    this.batchFirst = batchFirst;
    this.dropout = dropout;
    const G = gates * hiddenSize;
    for (let l = 0; l < numLayers; l++) {
      const inF = l === 0 ? inputSize : hiddenSize;
      this.registerParameter(`weight_ih_l${l}`, empty([G, inF], { device }));
      this.registerParameter(`weight_hh_l${l}`, empty([G, hiddenSize], { device }));
      if (bias) {
        this.registerParameter(`bias_ih_l${l}`, empty([G], { device }));
        this.registerParameter(`bias_hh_l${l}`, empty([G], { device }));
      }
    }
    this.resetParameters();
  }

  /** PyTorch's default: every parameter ~ U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)). */
  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const p of this.parameters()) uniform_(p, { a: -k, b: k });
  }

  /** Layer l's [weight_ih, weight_hh, bias_ih | null, bias_hh | null]. */
  layerWeights(l: number): [Tensor, Tensor, Tensor | null, Tensor | null] {
    const self = this as any;
    return [self[`weight_ih_l${l}`], self[`weight_hh_l${l}`], self[`bias_ih_l${l}`] ?? null, self[`bias_hh_l${l}`] ?? null];
  }

  // input -> time-major [T, B, I], and whether it was unbatched.
  protected prepareInput(input: Tensor): { x: Tensor; unbatched: boolean } {
    check(input instanceof Tensor, 'ERR_ARGUMENT', () => `${this.mode}: input must be a Tensor`);
    check(input.ndim === 2 || input.ndim === 3, 'ERR_SHAPE',
          () => `${this.mode}: input must be [T, B, ${this.inputSize}]${this.batchFirst ? ' (batch first: [B, T, ...])' : ''} ` +
          `or unbatched [T, ${this.inputSize}], got [${input.shape}]`);
    check(input.shape[input.ndim - 1] === this.inputSize, 'ERR_SHAPE',
          () => `${this.mode}: input [${input.shape}] must end in inputSize ${this.inputSize}`);
    if (input.ndim === 2) return { x: unsqueeze(input, 1), unbatched: true };
    return { x: this.batchFirst ? transpose(input, 0, 1) : input, unbatched: false };
  }

  protected finishOutput(out: Tensor, unbatched: boolean): Tensor {
    if (unbatched) return squeeze(out, 1);
    return this.batchFirst ? transpose(out, 0, 1) : out;
  }

  // A state tensor [L, B, H] (or [L, H] unbatched) -> one [B, H] per layer.
  protected splitState(s: Tensor | null | undefined, B: number, unbatched: boolean, name: string): (Tensor | null)[] {
    const L = this.numLayers, H = this.hiddenSize;
    if (s == null) return Array(L).fill(null);
    check(s instanceof Tensor, 'ERR_ARGUMENT', () => `${this.mode}: ${name} must be a Tensor`);
    const want = unbatched ? [L, H] : [L, B, H];
    check(s.shape.join() === want.join(), 'ERR_SHAPE', () => `${this.mode}: ${name} must be [${want}], got [${s.shape}]`);
    const per = L === 1 ? [s] : split(s, 1, 0);
    return per.map((t) => t.reshape([B, H]));
  }

  // One [B, H] per layer -> [L, B, H] (or [L, H] unbatched).
  protected stackState(states: Tensor[], unbatched: boolean): Tensor {
    const s = states.length === 1 ? unsqueeze(states[0], 0) : stack(states, 0);
    return unbatched ? squeeze(s, 1) : s;
  }

  protected betweenLayers(x: Tensor, l: number): Tensor {
    return l < this.numLayers - 1 && this.dropout > 0 ? dropout(x, this.dropout, this.training) : x;
  }

  extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}` + (this.numLayers !== 1 ? `, numLayers=${this.numLayers}` : '') +
      (this.batchFirst ? ', batchFirst=true' : '') + (!this.bias ? ', bias=false' : '') +
      (this.dropout ? `, dropout=${this.dropout}` : '');
  }
}

/**
 * Long short-term memory (torch.nn.LSTM), built on F.lstm. Gate order i, f, g, o. Parameters
 * weight_ih_l{k} [4H, in], weight_hh_l{k} [4H, H], bias_ih_l{k}, bias_hh_l{k} [4H].
 * forward(input, [h0, c0] | null) -> [output, [hN, cN]].
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    super('LSTM', 4, inputSize, hiddenSize, opts);
  }

  forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    const { x: x0, unbatched } = this.prepareInput(input);
    const B = x0.shape[1];
    check(hx == null || (Array.isArray(hx) && hx.length === 2), 'ERR_ARGUMENT', 'LSTM: hx must be [h0, c0] or null');
    const h0 = this.splitState(hx?.[0], B, unbatched, 'h0');
    const c0 = this.splitState(hx?.[1], B, unbatched, 'c0');
    const hs: Tensor[] = [], cs: Tensor[] = [];
    let x = x0;
    for (let l = 0; l < this.numLayers; l++) {
      const [wIh, wHh, bIh, bHh] = this.layerWeights(l);
      const state = h0[l] && c0[l] ? ([h0[l], c0[l]] as [Tensor, Tensor]) : null;
      check(!!h0[l] === !!c0[l], 'ERR_ARGUMENT', 'LSTM: give both h0 and c0, or neither');
      const [out, hN, cN] = lstm(x, state, wIh, wHh, bIh, bHh);
      hs.push(hN);
      cs.push(cN);
      x = this.betweenLayers(out, l);
    }
    return [this.finishOutput(x, unbatched), [this.stackState(hs, unbatched), this.stackState(cs, unbatched)]];
  }
}

/**
 * Gated recurrent unit (torch.nn.GRU). Gate order r, z, n as PyTorch:
 *   r = σ(x W_ir^T + b_ir + h W_hr^T + b_hr),  z = σ(... _z ...)
 *   n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h' = (1 - z) * n + z * h
 * Parameters weight_ih_l{k} [3H, in], weight_hh_l{k} [3H, H], bias_ih_l{k}, bias_hh_l{k} [3H].
 * forward(input, h0 | null) -> [output, hN]. Composed from matmul and elementwise ops, one step
 * at a time (the input projection of all steps is one GEMM).
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    super('GRU', 3, inputSize, hiddenSize, opts);
  }

  forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor] {
    const { x: x0, unbatched } = this.prepareInput(input);
    const [T, B] = x0.shape;
    const h0 = this.splitState(hx, B, unbatched, 'h0');
    const H = this.hiddenSize;
    const hs: Tensor[] = [];
    let x = x0;
    for (let l = 0; l < this.numLayers; l++) {
      const [wIh, wHh, bIh, bHh] = this.layerWeights(l);
      let h = h0[l] ?? zeros([B, H], { device: x.device });
      const outs: Tensor[] = [];
      if (T > 0) {
        const gi = linear(x, wIh, bIh); // [T, B, 3H]: the input half of every gate, all steps at once
        const steps = T === 1 ? [gi] : split(gi, 1, 0);
        for (let t = 0; t < T; t++) {
          const [ir, iz, inn] = chunk(steps[t].reshape([B, 3 * H]), 3, 1);
          const [hr, hz, hn] = chunk(linear(h, wHh, bHh), 3, 1);
          const r = sigmoid(add(ir, hr));
          const z = sigmoid(add(iz, hz));
          const n = tanh(add(inn, mul(r, hn)));
          h = add(n, mul(z, sub(h, n))); // (1 - z) n + z h
          outs.push(h);
        }
      }
      hs.push(h);
      const out = outs.length ? stack(outs, 0) : empty([0, B, H], { device: x.device });
      x = this.betweenLayers(out, l);
    }
    return [this.finishOutput(x, unbatched), this.stackState(hs, unbatched)];
  }
}
