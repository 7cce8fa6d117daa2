import { spawnSync } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { main } from "../../src/cli/main.js";
import { baseModel, render } from "../verify/generator.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PV = join(REPO, "spec-vectors/captured/xen-4.17-pv-save.skel.xl");
const HVM = join(REPO, "spec-vectors/captured/xen-4.17-hvm-save.skel.xl");
const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], stdinBytes?: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
  stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
  if (stdinBytes !== undefined) {
    // arrive in several chunks, like a pipe
    for (let i = 0; i < stdinBytes.length; i += 4096) stdin.write(stdinBytes.subarray(i, i + 4096));
  }
  stdin.end();
  const code = await main(["verify", ...args], { stdin, stdout, stderr });
  return { code, stdout: out, stderr: err };
}

describe("xen-stream verify", () => {
  test("a valid file: exit 0, one verdict line", async () => {
    const { code, stdout, stderr } = await run([PV]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toBe(`${PV}: valid xl save file (x86 PV, libxc v3, Xen 4.17): 0 errors, 0 warnings\n`);
  });

  test("--verbose: the reference's listing, info findings, totals", async () => {
    const { code, stdout } = await run([HVM, "--verbose"]);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual(["Processed xl header", "Libxl Header: little endian", "Libxl Record: Libxc context, length 0"]);
    expect(lines).toContain("Squashed 1 Page Data records together");
    expect(lines).toContain("info SAVER_ORDER (offset 25684, libxc record 6): HVM_PARAMS after HVM_CONTEXT: the spec asks for the opposite order, but every Xen saver writes this one");
    expect(lines).toContain("Totals:");
    expect(lines).toContain("  vcpus: 2");
    expect(lines.at(-2)).toBe(`${HVM}: valid xl save file (x86 HVM, libxc v3, Xen 4.17): 0 errors, 0 warnings, 1 info`);
  });

  test("--json: the report", async () => {
    const { code, stdout } = await run([PV, "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { ok: boolean; findings: unknown[]; summary: { format: string; listing?: unknown } };
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([]);
    expect(report.summary.format).toBe("xl");
    expect(report.summary.listing).toBeUndefined();
    const verbose = JSON.parse((await run([PV, "--json", "-v"])).stdout) as { summary: { listing: string[] } };
    expect(verbose.summary.listing[0]).toBe("Processed xl header");
  });

  test("an invalid stream: exit 1, the findings, the verdict", async () => {
    const bytes = new Uint8Array(readFileSync(PV)).slice(0, 30000);
    const file = join(dir, "cut.xl");
    writeFileSync(file, bytes);
    const { code, stdout } = await run([file]);
    expect(code).toBe(1);
    expect(stdout.split("\n")[0]).toMatch(/^error TRUNCATED \(offset 30000, libxc\): /);
    expect(stdout).toContain(`${file}: INVALID xl save file (x86 PV, libxc v3, Xen 4.17): 1 error, 0 warnings`);
  });

  test("--profile restore and --format", async () => {
    const model = baseModel("pv", 3, "libxc");
    const file = join(dir, "pv.libxc");
    writeFileSync(file, render(model));
    expect((await run([file, "--format", "libxc", "--profile", "restore"])).code).toBe(0);
    expect((await run([file, "-f", "libxl"])).code).toBe(1);
    // width 8 with 3 page-table levels: fine for the spec, refused by Xen's restore
    const pair = baseModel("pv", 3, "libxc");
    pair.libxc[0] = { layer: "libxc", type: 2, body: new Uint8Array([8, 3, 0, 0, 0, 0, 0, 0]) };
    writeFileSync(file, render(pair));
    expect((await run([file])).code).toBe(0);
    expect((await run([file, "-p", "restore"])).code).toBe(1);
  });

  test("stdin, as - or with no FILE", async () => {
    const bytes = new Uint8Array(readFileSync(HVM));
    const dash = await run(["-"], bytes);
    expect(dash.code).toBe(0);
    expect(dash.stdout).toMatch(/^<stdin>: valid xl save file \(x86 HVM/);
    expect((await run([], bytes)).code).toBe(0);
    expect((await run([], bytes.subarray(0, 100))).code).toBe(1);
  });

  test("usage and I/O errors: exit 2", async () => {
    for (const args of [["--bogus"], [PV, "--format", "legacy"], [PV, "--profile", "strict"], [PV, HVM]]) {
      const { code, stderr } = await run(args);
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toContain("usage: xen-stream verify");
    }
    const missing = await run([join(dir, "missing.xl")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^xen-stream verify: cannot read .*missing\.xl: ENOENT/);
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("exit status: 0 valid, 1 invalid stream, 2 usage or I/O error");
  });

  test("output goes straight to stdoutFd when the io has one, never through the stream", async () => {
    const file = join(dir, "out.txt");
    const fd = openSync(file, "w");
    const stdout = new PassThrough();
    let streamed = "";
    stdout.setEncoding("utf8").on("data", (text: string) => (streamed += text));
    try {
      const code = await main(["verify", "--verbose", PV], { stdin: new PassThrough(), stdout, stderr: new PassThrough(), stdoutFd: fd });
      expect(code).toBe(0);
    } finally {
      closeSync(fd);
    }
    const written = readFileSync(file, "utf8");
    expect(written).toMatch(/^Processed xl header$/m);
    expect(written.endsWith(`${PV}: valid xl save file (x86 PV, libxc v3, Xen 4.17): 0 errors, 0 warnings, 0 info\n`)).toBe(true);
    expect(streamed).toBe("");
  });

  test("as a process: stdin from a file (fd read) and from a pipe", () => {
    const script = join(REPO, "src/cli/bin.ts"); // the executable's entry point
    const node = (stdin: number | Buffer): { status: number | null; stdout: string } => {
      const result = spawnSync(process.execPath, ["--import", "tsx", script, "verify", "-"], {
        cwd: REPO,
        ...(typeof stdin === "number" ? { stdio: [stdin, "pipe", "pipe"] } : { input: stdin }),
        encoding: "utf8",
      });
      return { status: result.status, stdout: result.stdout };
    };
    const fd = openSync(PV, "r");
    try {
      const fromFile = node(fd);
      expect(fromFile.stdout).toMatch(/^<stdin>: valid xl save file \(x86 PV/);
      expect(fromFile.status).toBe(0);
    } finally {
      closeSync(fd);
    }
    const fromPipe = node(readFileSync(HVM));
    expect(fromPipe.stdout).toMatch(/^<stdin>: valid xl save file \(x86 HVM/);
    expect(fromPipe.status).toBe(0);
  });
});
