// Checkpoints: at.save / at.load (safetensors), round trips, PyTorch files, corrupted files,
// atomic writes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as at from '../lib';
import { fixturePath, readSafetensors, readSafetensorsFile } from './helpers/fixtures';
import { devices, expectCode } from './helpers/devices';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atento-ckpt-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const tmp = (name = 'f') => path.join(dir, `${name}-${counter++}.safetensors`);

// A safetensors file from raw parts, for files no correct writer would produce.
function writeRaw(file: string, header: unknown, data: Buffer = Buffer.alloc(0), hlenOverride?: bigint): string {
  const json = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(hlenOverride ?? BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, json, data]));
  return file;
}

function bits(t: at.Tensor): number[] {
  const d = t.dataSync();
  return Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}

describe.each(devices)('checkpoint round trips on %s', (device) => {
  it('a flat state dict, bit for bit (NaN, -0, inf, subnormals, int32, bool, 0-d, empty)', () => {
    const special = new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, 3.4028235e38, -1.5, 0.1]);
    const sd: Record<string, at.Tensor> = {
      'fc.weight': at.randn([3, 5], { device, seed: 1 }),
      'fc.bias': at.tensor(special, [8], { device }),
      'ids': at.tensor([[1, -2147483648], [2147483647, 0]], { dtype: 'int32', device }),
      'mask': at.tensor([true, false, true], { device }),
      'scalar': at.tensor(3.25, { device }),
      'empty': at.zeros([0, 4], { device }),
    };
    const file = tmp();
    at.save(sd, file, { metadata: { note: 'hello' } });
    const { tensors, metadata } = at.loadSafetensors(file, { device });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(sd).sort());
    expect(metadata.note).toBe('hello');
    expect(metadata.format).toBe('pt');
    for (const [k, t] of Object.entries(sd)) {
      const u = tensors[k];
      expect(u.device).toBe(device);
      expect(u.dtype).toBe(t.dtype);
      expect(u.shape).toEqual(t.shape);
      expect(bits(u)).toEqual(bits(t));
    }
    // load() of a flat file is the state dict itself.
    const loaded = at.load(file, { device });
    expect(Object.keys(loaded)).toEqual(Object.keys(sd));
  });

  it('a nested object (model, optimizer state, metadata) keeps its structure', async () => {
    const w = at.randn([2, 3], { device, seed: 2 });
    const m = at.randn([2, 3], { device, seed: 3 });
    const obj = {
      model: { 'fc.weight': w },
      optimizer: {
        state: { 0: { step: 7, expAvg: m } },
        paramGroups: [{ lr: 1e-3, betas: [0.9, 0.999], amsgrad: false, params: [0], name: null }],
      },
      meta: { epoch: 4, tag: 'run-α', best: -Infinity, ratio: NaN, list: [[1, 2], []] },
    };
    for (const [saveFn, loadFn] of [[at.save, at.load], [at.saveAsync, at.loadAsync]] as const) {
      const file = tmp();
      await saveFn(obj, file);
      const back = await loadFn(file, { device });
      expect(bits(back.model['fc.weight'])).toEqual(bits(w));
      expect(bits(back.optimizer.state['0'].expAvg)).toEqual(bits(m));
      expect(back.optimizer.state['0'].step).toBe(7);
      expect(back.optimizer.paramGroups).toEqual(obj.optimizer.paramGroups);
      expect(back.meta.epoch).toBe(4);
      expect(back.meta.tag).toBe('run-α');
      expect(back.meta.best).toBe(-Infinity);
      expect(back.meta.ratio).toBeNaN();
      expect(back.meta.list).toEqual([[1, 2], []]);
      // Tensors are stored under dotted names, readable by any safetensors reader.
      const raw = readSafetensorsFile(file);
      expect(Object.keys(raw.tensors).sort()).toEqual(['model.fc.weight', 'optimizer.state.0.expAvg']);
      expect(Array.from(raw.tensors['model.fc.weight'].data)).toEqual(Array.from(w.dataSync()));
    }
  });

  it('reads PyTorch safetensors files and loads them into a module', () => {
    const ours = at.load(fixturePath('modules/linear.safetensors'), { device });
    const theirs = readSafetensors('modules/linear.safetensors'); // the independent test reader
    expect(Object.keys(ours).sort()).toEqual(['bias', 'weight']);
    for (const k of ['weight', 'bias']) {
      expect(ours[k].shape).toEqual(theirs[k].shape);
      expect(Array.from(ours[k].dataSync())).toEqual(Array.from(theirs[k].data));
    }
    const lin = new at.nn.Linear(5, 3, { device });
    lin.loadStateDict(ours);
    expect(Array.from(lin.weight.dataSync())).toEqual(Array.from(theirs.weight.data));
  });
});

