// module.ts — nn.Module, the base of every layer, and the containers Sequential and ModuleList.
//
// A module owns parameters (trainable leaves), buffers (state that is saved but not trained) and
// child modules. Subclasses register them explicitly, in the order PyTorch does, and keep them as
// ordinary properties:
//
//   class Block extends nn.Module {
//     linear: nn.Linear;
//     scale: Tensor;
//     constructor() {
//       super();
//       this.linear = this.registerModule('linear', new nn.Linear(4, 4));
//       this.scale = this.registerParameter('scale', at.ones([4]));
//     }
//     forward(x: Tensor) { return at.F.mul(this.linear.forward(x), this.scale); }
//   }
//
// Registration records the *name*; the value always lives in the property of that name, so
// `this.scale = other` is seen by parameters(), stateDict(), to() and friends. Names compose with
// dots as in PyTorch (`layers.0.self_attn.in_proj_weight`), so a PyTorch state_dict maps onto an
// atento model by name.
//
// Memory: parameters and buffers are kept out of tidy() scopes, so building a model inside
// at.tidy() is safe; dispose() frees them all.
import { check, callNative } from '../errors';
import { native } from '../native';
import { Tensor, checkDevice, dtypeBytes, empty, keep, type DeviceName } from '../tensor';

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Like torch.nn.Parameter: marks a tensor as a trainable leaf and keeps it out of tidy scopes. */
export function Parameter(t: Tensor): Tensor {
  check(t instanceof Tensor, 'ERR_ARGUMENT', 'Parameter: expected a Tensor');
  check(!t.gradFn, 'ERR_ARGUMENT', 'Parameter: the tensor is the result of an op; pass a leaf (use .detach())');
  check(t.dtype === 'float32', 'ERR_DTYPE', () => `Parameter: only float32 tensors can be trained, got ${t.dtype}`);
  t.requiresGrad = true;
  return keep(t);
}

function checkName(name: string, what: string): void {
  check(typeof name === 'string' && name.length > 0 && !name.includes('.'), 'ERR_ARGUMENT',
        () => `${what}: name '${name}' must be a non-empty string without dots`);
}

// A copy of t on `device` with the same dtype, not recorded by autograd.
function copyTo(t: Tensor, device: DeviceName): Tensor {
  const out = empty(t.shape, { dtype: t.dtype, device });
  callNative(() => native.copyBuffer(out.buf, t.buf, t.numel * dtypeBytes(t.dtype)));
  return out;
}

/** @internal Overwrites t's values (any device) with host values of its dtype. */
export function copyFromHost(t: Tensor, values: Float32Array | Int32Array | Uint8Array): void {
  check(values.length === t.numel, 'ERR_SHAPE', () => `copyFromHost: ${values.length} values for [${t.shape}]`);
  if (values.length) callNative(() => native.copyBuffer(t.buf, values, values.byteLength));
}

export class Module {
  /** Train mode (dropout active) or eval mode; set with train()/eval(). */
  training = true;
  private readonly _parameterNames: string[] = [];
  private readonly _bufferNames: string[] = [];
  private readonly _nonPersistent = new Set<string>();
  private readonly _moduleNames: string[] = [];

  // --- registration ------------------------------------------------------------------------

