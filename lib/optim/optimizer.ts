// optimizer.ts — Optimizer: the base of SGD, Adam and AdamW (PyTorch's torch.optim.Optimizer).
//
// An optimizer holds parameter groups (each a list of leaf tensors with its own lr and
// hyperparameters) and per-parameter state (momentum buffers, moment estimates, step counts).
// step() updates every parameter that has a `.grad` in place, with one fused native kernel per
// parameter tensor (native/cpu|cuda/optim.*); parameters whose grad is null are skipped.
//
// State tensors live on their parameter's device and are kept out of every `tidy` scope, so a
// training step wrapped in at.tidy() does not free them. dispose() frees them now.
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, keep, zeros } from '../tensor';
import { setGradEnabled } from '../autograd';

/** Hyperparameters every group has. */
export interface GroupOptions {
  lr: number;
}

/** A parameter group: its parameters plus its own copy of every hyperparameter. */
export type ParamGroup<H extends GroupOptions = GroupOptions> = H & { params: Tensor[] };

/** A group as given to a constructor or addParamGroup: missing hyperparameters take the defaults. */
export type ParamGroupSpec<H extends GroupOptions = GroupOptions> = Partial<H> & { params: Tensor | Iterable<Tensor> };

/** What optimizers accept: parameters, or groups of parameters with their own options. */
export type Params<H extends GroupOptions = GroupOptions> = Iterable<Tensor> | Iterable<ParamGroupSpec<H>>;

/** One parameter's state: tensors (moments, buffers) and numbers (the step count). */
export type ParamState = Record<string, Tensor | number>;

/**
 * A snapshot of an optimizer, PyTorch's layout in camelCase: `state` is keyed by the index of
 * the parameter counted over all groups in order; each group lists its parameters by index.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** Copies a hyperparameter value (arrays such as `betas` are copied, not shared). */
function copyValue<T>(v: T): T {
  return (Array.isArray(v) ? [...v] : v) as T;
}

