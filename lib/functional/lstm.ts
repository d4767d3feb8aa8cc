// lstm.ts — the LSTM cell step (torch.nn.LSTMCell) and one LSTM layer over a whole sequence
// (one direction: the per-layer op under torch.nn.LSTM), forward and backward.
//
// PyTorch layout and gate order (i, f, g, o): wIh [4H, I], wHh [4H, H], bIh, bHh [4H];
//   gates = x wIh^T + bIh + h wHh^T + bHh;  i, f, o = sigmoid, g = tanh
//   c' = f c + i g;  h' = o tanh(c')
// Both run on the native sequence op (native/ops/lstm.cc; the cell is a sequence of one step): the
// time loop is in C++, one native call forward and one backward. Forward keeps a workspace (the
// activated gates and c of every step) that is freed with the graph.
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, zeros } from '../tensor';
import { needDtype, sameDevice } from './util';

/** An LSTM state: [h [B, H], c [B, H]]. */
export type LstmState = readonly [Tensor, Tensor];

interface Dims {
  T: number;
  B: number;
  I: number;
  H: number;
}

function checkArgs(op: string, x: Tensor, state: LstmState | null | undefined, wIh: Tensor, wHh: Tensor,
                   bIh: Tensor | null | undefined, bHh: Tensor | null | undefined, sequence: boolean): Dims {
  let h0: Tensor | null = null, c0: Tensor | null = null;
  if (state !== null && state !== undefined) {
    check(Array.isArray(state), 'ERR_ARGUMENT', () => `${op}: the state must be [h, c] (or null for zeros)`);
    h0 = state[0] ?? null;
    c0 = state[1] ?? null;
    check(h0 instanceof Tensor && c0 instanceof Tensor, 'ERR_ARGUMENT',
          () => `${op}: the state needs both h and c tensors, got [${h0 ? 'h' : 'null'}, ${c0 ? 'c' : 'null'}]`);
  }
  for (const [t, name] of [[x, 'input'], [wIh, 'wIh'], [wHh, 'wHh'], [bIh, 'bIh'], [bHh, 'bHh'], [h0, 'h'], [c0, 'c']] as const)
    check(t === null || t === undefined || t instanceof Tensor, 'ERR_ARGUMENT', () => `${op}: ${name} must be a Tensor`);
  sameDevice(op, x, h0, c0, wIh, wHh, bIh, bHh);
  needDtype(op, x, 'float32', 'input');
  needDtype(op, wIh, 'float32', 'wIh');
  needDtype(op, wHh, 'float32', 'wHh');
  if (bIh) needDtype(op, bIh, 'float32', 'bIh');
  if (bHh) needDtype(op, bHh, 'float32', 'bHh');
  if (h0) needDtype(op, h0, 'float32', 'h');
  if (c0) needDtype(op, c0, 'float32', 'c');

  check(wHh.ndim === 2 && wHh.shape[0] === 4 * wHh.shape[1] && wHh.shape[1] > 0, 'ERR_SHAPE',
        () => `${op}: wHh must be [4H, H] with H > 0, got [${wHh.shape}]`);
  const H = wHh.shape[1];
  check(wIh.ndim === 2 && wIh.shape[0] === 4 * H && wIh.shape[1] > 0, 'ERR_SHAPE',
        () => `${op}: wIh must be [4H, I] = [${4 * H}, I] with I > 0 (H = ${H} from wHh), got [${wIh.shape}]`);
  const I = wIh.shape[1];
  const xShape = sequence ? '[T, B, I]' : '[B, I]';
  check(x.ndim === (sequence ? 3 : 2), 'ERR_SHAPE', () => `${op}: input must be ${xShape}, got [${x.shape}]`);
  check(x.shape[x.ndim - 1] === I, 'ERR_SHAPE',
        () => `${op}: input [${x.shape}] has ${x.shape[x.ndim - 1]} features, wIh [${wIh.shape}] expects I = ${I}`);
  const T = sequence ? x.shape[0] : 1, B = x.shape[x.ndim - 2];
  check(T > 0 && B > 0, 'ERR_SHAPE', () => `${op}: input ${xShape} = [${x.shape}] must have T > 0 and B > 0`);
  check(!bIh === !bHh, 'ERR_ARGUMENT', () => `${op}: give both biases (bIh, bHh) or neither`);
  for (const [b, name] of [[bIh, 'bIh'], [bHh, 'bHh']] as const)
    check(!b || (b.ndim === 1 && b.shape[0] === 4 * H), 'ERR_SHAPE',
          () => `${op}: ${name} must be [4H] = [${4 * H}], got [${b?.shape}]`);
  for (const [s, name] of [[h0, 'h'], [c0, 'c']] as const)
    check(!s || (s.ndim === 2 && s.shape[0] === B && s.shape[1] === H), 'ERR_SHAPE',
          () => `${op}: ${name} must be [B, H] = [${B}, ${H}], got [${s?.shape}]`);
  return { T, B, I, H };
}

