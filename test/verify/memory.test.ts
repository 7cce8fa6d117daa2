// Issue #19 item 2: one record that is a huge array of the smallest
// entries its type allows (64 MiB of 4-byte xenstore pairs cost 67x as
// decoded pairs) must not be built as objects by the verifier. Each class
// runs in a child process whose JS heap is smaller than the input
// (--max-old-space-size=48 against 64 MiB): a verifier that built the
// entries dies of an out-of-memory abort. Memory, not time, is measured.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { HOSTILE_KINDS, entryCount, hostileStream } from "../helpers/hostile-entries.js";

const CHILD = fileURLToPath(new URL("../helpers/hostile-entries-child.ts", import.meta.url));
const BODY = 64 * 1024 * 1024;
const HEAP_MIB = 48;
const RSS_LIMIT_MIB = 256;

interface ChildRun {
  lines: Array<Record<string, unknown>>;
  maxRssMiB: number;
}

function runChild(args: string[], heapMiB = HEAP_MIB): ChildRun {
  const result = spawnSync(process.execPath, [`--max-old-space-size=${heapMiB}`, "--expose-gc", "--import", "tsx", CHILD, ...args], {
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  // An out-of-memory abort is a signal or exit 134, with V8's message on stderr.
  expect({ status: result.status, signal: result.signal, stderr: result.stderr.slice(-2000) }).toEqual({ status: 0, signal: null, stderr: "" });
  const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  const last = lines.pop() as { maxRssMiB: number };
  return { lines, maxRssMiB: last.maxRssMiB };
}

const dir = mkdtempSync(join(tmpdir(), "xen-hostile-entries-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("verifier memory on records of millions of entries (64 MiB input, 48 MiB JS heap)", () => {
  test("verifyStream: every array record type, one after the other in one process", () => {
    const run = runChild(["verify", String(BODY), ...HOSTILE_KINDS]);
    expect(run.lines.map((line) => line.kind)).toEqual([...HOSTILE_KINDS]);
    type Line = { codes: string[]; first: Array<{ code: string; message: string }>; summary: Record<string, unknown> };
    const byKind = Object.fromEntries(run.lines.map((line) => [line.kind, line])) as Record<string, Line>;
    // The walkers saw every entry (the page totals) ...
    const xtab = entryCount("xtab", BODY);
    expect(byKind.xtab?.summary.pages).toMatchObject({ entries: xtab, withData: 0, byType: { XTAB: xtab }, maxPfn: 2 ** 32 + xtab - 1 });
    // ... and the policies were checked entry by entry up to the bound,
    // with the count of the whole record.
    for (const [kind, name, count] of [
      ["msr", "X86_MSR_POLICY", entryCount("msr", BODY)],
      ["cpuid", "X86_CPUID_POLICY", entryCount("cpuid", BODY)],
    ] as const) {
      const [notChecked, tooMany, firstEntry] = byKind[kind]?.first ?? [];
      expect(notChecked).toMatchObject({ code: "BAD_SIZE", message: `${name}: entries 4096..${count - 1} are not checked one by one (Xen's restore refuses the record for its size)` });
      expect(tooMany?.code).toBe("BAD_SIZE");
      expect(tooMany?.message).toMatch(new RegExp(`^${name} entry \\d+: ${count} `));
      expect(firstEntry?.code).toBe("BAD_FIELD");
      // The findings limit (1000) was reached: every entry at fault was reported.
      expect(byKind[kind]?.codes.at(-1)).toBe("TOO_MANY_FINDINGS");
    }
    expect(byKind.xenstore?.codes).toEqual(["MISSING_RECORD"]);
    expect(run.maxRssMiB).toBeLessThan(RSS_LIMIT_MIB);
  });

  test("xen-stream verify on a 64 MiB EMULATOR_XENSTORE_DATA record of a\\0b\\0 pairs (the CLI died with exit 134)", () => {
    const file = join(dir, "xenstore.bin");
    writeFileSync(file, hostileStream("xenstore", BODY));
    const run = runChild(["cli", "0", file]);
    const [line] = run.lines as [{ code: number; report: { ok: boolean; findings: Array<{ code: string }>; summary: { records: { libxl: Record<string, unknown> } } } }];
    // Exit 1: an invalid stream (no LIBXC_CONTEXT), verified to its end.
    expect(line.code).toBe(1);
    expect(line.report.findings.map((finding) => finding.code)).toEqual(["MISSING_RECORD"]);
    expect(line.report.summary.records.libxl.EMULATOR_XENSTORE_DATA).toEqual({ count: 1, bytes: 8 + 8 + 4 * entryCount("xenstore", BODY) });
    expect(run.maxRssMiB).toBeLessThan(RSS_LIMIT_MIB);
  });
});

describe("whole-stream decoding: at most 8x the input + 4 MiB, or refused naming maxDecodedBytes", () => {
  test("decodeSaveFile refuses the two kinds whose objects outweigh 8x (64 MiB each, 128 MiB JS heap)", () => {
    const run = runChild(["decode", String(BODY), "xenstore", "xtab"], 128);
    expect(run.lines.map((line) => [line.kind, line.decoded, line.code])).toEqual([
      ["xenstore", false, "RECORD_TOO_LARGE"],
      ["xtab", false, "RECORD_TOO_LARGE"],
    ]);
    for (const line of run.lines) expect(line.message).toMatch(/over maxDecodedBytes \d+ \(the default: 8 per input byte \+ 4 MiB\); pass a larger maxDecodedBytes/);
  });

  // One process per kind: the heap a decoded file holds is measured alone.
  test.each(["hvmParams", "msr", "cpuid", "p2m", "dirtyPfns"] as const)("%s: decoded, holding at most 8x its 8 MiB input + 4 MiB", (kind) => {
    const run = runChild(["decode", String(8 * 1024 * 1024), kind], 160);
    const [line] = run.lines as [{ decoded: boolean; inputBytes: number; heldBytes: number }];
    expect(line.decoded).toBe(true);
    // Built in full (the entries cost 3-6x their bytes), within the bound.
    expect(line.heldBytes).toBeGreaterThan(2 * line.inputBytes);
    expect(line.heldBytes).toBeLessThanOrEqual(8 * line.inputBytes + 4 * 1024 * 1024);
  });
});
