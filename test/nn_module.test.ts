// nn.Module, Sequential, ModuleList and nn.init.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { devices, expectClose, expectCode } from './helpers/devices';

const { nn } = at;

class Block extends nn.Module {
  fc: at.nn.Linear;
  scale: at.Tensor;
  runningCount: at.Tensor;
  scratch: at.Tensor;
  constructor(device: at.DeviceName) {
    super();
    this.fc = this.registerModule('fc', new nn.Linear(3, 2, { device }));
    this.scale = this.registerParameter('scale', at.ones([2], { device }));
    this.runningCount = this.registerBuffer('runningCount', at.zeros([1], { device }));
    this.scratch = this.registerBuffer('scratch', at.zeros([4], { device }), { persistent: false });
  }
  forward(x: at.Tensor): at.Tensor {
    return this.fc.forward(x);
  }
}

class Net extends nn.Module {
  embedScale: at.Tensor;
  blocks: at.nn.ModuleList<Block>;
  head: at.nn.Linear;
  constructor(device: at.DeviceName) {
    super();
    this.embedScale = this.registerParameter('embedScale', at.ones([3], { device }));
    this.blocks = this.registerModule('blocks', new nn.ModuleList([new Block(device), new Block(device)]));
    this.head = this.registerModule('head', new nn.Linear(2, 1, { bias: false, device }));
  }
}