describe('checkpoint dtypes written by other tools', () => {
  // F16, BF16, F64 -> float32; I64 -> int32 (range-checked).
  it('converts F16, BF16, F64 and I64', () => {
    const f16 = Buffer.alloc(8);
    [0x3c00, 0xc000, 0x7c00, 0x0001].forEach((h, i) => f16.writeUInt16LE(h, 2 * i)); // 1, -2, inf, 2^-24
    const bf16 = Buffer.alloc(4);
    [0x3f80, 0xc0a0].forEach((h, i) => bf16.writeUInt16LE(h, 2 * i)); // 1, -5
    const f64 = Buffer.alloc(16);
    f64.writeDoubleLE(0.1, 0);
    f64.writeDoubleLE(-1e300, 8);
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-2147483648n, 0);
    i64.writeBigInt64LE(123n, 8);
    const header = {
      h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      d: { dtype: 'F64', shape: [2, 1], data_offsets: [12, 28] },
      l: { dtype: 'I64', shape: [2], data_offsets: [28, 44] },
    };
    const t = at.load(writeRaw(tmp(), header, Buffer.concat([f16, bf16, f64, i64])), { device: 'cpu' });
    expect(Array.from(t.h.dataSync())).toEqual([1, -2, Infinity, 2 ** -24]);
    expect(Array.from(t.b.dataSync())).toEqual([1, -5]);
    expect(t.d.shape).toEqual([2, 1]);
    expect(Array.from(t.d.dataSync())).toEqual([Math.fround(0.1), -Infinity]);
    expect(t.l.dtype).toBe('int32');
    expect(Array.from(t.l.dataSync())).toEqual([-2147483648, 123]);

    const big = Buffer.alloc(8);
    big.writeBigInt64LE(2147483648n);
    expectCode(() => at.load(writeRaw(tmp(), { l: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big)), 'ERR_CHECKPOINT');
  });
});

describe('corrupted checkpoints are ERR_CHECKPOINT', () => {
  const good = () => {
    const file = tmp('good');
    at.save({ a: at.randn([2, 3], { device: 'cpu', seed: 4 }), b: at.tensor([1, 2], { dtype: 'int32', device: 'cpu' }) }, file);
    return file;
  };
  const f32 = (n: number) => Buffer.alloc(4 * n);
  const entry = (dtype: string, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });
  const cases: [string, () => string][] = [
    ['an empty file', () => { const f = tmp(); fs.writeFileSync(f, ''); return f; }],
    ['a file shorter than 8 bytes', () => { const f = tmp(); fs.writeFileSync(f, Buffer.alloc(5)); return f; }],
    ['a truncated file', () => { const f = good(); const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, b.length - 3)); return f; }],
    ['a truncated header', () => { const f = good(); const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, 20)); return f; }],
    ['trailing bytes after the data', () => { const f = good(); fs.appendFileSync(f, Buffer.alloc(4)); return f; }],
    ['a header length past the end', () => writeRaw(tmp(), { a: entry('F32', [1], [0, 4]) }, f32(1), 1000n)],
    ['a header length of 2^63', () => writeRaw(tmp(), { a: entry('F32', [1], [0, 4]) }, f32(1), 1n << 63n)],
    ['a header length of 0', () => writeRaw(tmp(), '', Buffer.alloc(0), 0n)],
    ['bad JSON', () => writeRaw(tmp(), '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]', f32(1))],
    ['a header that is an array', () => writeRaw(tmp(), '[1, 2]')],
    ['invalid UTF-8 in the header', () => writeRaw(tmp(), Buffer.from('{"\xff": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}', 'latin1'))],
    ['an unknown dtype', () => writeRaw(tmp(), { a: entry('F8', [1], [0, 1]) }, Buffer.alloc(1))],
    ['a dtype that is not a string', () => writeRaw(tmp(), { a: entry(4 as never, [1], [0, 4]) }, f32(1))],
    ['a lower-case dtype', () => writeRaw(tmp(), { a: entry('f32', [1], [0, 4]) }, f32(1))],
    ['a shape/size mismatch', () => writeRaw(tmp(), { a: entry('F32', [2, 2], [0, 12]) }, f32(3))],
    ['a negative dimension', () => writeRaw(tmp(), { a: entry('F32', [-1], [0, 4]) }, f32(1))],
    ['a fractional dimension', () => writeRaw(tmp(), { a: entry('F32', [1.5], [0, 6]) }, Buffer.alloc(6))],
    ['a shape that is not a list', () => writeRaw(tmp(), { a: entry('F32', 4, [0, 16]) }, f32(4))],
    ['a huge shape with small offsets', () => writeRaw(tmp(), { a: entry('F32', [1 << 30, 1 << 30, 1 << 30], [0, 4]) }, f32(1))],
    ['offsets past the end', () => writeRaw(tmp(), { a: entry('F32', [4], [0, 16]) }, f32(2))],
    ['offsets far past the end (no huge allocation)', () => writeRaw(tmp(), { a: entry('F32', [2 ** 40], [0, 2 ** 42]) }, f32(1))],
    ['offsets that run backwards', () => writeRaw(tmp(), { a: entry('F32', [0], [4, 0]) }, f32(1))],
    ['overlapping tensors', () => writeRaw(tmp(), { a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, f32(3))],
    ['two tensors on the same bytes', () => writeRaw(tmp(), { a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }, f32(2))],
    ['a hole between tensors', () => writeRaw(tmp(), { a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, f32(3))],
    ['negative offsets', () => writeRaw(tmp(), { a: entry('F32', [1], [-4, 0]) }, f32(1))],
    ['three offsets', () => writeRaw(tmp(), { a: entry('F32', [1], [0, 4, 8]) }, f32(1))],
    ['a missing field', () => writeRaw(tmp(), { a: { dtype: 'F32', shape: [1] } }, f32(1))],
    ['an extra field', () => writeRaw(tmp(), { a: { ...entry('F32', [1], [0, 4]), extra: 1 } }, f32(1))],
    ['non-string metadata', () => writeRaw(tmp(), { __metadata__: { n: 3 }, a: entry('F32', [1], [0, 4]) }, f32(1))],
    ['a BOOL byte other than 0/1', () => writeRaw(tmp(), { a: entry('BOOL', [2], [0, 2]) }, Buffer.from([1, 7]))],
    ['a broken structure', () => writeRaw(tmp(), { __metadata__: { 'atento.structure': '{"$o": {"x": {"$t": "nope"}}}' } })],
    ['a structure that is not JSON', () => writeRaw(tmp(), { __metadata__: { 'atento.structure': '{' } })],
  ];
  for (const [what, make] of cases) {
    it(what, async () => {
      const file = make();
      expectCode(() => at.load(file, { device: 'cpu' }), 'ERR_CHECKPOINT');
      if (process.env.SHOW_MESSAGES) try { at.load(file, { device: 'cpu' }); } catch (e) { console.log(what, '->', (e as Error).message); }
      await expect(at.loadAsync(file, { device: 'cpu' })).rejects.toMatchObject({ code: 'ERR_CHECKPOINT' });
    });
  }

  it('a file that does not exist', () => {
    expectCode(() => at.load(path.join(dir, 'nope.safetensors')), 'ERR_CHECKPOINT');
  });

  it('the well-formed control file loads', () => {
    const t = at.load(good(), { device: 'cpu' });
    expect(t.a.shape).toEqual([2, 3]);
  });
});

