import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';

// The addon is context-aware: several worker_threads load it at once, each with its own state.
describe('worker_threads', () => {
  it('loads and computes in several workers at once', async () => {
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const at = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
      const n = workerData;
      const a = at.full([n, n], 1, { device: 'cpu' });
      const c = at.matmul(a, a);
      let err = null;
      try { at.zeros([-1]); } catch (e) { err = e.code + ':' + (e instanceof at.AtentoError); }
      parentPort.postMessage({ v: c.toArray()[0][0], err });`;
    const results = await Promise.all([8, 16, 32, 64].map((n) => new Promise<any>((resolve, reject) => {
      const w = new Worker(script, { eval: true, workerData: n });
      w.once('message', resolve);
      w.once('error', reject);
    })));
    expect(results.map((r) => r.v)).toEqual([8, 16, 32, 64]);
    expect(results.every((r) => r.err === 'ERR_SHAPE:true')).toBe(true);
  });
});
