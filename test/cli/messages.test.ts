// What every command says about input that is no Xen stream at all, and
// about a fault: the input called that ("not a Xen save image or migration
// stream", never "legacy stream, convert it"), and an offset printed once
// per message (a XenStreamError's `reason` beside its offset, not its
// `message`, which already ends in "(at offset N)").
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { XenStreamError } from "../../src/errors.js";
import { Prng } from "../../src/testing/prng.js";
import { runCli, type CliRun } from "../helpers/cli.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PV = join(REPO, "spec-vectors/captured/xen-4.17-pv-save.skel.xl");
const dir = mkdtempSync(join(tmpdir(), "xen-stream-messages-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Random bytes whose first 8 cannot begin a legacy stream either (octets 4-7 far from 0, -20..-1 and 1..1024). */
function randomInput(seed: number): Uint8Array {
  const bytes = new Prng(seed).bytes(20_000);
  bytes[7] = 0x40 | ((bytes[7] as number) & 0x3f); // octets 4-7 as an int32: 2^30 or more
  return bytes;
}

/** Every command that reads a save file or stream, on FILE (tap: on stdin). */
function commands(file: string, out: string): { name: string; run: () => Promise<CliRun> }[] {
  const bytes = new Uint8Array(readFileSync(file));
  return [
    { name: "verify", run: () => runCli(["verify", file]) },
    { name: "verify --verbose", run: () => runCli(["verify", "--verbose", file]) },
    { name: "info", run: () => runCli(["info", file]) },
    { name: "stats", run: () => runCli(["stats", file]) },
    { name: "dump", run: () => runCli(["dump", file]) },
    { name: "dump --json", run: () => runCli(["dump", "--json", file]) },
    { name: "config", run: () => runCli(["config", file]) },
    { name: "diff", run: () => runCli(["diff", file, PV]) },
    { name: "tap", run: () => runCli(["tap"], bytes) },
    { name: "decode", run: () => runCli(["decode", file, "-o", join(out, "doc.json")]) },
    { name: "convert-legacy", run: () => runCli(["convert-legacy", file, "-o", join(out, "v2.bin")]) },
    { name: "convert", run: () => runCli(["convert", "--to", "libxc", file, "-o", join(out, "converted.bin")]) },
    { name: "extract-memory", run: () => runCli(["extract-memory", file, "-o", join(out, "image.raw")]) },
    { name: "simulate --source", run: () => runCli(["simulate", "--source", file]) },
  ];
}

/** Lines that mention an offset more than once. */
function offsetTwice(text: string): string[] {
  return text.split("\n").filter((line) => (line.match(/offset/g) ?? []).length > 1);
}

describe("input that is no Xen stream at all", () => {
  for (const seed of [1, 2, 3]) {
    test(`random bytes (seed ${seed}): every command calls it that, with its offset once, and fails`, async () => {
      const file = join(dir, `random-${seed}.bin`);
      writeFileSync(file, randomInput(seed));
      const seen: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (const command of commands(file, dir)) {
        const { code, stdout, stderr } = await command.run();
        const text = stdout + stderr;
        seen[command.name] = {
          failed: code !== 0,
          calledThat: /not a Xen save image or migration stream|nor any Xen stream/.test(text),
          saysLegacy: /legacy \(Xen <= 4\.5\) stream, not migration v2|INVALID legacy|invalid legacy stream|layers: +legacy/.test(text),
          offsetTwice: offsetTwice(text),
          stackTrace: /\n\s+at /.test(text),
          specFile: /\.md\b/.test(text),
        };
        expected[command.name] = { failed: true, calledThat: true, saysLegacy: false, offsetTwice: [], stackTrace: false, specFile: false };
      }
      expect(seen).toEqual(expected);
    });
  }

  test("verify, info and tap name no format for it", async () => {
    const file = join(dir, "random-9.bin");
    const bytes = randomInput(9);
    writeFileSync(file, bytes);
    expect((await runCli(["verify", file])).stdout.split("\n").at(-2)).toBe(`${file}: INVALID (not a Xen save file or stream): 1 error, 0 warnings`);
    expect((await runCli(["info", file])).stdout).toContain("  layers:    none: not a Xen save file or stream\n");
    expect((await runCli(["tap"], bytes)).stderr.split("\n").at(-2)).toBe("xen-stream tap: INVALID input, not a Xen save file or stream");
    const report = JSON.parse((await runCli(["verify", "--json", file])).stdout) as { summary: { format?: string }; findings: { code: string; offset: number; message: string }[] };
    expect(report.summary.format).toBeUndefined();
    expect(report.findings.map(({ code, offset }) => ({ code, offset }))).toEqual([{ code: "BAD_MAGIC", offset: 0 }]);
    expect(report.findings[0]?.message).toMatch(/^not a Xen save image or migration stream: its first bytes \([0-9a-f ]+\) begin none of the formats read here .*\)$/);
  });

  test("a plausible legacy start is still called a legacy stream", async () => {
    const file = join(dir, "legacy-start.bin");
    const bytes = randomInput(4);
    bytes.set([0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]); // p2m_size 256, 64-bit toolstack
    writeFileSync(file, bytes);
    const { stdout } = await runCli(["verify", file]);
    expect(stdout).toBe(
      "error UNSUPPORTED (offset 0, legacy): this is a legacy (Xen <= 4.5) stream, not migration v2; convert it to v2 first\n" +
        `${file}: INVALID legacy stream: 1 error, 0 warnings\n`,
    );
  });
});

describe("an offset printed once per message", () => {
  test("XenStreamError: `message` ends in the location, `reason` is the message alone", () => {
    const error = new XenStreamError("BAD_FIELD", 12, "p2m_size 0 is not a guest size", { recordIndex: 3 });
    expect(error.message).toBe("p2m_size 0 is not a guest size (at offset 12, record 3)");
    expect(error.reason).toBe("p2m_size 0 is not a guest size");
    expect(new XenStreamError("TRUNCATED", 7, "cut").message).toBe("cut (at offset 7)");
  });

  test("a truncated stream: every command's fault line names its offset once", async () => {
    const file = join(dir, "cut.xl");
    writeFileSync(file, new Uint8Array(readFileSync(PV)).slice(0, 20_000));
    const seen: Record<string, string[]> = {};
    const faults: Record<string, string[]> = {};
    for (const command of commands(file, dir)) {
      const { stdout, stderr } = await command.run();
      seen[command.name] = offsetTwice(stdout + stderr);
      faults[command.name] = (stdout + stderr).split("\n").filter((line) => line.includes("TRUNCATED"));
    }
    expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((name) => [name, []])));
    // and every command that reads the stream to its end names the fault
    // with its offset (config stops at the xl header's config; convert-legacy
    // refuses a v2 stream at its first bytes)
    const named = Object.entries(faults).filter(([name]) => name !== "config" && name !== "convert-legacy");
    expect(named.filter(([, lines]) => !lines.some((line) => /offset 20000\b/.test(line))).map(([name]) => name)).toEqual([]);
    const verify = (await runCli(["verify", file])).stdout;
    expect(verify.split("\n")[0]).toBe("error TRUNCATED (offset 20000, libxc): libxl stream truncated inside its libxc stream, before END (in or before record 7)");
  });
});
