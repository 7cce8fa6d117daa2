import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // The package's own name resolves to the sources, so that the guides'
  // examples (test/package-guides.test.ts) run as users write them.
  resolve: {
    alias: [
      { find: /^xen-migration-stream$/, replacement: src("index.ts") },
      { find: /^xen-migration-stream\/constants$/, replacement: src("constants.ts") },
      { find: /^xen-migration-stream\/testing$/, replacement: src("testing/index.ts") },
      { find: /^xen-migration-stream\/io$/, replacement: src("io/index.ts") },
      { find: /^xen-migration-stream\/io\/node$/, replacement: src("io/node.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    benchmark: {
      include: ["bench/**/*.bench.ts"],
    },
  },
});
