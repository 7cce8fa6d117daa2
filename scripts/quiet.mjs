// Runs a command with its output held back: nothing is printed when it
// succeeds, everything (stdout and stderr, in the order it was written)
// on stderr when it fails, then what failed. `npm start` builds through it
// so that a good build prints nothing.
//
//   node scripts/quiet.mjs <command> [args...]
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write("usage: node scripts/quiet.mjs <command> [args...]\n");
  process.exit(2);
}
// Both streams into one file through one descriptor: they share its offset,
// so the output keeps its order (two pipes would be read one after the other).
const dir = mkdtempSync(join(tmpdir(), "quiet-"));
let run;
let output;
try {
  const fd = openSync(join(dir, "output"), "w");
  try {
    // shell: true finds npm.cmd on Windows.
    run = spawnSync(command, args, { stdio: ["ignore", fd, fd], shell: process.platform === "win32" });
  } finally {
    closeSync(fd);
  }
  output = readFileSync(join(dir, "output"), "utf8");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (run.error !== undefined || run.status !== 0) {
  process.stderr.write(output);
  const line = [command, ...args].join(" ");
  if (run.error !== undefined) process.stderr.write(`${line}: could not be run: ${run.error.message}\n`);
  else process.stderr.write(`${line} failed (${run.status === null ? `signal ${run.signal}` : `exit ${run.status}`})\n`);
  process.exit(run.status || 1);
}