describe.each(devices)('nn.Module on %s', (device) => {
  it('names parameters, buffers and modules as PyTorch does', () => {
    const net = new Net(device);
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'embedScale', 'blocks.0.scale', 'blocks.0.fc.weight', 'blocks.0.fc.bias',
      'blocks.1.scale', 'blocks.1.fc.weight', 'blocks.1.fc.bias', 'head.weight',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['blocks.0.runningCount', 'blocks.0.scratch', 'blocks.1.runningCount', 'blocks.1.scratch']);
    // state_dict order: a module's own parameters, then its buffers, then its children's.
    expect(Object.keys(net.stateDict())).toEqual([
      'embedScale', 'blocks.0.scale', 'blocks.0.runningCount', 'blocks.0.fc.weight', 'blocks.0.fc.bias',
      'blocks.1.scale', 'blocks.1.runningCount', 'blocks.1.fc.weight', 'blocks.1.fc.bias', 'head.weight',
    ]);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'blocks', 'blocks.0', 'blocks.0.fc', 'blocks.1', 'blocks.1.fc', 'head']);
    expect(net.children().length).toBe(2);
    expect(net.parameters().every((p) => p.requiresGrad && !p.gradFn)).toBe(true);
    expect(net.numParameters()).toBe(3 + 2 * (2 + 6 + 2) + 2);
    expect(net.parameters({ recurse: false }).length).toBe(1);
    expect(net.toString()).toContain('(fc): Linear(inFeatures=3, outFeatures=2, bias=true)');
  });

  it('sees reassigned properties and lists a shared parameter once', () => {
    const a = new nn.Linear(2, 2, { device });
    const seq = new nn.Sequential(a, a);
    expect(seq.parameters().length).toBe(2);
    const w = at.zeros([2, 2], { device });
    a.weight = nn.Parameter(w);
    expect(seq.parameters()[0]).toBe(w);
    expect(seq.stateDict()['0.weight']).toBe(w);
  });

  it('loadStateDict copies in place and checks keys, shapes and dtypes first', () => {
    const src = new Net(device), dst = new Net(device);
    const params = dst.parameters();
    dst.loadStateDict(src.stateDict());
    expect(dst.parameters()).toEqual(params); // the same tensor objects
    for (const [k, t] of Object.entries(dst.stateDict())) expect(Array.from(t.dataSync())).toEqual(Array.from(src.stateDict()[k].dataSync()));

    const fresh = new Net(device);
    const before = Array.from(fresh.head.weight.dataSync());
    const sd = { ...src.stateDict() };
    delete sd['head.weight'];
    sd['head.bias'] = at.zeros([1], { device });
    const err = (() => { try { fresh.loadStateDict(sd); } catch (e) { return e as at.AtentoError; } })();
    expect(err?.code).toBe('ERR_CHECKPOINT');
    expect(err?.message).toContain('missing keys: head.weight');
    expect(err?.message).toContain('unexpected keys: head.bias');
    expect(Array.from(fresh.blocks.at(0).scale.dataSync())).toEqual([1, 1]); // nothing copied

    const r = fresh.loadStateDict(sd, { strict: false });
    expect(r).toEqual({ missingKeys: ['head.weight'], unexpectedKeys: ['head.bias'] });
    expect(Array.from(fresh.head.weight.dataSync())).toEqual(before);

    const wrongShape = { ...src.stateDict(), 'head.weight': at.zeros([2, 1], { device }) };
    expectCode(() => fresh.loadStateDict(wrongShape), 'ERR_CHECKPOINT');
    const wrongDtype = { ...src.stateDict(), 'head.weight': at.zeros([1, 2], { device, dtype: 'int32' }) };
    expectCode(() => fresh.loadStateDict(wrongDtype, { strict: false }), 'ERR_CHECKPOINT');
    expectCode(() => fresh.loadStateDict({ ...src.stateDict(), 'head.weight': 3 as never }), 'ERR_CHECKPOINT');
  });

  it('round-trips through a checkpoint file', async () => {
    const os = await import('node:os'), path = await import('node:path'), fs = await import('node:fs');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'atento-mod-')), 'net.safetensors');
    const src = new Net(device), dst = new Net(device);
    at.save(src.stateDict(), file);
    dst.loadStateDict(at.load(file, { device }));
    const x = at.randn([4, 3], { device, seed: 9 });
    expect(Array.from(dst.blocks.at(1).forward(x).dataSync())).toEqual(Array.from(src.blocks.at(1).forward(x).dataSync()));
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('train() and eval() reach every descendant', () => {
    const net = new Net(device);
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.blocks.train();
    expect(net.training).toBe(false);
    expect(net.blocks.at(0).fc.training).toBe(true);
  });

  it('zeroGrad drops gradients; parameters survive tidy; dispose frees everything', () => {
    const net = at.tidy(() => new Net(device));
    const x = at.randn([5, 3], { device, seed: 1 });
    at.tidy(() => {
      const y = net.head.forward(net.blocks.at(0).forward(x));
      y.backward(at.onesLike(y));
    });
    const w = net.blocks.at(0).fc.weight;
    expect(w.grad?.shape).toEqual([2, 3]);
    expect(w.disposed).toBe(false);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
    net.dispose();
    expect(net.parameters().every((p) => p.disposed)).toBe(true);
    expect(net.buffers().every((b) => b.disposed)).toBe(true);
    net.dispose(); // twice is fine
    expectCode(() => net.head.forward(at.zeros([1, 2], { device })), 'ERR_DISPOSED');
  });

  it('rejects bad registrations', () => {
    const m = new nn.Module();
    expectCode(() => m.registerParameter('a.b', at.zeros([1], { device })), 'ERR_ARGUMENT');
    expectCode(() => m.registerParameter('', at.zeros([1], { device })), 'ERR_ARGUMENT');
    const leaf = at.ones([2], { device, requiresGrad: true });
    expectCode(() => m.registerParameter('p', at.F.reshape(leaf, [2, 1])), 'ERR_ARGUMENT');
    expectCode(() => m.registerParameter('p', at.zeros([1], { device, dtype: 'int32' })), 'ERR_DTYPE');
    m.registerModule('child', new nn.Identity());
    expectCode(() => m.registerParameter('child', at.zeros([1], { device })), 'ERR_ARGUMENT');
    expectCode(() => m.registerModule('x', {} as never), 'ERR_ARGUMENT');
    expect(() => m.forward()).toThrow(/does not implement forward/);
    expectCode(() => new nn.Sequential().at(0), 'ERR_INDEX');
  });

  it('Sequential chains its modules; call() is forward', () => {
    const seq = new nn.Sequential(new nn.Linear(3, 4, { device }), new nn.Identity(), new nn.Linear(4, 2, { device }));
    expect(seq.length).toBe(3);
    const x = at.randn([5, 3], { device, seed: 2 });
    const want = at.F.linear(at.F.linear(x, (seq.at(0) as at.nn.Linear).weight, (seq.at(0) as at.nn.Linear).bias),
                             (seq.at(-1) as at.nn.Linear).weight, (seq.at(-1) as at.nn.Linear).bias);
    expectClose(seq.call(x), want, { atol: 1e-6, rtol: 1e-6, what: 'sequential' });
    expect([...seq].length).toBe(3);
  });
});

