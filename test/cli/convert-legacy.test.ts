/**
 * `xen-stream convert-legacy`: options, files and standard streams, exit
 * codes (0 converted, 1 invalid stream, 2 usage or I/O error), no partial
 * output file on failure, the trailing-data warning; one run as a real
 * process with standard input and output redirected to files.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convertLegacyCommand } from "../../src/cli/convert-legacy.js";
import { main } from "../../src/cli/main.js";
import type { CliIO } from "../../src/cli/io.js";
import { cat, hex } from "../helpers/hex.js";
import { expectBytes } from "../legacy/legacy-bytes.js";
import { legacyVectors, pvVector } from "../legacy/vectors.js";
import { generateLegacyStream } from "../../src/testing/legacy-generator.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

async function run(args: string[], stdin: Uint8Array = new Uint8Array(0)): Promise<Run> {
  const io: CliIO = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  io.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  io.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  (io.stdin as PassThrough).end(Buffer.from(stdin));
  const code = await main(["convert-legacy", ...args], io);
  return { code, stdout: new Uint8Array(Buffer.concat(out)), stderr: Buffer.concat(err).toString("utf8") };
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "convert-legacy-cli-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("xen-stream convert-legacy", () => {
  test("is registered, with a one-line summary", () => {
    expect(convertLegacyCommand.summary).toMatch(/legacy/);
  });

  test("--help prints the usage and exits 0", async () => {
    const result = await run(["--help"]);
    expect(result.code).toBe(0);
    expect(new TextDecoder().decode(result.stdout)).toMatch(/usage: xen-stream convert-legacy/);
  });

  for (const vector of legacyVectors()) {
    test(`file to file: ${vector.name}`, async () => {
      const input = join(dir, "in.bin");
      const output = join(dir, "out.bin");
      writeFileSync(input, vector.input);
      const { width, guest, format, xl, skipQemu } = vector.options;
      const args = [input, "-o", output, "--width", String(width), "--guest", guest, "--format", format];
      if (xl) args.push("--xl");
      if (skipQemu) args.push("--skip-qemu");
      const result = await run(args);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expectBytes(new Uint8Array(readFileSync(output)), vector.expected);
    });
  }

  test("standard input to standard output, width and guest detected", async () => {
    const vector = pvVector(32, 8, "libxl");
    const result = await run(["-", "-o", "-", "-f", "libxl", "-v"], vector.input);
    expect(result.code).toBe(0);
    expectBytes(result.stdout, vector.expected);
    expect(result.stderr).toMatch(/32-bit toolstack, PV guest \(detected\) -> libxl stream/);
  });

  test("an invalid stream: exit 1, the code and offset on stderr, no output file left", async () => {
    const vector = pvVector(64, 8, "libxc");
    const broken = vector.input.slice();
    broken.set(hex("00 00 00 00 00 00 00 00"), 0); // p2m_size 0
    const input = join(dir, "bad.bin");
    const output = join(dir, "bad-out.bin");
    writeFileSync(input, broken);
    const before = readdirSync(dir).length;
    const result = await run([input, "-o", output, "-w", "64", "-g", "pv"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `xen-stream convert-legacy: ${input}: invalid legacy stream: BAD_FIELD at offset 0: p2m_size 0 of a PV stream is outside 1..2^28 (legacy pfn fields have 28 bits)\n`,
    );
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
  });

  test("a truncated stream: exit 1, TRUNCATED", async () => {
    const vector = pvVector(64, 8, "libxc");
    const result = await run([], vector.input.subarray(0, 5000));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/TRUNCATED/);
  });

  test("usage errors exit 2", async () => {
    for (const args of [["--width", "48"], ["--guest", "pvh"], ["--format", "xl"], ["--bogus"], ["a", "b"]]) {
      const result = await run(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/usage: xen-stream convert-legacy/);
    }
  });

  test("a missing input file exits 2", async () => {
    const result = await run([join(dir, "does-not-exist.bin")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ENOENT/);
  });

  test("bytes after the stream: converted, exit 0, with a warning", async () => {
    const vector = pvVector(64, 8, "libxc");
    const input = join(dir, "trailing.bin");
    const output = join(dir, "trailing-out.bin");
    writeFileSync(input, cat(vector.input, new Uint8Array(123)));
    const result = await run([input, "-o", output]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: 123 bytes after the end of the legacy stream/);
    expectBytes(new Uint8Array(readFileSync(output)), vector.expected);
  });

  test("as a process: standard input and output redirected to files", () => {
    const vector = legacyVectors().find((v) => v.options.guest === "hvm" && v.options.format === "libxl" && !v.options.xl) ?? pvVector(64, 8, "libxl");
    const input = join(dir, "proc-in.bin");
    const output = join(dir, "proc-out.bin");
    writeFileSync(input, vector.input);
    const stdin = openSync(input, "r");
    const stdout = openSync(output, "w");
    try {
      const result = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "bin.ts"), "convert-legacy", "--format", "libxl"], {
        cwd: ROOT,
        stdio: [stdin, stdout, "pipe"],
        encoding: "utf8",
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    } finally {
      closeSync(stdin);
      closeSync(stdout);
    }
    expectBytes(new Uint8Array(readFileSync(output)), vector.expected);
  });
});

describe("a reader that goes away", () => {
  test("convert-legacy IN | head -c 10: the rest of the output is dropped, exit 0, nothing on stderr (as verify)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xen-stream-epipe-"));
    try {
      const input = join(dir, "big.bin");
      // Several MiB of output, far more than a pipe buffer.
      writeFileSync(input, generateLegacyStream({ seed: 3, guest: "pv", width: 64, pages: 2000 }).bytes);
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "bin.ts"), "convert-legacy", input], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (text: string) => (stderr += text));
      const first = await new Promise<Buffer>((resolve) => child.stdout.once("data", (data: Buffer) => resolve(data)));
      child.stdout.destroy(); // like head -c 10 exiting
      const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      expect(first.length).toBeGreaterThan(0);
      expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
