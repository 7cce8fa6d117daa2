import { defineConfig } from "tsup";

const CLI_LAUNCHER = [
  "#!/bin/sh",
  `':' //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"`,
  "// The two lines above start node on this file (see tsup.config.ts).",
].join("\n");

const shared = {
  format: ["esm", "cjs"] as ("esm" | "cjs")[],
  sourcemap: true,
  target: "node18",
  treeshake: true,
  external: ["fast-check"],
};

export default defineConfig([
  // The core and the testing kit: no Node built-ins (tsconfig.json has "types": []).
  { ...shared, entry: { index: "src/index.ts", testing: "src/testing/index.ts" }, dts: true },
  // I/O adapters: WHATWG and Node streams, files.
  {
    ...shared,
    entry: { io: "src/io/index.ts", "io-node": "src/io/node.ts" },
    dts: { compilerOptions: { lib: ["ES2022", "DOM"], types: ["node"] } },
  },
  // The CLI bundle: CommonJS (Node loads it ~10 ms faster than ES modules),
  // whitespace and syntax minified (less for V8 to scan; names stay for stack
  // traces). scripts/cli-code-cache.mjs then writes its V8 code cache.
  {
    entry: { "cli-main": "src/cli/main.ts" },
    format: ["cjs"],
    sourcemap: true,
    target: "node18",
    minifyWhitespace: true,
    minifySyntax: true,
  },
  // The executable: loads the bundle with its code cache (launcher.ts),
  // behind a shell launcher. Node 20 parses the NODE_EXTRA_CA_CERTS file at
  // every start-up (70 ms where it names the system bundle) although the CLI
  // opens no TLS connection, so the launcher drops it. For sh the second line
  // unsets it and execs node on this file; for node (which skips the #! line)
  // it is a string statement and a comment.
  {
    entry: { cli: "src/cli/launcher.ts" },
    format: ["cjs"],
    target: "node18",
    banner: { js: CLI_LAUNCHER },
  },
]);
