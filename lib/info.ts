// info.ts — at.info(): what this build of atento can do on this machine.
import { loadedFrom, native } from './native';
import { getDefaultDevice } from './tensor';

export interface Info {
  version: string;
  binary: string;
  cuda: {
    compiled: boolean;
    emulated: boolean;
    archs: string[];
    devices: { index: number; name: string; computeCapability: string; totalMemory: number; multiProcessors: number }[];
    error: string | null;
    blas: string | null;
    blasError: string | null;
  };
  blas: string;
  threads: number;
  defaultDevice: 'cpu' | 'cuda';
}

export function info(): Info {
  const b = native.buildInfo();
  return {
    version: require('../package.json').version,
    binary: loadedFrom,
    cuda: b.cuda,
    blas: b.cpu.blas,
    threads: b.cpu.threads,
    defaultDevice: getDefaultDevice(),
  };
}

/** Sets the CPU thread count (atento's kernels and oneDNN share one pool). Returns it. */
export function setNumThreads(n: number): number {
  return native.setNumThreads(n);
}
