/**
 * The `xen-stream` executable as built: dist/cli.cjs, a `#!/usr/bin/env
 * node` script that loads the CLI's bundles (dist/cli-main.cjs, the
 * dispatcher from src/cli/main.ts, and the bundle of the command run,
 * dist/cli-<command>.cjs: scripts/cli-bundles.ts) through a V8 code cache
 * kept on this machine. (Tests and development run src/cli/bin.ts, which
 * imports main.ts directly.)
 *
 * Why: most of a short run (`xen-stream verify` of a small file, or the
 * fixed part of any run) is V8 compiling the ~0.5 MB bundle and then,
 * lazily, each function the command calls: ~20 ms of a ~45 ms run on
 * Node 20, where node alone starts in ~20 ms. A code cache holds the
 * bytecode of the top level and of every function compiled by the run
 * that wrote it, so a later run skips both.
 *
 * How:
 * - Node >= 22.1: `module.enableCompileCache()`, Node's own on-disk cache
 *   (its directory: NODE_COMPILE_CACHE, else the OS temporary directory;
 *   NODE_DISABLE_COMPILE_CACHE=1 turns it off).
 * - Older Node (18, 20): the same idea by hand. Each bundle is compiled as
 *   a vm.Script with the cached data of a previous run (the dispatcher's
 *   `require("./cli-<command>.cjs")` comes back here); when there is none,
 *   or V8 rejects it (another Node or V8 flags), the run writes a fresh one
 *   at exit (script.createCachedData(): the functions this run compiled
 *   included). One file per bundle, command and set of option names (each
 *   compiles different functions) in NODE_COMPILE_CACHE or $XDG_CACHE_HOME/xen-migration-stream (else
 *   ~/.cache/xen-migration-stream): a directory of the user's, never a
 *   shared temporary one (V8 runs the bytecode in a cache file as it
 *   finds it). The name holds the build's id (a hash of the sources the
 *   bundle was built from), the Node version and the architecture, so a
 *   cache never outlives its bundle; writing one removes those of other
 *   builds. NODE_DISABLE_COMPILE_CACHE=1 turns it off as well. Any failure
 *   (no home, read-only, a corrupt file) only costs the compile.
 *
 * Nothing ships in the package: a cache is only valid for the Node that
 * writes it.
 *
 * @module
 * @internal
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { Script } from "node:vm";

/** Set at build time (tsup.config.ts): a hash of the sources of cli-main.cjs. */
declare const XEN_STREAM_BUILD_ID: string;

interface CliMain {
  runAsProcess(): void;
}

const BUNDLE = join(__dirname, "cli-main.cjs");

/** The directory for the cache files, or undefined when caching is off or there is no place. */
function cacheDirectory(): string | undefined {
  const env = process.env;
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "") return undefined;
  if (env.NODE_COMPILE_CACHE !== undefined && env.NODE_COMPILE_CACHE !== "") return join(env.NODE_COMPILE_CACHE, "xen-migration-stream");
  if (env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME.startsWith("/")) return join(env.XDG_CACHE_HOME, "xen-migration-stream");
  try {
    const home = homedir();
    return home === "" ? undefined : join(home, ".cache", "xen-migration-stream");
  } catch {
    return undefined;
  }
}

/** A bundle of dist/ that a bundle requires: a command's (scripts/cli-bundles.ts). */
const SIBLING_BUNDLE = /^\.\/(cli-[a-z][a-z-]*)\.cjs$/;

/**
 * Loads the bundles through the code cache in `directory`: dist/cli-main.cjs
 * and the command bundle it requires (dist/cli-<command>.cjs), each as
 * require() would, each with its own cache file.
 */
function loadCached(directory: string): CliMain {
  // A command with its options compiles its own set of functions (verify
  // --verbose also the listing and the insides' summaries): a cache per
  // command and option names (not values, not files).
  const [name = "", ...args] = process.argv.slice(2);
  const options = [...new Set(args.filter((arg) => /^--?[a-z][a-z-]*$/.test(arg)))].sort().join("");
  const command = /^[a-z][a-z-]{0,31}$/.test(name) && options.length <= 64 ? `${name}${options}` : "other";
  const prefix = `cli-${XEN_STREAM_BUILD_ID}-`;
  const loaded = new Map<string, unknown>();
  let cleaned = false;
  // The bundles' require: a sibling bundle through the cache, anything else (Node's built-ins) as usual.
  const requireHere = Object.assign((id: string): unknown => {
    const sibling = SIBLING_BUNDLE.exec(id);
    return sibling === null ? require(id) : load(sibling[1] as string);
  }, require) as NodeJS.Require;

  function load(bundle: string): unknown {
    if (loaded.has(bundle)) return loaded.get(bundle);
    const path = join(__dirname, `${bundle}.cjs`);
    // cli-main's cache keeps the name it had before commands had bundles of their own.
    const suffix = bundle === "cli-main" ? "" : `.${bundle.slice(4)}`;
    const file = join(directory, `${prefix}${process.version}-${process.arch}-${command}${suffix}.cache`);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    const source = readFileSync(path, "utf8");
    const script = new Script(Module.wrap(source), cachedData === undefined ? { filename: path } : { filename: path, cachedData });
    if (cachedData === undefined || script.cachedDataRejected === true) {
      process.once("exit", () => {
        try {
          const data = script.createCachedData();
          mkdirSync(directory, { recursive: true, mode: 0o700 });
          const temporary = `${file}.${process.pid}.tmp`;
          writeFileSync(temporary, data, { mode: 0o600 });
          renameSync(temporary, file);
          // Caches of other builds are dead weight.
          if (!cleaned) {
            cleaned = true;
            for (const entry of readdirSync(directory)) {
              if (entry.startsWith("cli-") && !entry.startsWith(prefix) && entry.endsWith(".cache")) unlinkSync(join(directory, entry));
            }
          }
        } catch {
          // No cache this time: the next run compiles again.
        }
      });
    }
    const module = { exports: {} as unknown };
    loaded.set(bundle, module.exports);
    const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
    wrapper.call(module.exports, module.exports, requireHere, module, path, __dirname);
    loaded.set(bundle, module.exports);
    return module.exports;
  }

  return load("cli-main") as CliMain;
}

function load(): CliMain {
  const enable = (Module as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof enable === "function") {
    enable();
    return require(BUNDLE) as CliMain;
  }
  const directory = cacheDirectory();
  return directory === undefined ? (require(BUNDLE) as CliMain) : loadCached(directory);
}

load().runAsProcess();
