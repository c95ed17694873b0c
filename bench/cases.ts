/** The benchmark cases, shared by the engine side (bench.ts) and handed to the torch side as JSON. */
import { OpName } from '../src/engine/params';

export interface BenchCase {
  readonly label: string;
  readonly op: OpName | 'copy';
  readonly shape: number[];
  readonly groups?: number;
  readonly normalized_shape?: number[];
  readonly mode?: 'train' | 'eval';
}

const CONV = [32, 64, 56, 56];
const TOKENS = [16, 512, 768];

const ALL_CASES: BenchCase[] = [
  { label: 'copy (memory floor: ts dst.set, wasm memory.copy)', op: 'copy', shape: CONV },
  { label: 'BatchNorm train', op: 'batch', shape: CONV, mode: 'train' },
  { label: 'BatchNorm eval', op: 'batch', shape: CONV, mode: 'eval' },
  { label: 'LayerNorm [W]', op: 'layer', shape: CONV, normalized_shape: [56] },
  { label: 'LayerNorm [C,H,W]', op: 'layer', shape: CONV, normalized_shape: [64, 56, 56] },
  { label: 'GroupNorm(32)', op: 'group', shape: CONV, groups: 32 },
  { label: 'InstanceNorm', op: 'instance', shape: CONV },
  { label: 'RMSNorm [W]', op: 'rms', shape: CONV, normalized_shape: [56] },
  { label: 'copy (memory floor: ts dst.set, wasm memory.copy)', op: 'copy', shape: TOKENS },
  { label: 'BatchNorm train', op: 'batch', shape: TOKENS, mode: 'train' },
  { label: 'BatchNorm eval', op: 'batch', shape: TOKENS, mode: 'eval' },
  { label: 'LayerNorm [768]', op: 'layer', shape: TOKENS, normalized_shape: [768] },
  { label: 'GroupNorm(32)', op: 'group', shape: TOKENS, groups: 32 },
  { label: 'InstanceNorm', op: 'instance', shape: TOKENS },
  { label: 'RMSNorm [768]', op: 'rms', shape: TOKENS, normalized_shape: [768] },
];

/**
 * The cases to run: all, or with NORMSCOPE_BENCH_CASES set (a regular expression, case-insensitive) those whose
 * label matches it, with the copy floors kept for reference (e.g. `NORMSCOPE_BENCH_CASES='GroupNorm|eval'`).
 */
export const CASES: BenchCase[] = ((filter) => {
  if (!filter) return ALL_CASES;
  const re = new RegExp(filter, 'i');
  return ALL_CASES.filter((c) => c.op === 'copy' || re.test(c.label));
})(process.env.NORMSCOPE_BENCH_CASES);