if (devices.includes('cuda')) {
  describe('Module.to', () => {
    it('moves parameters and buffers between devices, values and flags intact', () => {
      const net = new Net('cpu');
      const before = net.stateDict();
      const values = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, Array.from(t.dataSync())]));
      net.to('cuda');
      const after = net.stateDict();
      for (const [k, t] of Object.entries(after)) {
        expect(t.device).toBe('cuda');
        expect(Array.from(t.dataSync())).toEqual(values[k]);
        expect(before[k].disposed).toBe(true);
      }
      expect(net.parameters().every((p) => p.requiresGrad && !p.gradFn)).toBe(true);
      expect(net.buffers().every((b) => !b.requiresGrad && b.device === 'cuda')).toBe(true);
      net.to('cpu');
      expect(net.parameters().every((p) => p.device === 'cpu')).toBe(true);
    });

    it('loadStateDict copies across devices (a cpu checkpoint into a cuda model)', () => {
      const src = new Net('cpu'), dst = new Net('cuda');
      dst.loadStateDict(src.stateDict());
      for (const [k, t] of Object.entries(dst.stateDict())) {
        expect(t.device).toBe('cuda');
        expect(Array.from(t.dataSync())).toEqual(Array.from(src.stateDict()[k].dataSync()));
      }
    });
  });
}

