import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig, type Options } from "tsup";
import { commandEntries, commandsApart } from "./scripts/cli-bundles.js";

// What dist/ holds, and why:
//
// - ES modules, one file per source module (dist/index.js, dist/wire/...,
//   dist/io/..., dist/testing/...): not bundled, so that a bundler drops
//   every module an application does not import ("sideEffects": false in
//   package.json). A single bundled file keeps whatever top-level code it
//   cannot prove pure: 44.7 KB for an app that imports only decodeXlHeader,
//   3.5 KB this way (scripts/bundle-size.ts checks it).
// - CommonJS bundles (dist/cjs/*.cjs), for require(): the root, constants
//   and io entry points share chunks (one XenStreamError class for all).
// - Declarations: dist/types/*.d.ts for import, dist/cjs/*.d.cts for
//   require (a .d.ts read as CommonJS would be wrong about the module kind).
// - The executable: dist/cli.cjs, a small `#!/usr/bin/env node` CommonJS
//   launcher, and the CLI itself: dist/cli-main.cjs (the dispatcher) and
//   one CommonJS bundle per command, dist/cli-<command>.cjs
//   (scripts/cli-bundles.ts).
//
// No source maps: the JavaScript is the TypeScript with its types removed,
// unminified (the CLI aside), so a stack trace reads as well without them;
// maps with their sources were 65% of the tarball.

// The core and the testing kit: no Node built-ins (tsconfig.json has "types": []).
const core = { index: "src/index.ts", constants: "src/constants.ts", testing: "src/testing/index.ts" };
// I/O adapters: WHATWG and Node streams, files.
const io = { io: "src/io/index.ts", "io-node": "src/io/node.ts" };
const ioTypes = { compilerOptions: { lib: ["ES2022", "DOM"], types: ["node"] } };

const MISSING_FAST_CHECK =
  "xen-migration-stream/testing needs fast-check, an optional peer dependency of xen-migration-stream: " +
  "install it next to it (npm install --save-dev fast-check, version 3 or 4). " +
  "The rest of the package (the root entry point, /constants, /io, /io/node) does not need it.";

/**
 * An id of the CLI build: a hash of every source file and of the package
 * manifest (the bundle is a function of them and of the build tools, whose
 * versions the lock file in the manifest's directory pins).
 */
function buildId(): string {
  const hash = createHash("sha256");
  const files = readdirSync("src", { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts")).sort();
  for (const name of files) hash.update(name).update("\0").update(readFileSync(join("src", name))).update("\0");
  for (const name of ["package.json", "package-lock.json", "tsup.config.ts"]) hash.update(readFileSync(name));
  return hash.digest("hex").slice(0, 16);
}

const quiet: Options = { silent: true, target: "node18", external: ["fast-check"], sourcemap: false };

export default defineConfig([
  { ...quiet, entry: ["src/**/*.ts", "!src/cli/**"], format: ["esm"], bundle: false, outDir: "dist", target: "es2022" },
  // CommonJS: the root, constants and io entry points in one build with
  // shared chunks, so that they share one XenStreamError class (instanceof
  // holds across them) and one copy of the core.
  {
    ...quiet,
    entry: { index: core.index, constants: core.constants, ...io },
    format: ["cjs"],
    outDir: "dist/cjs",
    splitting: true,
  },
  // The testing kit needs fast-check, an optional peer: say so instead of a
  // bare "Cannot find module" (its ES entry does the same:
  // scripts/testing-entry.mjs). Its own bundle, so that the check runs first.
  {
    ...quiet,
    entry: { testing: core.testing },
    format: ["cjs"],
    outDir: "dist/cjs",
    banner: { js: `try { require.resolve("fast-check"); } catch (error) { throw new Error(${JSON.stringify(MISSING_FAST_CHECK)}, { cause: error }); }` },
  },
  { ...quiet, entry: core, format: ["cjs"], outDir: "dist/cjs", dts: { only: true } },
  { ...quiet, entry: io, format: ["cjs"], outDir: "dist/cjs", dts: { ...ioTypes, only: true } },
  { ...quiet, entry: core, format: ["esm"], outDir: "dist/types", dts: { only: true } },
  { ...quiet, entry: io, format: ["esm"], outDir: "dist/types", dts: { ...ioTypes, only: true } },
  // The CLI: CommonJS bundles (Node loads them ~10 ms faster than ES
  // modules), whitespace and syntax minified (less for V8 to scan; names
  // stay for stack traces): the dispatcher, dist/cli-main.cjs, and a bundle
  // per command, so that a run loads one command's code
  // (scripts/cli-bundles.ts).
  {
    ...quiet,
    entry: { "cli-main": "src/cli/main.ts" },
    format: ["cjs"],
    outDir: "dist",
    minifyWhitespace: true,
    minifySyntax: true,
    esbuildPlugins: [commandsApart],
  },
  {
    ...quiet,
    entry: commandEntries(),
    format: ["cjs"],
    outDir: "dist",
    minifyWhitespace: true,
    minifySyntax: true,
  },
  // The executable, dist/cli.cjs: a plain node script (npm's shims work
  // everywhere) that loads cli-main.cjs through a V8 code cache kept on the
  // user's machine (src/cli/launcher.ts); its file names carry the build id.
  {
    ...quiet,
    entry: { cli: "src/cli/launcher.ts" },
    format: ["cjs"],
    outDir: "dist",
    minifyWhitespace: true,
    minifySyntax: true,
    define: { XEN_STREAM_BUILD_ID: JSON.stringify(buildId()) },
    banner: { js: "#!/usr/bin/env node" },
  },
]);