export abstract class Optimizer<H extends GroupOptions = GroupOptions> {
  /** The hyperparameters a group gets when it does not set them. */
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created at a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Params<H>, defaults: H) {
    this.checkOptions(defaults);
    this.defaults = { ...defaults };
    check(params !== null && typeof params === 'object' && Symbol.iterator in Object(params), 'ERR_ARGUMENT',
          'optimizer: params must be an iterable of tensors or of parameter groups');
    const list = [...(params as Iterable<Tensor | ParamGroupSpec<H>>)];
    check(list.length > 0, 'ERR_ARGUMENT', 'optimizer got an empty parameter list');
    if (list.every((x) => x instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupSpec<H>);
    else for (const g of list) this.addParamGroup(g as ParamGroupSpec<H>);
  }

  /** Checks one group's hyperparameters (ERR_ARGUMENT); each optimizer adds its own rules. */
  protected checkOptions(o: H): void {
    check(typeof o.lr === 'number' && o.lr >= 0, 'ERR_ARGUMENT', () => `invalid learning rate: ${String(o.lr)}`);
  }

  /** Adds a group of parameters with its own hyperparameters (the rest from `defaults`). */
  addParamGroup(group: ParamGroupSpec<H>): void {
    check(group !== null && typeof group === 'object' && 'params' in group, 'ERR_ARGUMENT',
          'addParamGroup: a group is an object with `params`');
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      check(p instanceof Tensor, 'ERR_ARGUMENT', 'optimizer: parameters must be tensors');
      check(p.dtype === 'float32', 'ERR_DTYPE', () => `optimizer: parameters must be float32, got ${p.dtype}`);
      check(!p.gradFn, 'ERR_ARGUMENT', "optimizer: can't optimize a non-leaf tensor (one computed by an op)");
      check(!p.disposed, 'ERR_DISPOSED', 'optimizer: a parameter was disposed');
      check(!seen.has(p), 'ERR_ARGUMENT', 'optimizer: a parameter appears in more than one place');
      seen.add(p);
    }
    const full = { ...this.defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) if (k !== 'params' && v !== undefined) full[k] = copyValue(v);
    full.params = params;
    this.checkOptions(full as unknown as H);
    this.paramGroups.push(full as unknown as ParamGroup<H>);
  }

  /**
   * Clears the gradients of every parameter. setToNone (the default, as in PyTorch) disposes
   * each grad and sets it to null (a reference to it kept elsewhere is disposed too);
   * otherwise grads are zeroed in place.
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) {
          p.grad.dispose();
          p.grad = null;
        } else {
          const grad = p.grad;
          callNative(() => native.zeroBuffer(grad.buf));
        }
      }
    }
  }

  /**
   * Updates every parameter that has a grad. With a closure (which recomputes the loss and
   * calls backward), runs it first with gradients enabled and returns its result.
   */
  step<T = number>(closure?: () => T): T | undefined {
    let loss: T | undefined;
    if (closure) loss = setGradEnabled(true, closure);
    // Check everything before changing anything: a bad grad leaves every parameter untouched.
    const work = this.paramGroups.map((group) => {
      this.checkOptions(group);
      return { group, params: group.params.filter((p) => this.checkGrad(p)) };
    });
    for (const { group, params } of work) if (params.length) this.updateGroup(group, params);
    return loss;
  }

  /** Whether p takes part in this step (it has a grad), after checking the grad fits p. */
  private checkGrad(p: Tensor): boolean {
    const g = p.grad;
    if (!g) return false;
    void p.buf; // ERR_DISPOSED for a disposed parameter
    void g.buf;
    check(g.device === p.device, 'ERR_DEVICE',
          () => `optimizer: a parameter on ${p.device} has its grad on ${g.device}; move them to one device`);
    check(g.dtype === 'float32', 'ERR_DTYPE', () => `optimizer: grads must be float32, got ${g.dtype}`);
    check(g.shape.join() === p.shape.join(), 'ERR_SHAPE',
          () => `optimizer: grad shape [${g.shape}] differs from parameter shape [${p.shape}]`);
    return true;
  }

  /** Updates `params` (all with a checked grad) of one group in place. */
  protected abstract updateGroup(group: ParamGroup<H>, params: Tensor[]): void;

  /** A new state tensor of zeros shaped like p, on p's device, outside every tidy scope. */
  protected stateZeros(p: Tensor): Tensor {
    return keep(zeros(p.shape, { device: p.device }));
  }

  /** A copy of t outside every tidy scope. */
  protected stateCopy(t: Tensor): Tensor {
    return keep(t.clone());
  }

  /**
   * A snapshot of the optimizer: hyperparameters, step counts and copies of the state tensors
   * (copies, unlike PyTorch's references, so the snapshot stays valid while training goes on).
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> & { params: number[] } = { params: [] };
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = copyValue(v);
      for (const p of g.params) {
        if (!index.has(p)) index.set(p, index.size);
        out.params.push(index.get(p)!);
      }
      return out;
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) copy[k] = v instanceof Tensor ? v.clone() : v;
      state[i] = copy;
    }
    return { state, paramGroups };
  }

  /**
   * Restores a stateDict(): group hyperparameters and per-parameter state, copied onto each
   * parameter's device. The groups must match this optimizer's in number and size
   * (ERR_CHECKPOINT otherwise).
   */
  loadStateDict(sd: OptimizerStateDict): void {
    check(sd && Array.isArray(sd.paramGroups) && sd.state && typeof sd.state === 'object', 'ERR_CHECKPOINT',
          'loadStateDict: expected { state, paramGroups }');
    check(sd.paramGroups.length === this.paramGroups.length, 'ERR_CHECKPOINT',
          () => `loadStateDict: ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((saved, gi) => {
      const mine = this.paramGroups[gi];
      check(Array.isArray(saved.params) && saved.params.length === mine.params.length, 'ERR_CHECKPOINT',
            () => `loadStateDict: group ${gi} has ${saved.params?.length} parameters, the optimizer's has ${mine.params.length}`);
      saved.params.forEach((idx, j) => byIndex.set(idx, mine.params[j]));
    });
    // Build the new state first, so a bad entry leaves the optimizer as it was.
    const next = new Map<Tensor, ParamState>();
    try {
      for (const [key, s] of Object.entries(sd.state)) {
        const p = byIndex.get(Number(key));
        check(p, 'ERR_CHECKPOINT', () => `loadStateDict: state for parameter ${key}, which no group lists`);
        const copy: ParamState = {};
        next.set(p, copy);
        for (const [k, v] of Object.entries(s)) {
          if (v instanceof Tensor) {
            check(v.shape.join() === p.shape.join() && v.dtype === p.dtype, 'ERR_CHECKPOINT',
                  () => `loadStateDict: state '${k}' of parameter ${key} is [${v.shape}] ${v.dtype}, ` +
                  `the parameter [${p.shape}] ${p.dtype}`);
            copy[k] = keep(v.device === p.device ? v.clone() : v.to(p.device));
          } else {
            check(typeof v === 'number', 'ERR_CHECKPOINT',
                  () => `loadStateDict: state '${k}' must be a tensor or a number`);
            copy[k] = v;
          }
        }
      }
    } catch (e) {
      for (const s of next.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
      throw e;
    }
    sd.paramGroups.forEach((saved, gi) => {
      const mine = this.paramGroups[gi] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') mine[k] = copyValue(v);
    });
    this.disposeState();
    for (const [p, s] of next) this.state.set(p, s);
  }

  /** Frees the state tensors now (a later step starts from fresh state). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}