describe('nn.init', () => {
  const stats = (t: at.Tensor) => {
    const d = t.dataSync() as Float32Array;
    let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
    for (const v of d) { s += v; s2 += v * v; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const mean = s / d.length;
    return { mean, std: Math.sqrt(s2 / d.length - mean * mean), lo, hi };
  };

  // 40k samples: the sample mean is within ~4 standard errors (std/200) of the truth and the
  // sample std within ~2% — loose enough never to flake for a fixed seed, tight enough to catch
  // a wrong formula (a factor sqrt(3) or 2 in the bound).
  it('uniform, normal, xavier and kaiming have PyTorch\'s bounds and spreads', () => {
    at.manualSeed(123);
    const t = at.empty([200, 200], { device: 'cpu' });
    let s = stats(nn.init.uniform_(t, { a: -2, b: 3 }));
    expect(s.lo).toBeGreaterThanOrEqual(-2);
    expect(s.hi).toBeLessThan(3);
    expect(s.mean).toBeCloseTo(0.5, 1);
    s = stats(nn.init.normal_(t, { mean: 1, std: 0.5 }));
    expect(Math.abs(s.mean - 1)).toBeLessThan(0.01);
    expect(Math.abs(s.std / 0.5 - 1)).toBeLessThan(0.02);
    // [200, 200]: xavier a = sqrt(6/400); std = a/sqrt(3)
    const a = Math.sqrt(6 / 400);
    s = stats(nn.init.xavierUniform_(t));
    expect(s.hi).toBeLessThanOrEqual(a);
    expect(s.hi).toBeGreaterThan(0.99 * a);
    expect(Math.abs(s.std / (a / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    s = stats(nn.init.xavierNormal_(t, { gain: 2 }));
    expect(Math.abs(s.std / (2 * Math.sqrt(2 / 400)) - 1)).toBeLessThan(0.02);
    // kaiming_uniform(a=0, relu-ish leaky_relu gain sqrt(2)): bound = sqrt(6 / fanIn)
    s = stats(nn.init.kaimingUniform_(t));
    expect(s.hi).toBeLessThanOrEqual(Math.sqrt(6 / 200));
    expect(s.hi).toBeGreaterThan(0.99 * Math.sqrt(6 / 200));
    s = stats(nn.init.kaimingNormal_(at.empty([100, 400], { device: 'cpu' }), { mode: 'fanOut', nonlinearity: 'relu' }));
    expect(Math.abs(s.std / Math.sqrt(2 / 100) - 1)).toBeLessThan(0.02);
  });

  it('Linear defaults: weight and bias in ±1/sqrt(inFeatures); seeded and device-independent', () => {
    at.manualSeed(7);
    const l = new nn.Linear(50, 400, { device: 'cpu' });
    const w = stats(l.weight), b = stats(l.bias!);
    const bound = 1 / Math.sqrt(50);
    expect(Math.max(-w.lo, w.hi)).toBeLessThanOrEqual(bound);
    expect(Math.max(-w.lo, w.hi)).toBeGreaterThan(0.99 * bound);
    expect(Math.max(-b.lo, b.hi)).toBeLessThanOrEqual(bound);
    at.manualSeed(7);
    const l2 = new nn.Linear(50, 400, { device: devices[devices.length - 1] });
    expect(Array.from(l2.weight.dataSync())).toEqual(Array.from(l.weight.dataSync()));
    const g = new at.Generator(1);
    const x = nn.init.normal_(at.empty([3], { device: 'cpu' }), { generator: g });
    expect(Array.from(x.dataSync())).toEqual(Array.from(nn.init.normal_(at.empty([3], { device: 'cpu' }), { generator: new at.Generator(1) }).dataSync()));
  });

  it('constant, zeros, ones, eye', () => {
    const t = at.empty([2, 3], { device: 'cpu' });
    expect(Array.from(nn.init.constant_(t, 2.5).dataSync())).toEqual([2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
    expect(Array.from(nn.init.zeros_(t).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(nn.init.ones_(t).dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(nn.init.eye_(t).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
  });

  it('orthogonal: Q^T Q = I (tall) and Q Q^T = I (wide), times gain', () => {
    for (const [shape, gain] of [[[7, 4], 1], [[4, 7], 1], [[6, 6], 2], [[3, 2, 2], 1]] as [number[], number][]) {
      const t = nn.init.orthogonal_(at.empty(shape, { device: 'cpu' }), { gain });
      const rows = shape[0], cols = t.numel / rows;
      const m = t.reshape([rows, cols]);
      const gram = rows >= cols ? at.matmul(transpose(m), m) : at.matmul(m, transpose(m));
      const n = Math.min(rows, cols);
      const eye = new Float32Array(n * n);
      for (let i = 0; i < n; i++) eye[i * n + i] = gain * gain;
      // float32 rounding of entries of size <= 1: errors of a few ulps.
      expectClose(gram, eye, { atol: 1e-5, rtol: 1e-5, what: `orthogonal [${shape}]` });
    }
  });

  it('rejects what PyTorch rejects', () => {
    expectCode(() => nn.init.xavierUniform_(at.empty([3], { device: 'cpu' })), 'ERR_SHAPE');
    expectCode(() => nn.init.uniform_(at.empty([3], { device: 'cpu', dtype: 'int32' })), 'ERR_DTYPE');
    expectCode(() => nn.init.kaimingUniform_(at.empty([3, 0], { device: 'cpu' })), 'ERR_SHAPE');
    expectCode(() => nn.init.kaimingUniform_(at.empty([3, 3], { device: 'cpu' }), { mode: 'fan_in' as never }), 'ERR_ARGUMENT');
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(nn.init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(nn.init.calculateGain('selu')).toBe(0.75);
  });
});

// A host transpose for the orthogonality check (independent of the shape-op family).
function transpose(m: at.Tensor): at.Tensor {
  const [r, c] = m.shape;
  const d = m.dataSync();
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = d[i * c + j];
  return at.tensor(out, [c, r], { device: m.device });
}
