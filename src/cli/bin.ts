/**
 * The `xen-stream` executable. Built into dist/cli.cjs, a
 * `#!/usr/bin/env node` script (the package's bin); tests and development
 * run it from the sources through tsx.
 *
 * No V8 code cache ships with it: measured, one saved ~4 ms of a 26 ms run
 * on the very Node version that built it, and cost up to 2 ms on every
 * other (V8 rejects a cache from another version).
 *
 * @module
 * @internal
 */
import { runAsProcess } from "./main.js";

runAsProcess();
