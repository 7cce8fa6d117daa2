/**
 * Regenerates spec-vectors/ deterministically (`npm run vectors`).
 *
 *   tsx scripts/gen-vectors.ts          write every generated file, delete stale ones
 *   tsx scripts/gen-vectors.ts --check  write nothing; exit 1 listing every difference
 *
 * The vectors are defined in test/vectors/catalogue.ts, built with the
 * independent byte layer of test/vectors/spec-bytes.ts (never with the
 * library). Generated: spec-vectors/{libxc,libxl,xl}/**, the value files of
 * the captured vectors (captured/*.json), manifest.json and
 * reference-faults.json. Hand-written and never touched: README.md and the
 * captured .xl files with their README.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateVectors, ownedFilesOnDisk } from "../test/vectors/catalogue.js";

const VECTORS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "spec-vectors");

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function main(): number {
  const check = process.argv.includes("--check");
  const { files, manifest } = generateVectors(VECTORS_DIR);
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