// Runs the native sequence op and records its backward. The cell (T = 1) returns [h', c'],
// the sequence [out, hN, cN].
function run(op: string, x: Tensor, state: LstmState | null | undefined, wIh: Tensor, wHh: Tensor,
             bIh: Tensor | null, bHh: Tensor | null, { T, B, I, H }: Dims, sequence: boolean): Tensor[] {
  const device = x.device;
  const h0 = state ? state[0] : null, c0 = state ? state[1] : null;
  const out = empty(sequence ? [T, B, H] : [B, H], { device });
  const hN = sequence ? empty([B, H], { device }) : null; // the cell's h' is `out` itself
  const cN = empty([B, H], { device });
  // gates [T,B,4H] (activated i, f, g, o) then c [T,B,H]: what backward reads
  const ws = empty([T * B * 5 * H], { device });
  callNative(() => native.lstmForward(out.buf, hN?.buf ?? null, cN.buf, ws.buf, x.buf, h0?.buf ?? null,
                                      c0?.buf ?? null, wIh.buf, wHh.buf, bIh?.buf ?? null, bHh?.buf ?? null,
                                      T, B, I, H));
  // Backward reads h_t from `out`; keep its storage even if the caller disposes `out`.
  const hs = out.detach();
  const outputs = sequence ? [out, hN!, cN] : [out, cN];
  return record(op, outputs, [x, h0, c0, wIh, wHh, bIh, bHh], (gs) => {
    // The cell's gradient for h' enters as dL/dhN; the sequence's for out as dOut.
    const [gOut, ghN, gcN] = sequence ? gs : [null, gs[0], gs[1]];
    const dh = ghN ? ghN.clone() : zeros([B, H], { device });
    const dc = gcN ? gcN.clone() : zeros([B, H], { device });
    const dGates = empty([T * B * 4 * H], { device });
    const grad = (t: Tensor | null) => (t?.requiresGrad ? empty(t.shape, { device }) : null);
    const dX = grad(x), dWih = grad(wIh), dWhh = grad(wHh), dbIh = grad(bIh), dbHh = grad(bHh);
    try {
      callNative(() => native.lstmBackward(dX?.buf ?? null, dWih?.buf ?? null, dWhh?.buf ?? null, dbIh?.buf ?? null,
                                           dbHh?.buf ?? null, dh.buf, dc.buf, dGates.buf, gOut?.buf ?? null, ws.buf,
                                           hs.buf, x.buf, h0?.buf ?? null, c0?.buf ?? null, wIh.buf, wHh.buf,
                                           T, B, I, H));
    } catch (e) {
      for (const t of [dh, dc, dX, dWih, dWhh, dbIh, dbHh]) t?.dispose();
      throw e;
    } finally {
      dGates.dispose();
    }
    const dh0 = h0?.requiresGrad ? dh : (dh.dispose(), null);
    const dc0 = c0?.requiresGrad ? dc : (dc.dispose(), null);
    return [dX, dh0, dc0, dWih, dWhh, dbIh, dbHh];
  }, [ws, hs]);
}

/**
 * One LSTM step, like torch.nn.LSTMCell: x [B, I], state [h [B, H], c [B, H]] (null: zeros),
 * wIh [4H, I], wHh [4H, H], optional bIh, bHh [4H] (both or neither). Returns [h', c'].
 * Differentiable in every input.
 */
export function lstmCell(x: Tensor, state: LstmState | null | undefined, wIh: Tensor, wHh: Tensor,
                         bIh?: Tensor | null, bHh?: Tensor | null): [Tensor, Tensor] {
  const dims = checkArgs('lstmCell', x, state, wIh, wHh, bIh, bHh, false);
  return run('lstmCell', x, state, wIh, wHh, bIh ?? null, bHh ?? null, dims, false) as [Tensor, Tensor];
}

/**
 * One LSTM layer, one direction, over a whole sequence: x [T, B, I] (time-major), state
 * [h0 [B, H], c0 [B, H]] (null: zeros), weights as in lstmCell. Returns [out [T, B, H], hN, cN]
 * where out holds h_t of every step. Back-propagates through time to x, h0, c0 and the weights
 * (so a state carried over from an earlier call gets its gradient too). Stacking layers and
 * batch-first input are nn.LSTM's business.
 */
export function lstm(x: Tensor, state: LstmState | null | undefined, wIh: Tensor, wHh: Tensor,
                     bIh?: Tensor | null, bHh?: Tensor | null): [Tensor, Tensor, Tensor] {
  const dims = checkArgs('lstm', x, state, wIh, wHh, bIh, bHh, true);
  return run('lstm', x, state, wIh, wHh, bIh ?? null, bHh ?? null, dims, true) as [Tensor, Tensor, Tensor];
}
