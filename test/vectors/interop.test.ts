/**
 * Interop: Xen's own verify-stream-v2 (Debian xen-utils-4.17, unpacked into
 * .cache/xen-tools by scripts/fetch-xen-tools.sh, never installed) on every
 * vector of spec-vectors/. Its verdict must equal the manifest's (our
 * decoder's) except for the vectors listed, class by class, in
 * spec-vectors/reference-faults.json — each class with the reason the
 * reference differs and what the spec says. No other disagreement passes,
 * and a listed vector that stops disagreeing fails too (stale listing).
 *
 * Without the tools: when apt-get is available they are fetched (set
 * XEN_TOOLS_FETCH=0 to prevent it); otherwise the suite is skipped with a
 * one-line message — except under CI=true, where a missing tool fails.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import type { Manifest, ManifestEntry, ReferenceVerdict } from "./catalogue.js";

interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The part of scripts/xen-tools.mjs this test uses. */
interface XenTools {
  xenToolsDir(): string | null;
  fetchXenTools(): string | null;
  runVerifyStreamV2(file: string, format: "xl" | "libxl" | "libxc"): ToolResult;
}

interface FaultClass {
  id: string;
  verdict: ReferenceVerdict;
  message?: string;
  reason: string;
  spec: string;
  vectors: string[];
}

const VECTORS_DIR = fileURLToPath(new URL("../../spec-vectors/", import.meta.url));
const TOOLS_URL = pathToFileURL(fileURLToPath(new URL("../../scripts/xen-tools.mjs", import.meta.url))).href;
const ENABLE_HINT = "run `bash scripts/fetch-xen-tools.sh` (Debian/Ubuntu: apt-get download + dpkg -x of xen-utils-4.17 into .cache/xen-tools, nothing installed) to enable";

const manifest = JSON.parse(readFileSync(join(VECTORS_DIR, "manifest.json"), "utf8")) as Manifest;
const faults = JSON.parse(readFileSync(join(VECTORS_DIR, "reference-faults.json"), "utf8")) as { classes: FaultClass[] };
const vectors = manifest.vectors.filter((entry): entry is ManifestEntry & { layer: "xl" | "libxl" | "libxc" } => entry.layer !== "legacy");

const classOf = new Map<string, FaultClass>();
for (const fault of faults.classes) for (const name of fault.vectors) classOf.set(name, fault);

function hasCommand(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The tools, fetched if missing and apt-get is there; or why they are unavailable. */
async function loadTools(): Promise<{ tools: XenTools } | { missing: string }> {
  const tools = (await import(TOOLS_URL)) as XenTools;
  let dir = tools.xenToolsDir();
  if (dir === null && process.env.XEN_TOOLS_FETCH !== "0" && hasCommand("apt-get") && hasCommand("dpkg")) dir = tools.fetchXenTools();
  if (dir === null) return { missing: "Xen reference tools not found" };
  try {
    const probe = tools.runVerifyStreamV2(join(VECTORS_DIR, "captured", "xen-4.17-pv-save.skel.xl"), "xl");
    if (probe.status !== 0) return { missing: `verify-stream-v2 does not run (exit ${String(probe.status)}): ${probe.stderr.trim().split("\n").pop() ?? ""}` };
  } catch (error) {
    return { missing: `verify-stream-v2 does not run: ${(error as Error).message}` };
  }
  return { tools };
}

const loaded = await loadTools();
const inCi = process.env.CI === "true";
if ("missing" in loaded && !inCi) console.warn(`interop tests skipped: ${loaded.missing}; ${ENABLE_HINT}`);

/** The last line of the reference's traceback (its error message). */
const lastLine = (result: ToolResult): string =>
  result.stderr.split("\n").filter((line) => line.trim() !== "" && line !== "Please fix me").pop() ?? "";

/** How verify-stream-v2 ended, or "crash" with the last line of its traceback. */
function referenceVerdict(result: ToolResult): ReferenceVerdict | `crash: ${string}` {
  if (result.status === 0) return "valid";
  if (result.status === 1 && result.stderr.startsWith("Stream Error:")) return "invalid";
  if (result.status === 2 && result.stderr.startsWith("Script Error:")) return "script-error";
  return `crash: exit ${String(result.status)}, ${lastLine(result)}`;
}

describe("reference-faults.json", () => {
  test("lists only vectors of the manifest, each in one class", () => {
    const names = new Set(manifest.vectors.map((entry) => entry.name));
    const listed = faults.classes.flatMap((fault) => fault.vectors);
    expect(listed.filter((name) => !names.has(name))).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
    for (const fault of faults.classes) {
      expect(fault.reason.length, fault.id).toBeGreaterThan(0);
      expect(fault.spec.length, fault.id).toBeGreaterThan(0);
    }
  });
});

const tools = "tools" in loaded ? loaded.tools : undefined;

describe("verify-stream-v2 agrees with the manifest, except for the listed reference faults", () => {
  test.runIf(tools === undefined && inCi)("the reference tools are available (required under CI=true)", () => {
    expect.fail(`${"missing" in loaded ? loaded.missing : ""}; ${ENABLE_HINT}`);
  });

  test.skipIf(tools === undefined).each(vectors.map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    const result = (tools as XenTools).runVerifyStreamV2(join(VECTORS_DIR, entry.file), entry.layer);
    const got = referenceVerdict(result);
    const fault = classOf.get(entry.name);
    const ours: ReferenceVerdict = entry.expect === "valid" ? "valid" : "invalid";
    if (fault === undefined) {
      expect(got, `verify-stream-v2 disagrees with our verdict (${JSON.stringify(entry.expect)}) and the vector is in no reference-fault class: ${lastLine(result)}`).toBe(ours);
    } else {
      expect(fault.verdict, `class ${fault.id} must be a disagreement`).not.toBe(ours);
      expect(got, `listed as reference fault ${fault.id} (${fault.reason}); the reference said: ${lastLine(result)}`).toBe(fault.verdict);
      if (fault.message !== undefined) {
        expect(result.stderr, `reference fault ${fault.id}: the reference failed for another reason: ${lastLine(result)}`).toMatch(new RegExp(fault.message));
      }
    }
  });
});
