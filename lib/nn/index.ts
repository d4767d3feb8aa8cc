// nn/index.ts — at.nn: modules with PyTorch's names (camelCase), initialisers, losses.
export { Module, Sequential, ModuleList, Parameter, type StateDict, type LoadStateDictResult } from './module';
export { Linear, Identity, type FactoryOptions } from './linear';
export * as init from './init';
