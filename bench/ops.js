#!/usr/bin/env node
// ops.js — per-op forward+backward times of atento (CPU) and PyTorch CPU on the same shapes, in
// the same run, as a table with ratios. `npm run bench -- ops [filter]`.
//
// Both sides run on ATENTO_NUM_THREADS / OMP_NUM_THREADS threads (default: every core). A round
// times one case on each side, back to back (the median of repeated runs after a warm-up, at
// least 0.5 s); each case gets ATENTO_BENCH_ROUNDS rounds (default 3) and each side reports its
// best round. The machine is shared, and its load comes and goes in seconds: alternating the two
// sides case by case, and keeping each side's best round, compares them under the same
// conditions, which one long run per side did not (ratios moved by 2x between runs).
// PyTorch is Debian's python3-torch (/usr/bin/python3; install libopenblas0-pthread as well),
// kept running as a child process (torch_ops.py). The GEMM rows also show oneDNN's sgemm called
// directly from C++ (bench/gemm_direct.cc) — atento's matmul should be within 10%.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const readline = require('node:readline');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const threads = Number(process.env.ATENTO_NUM_THREADS || os.availableParallelism());
process.env.ATENTO_NUM_THREADS = String(threads);
process.env.ATENTO_DEVICE = 'cpu';
const at = require('..');
const F = at.F;

function timeit(fn, minTime = 0.5, warmup = 3) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  const start = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - start) / 1e9 < minTime || times.length < 5) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

// Each case builds its inputs once and returns a closure doing forward + backward in a tidy scope.
const leaf = (shape) => at.randn(shape, { seed: 1, requiresGrad: true });
function fwdBwd(make) {
  return () => {
    const { inputs, run, gradShape } = make();
    const g = gradShape ? at.randn(gradShape, { seed: 2 }) : null;
    return () => at.tidy(() => {
      for (const t of inputs) { t.grad?.dispose(); t.grad = null; }
      const out = run();
      out.backward(g ?? undefined);
    });
  };
}

const attention = (B, H, T, D, isCausal) => fwdBwd(() => {
  const q = leaf([B, H, T, D]), k = leaf([B, H, T, D]), v = leaf([B, H, T, D]);
  return { inputs: [q, k, v], run: () => F.scaledDotProductAttention(q, k, v, { isCausal }), gradShape: [B, H, T, D] };
});
const layernorm = (N, C) => fwdBwd(() => {
  const x = leaf([N, C]), w = leaf([C]), b = leaf([C]);
  return { inputs: [x, w, b], run: () => F.layerNorm(x, [C], w, b), gradShape: [N, C] };
});
const softmax = (N, C) => fwdBwd(() => {
  const x = leaf([N, C]);
  return { inputs: [x], run: () => F.softmax(x, -1), gradShape: [N, C] };
});
const crossEntropy = (N, C) => fwdBwd(() => {
  const x = leaf([N, C]);
  const t = at.randint(0, C, [N], { seed: 3 });
  return { inputs: [x], run: () => F.crossEntropy(x, t) };
});
const lstm = (B, T, I, H) => fwdBwd(() => {
  const s = 1 / Math.sqrt(H);
  const x = leaf([T, B, I]);
  const w = [[4 * H, I], [4 * H, H], [4 * H], [4 * H]].map((shape) =>
    at.rand(shape, { seed: 4, low: -s, high: s, requiresGrad: true }));
  return { inputs: [x, ...w], run: () => F.lstm(x, null, ...w)[0], gradShape: [T, B, H] };
});
const matmul = (M, K, N) => fwdBwd(() => {
  const a = leaf([M, K]), b = leaf([K, N]);
  return { inputs: [a, b], run: () => F.matmul(a, b), gradShape: [M, N] };
});

const CASES = {
  'attention causal B12 H4 T64 D32': attention(12, 4, 64, 32, true),
  'attention causal B8 H6 T256 D64': attention(8, 6, 256, 64, true),
  'attention full B8 H6 T256 D64': attention(8, 6, 256, 64, false),
  'layernorm 768x128': layernorm(768, 128),
  'layernorm 2048x384': layernorm(2048, 384),
  'softmax 3072x64': softmax(12 * 4 * 64, 64),
  'softmax 12288x256': softmax(8 * 6 * 256, 256),
  'crossEntropy 768x65': crossEntropy(768, 65),
  'crossEntropy 2048x65': crossEntropy(2048, 65),
  'crossEntropy 768x50257': crossEntropy(768, 50257),
  'lstm B64 T100 I256 H512': lstm(64, 100, 256, 512),
  'lstm B64 T100 I256 H1024': lstm(64, 100, 256, 1024),
  'matmul 768x128x512': matmul(768, 128, 512),
  'matmul 2048x384x1536': matmul(2048, 384, 1536),
};

