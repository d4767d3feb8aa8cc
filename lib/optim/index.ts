// optim/index.ts — at.optim: optimizers (SGD, Adam, AdamW), gradient clipping and learning-rate
// schedules (optim.lrScheduler), with PyTorch's names in camelCase.
export { Optimizer, type GroupOptions, type ParamGroup, type ParamGroupSpec, type Params, type ParamState,
         type OptimizerStateDict } from './optimizer';
export { SGD, type SGDOptions } from './sgd';
export { Adam, AdamW, type AdamOptions } from './adam';
export { clipGradNorm, type ClipGradNormOptions } from './clip';
export * as lrScheduler from './lr_scheduler';
export { cosineWithWarmup } from './lr_scheduler';
