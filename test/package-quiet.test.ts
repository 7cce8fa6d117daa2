// scripts/quiet.mjs, through which `npm start` builds: silent when the
// command succeeds; when it fails, the command's whole output in the order
// it was written, then what failed, with the command's exit status.
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";

const quiet = new URL("../scripts/quiet.mjs", import.meta.url).pathname;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [quiet, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// A child writing to stdout and stderr in turn, synchronously (fs.writeSync), then exiting with `status`.
const child = (status: number): string[] => [
  process.execPath,
  "-e",
  `const { writeSync } = require("node:fs"); for (let i = 0; i < 3; i++) { writeSync(1, "out " + i + "\\n"); writeSync(2, "err " + i + "\\n"); } process.exit(${status});`,
];

describe("scripts/quiet.mjs", () => {
  test("a command that succeeds: nothing printed, exit 0", () => {
    expect(run(child(0))).toEqual({ status: 0, stdout: "", stderr: "" });
  });

  test("a command that fails: its output in order on stderr, then what failed; its exit status", () => {
    const result = run(child(3));
    expect(result.status).toBe(3);
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n");
    expect(lines.slice(0, 6)).toEqual(["out 0", "err 0", "out 1", "err 1", "out 2", "err 2"]);
    expect(lines[6]).toMatch(/ failed \(exit 3\)$/);
    expect(lines.slice(7)).toEqual([""]);
  });

  test("a command that cannot be run: said, exit 1", () => {
    const result = run(["/nonexistent/no-such-command", "x"]);
    expect(result).toEqual({ status: 1, stdout: "", stderr: expect.stringMatching(/^\/nonexistent\/no-such-command x: could not be run: .*ENOENT/) as unknown as string });
  });

  test("no command: usage, exit 2", () => {
    expect(run([])).toEqual({ status: 2, stdout: "", stderr: "usage: node scripts/quiet.mjs <command> [args...]\n" });
  });
});
