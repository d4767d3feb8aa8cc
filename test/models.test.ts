import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { CharTokenizer, getBatch } from '../lib/data';
import { generateTokens } from '../lib/generate';
import { CharLSTM, GPT, loadModel, saveModel } from '../lib/models';
import { lmLoss, trainLanguageModel } from '../lib/train';
import { devices, expectClose } from './helpers/devices';

const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);
const tok = new CharTokenizer(text);
const ids = tok.encode(text);

describe('CharTokenizer', () => {
  it('round-trips text and rejects unknown characters and ids', () => {
    expect(tok.decode(tok.encode('the dog'))).toBe('the dog');
    expect(tok.vocabSize).toBe(new Set(text).size);
    expect(() => tok.encode('Z')).toThrow(/vocabulary/);
    expect(() => tok.decode([tok.vocabSize])).toThrow(/out of range/);
  });
});

describe.each(devices)('language models on %s', (device) => {
  const models = {
    gpt: () => new GPT({ vocabSize: tok.vocabSize, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 }),
    lstm: () => new CharLSTM({ vocabSize: tok.vocabSize, embedDim: 16, hiddenSize: 32, numLayers: 2 }),
  };
  for (const [kind, make] of Object.entries(models)) {
    it(`${kind}: starts near ln(vocab), learns a tiny corpus, generates, and round-trips a checkpoint`, async () => {
      at.manualSeed(1);
      const model = make();
      model.to(device);
      const gen = new at.Generator(3);
      const { x, y } = getBatch(ids, 4, 16, gen, device);
      const logits = model.forward(x);
      expect(logits.shape).toEqual([4, 16, tok.vocabSize]);
      const first = at.noGrad(() => lmLoss(model, x, y).item());
      expect(Math.abs(first - Math.log(tok.vocabSize))).toBeLessThan(0.5);
      const result = await trainLanguageModel(model, ids, null, {
        steps: device === 'cuda' && at.info().cuda.emulated ? 40 : 120, batchSize: 8, blockSize: 16, lr: 1e-2,
        warmupSteps: 5, device,
      });
      expect(result.finalLoss).toBeLessThan(first * 0.6);
      const out = generateTokens(model, tok.encode('the '), { maxNewTokens: 20, temperature: 0, device, blockSize: 16 });
      expect(out).toHaveLength(24);
      expect(() => tok.decode(out)).not.toThrow();
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'atento-')), `${kind}.safetensors`);
      saveModel(file, kind as 'gpt' | 'lstm', model, tok);
      const loaded = loadModel(file, device);
      expect(loaded.kind).toBe(kind);
      expect(loaded.tokenizer.chars).toEqual(tok.chars);
      at.noGrad(() => expectClose(loaded.model.forward(x), model.forward(x), { atol: 1e-6, rtol: 1e-6, what: 'reloaded logits' }));
      // greedy generation is deterministic and the same from the reloaded model
      const again = generateTokens(loaded.model, tok.encode('the '), { maxNewTokens: 20, temperature: 0, device, blockSize: 16 });
      expect(again).toEqual(out);
    });
  }

  it('GPT ties the output head to the token embedding', () => {
    const m = new GPT({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 });
    expect(m.lm_head.weight).toBe(m.transformer.wte.weight);
    const names = m.namedParameters().map(([n]) => n);
    expect(new Set(m.parameters()).size).toBe(m.parameters().length);
    expect(names).toContain('transformer.h.0.attn.c_attn.weight');
    expect(() => m.forward(at.zeros([1, 9], { dtype: 'int32', device }))).toThrow(/T <= 8/);
  });
});

describe('atento CLI', () => {
  it('trains, saves, and generates from the checkpoint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atento-cli-'));
    const corpus = path.join(dir, 'corpus.txt');
    fs.writeFileSync(corpus, text);
    const ckpt = path.join(dir, 'm.safetensors');
    const cli = path.join(__dirname, '..', 'dist', 'cli.js');
    const env = { ...process.env, ATENTO_DEVICE: 'cpu' };
    const log = execFileSync(process.execPath, [cli, 'train', '--model', 'lstm', '--corpus', corpus, '--steps', '20',
      '--embd', '8', '--hidden', '16', '--layers', '1', '--block', '16', '--batch', '4', '--sample', '20', '--out', ckpt],
      { encoding: 'utf8', env });
    expect(log).toMatch(/step\s+19\s+loss/);
    expect(log).toMatch(/--- sample ---/);
    expect(fs.existsSync(ckpt)).toBe(true);
    const gen = execFileSync(process.execPath, [cli, 'generate', '--checkpoint', ckpt, '--prompt', 'the ', '--tokens', '30', '--seed', '1'],
      { encoding: 'utf8', env });
    expect(gen.startsWith('the ')).toBe(true);
    expect(gen.trimEnd().length).toBeGreaterThanOrEqual(30);
    // a bad checkpoint gives a clear error and a non-zero exit, not a crash
    fs.writeFileSync(path.join(dir, 'bad.safetensors'), 'not a checkpoint');
    let err: any;
    try { execFileSync(process.execPath, [cli, 'generate', '--checkpoint', path.join(dir, 'bad.safetensors')], { encoding: 'utf8', env, stdio: 'pipe' }); }
    catch (e) { err = e; }
    expect(err.status).toBe(1);
    expect(String(err.stderr)).toMatch(/ERR_CHECKPOINT/);
  });
});
