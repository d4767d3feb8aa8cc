// info.ts — at.info(): what this build of atento can do on this machine.
import { loadedFrom, native, type BuildInfo } from './native';
import { getDefaultDevice } from './tensor';

export interface Info {
  version: string;
  binary: string;
  cuda: BuildInfo['cuda'];
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
