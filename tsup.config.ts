import { defineConfig } from "tsup";

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
  // The CLI.
  { entry: { cli: "src/cli/main.ts" }, format: ["esm"], sourcemap: true, target: "node18" },
]);
