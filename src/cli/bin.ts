/**
 * The `xen-stream` executable, from the sources (tests and development run
 * it through tsx). The published executable is dist/cli.cjs, built from
 * launcher.ts.
 *
 * @module
 * @internal
 */
import { runAsProcess } from "./main.js";

runAsProcess();
