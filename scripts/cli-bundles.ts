/**
 * How the CLI is cut into bundles (tsup.config.ts builds them; the
 * launcher test builds them the same way): dist/cli-main.cjs holds the
 * dispatcher (src/cli/main.ts) only, and every sub-command is its own
 * bundle, dist/cli-<command>.cjs, loaded when that command runs. A run
 * then reads, compiles (or loads from the code cache) and initialises the
 * code of one command instead of all of them: `verify` does not load dump,
 * simulate or the converters.
 *
 * main.ts loads a command with `import("./<command>.js")` (the sources run
 * as they are under tsx). In the dispatcher's bundle, the plugin below
 * turns each of those imports into `require("./cli-<command>.cjs")`, left
 * to run time: the launcher (src/cli/launcher.ts) gives the bundle a
 * `require` that loads such a file through the code cache; a plain
 * require() of dist/cli-main.cjs loads them from dist/ as well.
 *
 * Each command bundle holds its own copy of the library code it uses (one
 * command runs per process; the CLI shares no classes across commands).
 */
import { readFileSync } from "node:fs";
import type { Plugin } from "esbuild";

/** The sub-commands main.ts loads on demand, from its `import("./<name>.js")` calls. */
export function cliCommands(mainFile = "src/cli/main.ts"): string[] {
  const source = readFileSync(mainFile, "utf8");
  return [...source.matchAll(/import\("\.\/([a-z][a-z-]*)\.js"\)/g)].map((match) => match[1] as string);
}

/** esbuild entry points of the command bundles: { "cli-<name>": "src/cli/<name>.ts" }. */
export function commandEntries(root = "."): Record<string, string> {
  return Object.fromEntries(cliCommands(`${root}/src/cli/main.ts`).map((name) => [`cli-${name}`, `${root}/src/cli/${name}.ts`]));
}

const NAMESPACE = "xen-stream-command";

/**
 * esbuild plugin for the dispatcher's bundle: `import("./<name>.js")` in
 * src/cli/main.ts becomes a module whose exports are
 * `require("./cli-<name>.cjs")`, not bundled.
 */
export const commandsApart: Plugin = {
  name: "xen-stream-commands-apart",
  setup(build) {
    build.onResolve({ filter: /^\.\/[a-z][a-z-]*\.js$/ }, (args) => {
      if (args.kind !== "dynamic-import" || !/[\\/]src[\\/]cli[\\/]main\.ts$/.test(args.importer)) return undefined;
      return { path: args.path.slice(2, -3), namespace: NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./cli-${args.path}.cjs`)});`,
      loader: "js",
    }));
    build.onResolve({ filter: /^\.\/cli-[a-z][a-z-]*\.cjs$/ }, (args) => ({ path: args.path, external: true }));
  },
};
