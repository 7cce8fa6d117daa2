/**
 * The `xen-stream` executable: runs {@link main} on the process's arguments
 * and standard streams. Built into dist/cli.cjs behind a two-line shell
 * launcher (see tsup.config.ts).
 *
 * @module
 * @internal
 */
import { EXIT_USAGE, type CliIO } from "./io.js";
import { main } from "./main.js";

// Getters: touching process.stdin sets up the fd (a few ms) even when unused.
const io: CliIO = {
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`xen-stream: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT_USAGE;
  },
);
