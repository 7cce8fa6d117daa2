import { PassThrough } from "node:stream";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";

const dir = mkdtempSync(join(tmpdir(), "tap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tap(args: string[], input: Uint8Array, cuts: number[] = []): Promise<{ code: number; out: Uint8Array; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const parts: Buffer[] = [];
  let err = "";
  stdout.on("data", (chunk: Buffer) => parts.push(chunk));
  stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut > at && cut < input.length) {
      stdin.write(input.slice(at, cut));
      at = cut;
    }
  }
  stdin.end(input.slice(at));
  const code = await main(["tap", ...args], { stdin, stdout, stderr });
  return { code, out: new Uint8Array(Buffer.concat(parts)), stderr: err };
}

const CAPTURED = new Uint8Array(readFileSync(new URL("../../spec-vectors/captured/xen-4.17-hvm-save.skel.xl", import.meta.url)));
function stream(): Uint8Array {
  return CAPTURED.slice();
}

describe("xen-stream tap", () => {
  it("copies every byte unchanged under any chunking, and verifies", async () => {
    const input = stream();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const { code, out, stderr } = await tap([], input, cuts);
        expect(out).toEqual(input);
        expect(stderr).toBe(`xen-stream tap: valid stream of ${input.length} bytes\n`);
        expect(code).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it("names xl's migration message after the stream, and counts other trailing bytes right", async () => {
    const input = stream();
    const withMessage = new Uint8Array(input.length + 44);
    withMessage.set(input);
    withMessage.set(MIGRATE_PERMISSION_TO_GO, input.length);
    const ok = await tap([], withMessage, [input.length - 3, input.length + 5]);
    expect(ok.out).toEqual(withMessage);
    expect(ok.stderr).toContain('; xl migration message after the stream: "domain is yours, you are cleared to unpause" (44 bytes)\n');
    const garbage = new Uint8Array(input.length + 7);
    garbage.set(input);
    const bad = await tap([], garbage);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`error TRAILING_DATA at offset ${input.length}: 7 bytes after the end of the stream\n`);
  });

  it("reports the first fault with its offset, still passing every byte, and writes --report", async () => {
    const input = stream();
    const broken = input.slice();
    broken[8] = 0; // the image header's "XENF"
    const report = join(dir, "report.json");
    const { code, out, stderr } = await tap(["--report", report], broken);
    expect(out).toEqual(broken);
    expect(code).toBe(1);
    expect(stderr.split("\n")[0]).toMatch(/^xen-stream tap: error BAD_MAGIC at offset 8: /);
    expect(JSON.parse(readFileSync(report, "utf8"))).toMatchObject({ ok: false });
  });

  it("with a command: forwards stdin to it and passes its stdout back; its failure is the exit status", async () => {
    const input = stream();
    const cat = await tap(["--quiet", "--", "cat"], input);
    expect(cat.code).toBe(0);
    expect(cat.stderr).toBe("");
    const failing = await tap(["--", "sh", "-c", "cat >/dev/null; exit 3"], input);
    expect(failing.code).toBe(3);
    expect((await tap(["--"], input)).code).toBe(2);
    expect((await tap(["extra"], input)).code).toBe(2);
  });
});
