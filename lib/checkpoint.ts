// checkpoint.ts — at.save / at.load: tensors to and from safetensors files.
//
// File format (https://github.com/huggingface/safetensors):
//   u64 little-endian N | N bytes of JSON header (space padded) | raw little-endian tensor data
//   header = { name: { dtype: 'F32'|'I32'|'BOOL'|..., shape: [...], data_offsets: [begin, end] },
//              '__metadata__': { string: string } }
// Offsets are relative to the start of the data; the tensors cover it exactly, without holes or
// overlaps.
//
// What can be saved:
//   * a state dict, name -> Tensor (e.g. model.stateDict()): written as is, so PyTorch's
//     safetensors.torch.load_file reads it, and a PyTorch state_dict saved with
//     safetensors.torch.save_file loads here;
//   * any nesting of plain objects and arrays holding tensors and JSON values, e.g.
//     { model: sd, optimizer: opt.stateDict(), meta: { step: 100 } }: tensors are stored under
//     dotted names ('model.fc.weight', 'optimizer.state.0.expAvg') and the rest of the structure
//     goes, as JSON, in the '__metadata__' entry 'atento.structure', from which load() rebuilds it.
//
// Writes are atomic: the file is written to a temporary file in the same folder, flushed to disk
// (fsync) and renamed over the destination, so a reader or a crash never sees a partial file.
//
// Reads validate the whole header before allocating anything: header length against the file size,
// JSON, each entry's dtype, shape and offsets (integers, in range, sizes = numel * itemsize,
// contiguous non-overlapping coverage of the data), the total length. Any violation is an
// ERR_CHECKPOINT; a lying header never causes a large allocation. F16, BF16 and F64 load as
// float32; I64 loads as int32 (values outside int32 are an ERR_CHECKPOINT).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AtentoError, callNative, check } from './errors';
import { native } from './native';
import { Tensor, checkDevice, dtypeBytes, empty, fromTypedArray, getDefaultDevice, type DeviceName, type Dtype } from './tensor';

/** The largest JSON header accepted (the safetensors reference limit). */
const MAX_HEADER_BYTES = 100_000_000;
const STRUCTURE_KEY = 'atento.structure';

export interface SaveOptions {
  /** Extra string -> string entries for the header's __metadata__. */
  metadata?: Record<string, string>;
}
export interface LoadOptions {
  /** Where the tensors go (default: the default device). */
  device?: DeviceName;
}
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

// --- dtypes ---------------------------------------------------------------------------------------

const SAVE_DTYPE: Record<Dtype, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

// Stored dtype -> item size and the atento dtype it loads as.
const LOAD_DTYPE: Record<string, { size: number; as: Dtype }> = {
  F32: { size: 4, as: 'float32' },
  F16: { size: 2, as: 'float32' },
  BF16: { size: 2, as: 'float32' },
  F64: { size: 8, as: 'float32' },
  I32: { size: 4, as: 'int32' },
  I64: { size: 8, as: 'int32' },
  BOOL: { size: 1, as: 'bool' },
};

function fail(message: string): never {
  throw new AtentoError(message, 'ERR_CHECKPOINT');
}

function needLittleEndian(): void {
  check(os.endianness() === 'LE', 'ERR_NOT_IMPLEMENTED', 'checkpoints: big-endian hosts are not supported');
}

// --- flattening (save) -------------------------------------------------------------------------------

// The JSON form of the structure: objects are tagged so no user key can be mistaken for a tag.
type Node = null | boolean | string | number | Node[] | { $t: string } | { $o: Record<string, Node> } | { $n: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
}

interface Flat {
  tensors: [string, Tensor][];
  structure: Node | null; // null: a flat state dict, no structure needed
}

function flatten(obj: unknown): Flat {
  check(obj instanceof Map || isPlainObject(obj), 'ERR_ARGUMENT',
        'save: expected a state dict (name -> Tensor) or an object of tensors and plain values');
  const entries = obj instanceof Map ? [...obj.entries()] : Object.entries(obj);
  if (entries.every(([, v]) => v instanceof Tensor)) {
    for (const [k] of entries) check(typeof k === 'string' && k.length > 0, 'ERR_ARGUMENT', 'save: tensor names must be non-empty strings');
    return { tensors: entries as [string, Tensor][], structure: null };
  }
  const tensors: [string, Tensor][] = [];
  const names = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (v: unknown, name: string): Node => {
    if (v instanceof Tensor) {
      check(!names.has(name), 'ERR_ARGUMENT', () => `save: two tensors would both be stored as '${name}'`);
      names.add(name);
      tensors.push([name, v]);
      return { $t: name };
    }
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : { $n: String(v) };
    check(typeof v === 'object', 'ERR_ARGUMENT', () => `save: '${name}' is a ${typeof v}, which cannot be saved`);
    check(!seen.has(v), 'ERR_ARGUMENT', () => `save: '${name}' refers back to an enclosing object`);
    seen.add(v);
    const child = (k: string) => (name ? `${name}.${k}` : k);
    let out: Node;
    if (Array.isArray(v)) out = v.map((x, i) => walk(x, child(String(i))));
    else if (v instanceof Map || isPlainObject(v)) {
      const o: Record<string, Node> = {};
      for (const [k, x] of v instanceof Map ? v.entries() : Object.entries(v)) {
        check(typeof k === 'string', 'ERR_ARGUMENT', () => `save: map keys must be strings (in '${name}')`);
        if (x !== undefined) o[k] = walk(x, child(k));
      }
      out = { $o: o };
    } else {
      throw new AtentoError(`save: '${name}' is a ${v.constructor?.name ?? 'object'}, which cannot be saved`, 'ERR_ARGUMENT');
    }
    seen.delete(v);
    return out;
  };
  const structure = walk(obj, '');
  return { tensors, structure };
}

