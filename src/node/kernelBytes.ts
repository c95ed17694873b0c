/**
 * The WebAssembly kernels (src/engine/fast/kernels.wat, compiled by scripts/build.mjs), inlined as bytes into
 * the bundle that imports this module. Bundles only: code compiled by tsc alone reads dist/kernels.wasm.
 */
import bytes from 'binary:dist/kernels.wasm';

export default bytes;
