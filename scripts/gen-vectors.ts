/**
 * Regenerates spec-vectors/ deterministically (`npm run vectors`).
 *
 *   tsx scripts/gen-vectors.ts          write every generated file, delete stale ones
 *   tsx scripts/gen-vectors.ts --check  write nothing; exit 1 listing every difference
 *
 * The vectors are defined in test/vectors/catalogue.ts, built with the
 * independent byte layer of test/vectors/spec-bytes.ts (never with the
 * library). Generated: spec-vectors/{libxc,libxl,xl,legacy}/**, the value files of
 * the captured vectors (captured/*.json), manifest.json and
 * reference-faults.json. Hand-written and never touched: README.md and the
 * captured .xl files with their README.
 *
 * The legacy vectors' expected outputs (spec-vectors/legacy/) are produced
 * by Xen's convert-legacy-stream wherever it works (scripts/xen-tools.mjs;
 * fetch it with `bash scripts/fetch-xen-tools.sh`) and checked against the
 * hand-built bytes of test/legacy/vectors.ts: without the tool, both modes
 * fail.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateVectors, ownedFilesOnDisk } from "../test/vectors/catalogue.js";
import type { LegacyReference } from "../test/vectors/legacy-catalogue.js";
// @ts-expect-error -- plain JS helper without typings
import * as xenToolsModule from "./xen-tools.mjs";

/** The part of scripts/xen-tools.mjs this script uses. */
const xenTools = xenToolsModule as {
  xenToolsDir(): string | null;
  runConvertLegacy(inPath: string, outPath: string, options: object): { status: number | null; stdout: string; stderr: string };
};

const VECTORS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "spec-vectors");

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** convert-legacy-stream as a function of bytes; throws when it exits non-zero. */
function legacyReference(workDir: string): LegacyReference {
  let runs = 0;
  return (input, options) => {
    const inPath = join(workDir, `in-${runs}.bin`);
    const outPath = join(workDir, `out-${runs}.bin`);
    runs++;
    writeFileSync(inPath, input);
    const result = xenTools.runConvertLegacy(inPath, outPath, options);
    if (result.status !== 0) throw new Error(`convert-legacy-stream exited ${result.status}: ${result.stderr.trim().split("\n").pop() ?? ""}`);
    return new Uint8Array(readFileSync(outPath));
  };
}

function main(): number {
  const check = process.argv.includes("--check");
  if (xenTools.xenToolsDir() === null) {
    console.error("Xen's convert-legacy-stream is missing: run `bash scripts/fetch-xen-tools.sh` (the legacy vectors' expected outputs come from it)");
    return 1;
  }
  const workDir = mkdtempSync(join(tmpdir(), "gen-vectors-"));
  let generated: ReturnType<typeof generateVectors>;
  try {
    generated = generateVectors(VECTORS_DIR, legacyReference(workDir));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const { files, manifest } = generated;
  const stale = ownedFilesOnDisk(VECTORS_DIR).filter((path) => !files.has(path));
  const changed: string[] = [];
  for (const [path, bytes] of files) {
    const target = join(VECTORS_DIR, path);
    if (existsSync(target) && sameBytes(new Uint8Array(readFileSync(target)), bytes)) continue;
    changed.push(path);
    if (!check) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, bytes);
    }
  }
  if (check) {
    for (const path of changed) console.error(`differs from the generator: spec-vectors/${path}`);
    for (const path of stale) console.error(`not produced by the generator: spec-vectors/${path}`);
    if (changed.length + stale.length > 0) {
      console.error("run `npm run vectors` to regenerate");
      return 1;
    }
    console.log(`spec-vectors: ${files.size} generated files up to date`);
    return 0;
  }
  for (const path of stale) rmSync(join(VECTORS_DIR, path));
  const counts = { valid: 0, invalid: 0 };
  for (const entry of manifest.vectors) counts[entry.expect === "valid" ? "valid" : "invalid"]++;
  console.log(
    `spec-vectors: ${manifest.vectors.length} vectors (${counts.valid} valid, ${counts.invalid} invalid); ` +
      `${changed.length} files written, ${stale.length} stale files removed, ${files.size - changed.length} unchanged`,
  );
  return 0;
}

process.exitCode = main();
