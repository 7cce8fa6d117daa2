/**
 * Progress appears on a terminal and nowhere else: the built CLI run on a
 * pseudo-terminal under util-linux `script`, then with stderr to a file.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";

const CLI = fileURLToPath(new URL("../../dist/cli.cjs", import.meta.url));
const haveScript = spawnSync("script", ["--version"]).status === 0;
const ready = existsSync(CLI) && haveScript;
if (!ready) console.warn(`progress tests SKIPPED: ${existsSync(CLI) ? "util-linux script is missing" : "dist/cli.cjs is missing (npm run build)"}`);

const dir = mkdtempSync(join(tmpdir(), "progress-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!ready)("progress on a terminal only", () => {
  const input = join(dir, "pv.xl");
  const fd = openSync(input, "w");
  for (const chunk of generatePvStream({ size: 8 << 20, format: "xl" })) writeSync(fd, chunk);
  closeSync(fd);
  const env = { ...process.env, XEN_STREAM_PROGRESS_DELAY_MS: "0" };

  for (const command of ["verify", "stats", "info"]) {
    it(`${command}: progress when stderr is a terminal, none when it is a file`, () => {
      const tty = spawnSync("script", ["-qefc", `node ${CLI} ${command} ${input} > /dev/null`, "/dev/null"], { env, encoding: "utf8" });
      expect(tty.status).toBe(0);
      expect(tty.stdout).toMatch(new RegExp(`\\r\\x1b\\[K${command} ${input.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: \\d+ MiB \\(\\d+%\\), \\d+ MiB/s`));
      const log = join(dir, `${command}.err`);
      const file = spawnSync("script", ["-qefc", `node ${CLI} ${command} ${input} > /dev/null 2> ${log}`, "/dev/null"], { env, encoding: "utf8" });
      expect(file.status).toBe(0);
      expect(readFileSync(log, "utf8")).toBe("");
      expect(file.stdout).toBe("");
    });
  }
});