function unflatten(node: Node, tensors: Record<string, Tensor>): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((x) => unflatten(x, tensors));
  if ('$t' in node) {
    const t = tensors[node.$t];
    if (!t) fail(`structure refers to a tensor '${node.$t}' the file does not hold`);
    return t;
  }
  if ('$n' in node) return Number(node.$n);
  if ('$o' in node && isPlainObject(node.$o)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node.$o)) out[k] = unflatten(v, tensors);
    return out;
  }
  return fail(`'${STRUCTURE_KEY}' metadata is malformed`);
}

// --- header (save) ----------------------------------------------------------------------------------

interface Prepared {
  header: Buffer; // length prefix + JSON, padded to a multiple of 8
  tensors: Tensor[];
}

function prepare(obj: unknown, opts: SaveOptions): Prepared {
  needLittleEndian();
  const { tensors, structure } = flatten(obj);
  const metadata: Record<string, string> = { format: 'pt' };
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    check(typeof v === 'string', 'ERR_ARGUMENT', () => `save: metadata '${k}' must be a string`);
    check(k !== STRUCTURE_KEY, 'ERR_ARGUMENT', () => `save: metadata key '${STRUCTURE_KEY}' is reserved`);
    metadata[k] = v;
  }
  if (structure !== null) metadata[STRUCTURE_KEY] = JSON.stringify(structure);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    check(name !== '__metadata__', 'ERR_ARGUMENT', "save: '__metadata__' cannot name a tensor");
    void t.buf; // ERR_DISPOSED now rather than halfway through the file
    const bytes = t.numel * dtypeBytes(t.dtype);
    header[name] = { dtype: SAVE_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const buf = Buffer.alloc(8 + padded, 0x20);
  buf.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(buf, 8);
  return { header: buf, tensors: tensors.map(([, t]) => t) };
}

function tensorBytes(t: Tensor): Buffer {
  const host = t.dataSync();
  return Buffer.from(host.buffer, host.byteOffset, host.byteLength);
}

function tempPathFor(file: string): string {
  const dir = path.dirname(path.resolve(file));
  const rand = Math.floor(Math.random() * 0x7fffffff).toString(36);
  return path.join(dir, `.${path.basename(file)}.${process.pid}.${rand}.tmp`);
}

function ioError(what: string, file: string, e: unknown): AtentoError {
  if (e instanceof AtentoError) return e;
  const err = new AtentoError(`${what} ${file}: ${(e as Error).message}`, 'ERR_CHECKPOINT');
  (err as { cause?: unknown }).cause = e;
  return err;
}

// --- save -------------------------------------------------------------------------------------------

/**
 * Writes a state dict, or an object of tensors and plain values, to `file` in the safetensors
 * format, atomically (temporary file, fsync, rename).
 */
export function save(obj: unknown, file: string, opts: SaveOptions = {}): void {
  const { header, tensors } = prepare(obj, opts);
  const tmp = tempPathFor(file);
  let fd = -1;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    writeAllSync(fd, header);
    for (const t of tensors) if (t.numel) writeAllSync(fd, tensorBytes(t));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw ioError('save: cannot write', file, e);
  }
  syncDirSync(path.dirname(path.resolve(file)));
}

/** save() without blocking the event loop on disk writes. */
export async function saveAsync(obj: unknown, file: string, opts: SaveOptions = {}): Promise<void> {
  const { header, tensors } = prepare(obj, opts);
  const tmp = tempPathFor(file);
  let fh: fs.promises.FileHandle | null = null;
  try {
    fh = await fs.promises.open(tmp, 'wx', 0o644);
    await fh.writeFile(header);
    for (const t of tensors) if (t.numel) await fh.writeFile(tensorBytes(t));
    await fh.sync();
    await fh.close();
    fh = null;
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw ioError('save: cannot write', file, e);
  }
  await fs.promises.open(path.dirname(path.resolve(file)), 'r')
    .then(async (d) => { await d.sync().catch(() => undefined); await d.close(); })
    .catch(() => undefined);
}