describe('atomic writes', () => {
  const leftovers = () => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

  for (const mode of ['sync', 'async'] as const) {
    it(`a write that fails midway leaves the old file intact (${mode})`, async () => {
      const file = tmp('atomic');
      const old = { w: at.randn([4, 4], { device: 'cpu', seed: 5 }) };
      at.save(old, file);
      const before = fs.readFileSync(file);
      // The second tensor fails while its bytes are being fetched, after the header and the first
      // tensor are on disk (in the temporary file).
      const first = at.randn([1000], { device: 'cpu', seed: 6 });
      const bad = at.randn([1000], { device: 'cpu', seed: 7 });
      bad.dataSync = () => { throw new Error('disk on fire'); };
      const run = () => (mode === 'sync' ? at.save({ first, bad }, file) : at.saveAsync({ first, bad }, file));
      if (mode === 'sync') expect(run).toThrow(/disk on fire/);
      else await expect(run()).rejects.toThrow(/disk on fire/);
      expect(fs.readFileSync(file).equals(before)).toBe(true);
      expect(leftovers()).toEqual([]);
      expect(bits(at.load(file, { device: 'cpu' }).w)).toEqual(bits(old.w));
    });
  }

  it('a bad argument is rejected before anything is written', () => {
    const file = tmp('args');
    at.save({ w: at.ones([2], { device: 'cpu' }) }, file);
    const before = fs.readFileSync(file);
    const gone = at.ones([2], { device: 'cpu' });
    gone.dispose();
    expectCode(() => at.save({ w: gone }, file), 'ERR_DISPOSED');
    expectCode(() => at.save({ w: at.ones([1], { device: 'cpu' }), f: (() => 1) as never }, file), 'ERR_ARGUMENT');
    expectCode(() => at.save({ a: { b: at.ones([1], { device: 'cpu' }) }, 'a.b': at.ones([1], { device: 'cpu' }), n: 1 }, file), 'ERR_ARGUMENT');
    expectCode(() => at.save(at.ones([1], { device: 'cpu' }) as never, file), 'ERR_ARGUMENT');
    expectCode(() => at.save({ w: at.ones([1], { device: 'cpu' }) }, file, { metadata: { x: 1 as never } }), 'ERR_ARGUMENT');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it('a destination folder that does not exist is ERR_CHECKPOINT', () => {
    expectCode(() => at.save({ w: at.ones([1], { device: 'cpu' }) }, path.join(dir, 'no', 'such', 'x.safetensors')), 'ERR_CHECKPOINT');
  });

  it('the file is complete as soon as save returns (header + data sizes add up)', () => {
    const file = tmp('size');
    at.save({ a: at.zeros([3, 7], { device: 'cpu' }), b: at.zeros([5], { dtype: 'bool', device: 'cpu' }) }, file);
    const buf = fs.readFileSync(file);
    const hlen = Number(buf.readBigUInt64LE(0));
    expect(hlen % 8).toBe(0); // padded, as the reference writer does
    expect(buf.length).toBe(8 + hlen + 3 * 7 * 4 + 5);
  });
});
