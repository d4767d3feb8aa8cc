// End to end: small models learn (XOR, two moons) with SGD and Adam, and a checkpoint of model +
// optimizer resumes training exactly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { devices } from './helpers/devices';

const { nn, F } = at;

function mlp(sizes: number[], device: at.DeviceName, act: () => at.nn.Module = () => new nn.Tanh()): at.nn.Sequential {
  const seq = new nn.Sequential();
  sizes.slice(1).forEach((n, i) => {
    seq.append(new nn.Linear(sizes[i], n, { device }));
    if (i < sizes.length - 2) seq.append(act());
  });
  return seq;
}

/** sklearn's make_moons: two interleaved half circles plus Gaussian noise, deterministic per seed. */
function twoMoons(n: number, noise: number, seed: number, device: at.DeviceName): { x: at.Tensor; y: at.Tensor } {
  const g = new at.Generator(seed);
  const xs = new Float32Array(2 * n), ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2, t = Math.PI * g.next();
    const [px, py] = label === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
    xs[2 * i] = px + noise * g.normal();
    xs[2 * i + 1] = py + noise * g.normal();
    ys[i] = label;
  }
  return { x: at.tensor(xs, [n, 2], { device }), y: at.tensor(ys, [n], { dtype: 'int32', device }) };
}

function accuracy(model: at.nn.Module, x: at.Tensor, y: at.Tensor): number {
  return at.noGrad(() => at.tidy(() => {
    const pred = F.argmax(model.forward(x), 1).dataSync();
    const want = y.dataSync();
    let ok = 0;
    for (let i = 0; i < want.length; i++) ok += pred[i] === want[i] ? 1 : 0;
    return ok / want.length;
  }));
}

function train(model: at.nn.Module, opt: at.optim.Optimizer<any>, x: at.Tensor, y: at.Tensor, steps: number): number {
  let last = NaN;
  for (let s = 0; s < steps; s++) {
    last = at.tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
  }
  return last;
}

const optimizers: [string, (p: at.Tensor[]) => at.optim.Optimizer<any>][] = [
  ['SGD', (p) => new at.optim.SGD(p, { lr: 0.2, momentum: 0.9 })],
  ['Adam', (p) => new at.optim.Adam(p, { lr: 0.02 })],
];

describe.each(devices)('training on %s', (device) => {
  for (const [name, make] of optimizers) {
    it(`an MLP learns XOR with ${name} (100%)`, () => {
      at.manualSeed(1);
      const x = at.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], { device });
      const y = at.tensor([0, 1, 1, 0], { dtype: 'int32', device });
      const model = mlp([2, 8, 2], device);
      const loss = train(model, make(model.parameters()), x, y, 300);
      expect(accuracy(model, x, y)).toBe(1);
      expect(loss).toBeLessThan(0.05);
    });

    it(`an MLP learns two moons with ${name} (> 97% on held-out points)`, () => {
      at.manualSeed(2);
      const data = twoMoons(256, 0.1, 7, device);
      const test = twoMoons(512, 0.1, 8, device);
      const model = mlp([2, 16, 16, 2], device, () => new nn.ReLU());
      train(model, make(model.parameters()), data.x, data.y, 400);
      const acc = accuracy(model, test.x, test.y);
      expect(acc).toBeGreaterThan(0.97);
    });
  }

  it('a checkpoint of model and optimizer resumes training exactly', async () => {
    at.manualSeed(3);
    const { x, y } = twoMoons(64, 0.1, 9, device);
    const model = mlp([2, 8, 2], device);
    const opt = new at.optim.Adam(model.parameters(), { lr: 0.01, weightDecay: 0.01 });
    train(model, opt, x, y, 5);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'atento-train-')), 'ckpt.safetensors');
    await at.saveAsync({ model: model.stateDict(), optimizer: opt.stateDict(), meta: { step: 5 } }, file);
    train(model, opt, x, y, 5);
    const want = model.parameters().map((p) => Array.from(p.dataSync()));

    at.manualSeed(99); // a different initialisation, overwritten by the checkpoint
    const model2 = mlp([2, 8, 2], device);
    const opt2 = new at.optim.Adam(model2.parameters(), { lr: 0.5 });
    const ckpt = await at.loadAsync(file, { device });
    expect(ckpt.meta.step).toBe(5);
    model2.loadStateDict(ckpt.model);
    opt2.loadStateDict(ckpt.optimizer);
    train(model2, opt2, x, y, 5);
    expect(model2.parameters().map((p) => Array.from(p.dataSync()))).toEqual(want);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
