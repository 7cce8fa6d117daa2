/**
 * The CLI's top level: `--version`, `help CMD`, usage errors.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { PACKAGE_VERSION } from "../../src/cli/version.js";
import { runCli } from "../helpers/cli.js";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("xen-stream top level", () => {
  test("--version prints package.json's version on stdout, exit 0", async () => {
    expect(PACKAGE_VERSION).toBe(manifest.version);
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: `xen-stream ${manifest.version}\n`, stderr: "" });
  });

  test("help CMD prints the command's own help, as CMD --help does", async () => {
    const help = await runCli(["help", "config"]);
    expect(help).toEqual(await runCli(["config", "--help"]));
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: xen-stream config /);
  });

  test("help of an unknown command, or of two, is a usage error on stderr, exit 2", async () => {
    for (const args of [["help", "nope"], ["help", "info", "stats"]]) {
      const run = await runCli(args);
      expect([run.code, run.stdout]).toEqual([2, ""]);
      expect(run.stderr).toMatch(/^xen-stream help: (unknown command "nope"|expected one command name)\nusage: xen-stream <command>/);
    }
  });
});
