/**
 * Entry point of the CLI bundle used by bench/legacy-compare.ts (src/cli/main.ts
 * only runs itself when started under its published name).
 */
import { main } from "../src/cli/main.js";

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`internal error: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
