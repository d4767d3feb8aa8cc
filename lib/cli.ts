#!/usr/bin/env node
// cli.ts — the `atento` command.
//
//   atento info                                   what this build can do here
//   atento train [--model gpt|lstm] [--steps N] [--device cpu|cuda] [--out model.safetensors] ...
//   atento generate --checkpoint model.safetensors [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K]
//   atento bench [suite]                          (from a clone) per-op benchmarks vs PyTorch
import * as path from 'node:path';
import { CharTokenizer, mobyDick, trainValSplit } from './data';
import { generateTokens } from './generate';
import { info } from './info';
import { createModel, loadModel, saveModel, type ModelKind } from './models';
import { setDefaultDevice, manualSeed, type DeviceName } from './tensor';
import { trainLanguageModel } from './train';
import * as fs from 'node:fs';

type Flags = Record<string, string>;

function parse(argv: string[]): { cmd: string; flags: Flags } {
  const [cmd = 'help', ...rest] = argv;
  const flags: Flags = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const [k, v] = a.slice(2).split('=', 2);
    flags[k] = v ?? (rest[i + 1] && !rest[i + 1].startsWith('--') ? rest[++i] : 'true');
  }
  return { cmd, flags };
}

const num = (f: Flags, k: string, d: number) => (f[k] === undefined ? d : Number(f[k]));

async function train(f: Flags): Promise<void> {
  const kind = (f.model ?? 'gpt') as ModelKind;
  const device = f.device as DeviceName | undefined;
  if (device) setDefaultDevice(device);
  manualSeed(num(f, 'seed', 1337));
  const text = f.corpus ? fs.readFileSync(f.corpus, 'utf8') : mobyDick();
  const tokenizer = new CharTokenizer(text);
  const { train: trainIds, val } = trainValSplit(tokenizer.encode(text), 0.1);
  const blockSize = num(f, 'block', kind === 'gpt' ? 64 : 100);
  const config = kind === 'gpt'
    ? { vocabSize: tokenizer.vocabSize, blockSize, nLayer: num(f, 'layers', 4), nHead: num(f, 'heads', 4),
        nEmbd: num(f, 'embd', 128), dropout: num(f, 'dropout', 0) }
    : { vocabSize: tokenizer.vocabSize, embedDim: num(f, 'embd', 64), hiddenSize: num(f, 'hidden', 256),
        numLayers: num(f, 'layers', 2), dropout: num(f, 'dropout', 0) };
  const model = createModel(kind, config);
  const steps = num(f, 'steps', 1000);
  const nParams = model.parameters().reduce((s, p) => s + p.numel, 0);
  console.log(`atento train: ${kind} ${JSON.stringify(config)}, ${(nParams / 1e6).toFixed(2)}M parameters, ` +
              `corpus ${text.length} chars (vocab ${tokenizer.vocabSize}), device ${info().defaultDevice}, ${steps} steps`);
  const logEvery = num(f, 'log-every', 25);
  const result = await trainLanguageModel(model, trainIds, val, {
    steps, batchSize: num(f, 'batch', kind === 'gpt' ? 12 : 32), blockSize, lr: num(f, 'lr', kind === 'gpt' ? 1e-3 : 2e-3),
    evalEvery: num(f, 'eval-every', 100), evalIters: num(f, 'eval-iters', 5), seed: num(f, 'seed', 1337),
    onLog: ({ step, loss, valLoss, lr, msPerStep }) => {
      if (step % logEvery === 0 || step === steps - 1)
        console.log(`step ${String(step).padStart(5)}  loss ${loss.toFixed(4)}` +
                    `${valLoss !== undefined ? `  val ${valLoss.toFixed(4)}` : ''}  lr ${lr.toExponential(2)}  ${msPerStep.toFixed(0)} ms/step`);
    },
  });
  console.log(`done: train loss ${result.finalLoss.toFixed(4)}, val loss ${result.valLoss?.toFixed(4) ?? '-'}, ` +
              `${result.msPerStep.toFixed(1)} ms/step`);
  const out = f.out ?? path.join(process.cwd(), `atento-${kind}.safetensors`);
  saveModel(out, kind, model, tokenizer, { steps, valLoss: result.valLoss ?? null });
  console.log(`saved ${out}`);
  // Default prompt: Moby Dick's first words when the vocabulary has them, else the corpus' start.
  const prompt = f.prompt ?? (Array.from('Call me ').every((c) => tokenizer.chars.includes(c)) ? 'Call me ' : text.slice(0, 4));
  const sample = generateTokens(model, tokenizer.encode(prompt), {
    maxNewTokens: num(f, 'sample', 300), temperature: num(f, 'temperature', 0.8), topK: num(f, 'top-k', 20),
    seed: num(f, 'seed', 1337), blockSize: kind === 'gpt' ? blockSize : undefined,
  });
  console.log(`\n--- sample ---\n${tokenizer.decode(sample)}\n--------------`);
}

function generate(f: Flags): void {
  if (!f.checkpoint) throw new Error('generate needs --checkpoint FILE');
  if (f.device) setDefaultDevice(f.device as DeviceName);
  const { kind, model, tokenizer } = loadModel(f.checkpoint);
  const ids = generateTokens(model, tokenizer.encode(f.prompt ?? '\n'), {
    maxNewTokens: num(f, 'tokens', 500), temperature: num(f, 'temperature', 0.8),
    topK: f['top-k'] ? Number(f['top-k']) : undefined, seed: f.seed ? Number(f.seed) : undefined,
    blockSize: kind === 'gpt' ? (model.config as { blockSize: number }).blockSize : undefined,
  });
  console.log(tokenizer.decode(ids));
}

async function main(): Promise<void> {
  const { cmd, flags } = parse(process.argv.slice(2));
  switch (cmd) {
    case 'info':
      console.log(JSON.stringify(info(), null, 2));
      break;
    case 'train':
      await train(flags);
      break;
    case 'generate':
      generate(flags);
      break;
    case 'bench': {
      const { spawnSync } = require('node:child_process');
      const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'bench', 'run.js'), ...process.argv.slice(3)], { stdio: 'inherit' });
      process.exit(r.status ?? 1);
    }
    default:
      console.log('usage: atento info | train [--model gpt|lstm] [--steps N] [--device cpu|cuda] [--out FILE] |\n' +
                  '       generate --checkpoint FILE [--prompt TEXT] [--tokens N] | bench [suite]');
  }
}

main().catch((e) => {
  console.error(e?.code ? `atento: ${e.code}: ${e.message}` : e);
  process.exit(1);
});
