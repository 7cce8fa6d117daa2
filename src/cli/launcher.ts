/**
 * The published `xen-stream` executable (dist/cli.cjs; CommonJS only). It
 * compiles the CLI bundle, dist/cli-main.cjs, with the V8 code cache the
 * build wrote next to it (dist/cli-main.cache, see
 * scripts/cli-code-cache.mjs): start-up is a large part of a short run, and
 * compiling the bundle's functions is ~10 ms of it. A cache from another V8
 * (another Node version) is rejected by V8 and the bundle compiles as
 * usual. The cache ships with the code and is never written at run time.
 *
 * Started by its sh launcher (tsup.config.ts), it runs the CLI; required,
 * it only exports {@link loadCli}.
 *
 * @module
 * @internal
 */
import { readFileSync } from "node:fs";
import Module from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";

/** The CLI bundle's exports (src/cli/main.ts). */
interface CliExports {
  main: typeof import("./main.js").main;
  runAsProcess: typeof import("./main.js").runAsProcess;
}

/** The bundle beside this file, compiled (with the code cache when there is one) and run. */
export function loadCli(options: { useCache: boolean } = { useCache: true }): { cli: CliExports; script: Script } {
  const file = join(__dirname, "cli-main.cjs");
  const source = readFileSync(file, "utf8");
  let cachedData: Buffer | undefined;
  if (options.useCache) {
    try {
      cachedData = readFileSync(join(__dirname, "cli-main.cache"));
    } catch {
      // not built: compile without
    }
  }
  const script = new Script(Module.wrap(source), cachedData === undefined ? { filename: file } : { filename: file, cachedData });
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  const module = { exports: {} as CliExports };
  wrapper.call(module.exports, module.exports, require, module, file, __dirname);
  return { cli: module.exports, script };
}

if (require.main === module) loadCli().cli.runAsProcess();
