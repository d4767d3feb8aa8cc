// Loader for the PyTorch reference fixtures in test/fixtures (made by test/fixtures/generate.py).
// See test/fixtures/README.md for the format and for every op's input/attr/output names.
//
//   const cases = loadFixtures('attention');
//   for (const c of cases) { const q = c.inputs.q; ... c.outputs.out ... c.grads.q ... }
//
// Plain Node (node:fs, node:path), no dependencies; works as ESM or CommonJS. Tensors decode to fresh, aligned typed
// arrays (little-endian data, as stored).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type FixtureDType = 'float32' | 'int32' | 'bool';

export interface FixtureTensor {
  dtype: FixtureDType;
  shape: number[];
  /** float32 -> Float32Array, int32 -> Int32Array, bool -> Uint8Array (0/1). */
  data: Float32Array | Int32Array | Uint8Array;
}

/** A plain JSON value (attrs hold only these). */
export type FixtureAttr = null | boolean | number | string | FixtureAttr[] | { [k: string]: FixtureAttr };

export interface FixtureCase {
  name: string;
  op: string;
  attrs: Record<string, FixtureAttr>;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  /** Random upstream gradients, one per differentiable (non-auxiliary) float output. */
  gouts: Record<string, FixtureTensor>;
  /** d(sum_k <outputs[k], gouts[k]>)/d(input), one per differentiable float input
   *  (for modules also one per parameter, keyed by PyTorch parameter name). */
  grads: Record<string, FixtureTensor>;
}

export interface FixtureFile {
  generator: string;
  torch: string;
  family: string;
  cases: FixtureCase[];
}

interface RawTensor {
  dtype: FixtureDType;
  shape: number[];
  b64: string;
}

interface RawCase {
  name: string;
  op: string;
  attrs: Record<string, FixtureAttr>;
  inputs: Record<string, RawTensor>;
  outputs: Record<string, RawTensor>;
  gouts: Record<string, RawTensor>;
  grads: Record<string, RawTensor>;
}

function findFixturesDir(): string {
  const candidates: string[] = [];
  const env = process.env.ATENTO_FIXTURES_DIR;
  if (env) candidates.push(resolve(env));
  // test/helpers/fixtures.ts -> test/fixtures. `__dirname` exists when this file runs as
  // CommonJS (the package is "type": "commonjs") and under vitest; `import.meta.url` is
  // deliberately not used, because tsc rejects it in files that build to CommonJS.
  if (typeof __dirname === 'string') candidates.push(resolve(__dirname, '..', 'fixtures'));
  // Otherwise walk up from the working directory looking for test/fixtures.
  let dir = process.cwd();
  for (;;) {
    candidates.push(join(dir, 'test', 'fixtures'));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const c of candidates) {
    if (existsSync(join(c, 'generate.py'))) return c;
  }
  throw new Error(`fixtures: cannot find test/fixtures (looked in ${candidates.join(', ')})`);
}

let fixturesDirCache: string | undefined;

/** Absolute path of test/fixtures. */
export function fixturesDir(): string {
  if (fixturesDirCache === undefined) fixturesDirCache = findFixturesDir();
  return fixturesDirCache;
}

/** Absolute path of a file under test/fixtures (e.g. 'modules/linear.safetensors'). */
export function fixturePath(rel: string): string {
  return isAbsolute(rel) ? rel : join(fixturesDir(), rel);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Copy bytes into a fresh ArrayBuffer (typed-array views need aligned offsets). */
function ownBytes(buf: Uint8Array, begin = 0, end = buf.byteLength): ArrayBuffer {
  const out = new ArrayBuffer(end - begin);
  new Uint8Array(out).set(buf.subarray(begin, end));
  return out;
}

function makeTensor(dtype: FixtureDType, shape: number[], bytes: ArrayBuffer, where: string): FixtureTensor {
  const n = numel(shape);
  let data: Float32Array | Int32Array | Uint8Array;
  if (dtype === 'float32') data = new Float32Array(bytes);
  else if (dtype === 'int32') data = new Int32Array(bytes);
  else if (dtype === 'bool') data = new Uint8Array(bytes);
  else throw new Error(`fixtures: ${where}: unknown dtype ${String(dtype)}`);
  if (data.length !== n) {
    throw new Error(`fixtures: ${where}: ${data.length} elements for shape [${shape.join(',')}]`);
  }
  return { dtype, shape: [...shape], data };
}

export function decodeTensor(raw: RawTensor, where = 'tensor'): FixtureTensor {
  const buf = Buffer.from(raw.b64, 'base64');
  return makeTensor(raw.dtype, raw.shape, ownBytes(buf), where);
}

function decodeMap(m: Record<string, RawTensor> | undefined, where: string): Record<string, FixtureTensor> {
  const out: Record<string, FixtureTensor> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = decodeTensor(v, `${where}.${k}`);
  return out;
}

const fileCache = new Map<string, FixtureFile>();

/** The whole decoded fixture file of a family ('attention', 'lstm', ..., 'modules'). */
export function loadFixtureFile(family: string): FixtureFile {
  const hit = fileCache.get(family);
  if (hit) return hit;
  const path = fixturePath(`${family}.json`);
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    generator: string;
    torch: string;
    family?: string;
    cases: RawCase[];
  };
  const file: FixtureFile = {
    generator: raw.generator,
    torch: raw.torch,
    family: raw.family ?? family,
    cases: raw.cases.map((c) => {
      const w = `${family}/${c.name}`;
      return {
        name: c.name,
        op: c.op,
        attrs: c.attrs ?? {},
        inputs: decodeMap(c.inputs, `${w}.inputs`),
        outputs: decodeMap(c.outputs, `${w}.outputs`),
        gouts: decodeMap(c.gouts, `${w}.gouts`),
        grads: decodeMap(c.grads, `${w}.grads`),
      };
    }),
  };
  fileCache.set(family, file);
  return file;
}

