// lr_scheduler.ts — learning-rate schedules (PyTorch's torch.optim.lr_scheduler), closed forms.
//
// A scheduler sets `lr` in every parameter group of its optimizer. Like PyTorch, constructing
// one applies the epoch-0 rate; each step() (once per epoch, or once per optimizer step for
// per-step schedules) advances `lastEpoch` by one and sets the rates for it.
//
//   const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 30, gamma: 0.1 });
//   for (...) { train(); opt.step(); sched.step(); }
import { check } from '../errors';
import type { Optimizer } from './optimizer';

export interface LRSchedulerState {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<any>;
  /** Each group's learning rate when the scheduler was made. */
  baseLrs: number[];
  /** How many times step() ran (0 right after construction). */
  lastEpoch = -1;
  private lastLr: number[] = [];

  constructor(optimizer: Optimizer<any>) {
    check(optimizer && Array.isArray(optimizer.paramGroups), 'ERR_ARGUMENT', 'scheduler: expected an optimizer');
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rate of each group at `lastEpoch`. */
  abstract getLr(): number[];

  /** Advances one epoch (or step) and sets each group's lr. */
  step(): void {
    this.lastEpoch++;
    const lrs = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      if (i < lrs.length) g.lr = lrs[i];
    });
    this.lastLr = lrs;
  }

  /** The rates the last step() set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): LRSchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  /** Restores stateDict(); the groups' rates come back with the optimizer's own loadStateDict. */
  loadStateDict(s: LRSchedulerState): void {
    check(s && Number.isInteger(s.lastEpoch) && Array.isArray(s.baseLrs) && Array.isArray(s.lastLr), 'ERR_CHECKPOINT',
          'scheduler loadStateDict: expected { lastEpoch, baseLrs, lastLr }');
    this.lastEpoch = s.lastEpoch;
    this.baseLrs = [...s.baseLrs];
    this.lastLr = [...s.lastLr];
  }

  /** Call at the end of a subclass constructor: applies the epoch-0 rates. */
  protected initialStep(): void {
    this.step();
  }
}

function needNumber(v: unknown, what: string, ok: (x: number) => boolean): number {
  check(typeof v === 'number' && ok(v), 'ERR_ARGUMENT', () => `${what}: invalid value ${String(v)}`);
  return v;
}

/** lr = base · gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<any>, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }) {
    super(optimizer);
    this.stepSize = needNumber(stepSize, 'StepLR stepSize', (x) => Number.isInteger(x) && x > 0);
    this.gamma = needNumber(gamma, 'StepLR gamma', Number.isFinite);
    this.initialStep();
  }
  getLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/**
 * lr = etaMin + (base - etaMin) · (1 + cos(π · epoch / tMax)) / 2: from base down to etaMin over
 * tMax epochs (and, as in PyTorch, back up after tMax: the cosine is periodic).
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer<any>, { tMax, etaMin = 0 }: { tMax: number; etaMin?: number }) {
    super(optimizer);
    this.tMax = needNumber(tMax, 'CosineAnnealingLR tMax', (x) => x > 0 && Number.isFinite(x));
    this.etaMin = needNumber(etaMin, 'CosineAnnealingLR etaMin', (x) => x >= 0 && Number.isFinite(x));
    this.initialStep();
  }
  getLr(): number[] {
    const c = (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax)) / 2;
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * c);
  }
}

/** lr = base · fn(epoch); one function for all groups, or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly fns: ((epoch: number) => number)[];
  constructor(optimizer: Optimizer<any>, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    super(optimizer);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lrLambda)) {
      check(lrLambda.length === n, 'ERR_ARGUMENT',
            () => `LambdaLR: ${lrLambda.length} functions for ${n} parameter groups`);
      this.fns = [...lrLambda];
    } else {
      this.fns = Array.from({ length: n }, () => lrLambda);
    }
    for (const f of this.fns) check(typeof f === 'function', 'ERR_ARGUMENT', 'LambdaLR: lrLambda must be a function');
    this.initialStep();
  }
  getLr(): number[] {
    return this.baseLrs.map((b, i) => b * this.fns[i](this.lastEpoch));
  }
}

export interface CosineWithWarmupOptions {
  /** Steps of linear warm-up: step t < warmupSteps gets base · (t + 1) / warmupSteps. */
  warmupSteps: number;
  /** Step at which the cosine reaches minLr (it stays there after). */
  totalSteps: number;
  /** Final learning rate, the same for every group (default 0). */
  minLr?: number;
}

/**
 * Linear warm-up, then cosine decay to minLr (the usual schedule for transformers), per
 * optimizer step t = lastEpoch:
 *   t < warmupSteps:            base · (t + 1) / warmupSteps
 *   warmupSteps <= t <= total:  minLr + (base - minLr) · (1 + cos(π · (t - warmupSteps) / (total - warmupSteps))) / 2
 *   t > total:                  minLr
 */
export class CosineWithWarmupLR extends LRScheduler {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly minLr: number;
  constructor(optimizer: Optimizer<any>, { warmupSteps, totalSteps, minLr = 0 }: CosineWithWarmupOptions) {
    super(optimizer);
    this.warmupSteps = needNumber(warmupSteps, 'cosineWithWarmup warmupSteps', (x) => Number.isInteger(x) && x >= 0);
    this.totalSteps = needNumber(totalSteps, 'cosineWithWarmup totalSteps', (x) => Number.isInteger(x) && x >= warmupSteps);
    this.minLr = needNumber(minLr, 'cosineWithWarmup minLr', (x) => x >= 0 && Number.isFinite(x));
    this.initialStep();
  }
  getLr(): number[] {
    const t = this.lastEpoch, w = this.warmupSteps, T = this.totalSteps;
    return this.baseLrs.map((b) => {
      if (t < w) return (b * (t + 1)) / w;
      if (t >= T) return this.minLr;
      const progress = (t - w) / (T - w);
      return this.minLr + ((b - this.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
    });
  }
}

/** Linear warm-up then cosine decay to minLr (see CosineWithWarmupLR). */
export function cosineWithWarmup(optimizer: Optimizer<any>, options: CosineWithWarmupOptions): CosineWithWarmupLR {
  return new CosineWithWarmupLR(optimizer, options);
}