  /** Registers a parameter (or null for an absent one, e.g. a bias turned off) and returns it. */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    checkName(name, 'registerParameter');
    this.claim(name, this._parameterNames);
    if (t) Parameter(t);
    (this as any)[name] = t;
    return t;
  }

  /** Registers a buffer: state saved in stateDict() (unless persistent is false), not trained. */
  registerBuffer<T extends Tensor | null>(name: string, t: T, { persistent = true } = {}): T {
    checkName(name, 'registerBuffer');
    this.claim(name, this._bufferNames);
    if (!persistent) this._nonPersistent.add(name);
    if (t) keep(t);
    (this as any)[name] = t;
    return t;
  }

  /** Registers a child module (or null) and returns it. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    checkName(name, 'registerModule');
    check(m === null || m instanceof Module, 'ERR_ARGUMENT', () => `registerModule('${name}'): not a Module`);
    this.claim(name, this._moduleNames);
    (this as any)[name] = m;
    return m;
  }

  private claim(name: string, list: string[]): void {
    for (const other of [this._parameterNames, this._bufferNames, this._moduleNames]) {
      if (other !== list) check(!other.includes(name), 'ERR_ARGUMENT',
                                () => `'${name}' is already registered as something else`);
    }
    if (!list.includes(name)) list.push(name);
  }

  // --- traversal ------------------------------------------------------------------------------

  /** Direct children as [name, module] (null children skipped). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const n of this._moduleNames) {
      const m = (this as any)[n] as Module | null;
      if (m) out.push([n, m]);
    }
    return out;
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, pre-order, each once: [dotted name, module]. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, c] of m.namedChildren()) visit(c, name ? `${name}.${n}` : n);
    };
    visit(this, prefix);
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private collect(kind: 'parameters' | 'buffers', recurse: boolean, persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of mods) {
      const names = kind === 'parameters' ? m._parameterNames : m._bufferNames;
      for (const n of names) {
        if (persistentOnly && m._nonPersistent.has(n)) continue;
        const t = (m as any)[n] as Tensor | null;
        if (!t || seen.has(t)) continue; // a tensor shared by two modules is listed once
        seen.add(t);
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** Parameters as [dotted name, tensor], in PyTorch's named_parameters() order. */
  namedParameters({ recurse = true } = {}): [string, Tensor][] {
    return this.collect('parameters', recurse);
  }
  parameters({ recurse = true } = {}): Tensor[] {
    return this.namedParameters({ recurse }).map(([, t]) => t);
  }
  namedBuffers({ recurse = true } = {}): [string, Tensor][] {
    return this.collect('buffers', recurse);
  }
  buffers({ recurse = true } = {}): Tensor[] {
    return this.namedBuffers({ recurse }).map(([, t]) => t);
  }

  /** Calls fn on every descendant and then on this module (like PyTorch's apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // --- state ------------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's state_dict() order. The
   * tensors are the module's own (not copies): read or save them, don't dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const visit = (m: Module, prefix: string, seen: Set<Module>) => {
      if (seen.has(m)) return;
      seen.add(m);
      for (const list of [m._parameterNames, m._bufferNames]) {
        for (const n of list) {
          if (list === m._bufferNames && m._nonPersistent.has(n)) continue;
          const t = (m as any)[n] as Tensor | null;
          if (t) out[prefix + n] = t;
        }
      }
      for (const [n, c] of m.namedChildren()) visit(c, `${prefix}${n}.`, seen);
    };
    visit(this, '', new Set());
    return out;
  }

  /**
   * Copies values from `sd` (name -> Tensor, e.g. from at.load or a PyTorch state_dict) into this
   * module's parameters and buffers, in place (so an optimizer holding them keeps working). Every
   * entry is checked first and nothing is copied unless all fit: a shape or dtype mismatch, and
   * with `strict` (the default) a missing or unexpected key, is an ERR_CHECKPOINT listing them all.
   */
  loadStateDict(sd: StateDict | Map<string, Tensor>, { strict = true } = {}): LoadStateDictResult {
    check(sd !== null && typeof sd === 'object', 'ERR_ARGUMENT', 'loadStateDict: expected an object of tensors');
    const given = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !(k in own));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    for (const [k, dst] of Object.entries(own)) {
      const src = given.get(k);
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) {
        problems.push(`${k}: not a Tensor`);
      } else if (src.disposed) {
        problems.push(`${k}: the tensor was disposed`);
      } else if (src.shape.join() !== dst.shape.join()) {
        problems.push(`${k}: shape [${src.shape}] in the checkpoint, [${dst.shape}] in the model`);
      } else if (src.dtype !== dst.dtype) {
        problems.push(`${k}: dtype ${src.dtype} in the checkpoint, ${dst.dtype} in the model`);
      }
    }
    check(problems.length === 0, 'ERR_CHECKPOINT',
          () => `loadStateDict into ${this.constructor.name}: ${problems.join('; ')}`);
    for (const [k, dst] of Object.entries(own)) {
      const src = given.get(k);
      if (src && src !== dst) callNative(() => native.copyBuffer(dst.buf, src.buf, dst.numel * dtypeBytes(dst.dtype)));
    }
    return { missingKeys, unexpectedKeys };
  }

  // --- modes, devices, gradients, memory ---------------------------------------------------------

  /** Sets train mode (or eval mode with false) on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to `device`. The moved tensors are new objects and the old
   * ones are disposed, so create the optimizer after calling to() (as PyTorch advises).
   */
  to(device: DeviceName): this {
    checkDevice(device);
    // A tensor shared by several modules (tied weights) is moved once and stays shared.
    const movedFrom = new Map<Tensor, Tensor>();
    for (const m of this.modules()) {
      for (const [list, isParam] of [[m._parameterNames, true], [m._bufferNames, false]] as const) {
        for (const n of list) {
          const t = (m as any)[n] as Tensor | null;
          if (!t || t.device === device) continue;
          let moved = movedFrom.get(t);
          if (!moved) {
            moved = keep(copyTo(t, device));
            if (isParam) moved.requiresGrad = t.requiresGrad;
            movedFrom.set(t, moved);
          }
          (m as any)[n] = moved;
        }
      }
    }
    for (const t of movedFrom.keys()) t.dispose();
    return this;
  }
  cpu(): this {
    return this.to('cpu');
  }
  cuda(): this {
    return this.to('cuda');
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees every parameter and buffer now. Safe to call twice; the module is unusable after. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const n of [...m._parameterNames, ...m._bufferNames]) ((m as any)[n] as Tensor | null)?.dispose();
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The number of trainable values. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  // --- forward ------------------------------------------------------------------------------------

  /** The computation; subclasses override it. */
  forward(..._args: any[]): any {
    throw new Error(`${this.constructor.name} does not implement forward()`);
  }

  /** Same as forward (PyTorch's module(x)), typed after the subclass's forward. */
  call<M extends Module>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    return this.forward(...args);
  }

  /** The extra text in toString() (like PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-like listing of the module tree. */
  toString(): string {
    const kids = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (!kids.length) return `${head})`;
    const lines = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}

