// Memory: 2,000 training steps of a small model, each inside at.tidy(), keep the process's memory
// flat. Each run is a child process (node --expose-gc) so the numbers are its own: after a
// garbage collection every 100 steps it records RSS, V8's external memory (the ArrayBuffers of
// cpu tensors) and heap, and on cuda the caching allocator's bytes in use. After warm-up each must
// stay within a few percent of its value at warm-up. The numbers are printed.
//
// Two things about Node that would otherwise look like leaks:
// * V8 grows its young generation with the allocation rate (RSS steps of 4-8 MB that then stay);
//   the child pins it (--min/max-semi-space-size=16) so RSS measures our memory.
// * Node runs the finalizers of native objects (a cuda tensor's DeviceBuffer wrapper, ~200 bytes
//   each) from the event loop, so a loop that never yields keeps every wrapper it created until
//   it does. The cuda run yields every 100 steps, as an async training loop would.
//
// The child loads atento from a bundle of lib/ (made here with esbuild, so it tests these sources,
// not a stale dist/) and the same native binary as this process (or the emulator binary for cuda).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadedFrom } from '../lib/native';

const root = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atento-mem-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const STEPS = 2000;
const WARMUP = 500;

function bundle(): string {
  const out = path.join(dir, 'atento.js');
  if (!fs.existsSync(out)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild');
    esbuild.buildSync({
      stdin: {
        contents: `export * from './lib'; export { native } from './lib/native';`,
        resolveDir: root, loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'error',
    });
  }
  return out;
}

// The training loop the child runs: MLP + Adam or a tiny LSTM + SGD, one tidy() per step.
const childScript = (atPath: string) => `
const at = require(${JSON.stringify(atPath)});
const { nn, F } = at;
const [model, device, steps, every, yieldEvery] = [process.argv[2], process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6]];
at.manualSeed(1);
let net, opt, x, y, forward;
if (model === 'mlp') {
  net = new nn.Sequential(new nn.Linear(16, 64, { device }), new nn.ReLU(), new nn.Linear(64, 64, { device }),
                          new nn.GELU(), new nn.Dropout(0.1), new nn.Linear(64, 4, { device }));
  opt = new at.optim.Adam(net.parameters(), { lr: 1e-3 });
  x = at.randn([32, 16], { device });
  y = at.randint(0, 4, [32], { device });
  forward = () => net.forward(x);
} else {
  const lstm = new nn.LSTM(8, 16, { numLayers: 2, batchFirst: true, device });
  const emb = new nn.Embedding(10, 8, { device });
  const head = new nn.Linear(16, 10, { device });
  net = new nn.Sequential(emb, lstm, head);
  opt = new at.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  x = at.randint(0, 10, [4, 12], { device });
  y = at.randint(0, 10, [4 * 12], { device });
  forward = () => head.forward(lstm.forward(emb.forward(x))[0]).reshape([4 * 12, 10]);
}
const samples = [];
const t0 = Date.now();
(async () => {
for (let step = 1; step <= steps; step++) {
  if (yieldEvery && step % yieldEvery === 0) await new Promise((r) => setImmediate(r));
  at.tidy(() => {
    opt.zeroGrad();
    const loss = F.crossEntropy(forward(), y);
    loss.backward();
    opt.step();
  });
  if (step % every === 0) {
    at.synchronize();
    global.gc();
    const m = process.memoryUsage();
    samples.push({ step, rss: m.rss, external: m.external, heapUsed: m.heapUsed, heapTotal: m.heapTotal,
                   cuda: device === 'cuda' ? at.native.cudaMemory().inUse : 0 });
  }
}
process.stdout.write(JSON.stringify({ samples, msPerStep: (Date.now() - t0) / steps }));
})();
`;

interface Sample { step: number; rss: number; external: number; heapUsed: number; heapTotal: number; cuda: number }

function run(model: string, device: string, binary: string, { yieldEvery = 0, env = {} }: { yieldEvery?: number; env?: Record<string, string> } = {}) {
  const script = path.join(dir, 'child.js');
  fs.writeFileSync(script, childScript(bundle()));
  const flags = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
  const r = spawnSync(process.execPath, [...flags, script, model, device, String(STEPS), '100', String(yieldEvery)], {
    encoding: 'utf8', timeout: 600_000,
    // One CPU thread: the memory behaviour is the same, and the machine's cores are shared.
    env: { ...process.env, ATENTO_BINARY: binary, ATENTO_NUM_THREADS: '1', ...env },
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { samples: Sample[]; msPerStep: number };
}

// Growth after warm-up, as a fraction of the warm-up value (the mean of the 5 samples from
// step WARMUP on, so one noisy sample does not set the baseline).
function growth(samples: Sample[], key: keyof Sample): { base: number; max: number; frac: number } {
  const after = samples.filter((s) => s.step >= WARMUP);
  const base = after.slice(0, 5).reduce((a, s) => a + s[key], 0) / 5;
  const max = Math.max(...after.map((s) => s[key]));
  return { base, max, frac: base ? (max - base) / base : max };
}

const MB = (b: number) => (b / 2 ** 20).toFixed(2);

function report(what: string, r: { samples: Sample[]; msPerStep: number }, keys: (keyof Sample)[]): void {
  const lines = keys.map((k) => {
    const g = growth(r.samples, k);
    const all = r.samples.map((s) => MB(s[k])).join(' ');
    return `  ${k}: ${MB(g.base)} MB at steps ${WARMUP}-${WARMUP + 400} -> max ${MB(g.max)} MB (${(100 * g.frac).toFixed(2)}%); every 100 steps: ${all}`;
  });
  console.log(`${what}: ${STEPS} steps, ${r.msPerStep.toFixed(2)} ms/step\n${lines.join('\n')}`);
}

// RSS also moves with malloc's page reuse: 5% (plus 2 MB of slack for a ~100 MB process) still
// catches a leak of a small tensor per step (1,500 steps after warm-up x 4 KB = 6 MB).
function expectFlat(r: { samples: Sample[] }, key: keyof Sample, frac: number, slackBytes: number): void {
  const g = growth(r.samples, key);
  expect(g.max - g.base, `${key} grew from ${MB(g.base)} to ${MB(g.max)} MB`).toBeLessThanOrEqual(frac * g.base + slackBytes);
}

describe('memory stays flat over 2,000 training steps in tidy()', () => {
  for (const model of ['mlp', 'lstm']) {
    it(`${model} on cpu`, () => {
      const r = run(model, 'cpu', loadedFrom);
      report(`${model} cpu`, r, ['rss', 'external', 'heapUsed', 'heapTotal']);
      expectFlat(r, 'rss', 0.05, 2 * 2 ** 20);
      expectFlat(r, 'external', 0.01, 128 * 1024);
      expectFlat(r, 'heapUsed', 0.05, 0.5 * 2 ** 20);
    });
  }

  const emu = path.resolve(root, process.env.ATENTO_EMU_BINARY ?? 'build/Release/atento_emu.node');
  it.runIf(fs.existsSync(emu))('mlp on the emulated cuda device (allocator bytes in use exactly flat)', () => {
    const r = run('mlp', 'cuda', emu, { yieldEvery: 100, env: { ATENTO_CUDA_EMULATE: '1' } });
    report('mlp cuda (emulated)', r, ['cuda', 'rss', 'external', 'heapUsed', 'heapTotal']);
    const after = r.samples.filter((s) => s.step >= WARMUP).map((s) => s.cuda);
    expect(new Set(after).size, `cuda bytes in use: ${after.join(', ')}`).toBe(1);
    expect(after[0]).toBeGreaterThan(0);
    expectFlat(r, 'rss', 0.05, 2 * 2 ** 20);
    expectFlat(r, 'heapUsed', 0.05, 0.5 * 2 ** 20);
  });
});
