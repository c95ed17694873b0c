// Installs what the real-VS Code test suites and `npm start` need, on demand and idempotently:
//   - Debian packages: chromium (headless browser), and to build code-server: ripgrep + native build headers
//   - code-server 4.100.3 (= VS Code 1.100.3 with a Node extension host) into .vscode-test/code-server
// As root it runs apt-get itself; otherwise it prints the apt-get line to run and exits non-zero.
// See /work/shared/docs/real-vscode.md for why each workaround below exists.
// Usage: node scripts/vscode/install.mjs        (or import { ensureInstalled } from it)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const codeServerDir = path.join(repoRoot, '.vscode-test', 'code-server');
export const codeServerEntry = path.join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const chromiumPath = '/usr/bin/chromium';

const markerFile = path.join(codeServerDir, 'installed-version');
const RIPGREP_PREBUILT = '1.15.11'; // what @vscode/ripgrep in code-server 4.100.3 looks for
const RIPGREP_TAG = 'v13.0.0-10';
const BUILD_PACKAGES = ['ripgrep', 'libkrb5-dev', 'libx11-dev', 'libxkbfile-dev', 'libsecret-1-dev', 'build-essential', 'pkg-config'];

function log(msg) {
  console.log(`[vscode-install] ${msg}`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** True when code-server of the pinned version finished installing. */
export function codeServerInstalled() {
  return existsSync(codeServerEntry) && existsSync(markerFile)
    && readFileSync(markerFile, 'utf8').trim() === CODE_SERVER_VERSION;
}

function debPackageInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** Installs the missing Debian packages as root; otherwise throws with the line to run. */
function ensureDebPackages(names) {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) {
    if (names.includes('chromium') && !existsSync(chromiumPath)) {
      throw new Error(`no dpkg here: install Chromium so that ${chromiumPath} exists, and the packages ${names.join(' ')}`);
    }
    return; // not Debian: trust the machine (a failing build below says what is missing)
  }
  const missing = names.filter((n) => !debPackageInstalled(n));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')}\n` +
      `Run:  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], { env });
  run('apt-get', ['install', '-y', ...missing], { env });
}

/** A TMPDIR holding the ripgrep tarball @vscode/ripgrep would download from GitHub, made from Debian's rg. */
function seedRipgrepCache() {
  const triple = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch];
  if (!triple) throw new Error(`no ripgrep cache seeding for arch ${process.arch}`);
  const rg = '/usr/bin/rg';
  if (!existsSync(rg)) throw new Error(`${rg} is missing (Debian package ripgrep)`);
  const tmp = path.join(repoRoot, '.vscode-test', 'tmp');
  const cache = path.join(tmp, `vscode-ripgrep-cache-${RIPGREP_PREBUILT}`);
  mkdirSync(cache, { recursive: true });
  run('tar', ['-czf', path.join(cache, `ripgrep-${RIPGREP_TAG}-${triple}.tar.gz`), '-C', path.dirname(rg), 'rg']);
  return tmp;
}

function installCodeServer() {
  log(`installing code-server@${CODE_SERVER_VERSION} into ${path.relative(repoRoot, codeServerDir)} (about a minute)`);
  rmSync(codeServerDir, { recursive: true, force: true });
  mkdirSync(codeServerDir, { recursive: true });
  writeFileSync(path.join(codeServerDir, 'package.json'), JSON.stringify({ private: true, name: 'normscope-code-server' }, null, 2));
  const env = {
    ...process.env,
    TMPDIR: seedRipgrepCache(),
    npm_config_unsafe_perm: 'true', // code-server's postinstall.sh refuses to run as root otherwise
    npm_config_yes: 'true', // node-pty's postinstall runs `npx node-gyp`
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr'; // no header download
  try {
    run('npm', ['install', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], { cwd: codeServerDir, env });
  } finally {
    rmSync(env.TMPDIR, { recursive: true, force: true });
  }
  if (!existsSync(codeServerEntry)) throw new Error(`code-server installed but ${codeServerEntry} is missing`);
  writeFileSync(markerFile, `${CODE_SERVER_VERSION}\n`);
  log('code-server installed');
}

/** Makes sure Chromium and code-server are present; returns their paths. */
export function ensureInstalled({ codeServer = true, chromium = true } = {}) {
  const needCodeServer = codeServer && !codeServerInstalled();
  const packages = [...(chromium ? ['chromium'] : []), ...(needCodeServer ? BUILD_PACKAGES : [])];
  ensureDebPackages(packages);
  if (chromium && !existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing after installing chromium`);
  if (needCodeServer) installCodeServer();
  return { codeServerEntry, chromiumPath };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureInstalled();
    log(`ready: code-server ${CODE_SERVER_VERSION}, ${chromiumPath}`);
  } catch (err) {
    console.error(`[vscode-install] ${err.message}`);
    process.exit(1);
  }
}
