import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";
import { cat } from "../helpers/hex.js";
import fc from "fast-check";
import { decodeSaveFile, encodeSaveFile, type SaveFile } from "../../src/savefile.js";
import { legacyContainerImage } from "../../src/testing/index.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "decode-encode-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAPTURED = join(ROOT, "spec-vectors", "captured", "xen-4.17-pv-save.skel.xl");
const BYTES = new Uint8Array(readFileSync(CAPTURED));

interface Run {
  code: number;
  out: Uint8Array;
  stdout: string;
  stderr: string;
}

async function run(args: string[], input: Uint8Array | string = "", stdout: Writable = new PassThrough()): Promise<Run> {
  const stdin = new PassThrough();
  const stderr = new PassThrough();
  const parts: Buffer[] = [];
  let err = "";
  stdout.on("data", (chunk: Buffer) => parts.push(chunk));
  stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
  stdin.end(typeof input === "string" ? Buffer.from(input) : Buffer.from(input));
  const code = await main(args, { stdin, stdout, stderr });
  const out = new Uint8Array(Buffer.concat(parts));
  return { code, out, stdout: Buffer.from(out).toString("utf8"), stderr: err };
}

function file(name: string, bytes?: Uint8Array): string {
  const path = join(dir, name);
  if (bytes !== undefined) writeFileSync(path, bytes);
  return path;
}

