// The built package, imported by its public name the way users meet it:
// ESM import and CommonJS require through the exports map, each subpath.
// Needs the build: `npm test` makes it first when dist/ is missing (pretest),
// CI builds before testing; `npx vitest run` alone does not.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const built = existsSync(`${root}dist/index.js`) && existsSync(`${root}dist/cjs/index.cjs`);
if (!built && process.env.CI === "true") throw new Error("dist/ missing: CI must run `npm run build` before the tests");
if (!built) console.warn("package.test.ts SKIPPED: dist/ is missing: `npm test` builds it first, or run `npm run build`");

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

const sample = "spec-vectors/captured/xen-4.17-hvm-save.skel.xl";
const script = (load: string) => `
${load}
const fs = require("node:fs");
const bytes = new Uint8Array(fs.readFileSync(${JSON.stringify(sample)}));
const file = api.decodeSaveFile(bytes);
const same = Buffer.from(api.encodeSaveFile(file)).equals(Buffer.from(bytes));
console.log(JSON.stringify({ format: file.format, same, error: new api.XenStreamError("TRUNCATED", 3, "x").code }));
`;

describe.skipIf(!built)("built package", () => {
  test("ESM import by name", () => {
    const out = node(["--input-type=module", "-e", script('import * as api from "xen-migration-stream"; import { createRequire } from "node:module"; const require = createRequire(import.meta.url);')]);
    expect(out.stderr).toBe("");
    expect(JSON.parse(out.stdout)).toEqual({ format: "libxl", same: true, error: "TRUNCATED" });
  });

  test("CommonJS require by name", () => {
    const out = node(["-e", script('const api = require("xen-migration-stream");')]);
    expect(out.stderr).toBe("");
    expect(JSON.parse(out.stdout)).toEqual({ format: "libxl", same: true, error: "TRUNCATED" });
  });

  test("testing subpath loads with fast-check as a peer", () => {
    const out = node(["--input-type=module", "-e", 'import * as t from "xen-migration-stream/testing"; console.log(typeof t.libxcStream);']);
    expect(out.stdout).toBe("function");
    const cjs = node(["-e", 'console.log(typeof require("xen-migration-stream/testing").libxlStream)']);
    expect(cjs.stdout).toBe("function");
  });

  test("the tarball: licence, docs and built code; no source maps, no code cache, no sources", () => {
    const pack = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
    expect(pack.status).toBe(0);
    const [info] = JSON.parse(pack.stdout) as { files: { path: string }[] }[];
    const files = (info?.files ?? []).map((file) => file.path);
    for (const needed of ["LICENSE", "README.md", "package.json", "dist/cli.cjs", "dist/index.js", "dist/cjs/index.cjs", "dist/types/index.d.ts", "dist/testing.js", "guides/decode-a-file.md"]) {
      expect(files, needed).toContain(needed);
    }
    expect(files.filter((file) => file.endsWith(".map") || file.endsWith(".cache") || file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((file) => !/^(dist|guides)\//.test(file)).sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "package.json", "schema/stream-document.schema.json"]);
  });

  test("constants subpath, ESM and CommonJS", () => {
    const esm = node(["--input-type=module", "-e", 'import { IHDR_SIZE, LibxcRecordType } from "xen-migration-stream/constants"; console.log(IHDR_SIZE, LibxcRecordType.PAGE_DATA)']);
    expect(esm).toEqual({ status: 0, stdout: "24 1", stderr: "" });
    const cjs = node(["-e", 'const c = require("xen-migration-stream/constants"); console.log(c.XL_HEADER_SIZE, c.RECORD_ALIGN)']);
    expect(cjs).toEqual({ status: 0, stdout: "48 8", stderr: "" });
  });

  test("the xen-stream bin is a node script and runs through a symlink (as npm links it)", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    const bin = join(root, pkg.bin["xen-stream"] as string);
    // npm's shims (and publint) need a node script, not a shell one.
    expect(readFileSync(bin, "utf8").split("\n", 1)[0]).toBe("#!/usr/bin/env node");
    const dir = mkdtempSync(join(tmpdir(), "xen-stream-bin-"));
    try {
      const link = join(dir, "xen-stream");
      symlinkSync(bin, link);
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const run = spawnSync(link, ["verify", join(root, sample)], { cwd: dir, encoding: "utf8", env });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
      expect(run.stdout).toBe(`${join(root, sample)}: valid xl save file (x86 HVM, libxc v3, Xen 4.17): 0 errors, 0 warnings\n`);
      // A reader that goes away early (EPIPE): the rest is dropped, no error
      // on stderr (the exit status is the pipeline's last command's).
      const piped = spawnSync("sh", ["-c", `"$0" verify --verbose "$1" | head -n 1`, link, join(root, sample)], { encoding: "utf8", env });
      expect({ stdout: piped.stdout, stderr: piped.stderr }).toEqual({ stdout: "Processed xl header\n", stderr: "" });
      const usage = spawnSync(link, ["no-such-command"], { encoding: "utf8" });
      expect(usage.status).toBe(2);
      expect(usage.stderr).toMatch(/^xen-stream: unknown command "no-such-command"/);
      // Also an ordinary script for node (Windows, or node started by hand).
      const direct = node([bin, "verify", sample]);
      expect(direct.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the root entry point stays small", () => {
  test("no format constants in the root: they are in xen-migration-stream/constants", async () => {
    const rootEntry = (await import("../src/index.js")) as Record<string, unknown>;
    const constants = (await import("../src/constants.js")) as Record<string, unknown>;
    const names = Object.keys(rootEntry);
    expect(names.filter((name) => name in constants)).toEqual([]);
    // SCREAMING_CASE values are spec constants; ErrorCode and FindingCode are the error vocabulary.
    expect(names.filter((name) => /^[A-Z0-9_]+$/.test(name))).toEqual([]);
    expect(Object.keys(constants).length).toBeGreaterThan(60);
    expect(constants.IHDR_SIZE).toBe(24);
  });
});
