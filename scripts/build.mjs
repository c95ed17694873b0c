// Bundles every entry point with esbuild. One small helper, one call per bundle.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import wabtInit from 'wabt';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  target: 'es2022',
};

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

/** `import text from 'inline:dist/x.js'` becomes the text of that (already built) file. */
const inlineText = {
  name: 'inline-text',
  setup(b) {
    b.onResolve({ filter: /^inline:/ }, (args) => ({ path: path.resolve(args.path.slice('inline:'.length)), namespace: 'inline' }));
    b.onLoad({ filter: /.*/, namespace: 'inline' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};

/** Compiles WebAssembly text (SIMD, shared memory) to a .wasm with wabt; the .wasm is built, never committed. */
async function buildWasm(source, outfile) {
  const wabt = await wabtInit();
  const features = { simd: true, threads: true };
  const mod = wabt.parseWat(source, await readFile(source, 'utf8'), features);
  try {
    mod.validate(features);
    await mkdir(path.dirname(outfile), { recursive: true });
    await writeFile(outfile, mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/** Builds one bundle when its entry exists (later issues add entries). */
async function build(entry, options) {
  if (!existsSync(entry)) return;
  const config = { ...common, entryPoints: [entry], ...options };
  if (watch) {
    const ctx = await esbuild.context(config);
    await ctx.watch();
  } else {
    await esbuild.build(config);
  }
}

await buildWasm('src/engine/fast/kernels.wat', 'dist/kernels.wasm');
/** Inlines kernels.wasm into a bundle (read by src/node/kernelBytes.ts). */
const kernelsWasm = { NORMSCOPE_KERNELS_WASM: JSON.stringify((await readFile('dist/kernels.wasm')).toString('base64')) };

await build('src/report/reportPage.ts', {
  outfile: 'dist/report.js',
  platform: 'browser',
  format: 'iife',
  minify: true,
  sourcemap: false, // inlined into a self-contained page
});

await build('src/cli/main.ts', {
  outfile: 'dist/cli.js',
  platform: 'node',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  define: { NORMSCOPE_VERSION: JSON.stringify(pkg.version), ...kernelsWasm },
  plugins: [inlineText],
});
if (existsSync('dist/cli.js')) await chmod('dist/cli.js', 0o755);

await build('src/extension/extension.ts', {
  outfile: 'dist/extension.js',
  platform: 'node',
  format: 'cjs',
  external: ['vscode'],
});

await build('src/extension/worker.ts', {
  outfile: 'dist/worker.js',
  platform: 'node',
  format: 'cjs',
  define: kernelsWasm,
});

await build('src/node/kernelWorker.ts', {
  outfile: 'dist/kernelWorker.js',
  platform: 'node',
  format: 'cjs',
});

await build('src/webview/main.ts', {
  outfile: 'dist/webview.js',
  platform: 'browser',
  format: 'iife',
  minify: true, // parsed on every panel open (chart.js is most of it); the source map keeps it debuggable
});

await build('src/renderer/index.ts', {
  outfile: 'dist/renderer.js',
  platform: 'browser',
  format: 'esm',
});

