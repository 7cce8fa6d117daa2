/**
 * The `xen-stream` executable from the sources: tests and development run
 * it through tsx. The package's bin, dist/cli.cjs, is src/cli/launcher.ts,
 * which loads the same CLI (main.ts, bundled) through a code cache.
 *
 * @module
 * @internal
 */
import { runAsProcess } from "./main.js";

runAsProcess();