// oneDNN's sgemm from C++, the same three GEMMs as matmul forward + backward.
function gemmDirect(names) {
  const shapes = names.filter((n) => n.startsWith('matmul ')).map((n) => n.split(' ')[1]);
  if (!shapes.length) return {};
  const exe = path.join(os.tmpdir(), `atento-gemm-direct-${process.pid}`);
  const cc = spawnSync('g++', ['-O2', '-std=c++17', path.join(__dirname, 'gemm_direct.cc'), '-o', exe, '-ldnnl', '-fopenmp'],
                       { encoding: 'utf8' });
  if (cc.status !== 0) return {};
  const r = spawnSync(exe, shapes, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  fs.rmSync(exe, { force: true });
  const out = {};
  for (const line of r.stdout.trim().split('\n')) {
    const [shape, secs] = line.split(' ');
    out[`matmul ${shape}`] = Number(secs);
  }
  return out;
}

// PyTorch's side: torch_ops.py as a server, one case name per line in, one JSON line out.
function startTorch() {
  const py = spawn('/usr/bin/python3', [path.join(__dirname, 'torch_ops.py')], {
    env: { ...process.env, OMP_NUM_THREADS: String(threads) }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  py.stderr.on('data', (d) => { stderr += d; });
  const replies = readline.createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  return {
    async time(name) {
      py.stdin.write(name + '\n');
      const { value, done } = await replies.next();
      if (done) throw new Error(`PyTorch side exited (is python3-torch installed?): ${stderr.split('\n').slice(-3).join(' ')}`);
      const r = JSON.parse(value);
      if (r.error) throw new Error(r.error);
      return r.seconds;
    },
    close: () => py.stdin.end(),
  };
}

async function main() {
  const filter = process.argv[2] ?? '';
  const rounds = Math.max(1, Number(process.env.ATENTO_BENCH_ROUNDS ?? 3));
  const names = Object.keys(CASES).filter((n) => n.includes(filter));
  const torchSide = startTorch();
  const ours = {}, torch = {};
  const best = (prev, t) => (typeof prev === 'number' ? Math.min(prev, t) : t);
  for (const n of names) {
    let run;
    try {
      run = CASES[n]();
    } catch (e) {
      ours[n] = `error: ${e.code ?? ''} ${e.message.split('\n')[0]}`;
    }
    for (let r = 0; r < rounds; r++) {
      if (run) {
        try {
          ours[n] = best(ours[n], timeit(run));
        } catch (e) {
          ours[n] = `error: ${e.code ?? ''} ${e.message.split('\n')[0]}`;
          run = null;
        }
      }
      if (torch[n] !== null) {
        try {
          torch[n] = best(torch[n], await torchSide.time(n));
        } catch (e) {
          console.error(`PyTorch, ${n}: ${e.message}`);
          torch[n] = null;
        }
      }
    }
    process.stderr.write(`  ${n}: done (load average ${os.loadavg()[0].toFixed(2)})\n`);
  }
  torchSide.close();
  const direct = gemmDirect(names);
  const ms = (s) => (typeof s === 'number' ? (s * 1e3).toFixed(3) : '-');
  const rows = [['op (forward + backward)', 'atento ms', 'PyTorch ms', 'PyTorch/atento', 'oneDNN direct ms']];
  for (const n of names) {
    const a = ours[n], t = torch[n];
    rows.push([n, typeof a === 'number' ? ms(a) : a, ms(t), typeof a === 'number' && t ? (t / a).toFixed(2) + 'x' : '-',
               direct[n] ? ms(direct[n]) : '']);
  }
  const info = at.info();
  console.log(`atento ${info.version} (blas ${info.blas}, ${threads} threads) vs PyTorch CPU, ` +
              `best of ${rounds} alternating rounds, ${new Date().toISOString()}`);
  console.log(`${os.cpus()[0].model}\n`);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  rows.forEach((r, i) => {
    console.log('| ' + r.map((x, c) => String(x).padEnd(widths[c])).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
