/**
 * The `xen-stream` executable. Built into dist/cli.cjs, a
 * `#!/usr/bin/env node` script (the package's bin); tests and development
 * run it from the sources through tsx.
 *
 * A V8 code cache shipped with the bundle (until 0.1.0) saved ~4 ms of a
 * 26 ms run on the very Node version that built it and cost up to 2 ms on
 * every other (V8 rejects a cache from another version), so it is gone.
 *
 * @module
 * @internal
 */
import { runAsProcess } from "./main.js";

runAsProcess();
