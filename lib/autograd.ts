// autograd.ts — reverse-mode automatic differentiation, micrograd-style.
//
// Every functional op that produces a tensor from inputs that require gradients calls record():
// the outputs remember a Node holding the inputs and a backward closure, which maps the
// gradients of the outputs to gradients of the inputs (usually by calling a native backward
// kernel). backward() walks the nodes once in reverse topological order, accumulating into the
// `.grad` of leaves. After a backward the graph's saved intermediates are disposed (PyTorch's
// retain_graph=false), so a training loop does not grow memory.
import { callNative, check } from './errors';
import { native } from './native';
import { Tensor, keep, ones } from './tensor';

export interface GradFn {
  node: Node;
  index: number; // which output of node this tensor is
}

type Backward = (grads: (Tensor | null)[]) => (Tensor | null | undefined)[];

export class Node {
  constructor(
    readonly name: string,
    readonly inputs: (Tensor | null)[],
    public backwardFn: Backward | null,
    readonly outputShapes: number[][],
    public saved: Tensor[],
  ) {}
  /** Frees what the node saved for backward. */
  release(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.backwardFn = null;
  }
}

let gradEnabled = true;

/** Whether ops are being recorded (false inside noGrad). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording ops for autograd (like `with torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Same as noGrad, but sets the mode to `on` inside fn. */
export function setGradEnabled<T>(on: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = on;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Records an op. `backward` receives one gradient per output (null where the output got none)
 * and returns one gradient per input (null/undefined where the input needs none). `saved` lists
 * intermediates the op created for its backward; they are disposed with the graph.
 */
export function record(name: string, outputs: Tensor, inputs: (Tensor | null | undefined)[],
                       backward: (g: Tensor) => (Tensor | null | undefined)[], saved?: Tensor[]): Tensor;
export function record(name: string, outputs: Tensor[], inputs: (Tensor | null | undefined)[],
                       backward: Backward, saved?: Tensor[]): Tensor[];
export function record(
  name: string,
  outputs: Tensor | Tensor[],
  inputs: (Tensor | null | undefined)[],
  backward: Backward | ((g: Tensor) => (Tensor | null | undefined)[]),
  saved: Tensor[] = [],
): Tensor | Tensor[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const needs = gradEnabled && inputs.some((t) => t?.requiresGrad);
  if (!needs) {
    for (const t of saved) t.dispose();
    return outputs;
  }
  const bw: Backward = Array.isArray(outputs)
    ? (backward as Backward)
    : (gs) => (gs[0] ? (backward as (g: Tensor) => (Tensor | null)[])(gs[0]) : inputs.map(() => null));
  const node = new Node(name, inputs.map((t) => t ?? null), bw, outs.map((t) => t.shape), saved);
  outs.forEach((t, index) => {
    t.requiresGrad = true;
    t.gradFn = { node, index };
  });
  // Saved tensors belong to the graph, not to the tidy scope that created them.
  for (const t of saved) keep(t);
  return outputs;
}

/** Back-propagates from `root` (see Tensor.backward). */
export function backward(root: Tensor, grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
  check(root.requiresGrad, 'ERR_ARGUMENT', 'backward(): the tensor does not require grad');
  const callersGrad = !!grad;
  if (!grad) {
    check(root.numel === 1, 'ERR_SHAPE', () => `backward(): a non-scalar [${root.shape}] needs an explicit grad`);
    grad = ones(root.shape, { device: root.device }); // a scalar: cheap to leave to the GC
  } else {
    check(grad.shape.join() === root.shape.join(), 'ERR_SHAPE', 'backward(): grad shape must match');
  }
  if (!root.gradFn) {
    accumulate(root, callersGrad ? grad._alias(grad.shape) : grad);
    return;
  }

  // Topological order of the nodes reachable from root (iterative DFS: deep graphs such as an
  // LSTM unrolled over many steps would overflow the JS stack recursively).
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = [[root.gradFn.node, 0]];
  seen.add(root.gradFn.node);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const next = node.inputs[i]?.gradFn?.node;
      if (next && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }

  // Gradients flowing through the graph are owned by this loop: each is disposed once used.
  const pending = new Map<Node, (Tensor | null)[]>();
  const first = root.gradFn;
  pending.set(first.node, first.node.outputShapes.map(() => null));
  // A view of the caller's grad (no copy): gradients that share storage are never updated in
  // place (addInto), so the caller's tensor is safe.
  pending.get(first.node)![first.index] = callersGrad ? grad._alias(grad.shape) : grad;

  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    const gouts = pending.get(node);
    pending.delete(node);
    if (!gouts || gouts.every((g) => g === null)) continue;
    check(node.backwardFn, 'ERR_ARGUMENT',
          () => `backward(): the graph through '${node.name}' was already freed; pass { retainGraph: true } to the first backward`);
    const gins = noGrad(() => node.backwardFn!(gouts));
    const used = new Set<Tensor>(gouts.filter((g): g is Tensor => g !== null));
    const leaves: [Tensor, Tensor][] = [];
    node.inputs.forEach((input, i) => {
      let g = gins[i];
      if (!g) return;
      // A gradient passed through, or returned twice: another view of its storage, not a copy
      // (storage is ref-counted, and addInto / accumulate copy before writing into shared storage).
      if (used.has(g)) g = g._alias(g.shape);
      used.add(g);
      if (!input || !input.requiresGrad) return g.dispose();
      check(g.shape.join() === input.shape.join(), 'ERR_INTERNAL',
            () => `backward of '${node.name}': gradient shape [${g.shape}] != input shape [${input.shape}]`);
      if (input.gradFn) {
        const slots = pending.get(input.gradFn.node) ?? input.gradFn.node.outputShapes.map(() => null);
        const prev = slots[input.gradFn.index];
        slots[input.gradFn.index] = prev ? addInto(prev, g) : g;
        pending.set(input.gradFn.node, slots);
      } else {
        leaves.push([input, g]);
      }
    });
    for (const g of gouts) g?.dispose();
    for (const [leaf, g] of leaves) accumulate(leaf, g); // after gouts are gone: copies only what stays shared
    if (!opts.retainGraph) node.release();
  }
}

// prev += g in place (prev is ours; g is consumed).
function addInto(prev: Tensor, g: Tensor): Tensor {
  if (prev._sharesStorage) {
    // prev is a view of a tensor someone else holds (e.g. the caller's grad): sum into a copy
    const own = prev.clone();
    prev.dispose();
    prev = own;
  }
  callNative(() => native.axpy(prev.buf, g.buf, 1, prev.numel));
  g.dispose();
  return prev;
}

// leaf.grad += g (g is consumed). A leaf's grad is written in place later (clipGradNorm, zeroGrad,
// the next accumulation), so it never shares storage with another tensor.
function accumulate(leaf: Tensor, g: Tensor): void {
  if (!leaf.grad && g._sharesStorage) {
    const own = g.clone();
    g.dispose();
    g = own;
  }
  leaf.grad = keep(leaf.grad ? addInto(leaf.grad, g) : g);
}