/** The decoded cases of a family, optionally only those of one op. */
export function loadFixtures(family: string, op?: string): FixtureCase[] {
  const cases = loadFixtureFile(family).cases;
  return op === undefined ? cases : cases.filter((c) => c.op === op);
}

/** One case by name (throws if absent). */
export function getFixture(family: string, name: string): FixtureCase {
  const c = loadFixtureFile(family).cases.find((x) => x.name === name);
  if (!c) throw new Error(`fixtures: no case '${name}' in ${family}.json`);
  return c;
}

/** Narrow a tensor's data, checking its dtype. */
export function f32(t: FixtureTensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`fixtures: expected float32, got ${t.dtype}`);
  return t.data as Float32Array;
}
export function i32(t: FixtureTensor): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`fixtures: expected int32, got ${t.dtype}`);
  return t.data as Int32Array;
}
export function bool(t: FixtureTensor): Uint8Array {
  if (t.dtype !== 'bool') throw new Error(`fixtures: expected bool, got ${t.dtype}`);
  return t.data as Uint8Array;
}

// ---------------------------------------------------------------------------------------
// safetensors: a small independent reader for tests.

export interface SafetensorsFile {
  tensors: Record<string, FixtureTensor>;
  metadata: Record<string, string>;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decode a .safetensors file: u64 LE header length, JSON header, raw little-endian data.
 * F32 -> float32, F16/BF16 -> float32 (upcast), I32 -> int32, I64/U32/I16/I8/U8 -> int32
 * (range-checked), BOOL -> bool. Paths that are not absolute are taken under test/fixtures.
 */
export function readSafetensorsFile(path: string): SafetensorsFile {
  const buf = readFileSync(fixturePath(path));
  if (buf.byteLength < 8) throw new Error(`safetensors: ${path}: too short`);
  const hlen = Number(buf.readBigUInt64LE(0));
  if (8 + hlen > buf.byteLength) throw new Error(`safetensors: ${path}: header length ${hlen} past end`);
  const header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  const base = 8 + hlen;
  const tensors: Record<string, FixtureTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = data_offsets;
    if (!(b >= 0 && b <= e && base + e <= buf.byteLength)) {
      throw new Error(`safetensors: ${path}: ${name}: bad data_offsets [${b},${e}]`);
    }
    const bytes = buf.subarray(base + b, base + e);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = numel(shape);
    const where = `${path}: ${name}`;
    const size = (k: number) => {
      if (bytes.byteLength !== n * k) throw new Error(`safetensors: ${where}: ${bytes.byteLength} bytes for ${dtype} [${shape.join(',')}]`);
    };
    const toInt32 = (k: number, get: (i: number) => number): FixtureTensor => {
      size(k);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v < -2147483648 || v > 2147483647) throw new Error(`safetensors: ${where}: value ${v} does not fit int32`);
        out[i] = v;
      }
      return { dtype: 'int32', shape: [...shape], data: out };
    };
    let t: FixtureTensor;
    switch (dtype) {
      case 'F32':
        size(4);
        t = makeTensor('float32', shape, ownBytes(bytes), where);
        break;
      case 'F16': {
        size(2);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
        t = { dtype: 'float32', shape: [...shape], data: out };
        break;
      }
      case 'BF16': {
        size(2);
        const out = new Float32Array(n);
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
        t = { dtype: 'float32', shape: [...shape], data: out };
        break;
      }
      case 'I32':
        size(4);
        t = makeTensor('int32', shape, ownBytes(bytes), where);
        break;
      case 'I64':
        t = toInt32(8, (i) => Number(dv.getBigInt64(8 * i, true)));
        break;
      case 'U32':
        t = toInt32(4, (i) => dv.getUint32(4 * i, true));
        break;
      case 'I16':
        t = toInt32(2, (i) => dv.getInt16(2 * i, true));
        break;
      case 'I8':
        t = toInt32(1, (i) => dv.getInt8(i));
        break;
      case 'U8':
        t = toInt32(1, (i) => dv.getUint8(i));
        break;
      case 'BOOL':
        size(1);
        t = makeTensor('bool', shape, ownBytes(bytes), where);
        break;
      default:
        throw new Error(`safetensors: ${where}: unsupported dtype ${dtype}`);
    }
    tensors[name] = t;
  }
  return { tensors, metadata };
}

/** The tensors of a .safetensors file, keyed by name (see readSafetensorsFile for metadata). */
export function readSafetensors(path: string): Record<string, FixtureTensor> {
  return readSafetensorsFile(path).tensors;
}
