/**
 * The bytes of dist/kernels.wasm (built from src/engine/fast/kernels.wat by scripts/build.mjs). Bundles get them
 * inlined as base64 (esbuild `define`), so the CLI and the extension's worker need no file beside them; code
 * compiled by tsc alone (tests) reads dist/kernels.wasm. null when neither is there.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

declare const NORMSCOPE_KERNELS_WASM: string;

export function kernelBytes(): Uint8Array | null {
  if (typeof NORMSCOPE_KERNELS_WASM === 'string') return new Uint8Array(Buffer.from(NORMSCOPE_KERNELS_WASM, 'base64'));
  for (const file of [path.join(__dirname, 'kernels.wasm'), path.resolve(__dirname, '../../../dist/kernels.wasm')]) {
    try {
      return new Uint8Array(readFileSync(file));
    } catch {
      // next place
    }
  }
  return null;
}
