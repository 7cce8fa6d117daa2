// dump's reader for regular files (src/cli/dump-read.ts) skips PAGE_DATA
// page contents that the dump does not show: the dump must be exactly the
// one made by reading every byte (standard input, a stream, goes through
// the general reading loop), for valid, truncated and mutated files alike.
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { DumpFileReader } from "../../src/cli/dump-read.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { runCli } from "../helpers/cli.js";
import { cat } from "../helpers/hex.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "xen-stream-dump-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A PV xl save file with several PAGE_DATA records (and the captured HVM one).
const PV = cat(...generatePvStream({ size: 3 * 2 ** 20, format: "xl" }));
const HVM = new Uint8Array(readFileSync(join(REPO, "spec-vectors/captured/xen-4.17-hvm-save.skel.xl")));

/** dump ARGS on `bytes` as a file (the skipping reader) and on standard input (every byte read). */
async function both(bytes: Uint8Array, args: string[], name = "in.bin"): Promise<{ file: unknown; stdin: unknown }> {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const fromFile = await runCli(["dump", ...args, file]);
  const fromStdin = await runCli(["dump", ...args], bytes, 1 << 16);
  const same = (run: { code: number; stdout: string; stderr: string }): unknown => ({ ...run, stderr: run.stderr.replaceAll(file, "<stdin>") });
  return { file: same(fromFile), stdin: same(fromStdin) };
}

describe("dump of a regular file, page contents skipped", () => {
  test("the same dump as reading every byte: JSON, text, --raw-bytes, --pages, --range", async () => {
    for (const bytes of [PV, HVM]) {
      for (const args of [["--json"], [], ["--json", "--raw-bytes"], ["--json", "--pages"], ["--range", "0x1000:0x20000"]]) {
        const { file, stdin } = await both(bytes, args);
        expect(file).toEqual(stdin);
        expect((file as { code: number }).code).toBe(0);
      }
    }
  });

  test("every valid vector: the same dump, text and JSON, as from standard input", async () => {
    // A decoder that holds bytes while it tells a layout apart (the legacy
    // layout of a xenopsd image) keeps views of earlier units: the reader
    // must not reuse their buffer (it did: BAD_MAGIC at offset 15).
    const vectors = readdirSync(join(REPO, "spec-vectors"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(REPO, "spec-vectors", entry.name, "valid")))
      .flatMap((entry) => readdirSync(join(REPO, "spec-vectors", entry.name, "valid")).map((name) => join("spec-vectors", entry.name, "valid", name)));
    expect(vectors.length).toBeGreaterThan(100);
    expect(vectors).toContain("spec-vectors/xenopsd/valid/legacy-layout-hvm.bin");
    for (const vector of vectors) {
      const bytes = new Uint8Array(readFileSync(join(REPO, vector)));
      for (const args of [[], ["--json"]]) {
        const { file, stdin } = await both(bytes, args);
        expect(file, `${vector} ${args.join(" ")}`).toEqual(stdin);
      }
    }
    const legacy = await both(new Uint8Array(readFileSync(join(REPO, "spec-vectors/xenopsd/valid/legacy-layout-hvm.bin"))), []);
    expect((legacy.file as { code: number; stderr: string })).toMatchObject({ code: 0, stderr: "" });
  }, 60_000);

  test("truncated anywhere (inside page contents too) and mutated anywhere: the same dump, the same fault", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: PV.length }), fc.integer({ min: 0, max: PV.length - 1 }), fc.integer({ min: 1, max: 255 }), async (cut, at, xor) => {
        const truncated = await both(PV.subarray(0, cut), ["--json"]);
        expect(truncated.file).toEqual(truncated.stdin);
        const mutated = PV.slice();
        mutated[at] = (mutated[at] as number) ^ xor;
        const changed = await both(mutated, ["--json"]);
        expect(changed.file).toEqual(changed.stdin);
      }),
      { numRuns: 25, seed: 1407 },
    );
  });

  test("page contents are not read: zeros in their place, the header and pfn words as in the file", () => {
    const file = join(dir, "pv.xl");
    writeFileSync(file, PV);
    const fd = openSync(file, "r");
    try {
      const reader = new DumpFileReader(fd, true);
      // Feed it like the decoder: the same unit sizes the file's framing gives.
      // Walk the libxc records after the headers by hand (xl 48 + config, libxl 16 + 8, libxc 24 + 16).
      const view = new DataView(PV.buffer, PV.byteOffset, PV.length);
      const xlEnd = 48 + view.getUint32(44, true);
      let offset = xlEnd + 16 + 8 + 24 + 16;
      expect(reader.next(offset, false).length).toBe(offset);
      let pagesSeen = 0;
      while (offset < PV.length) {
        const header = reader.next(8, true);
        const type = view.getUint32(offset, true);
        const length = view.getUint32(offset + 4, true);
        expect([...header]).toEqual([...PV.subarray(offset, offset + 8)]);
        offset += 8;
        if (type === 0) break;
        const padded = (length + 7) & ~7;
        const body = reader.next(padded, true);
        expect(body.length).toBe(padded);
        if (type === 1) {
          const count = view.getUint32(offset, true);
          const head = 8 + 8 * count;
          expect([...body.subarray(0, head)]).toEqual([...PV.subarray(offset, offset + head)]);
          // Each page byte is the file's (what the read-ahead window held) or a zero in its place.
          let zeroed = 0;
          let wrong = 0;
          for (let i = head; i < length; i++) {
            if (body[i] === PV[offset + i]) continue;
            if (body[i] === 0) zeroed += 1;
            else wrong += 1;
          }
          expect({ wrong, zeroed: zeroed > 0 }).toEqual({ wrong: 0, zeroed: true });
          pagesSeen += length - head;
        } else {
          expect([...body]).toEqual([...PV.subarray(offset, offset + padded)]);
        }
        offset += padded;
      }
      expect(pagesSeen).toBeGreaterThan(2 ** 20);
      expect(reader.skipped).toBeGreaterThan(pagesSeen - 2 ** 16); // all but what the read-ahead window held
    } finally {
      closeSync(fd);
    }
  });

  test("without skipping (--pages), every byte is the file's", () => {
    const file = join(dir, "pv-all.xl");
    writeFileSync(file, PV);
    const fd = openSync(file, "r");
    try {
      const reader = new DumpFileReader(fd, false);
      const got: Uint8Array[] = [];
      for (let unit = reader.next(7, false); unit.length > 0; unit = reader.next(4096 * 3 + 5, true)) got.push(Uint8Array.from(unit)) /* a copy: units are views of a reused buffer */;
      const all = cat(...got);
      expect({ length: all.length, same: Buffer.from(all).equals(Buffer.from(PV)) }).toEqual({ length: PV.length, same: true });
      expect(reader.skipped).toBe(0);
    } finally {
      closeSync(fd);
    }
  });
});