/**
 * A deep copy of a module (like Python's copy.deepcopy): new parameter and buffer tensors with the
 * same values, new submodules; other values (numbers, strings, functions) are shared or copied
 * as they are. A tensor or module shared inside m is shared the same way in the copy.
 */
export function deepCopy<M extends Module>(m: M): M {
  const memo = new Map<unknown, unknown>();
  const copy = (v: any): any => {
    if (v === null || typeof v !== 'object') return v;
    if (memo.has(v)) return memo.get(v);
    let out: any;
    if (v instanceof Tensor) {
      out = keep(v.clone());
      out.requiresGrad = v.requiresGrad;
      memo.set(v, out);
    } else if (v instanceof Module || Object.getPrototypeOf(v) === Object.prototype) {
      out = Object.create(Object.getPrototypeOf(v));
      memo.set(v, out);
      for (const k of Reflect.ownKeys(v)) out[k] = copy(v[k]);
    } else if (Array.isArray(v)) {
      out = [];
      memo.set(v, out);
      for (const x of v) out.push(copy(x));
    } else if (v instanceof Set) {
      out = new Set();
      memo.set(v, out);
      for (const x of v) out.add(copy(x));
    } else if (v instanceof Map) {
      out = new Map();
      memo.set(v, out);
      for (const [k, x] of v) out.set(k, copy(x));
    } else {
      out = v; // class instances that are not modules (generators, caches): shared
    }
    return out;
  };
  return copy(m);
}

/** Runs its modules one after another, each on the previous one's output. */
export class Sequential extends Module {
  private count = 0;
  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: Module): this {
    this.registerModule(String(this.count++), m);
    return this;
  }
  get length(): number {
    return this.count;
  }
  at(i: number): Module {
    check(Number.isInteger(i) && i >= -this.count && i < this.count, 'ERR_INDEX',
          () => `Sequential: index ${i} out of range`);
    return (this as any)[String(i < 0 ? i + this.count : i)];
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
  forward(x: any): any {
    for (const m of this.children()) x = m.forward(x);
    return x;
  }
}

/** A list of modules whose parameters are registered as `0.`, `1.`, ... (like nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  private count = 0;
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.count++), m);
    return this;
  }
  get length(): number {
    return this.count;
  }
  at(i: number): M {
    check(Number.isInteger(i) && i >= -this.count && i < this.count, 'ERR_INDEX',
          () => `ModuleList: index ${i} out of range`);
    return (this as any)[String(i < 0 ? i + this.count : i)];
  }
  [Symbol.iterator](): Iterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }
}