describe("xen-stream decode / encode", () => {
  it("containers: a xenopsd image (blobs before and after the stream, bytes after it) and a libvirt image with a legacy stream, from a FILE and from standard input", async () => {
    const stream = decodeSaveFile(BYTES);
    const record = Uint8Array.from("(record)", (c) => c.charCodeAt(0));
    const xenopsd = cat(
      encodeSaveFile({
        format: stream.format,
        stream: stream.stream,
        container: {
          kind: "xenopsd",
          layout: "structured",
          streamChunk: 1,
          chunks: [
            { type: "Xenops", length: BigInt(record.length), body: record },
            { type: stream.format === "libxl" ? "Libxl" : "Libxc", length: 0n },
            { type: "Qemu_xen", length: 3n, body: Uint8Array.of(7, 8, 9) },
            { type: "End_of_image", length: 0n },
          ],
        },
      } as SaveFile),
      Uint8Array.of(0xee),
    );
    const [legacy] = fc.sample(legacyContainerImage({ container: "libvirt" }), { numRuns: 1, seed: 2 }) as unknown as [{ bytes: Uint8Array }];
    for (const [name, bytes] of [["xenopsd", xenopsd], ["libvirt-legacy", legacy.bytes]] as const) {
      const input = file(`${name}.img`, bytes);
      for (const viaStdin of [false, true]) {
        const doc = file(`${name}-${String(viaStdin)}.json`);
        const decoded = await run(viaStdin ? ["decode", "-", "-o", doc] : ["decode", input, "-o", doc], viaStdin ? bytes : "");
        expect({ code: decoded.code, stdout: decoded.stdout }).toEqual({ code: 0, stdout: "" });
        const out = file(`${name}-${String(viaStdin)}.out`);
        expect((await run(["encode", doc, "-o", out])).code).toBe(0);
        expect(Buffer.compare(readFileSync(out), Buffer.from(bytes))).toBe(0);
      }
    }
  });

  it("decode FILE -o doc.json writes doc.json and doc.pages; encode rebuilds the file", async () => {
    const doc = file("a.json");
    const decoded = await run(["decode", CAPTURED, "-o", doc]);
    expect({ code: decoded.code, stdout: decoded.stdout, stderr: decoded.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
    const json = JSON.parse(readFileSync(doc, "utf8")) as { pages: unknown; pagesLength: number };
    expect(json.pages).toEqual({ storage: "file", file: "a.pages" });
    expect(readFileSync(file("a.pages")).length).toBe(json.pagesLength);
    const out = file("a.out");
    const encoded = await run(["encode", doc, "-o", out]);
    expect({ code: encoded.code, stderr: encoded.stderr }).toEqual({ code: 0, stderr: "" });
    expect(new Uint8Array(readFileSync(out))).toEqual(BYTES);
  });

  it("--pages puts the page file elsewhere, named relative to the document; encode finds it", async () => {
    const doc = file("b.json");
    expect((await run(["decode", CAPTURED, "-o", doc, "--pages", join(dir, "sub-b.bin")])).code).toBe(0);
    expect((JSON.parse(readFileSync(doc, "utf8")) as { pages: unknown }).pages).toEqual({ storage: "file", file: "sub-b.bin" });
    const encoded = await run(["encode", doc]);
    expect(encoded.code).toBe(0);
    expect(encoded.out).toEqual(BYTES);
    // --pages on encode overrides the document's name.
    const moved = file("moved.bin", new Uint8Array(readFileSync(join(dir, "sub-b.bin"))));
    rmSync(join(dir, "sub-b.bin"));
    expect((await run(["encode", doc, "--pages", moved])).out).toEqual(BYTES);
    const missing = await run(["encode", doc]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^xen-stream encode: cannot read the page file .*sub-b\.bin: ENOENT/);
  });

  it("standard input to standard output: the document has the pages inline; encode reads it from stdin", async () => {
    const decoded = await run(["decode"], BYTES);
    expect(decoded.code).toBe(0);
    expect((JSON.parse(decoded.stdout) as { pages: unknown }).pages).toEqual({ storage: "inline" });
    const encoded = await run(["encode", "-"], decoded.stdout);
    expect({ code: encoded.code, stderr: encoded.stderr }).toEqual({ code: 0, stderr: "" });
    expect(encoded.out).toEqual(BYTES);
    expect(existsSync(join(dir, "doc.pages"))).toBe(false);
  });

  it("keeps xl's migration message read from a pipe too", async () => {
    const input = cat(BYTES, MIGRATE_PERMISSION_TO_GO);
    const decoded = await run(["decode", "-"], input);
    expect(decoded.code).toBe(0);
    expect(decoded.stderr).toMatch(/kept in the document: xl migration message after the stream/);
    expect((await run(["encode"], decoded.stdout)).out).toEqual(input);
  });

  it("--keep-unknown-mandatory keeps an unknown mandatory record (and without it the stream is invalid)", async () => {
    const vector = join(ROOT, "spec-vectors", "libxl", "tolerated", "keep-unknown-mandatory.bin");
    const refused = await run(["decode", vector]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/: UNKNOWN_RECORD at offset \d+( \(record \d+\))?: unknown mandatory/);
    const kept = await run(["decode", vector, "--keep-unknown-mandatory"]);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/\{"type":"UNKNOWN","typeId":\d+,"body":/);
    expect((await run(["encode"], kept.stdout)).out).toEqual(new Uint8Array(readFileSync(vector)));
  });

  it("--inline with -o writes no page file", async () => {
    const doc = file("c.json");
    expect((await run(["decode", CAPTURED, "-o", doc, "--inline"])).code).toBe(0);
    expect(existsSync(file("c.pages"))).toBe(false);
    expect((await run(["encode", doc])).out).toEqual(BYTES);
  });

  it("keeps xl's migration message after the stream, and says so", async () => {
    const input = file("trailer.xl", cat(BYTES, MIGRATE_PERMISSION_TO_GO));
    const doc = file("t.json");
    const decoded = await run(["decode", input, "-o", doc]);
    expect(decoded.stderr).toBe('xen-stream decode: kept in the document: xl migration message after the stream: "domain is yours, you are cleared to unpause" (44 bytes)\n');
    expect(decoded.code).toBe(0);
    expect((await run(["encode", doc])).out).toEqual(cat(BYTES, MIGRATE_PERMISSION_TO_GO));
  });

  it("an invalid stream exits 1 and leaves no output behind", async () => {
    const input = file("bad.xl", BYTES.subarray(0, 5000));
    const doc = join(dir, "bad.json");
    const decoded = await run(["decode", input, "-o", doc]);
    expect(decoded.code).toBe(1);
    expect(decoded.stderr).toMatch(/^xen-stream decode: .*bad\.xl: TRUNCATED at offset \d+/);
    expect(existsSync(doc) || existsSync(join(dir, "bad.pages"))).toBe(false);
    const random = await run(["decode", file("random.bin", Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff))]);
    expect(random.code).toBe(1);
  });

  it("a bad document exits 1 naming the JSON path, and leaves no output behind", async () => {
    const doc = file("d.json");
    await run(["decode", CAPTURED, "-o", doc]);
    const json = JSON.parse(readFileSync(doc, "utf8")) as { stream: { header: { version: unknown } } };
    json.stream.header.version = "2";
    writeFileSync(doc, JSON.stringify(json));
    const out = join(dir, "d.out");
    const encoded = await run(["encode", doc, "-o", out]);
    expect({ code: encoded.code, stderr: encoded.stderr }).toEqual({
      code: 1,
      stderr: `xen-stream encode: ${doc}: BAD_VALUE at offset 0: document $.stream.header.version: expected a non-negative integer, got string "2"\n`,
    });
    expect(existsSync(out)).toBe(false);
    const notJson = await run(["encode", "-"], "{ nope");
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^xen-stream encode: <stdin>: not a JSON document: /);
  });

  it("usage errors exit 2; --help exits 0", async () => {
    for (const args of [
      ["decode", "a", "b"],
      ["decode", CAPTURED, "--inline", "--pages", "x"],
      ["decode", "--bogus"],
      ["encode", "a", "b"],
      ["decode", CAPTURED, "-o", CAPTURED],
    ]) {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^xen-stream ${args[0] as string}: .*\\nusage: xen-stream ${args[0] as string} `));
    }
    expect((await run(["decode", "--help"])).stdout).toMatch(/^usage: xen-stream decode \[FILE\|-\] \[options\]\n/);
    expect((await run(["encode", "-h"])).code).toBe(0);
    expect(new Uint8Array(readFileSync(CAPTURED))).toEqual(BYTES);
  });

  it("encode refuses to write binary to a terminal", async () => {
    const doc = file("e.json");
    await run(["decode", CAPTURED, "-o", doc]);
    const terminal = Object.assign(new PassThrough(), { isTTY: true });
    const result = await run(["encode", doc], "", terminal);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^xen-stream encode: standard output is a terminal: give -o FILE or redirect it/);
    expect(result.out.length).toBe(0);
  });

  it("a closed output ends encode quietly", async () => {
    const doc = file("f.json");
    await run(["decode", CAPTURED, "-o", doc]);
    let writes = 0;
    const closed = new Writable({
      write(_chunk, _encoding, callback) {
        writes += 1;
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const result = await run(["encode", doc], "", closed);
    expect({ code: result.code, stderr: result.stderr, writes }).toEqual({ code: 0, stderr: "", writes: 1 });
  });

  it("as a process: encode into a pipe closed early (head -c 10) ends quietly", () => {
    // 4 MiB: more than a pipe holds, so the reader's going away is seen.
    const input = file("big.xl", cat(...generatePvStream({ size: 4 << 20, format: "xl" })));
    const doc = file("g.json");
    const bin = join(ROOT, "src", "cli", "bin.ts");
    expect(spawnSync(process.execPath, ["--import", "tsx", bin, "decode", input, "-o", doc], { cwd: ROOT }).status).toBe(0);
    const result = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" --import tsx "${bin}" encode "${doc}" | head -c 10 | wc -c`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect({ status: result.status, stdout: result.stdout.trim(), stderr: result.stderr }).toEqual({ status: 0, stdout: "10", stderr: "" });
  });
});
