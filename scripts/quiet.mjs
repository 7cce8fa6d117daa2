// Runs a command with its output held back: nothing is printed when it
// succeeds, everything (stdout and stderr, in order) when it fails.
// `npm start` builds through it so that a good build prints nothing.
//
//   node scripts/quiet.mjs <command> [args...]
import { spawnSync } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write("usage: node scripts/quiet.mjs <command> [args...]\n");
  process.exit(2);
}
// One pipe for both streams keeps their order; shell: true finds npm.cmd on Windows.
const run = spawnSync(command, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", shell: process.platform === "win32" });
if (run.error !== undefined || run.status !== 0) {
  process.stderr.write(run.stdout ?? "");
  process.stderr.write(run.stderr ?? "");
  if (run.error !== undefined) process.stderr.write(`${command}: ${run.error.message}\n`);
  process.stderr.write(`${[command, ...args].join(" ")} failed (${run.status ?? run.signal})\n`);
  process.exit(run.status || 1);
}