function writeAllSync(fd: number, buf: Buffer): void {
  for (let done = 0; done < buf.length;) done += fs.writeSync(fd, buf, done, buf.length - done);
}

// Makes the rename durable (best effort: not every platform can fsync a folder).
function syncDirSync(dir: string): void {
  try {
    const d = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(d);
    } finally {
      fs.closeSync(d);
    }
  } catch {
    /* not supported here */
  }
}

// --- header (load) -----------------------------------------------------------------------------------

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number; // offset in the data section
  end: number;
}
interface Plan {
  dataStart: number; // file offset of the data section
  entries: Entry[];
  metadata: Record<string, string>;
}

/** Reads the header length from the first 8 bytes and checks it against the file size. */
function headerLength(prefix: Buffer, fileSize: number, file: string): number {
  if (fileSize < 8) fail(`${file}: ${fileSize} bytes is too short for a safetensors file`);
  const n = prefix.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) {
    fail(`${file}: header length ${n} does not fit a file of ${fileSize} bytes`);
  }
  return Number(n);
}

function isIntegerIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= lo && v <= hi;
}

/** Validates a parsed header against the data length; returns the entries sorted by offset. */
function parseHeader(headerBytes: Buffer, fileSize: number, file: string): Plan {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(`${file}: the header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) fail(`${file}: the header is not a JSON object`);
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileSize - dataStart;
  const entries: Entry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    const where = `${file}: '${name}'`;
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) fail(`${file}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(raw)) if (typeof v !== 'string') fail(`${file}: __metadata__ '${k}' is not a string`);
      metadata = raw as Record<string, string>;
      continue;
    }
    if (name.length === 0) fail(`${file}: a tensor has an empty name`);
    if (!isPlainObject(raw)) fail(`${where} is not an object`);
    const keys = Object.keys(raw).sort().join();
    if (keys !== 'data_offsets,dtype,shape') fail(`${where} must have exactly dtype, shape and data_offsets (has ${keys})`);
    const { dtype, shape, data_offsets: offsets } = raw as { dtype: unknown; shape: unknown; data_offsets: unknown };
    if (typeof dtype !== 'string' || !(dtype in LOAD_DTYPE)) {
      fail(`${where}: dtype ${JSON.stringify(dtype)} is not supported (${Object.keys(LOAD_DTYPE).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => isIntegerIn(d, 0, Number.MAX_SAFE_INTEGER))) {
      fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => isIntegerIn(o, 0, dataLength))) {
      fail(`${where}: data_offsets ${JSON.stringify(offsets)} are not two integers within the ${dataLength} data bytes`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] run backwards`);
    // numel * itemsize, computed without overflow: it must equal end - begin <= dataLength.
    const size = LOAD_DTYPE[dtype].size;
    let bytes = size;
    for (const d of shape as number[]) {
      bytes = d === 0 ? 0 : bytes * d;
      if (bytes > dataLength) break;
    }
    if ((shape as number[]).includes(0)) bytes = 0;
    if (bytes !== end - begin) {
      fail(`${where}: ${dtype} [${shape}] needs ${bytes > dataLength ? 'more than the file holds' : `${bytes} bytes`}, ` +
           `data_offsets give ${end - begin}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The entries must tile the data section exactly: sorted by offset, each begins where the last ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) fail(`${file}: '${e.name}' overlaps another tensor (data_offsets [${e.begin}, ${e.end}])`);
    if (e.begin > pos) fail(`${file}: bytes ${pos}..${e.begin} of the data belong to no tensor`);
    pos = e.end;
  }
  if (pos !== dataLength) fail(`${file}: the tensors cover ${pos} bytes but the data section has ${dataLength}`);
  return { dataStart, entries, metadata };
}

// Raw little-endian bytes of an entry -> a host typed array of its atento dtype.
function decode(e: Entry, raw: Uint8Array, file: string): Float32Array | Int32Array | Uint8Array {
  const n = (e.end - e.begin) / LOAD_DTYPE[e.dtype].size;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (e.dtype) {
    case 'F32':
      return new Float32Array(raw.buffer, raw.byteOffset, n);
    case 'I32':
      return new Int32Array(raw.buffer, raw.byteOffset, n);
    case 'BOOL':
      for (let i = 0; i < n; i++) if (raw[i] > 1) fail(`${file}: '${e.name}': BOOL byte ${raw[i]} is neither 0 nor 1`);
      return raw;
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v < -2147483648n || v > 2147483647n) fail(`${file}: '${e.name}': I64 value ${v} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
  return fail(`${file}: '${e.name}': dtype ${e.dtype} is not supported`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function toTensor(arr: Float32Array | Int32Array | Uint8Array, shape: number[], device: DeviceName): Tensor {
  const host = fromTypedArray(arr, shape);
  if (device === 'cpu') return host;
  const t = empty(shape, { dtype: host.dtype, device });
  if (t.numel) callNative(() => native.copyBuffer(t.buf, host.buf, arr.byteLength));
  return t;
}

function finish(plan: Plan, tensors: Record<string, Tensor>): SafetensorsContents {
  return { tensors, metadata: { ...plan.metadata } };
}

function rebuild({ tensors, metadata }: SafetensorsContents): Record<string, any> {
  const s = metadata[STRUCTURE_KEY];
  if (s === undefined) return tensors;
  let node: Node;
  try {
    node = JSON.parse(s);
  } catch {
    fail(`'${STRUCTURE_KEY}' metadata is not valid JSON`);
  }
  return unflatten(node, tensors) as Record<string, any>;
}

// --- load ---------------------------------------------------------------------------------------------

// Each tensor's bytes are read into their own buffer (a fresh ArrayBuffer, so typed views are aligned).
const CHUNK = 1 << 30;

function readExactSync(fd: number, buf: Uint8Array, position: number, file: string): void {
  for (let done = 0; done < buf.length;) {
    const n = fs.readSync(fd, buf, done, Math.min(CHUNK, buf.length - done), position + done);
    if (n === 0) fail(`${file}: the file ended early (was it truncated while reading?)`);
    done += n;
  }
}

async function readExact(fh: fs.promises.FileHandle, buf: Uint8Array, position: number, file: string): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesRead } = await fh.read(buf, done, Math.min(CHUNK, buf.length - done), position + done);
    if (bytesRead === 0) fail(`${file}: the file ended early (was it truncated while reading?)`);
    done += bytesRead;
  }
}

/** The tensors and the raw metadata of a safetensors file, validated (see the top of this file). */
export function loadSafetensors(file: string, opts: LoadOptions = {}): SafetensorsContents {
  needLittleEndian();
  const device = opts.device ? checkDevice(opts.device) : getDefaultDevice();
  let fd = -1;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const prefix = Buffer.alloc(8);
    if (size >= 8) readExactSync(fd, prefix, 0, file);
    const hlen = headerLength(prefix, size, file);
    const headerBytes = Buffer.alloc(hlen);
    readExactSync(fd, headerBytes, 8, file);
    const plan = parseHeader(headerBytes, size, file);
    const tensors: Record<string, Tensor> = {};
    for (const e of plan.entries) {
      const raw = new Uint8Array(e.end - e.begin);
      readExactSync(fd, raw, plan.dataStart + e.begin, file);
      tensors[e.name] = toTensor(decode(e, raw, file), e.shape, device);
    }
    return finish(plan, tensors);
  } catch (e) {
    throw ioError('load: cannot read', file, e);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** loadSafetensors() without blocking the event loop on disk reads. */
export async function loadSafetensorsAsync(file: string, opts: LoadOptions = {}): Promise<SafetensorsContents> {
  needLittleEndian();
  const device = opts.device ? checkDevice(opts.device) : getDefaultDevice();
  let fh: fs.promises.FileHandle | null = null;
  try {
    fh = await fs.promises.open(file, 'r');
    const size = (await fh.stat()).size;
    const prefix = Buffer.alloc(8);
    if (size >= 8) await readExact(fh, prefix, 0, file);
    const hlen = headerLength(prefix, size, file);
    const headerBytes = Buffer.alloc(hlen);
    await readExact(fh, headerBytes, 8, file);
    const plan = parseHeader(headerBytes, size, file);
    const tensors: Record<string, Tensor> = {};
    for (const e of plan.entries) {
      const raw = new Uint8Array(e.end - e.begin);
      await readExact(fh, raw, plan.dataStart + e.begin, file);
      tensors[e.name] = toTensor(decode(e, raw, file), e.shape, device);
    }
    return finish(plan, tensors);
  } catch (e) {
    throw ioError('load: cannot read', file, e);
  } finally {
    await fh?.close();
  }
}

/**
 * Reads what save() wrote: a state dict (name -> Tensor) for a flat file (including PyTorch's),
 * or the saved object with its structure rebuilt. Tensors go to `device`.
 */
export function load(file: string, opts: LoadOptions = {}): Record<string, any> {
  return rebuild(loadSafetensors(file, opts));
}

/** load() without blocking the event loop on disk reads. */
export async function loadAsync(file: string, opts: LoadOptions = {}): Promise<Record<string, any>> {
  return rebuild(await loadSafetensorsAsync(file, opts));
}
