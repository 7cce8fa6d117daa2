/**
 * Legacy conversion speed and memory: our `xen-stream convert-legacy` CLI
 * beside Xen's convert-legacy-stream, same run, same generated legacy PV
 * stream (64-bit toolstack, 64-bit guest, full 1024-page batches), both
 * writing to /dev/null. Peak RSS from /usr/bin/time (%M).
 *
 *   npx tsx bench/legacy-compare.ts [--size-mib 1024] [--runs 3] [--keep]
 *
 * Prints one line per run and the best of each, with the ratio. Needs the
 * reference tools (`bash scripts/fetch-xen-tools.sh`), /usr/bin/time and
 * the built CLI (`npm run build`), run as users run it: the dist/cli.cjs
 * executable. The stream is written once to a temporary file (kept with
 * --keep).
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { legacyStreamChunks } from "../src/testing/legacy-generator.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const XEN_LIB = join("usr", "lib", "xen-4.17");

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
  },
});
const sizeMiB = Number(values["size-mib"]);
const runs = Number(values.runs);

const toolsDir = resolve(process.env.XEN_TOOLS_DIR ?? join(ROOT, ".cache", "xen-tools"));
const reference = join(toolsDir, XEN_LIB, "bin", "convert-legacy-stream");
if (!existsSync(reference)) {
  console.error("convert-legacy-stream not found: run `bash scripts/fetch-xen-tools.sh` first");
  process.exit(2);
}
if (!existsSync("/usr/bin/time")) {
  console.error("/usr/bin/time is needed for peak RSS (apt-get install time)");
  process.exit(2);
}

// The executable users run (the package's bin).
const cli = join(ROOT, "dist", "cli.cjs");
if (!existsSync(cli)) {
  console.error("dist/cli.cjs not found: run `npm run build` first");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "legacy-bench-"));
const input = join(work, "legacy-pv64.bin");

async function writeStream(): Promise<void> {
  const pages = Math.floor((sizeMiB * 1024 * 1024) / 4096);
  const out = createWriteStream(input);
  for (const chunk of legacyStreamChunks({
    seed: 4242,
    width: 64,
    guest: "pv",
    guestWidth: 8,
    pages,
    maxBatch: 1024,
    fullBatches: true,
    mixedTypes: false,
    vcpus: 2,
    extv: true,
    xcnt: 0,
    verifyMode: false,
    toolstack: true,
    pageFill: "pool",
  })) {
    if (!out.write(chunk)) await new Promise<void>((done) => out.once("drain", () => done()));
  }
  await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
}

interface Run {
  seconds: number;
  rssMiB: number;
}

// Both contenders run with the same environment: without NODE_EXTRA_CA_CERTS,
// which node parses at every start-up and neither needs. Said in the output.
const extraCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;
const cleanEnv: NodeJS.ProcessEnv = { ...process.env };
delete cleanEnv.NODE_EXTRA_CA_CERTS;

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv): Run {
  const result = spawnSync("/usr/bin/time", ["-f", "TIME %e %M", command, ...args], { env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  const match = /TIME ([\d.]+) (\d+)/.exec(result.stderr);
  if (match === null) throw new Error(`no timing in: ${result.stderr}`);
  return { seconds: Number(match[1]), rssMiB: Number(match[2]) / 1024 };
}

await writeStream();
const bytes = statSync(input).size;
const python = process.env.XEN_TOOLS_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const pyEnv = { ...cleanEnv, PYTHONPATH: join(toolsDir, XEN_LIB, "lib", "python") };
const gbps = (run: Run): string => (bytes / run.seconds / 1e9).toFixed(2);

console.log(`environment: NODE_EXTRA_CA_CERTS unset for both contenders${extraCerts ? " (it was set here)" : " (it was not set)"}`);
console.log(`input: ${(bytes / 2 ** 20).toFixed(0)} MiB legacy PV stream (64-bit toolstack), output to /dev/null`);
const ours: Run[] = [];
const theirs: Run[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const reference_ = timed(python, [reference, "-i", input, "-o", "/dev/null", "-w", "64", "-g", "pv"], pyEnv);
    theirs.push(reference_);
    console.log(`convert-legacy-stream   ${reference_.seconds.toFixed(2)} s  ${gbps(reference_)} GB/s  ${reference_.rssMiB.toFixed(0)} MiB`);
    const our = timed(cli, ["convert-legacy", input, "-o", "/dev/null", "--width", "64", "--guest", "pv"]);
    ours.push(our);
    console.log(`xen-stream convert-legacy ${our.seconds.toFixed(2)} s  ${gbps(our)} GB/s  ${our.rssMiB.toFixed(0)} MiB`);
  }
  const best = (list: Run[]): Run => list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const bestOurs = best(ours);
  const bestTheirs = best(theirs);
  const peak = Math.max(...ours.map((run) => run.rssMiB));
  console.log(
    `best: ours ${gbps(bestOurs)} GB/s, reference ${gbps(bestTheirs)} GB/s, ratio ${(bestTheirs.seconds / bestOurs.seconds).toFixed(2)}x; ` +
      `our peak RSS ${peak.toFixed(0)} MiB (limit 128)`,
  );
  if (bestOurs.seconds > bestTheirs.seconds || peak >= 128) process.exitCode = 1;
} finally {
  if (values.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
