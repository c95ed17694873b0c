// Bundles every entry point with esbuild. One small helper, one call per bundle.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  target: 'es2022',
};

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

await build('src/cli/main.ts', {
  outfile: 'dist/cli.js',
  platform: 'node',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
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
});

await build('src/webview/main.ts', {
  outfile: 'dist/webview.js',
  platform: 'browser',
  format: 'iife',
});

await build('src/renderer/index.ts', {
  outfile: 'dist/renderer.js',
  platform: 'browser',
  format: 'esm',
});

await build('src/report/reportPage.ts', {
  outfile: 'dist/report.js',
  platform: 'browser',
  format: 'iife',
});
