// Run Xen's reference migration-stream tools (from Debian's xen-utils-4.17,
// unpacked by scripts/fetch-xen-tools.sh; never installed) from Node.
//
//   xenToolsDir()                      -> cache dir, or null if not fetched
//   fetchXenTools()                    -> runs fetch-xen-tools.sh, returns dir or null
//   runVerifyStreamV2(file, format)    -> { status, stdout, stderr }
//   runConvertLegacy(in, out, opts)    -> { status, stdout, stderr }
//
// Exit status of both tools: 0 ok, 1 stream error (or a python traceback from
// outside the tool's own handler, e.g. file not found), 2 "Script Error" /
// bad command line. See scripts/XEN-TOOLS-NOTES.md.
// Env: XEN_TOOLS_DIR (cache dir), XEN_TOOLS_PYTHON (interpreter; default
// /usr/bin/python3 when present, the package's own shebang: ~50 ms a run, where
// a pyenv `python3` shim costs ~200 ms more).
// Node built-ins only.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const XEN_LIB = join('usr', 'lib', 'xen-4.17');

/** The cache folder holding the unpacked package, or null if not fetched yet. */
export function xenToolsDir() {
  const dir = resolve(process.env.XEN_TOOLS_DIR || join(REPO_ROOT, '.cache', 'xen-tools'));
  return existsSync(join(dir, XEN_LIB, 'bin', 'verify-stream-v2')) ? dir : null;
}

/** Run scripts/fetch-xen-tools.sh (downloads on first use); returns xenToolsDir(). */
export function fetchXenTools() {
  spawnSync('bash', [join(REPO_ROOT, 'scripts', 'fetch-xen-tools.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return xenToolsDir();
}

function runTool(tool, args) {
  const dir = xenToolsDir();
  if (!dir) throw new Error('Xen tools not fetched: run scripts/fetch-xen-tools.sh');
  const pyPath = join(dir, XEN_LIB, 'lib', 'python');
  const python = process.env.XEN_TOOLS_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const r = spawnSync(python, [join(dir, XEN_LIB, 'bin', tool), ...args], {
    env: { ...process.env, PYTHONPATH: process.env.PYTHONPATH ? `${pyPath}:${process.env.PYTHONPATH}` : pyPath },
    stdio: ['ignore', 'pipe', 'pipe'], // both tools read stdin by default: never let them
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * verify-stream-v2 -i FILE -f FORMAT (format 'libxc' | 'libxl' | 'xl').
 * Pass opts.verbose for the per-record summary on stdout (-v).
 * FILE must not be an all-digit string: the tool would take it as a file descriptor.
 */
export function runVerifyStreamV2(filePath, format, opts = {}) {
  if (!['libxc', 'libxl', 'xl'].includes(format)) throw new Error(`bad format ${format}`);
  const args = ['-i', asPath(filePath), '-f', format];
  if (opts.verbose) args.push('-v');
  return runTool('verify-stream-v2', args);
}

/**
 * convert-legacy-stream -i IN -o OUT -w WIDTH -g GUEST [-f FORMAT] [-x] [--skip-qemu] [-v].
 * opts: { width: 32|64, guest: 'pv'|'hvm', format?: 'libxc'|'libxl' (default libxc),
 *         xl?: boolean, skipQemu?: boolean, verbose?: boolean }
 * OUT is opened (created/truncated) right after IN, before any conversion: on a
 * conversion error it is left partly written. opts.xl is broken under Python 3
 * (the tool always fails "No xl header", status 1) - see XEN-TOOLS-NOTES.md.
 */
export function runConvertLegacy(inPath, outPath, opts) {
  const { width, guest, format = 'libxc', xl = false, skipQemu = false, verbose = false } = opts ?? {};
  if (width !== 32 && width !== 64) throw new Error(`bad width ${width}`);
  if (guest !== 'pv' && guest !== 'hvm') throw new Error(`bad guest ${guest}`);
  if (format !== 'libxc' && format !== 'libxl') throw new Error(`bad format ${format}`);
  const args = ['-i', asPath(inPath), '-o', asPath(outPath), '-w', String(width), '-g', guest, '-f', format];
  if (xl) args.push('-x');
  if (skipQemu) args.push('--skip-qemu');
  if (verbose) args.push('-v');
  return runTool('convert-legacy-stream', args);
}

// The tools open an all-digit -i/-o value as a file descriptor; make paths unambiguous.
function asPath(p) {
  return /^\d+$/.test(String(p)) ? `./${p}` : String(p);
}
