/**
 * `xen-stream simulate`: simulate a live migration (Xen 4.17's live loop)
 * of a save file's memory or a synthetic guest under a dirty model, print
 * the report (passes, bytes, predicted downtime) or a what-if table, and
 * optionally write the stream. Thin over src/simulate.
 * Exit 0 done, 1 invalid source file, 2 usage or I/O error.
 *
 * @module
 * @internal
 */
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { isXenStreamError } from "../errors.js";
import { SaveFileDecoder } from "../savefile.js";
import {
  CaptureProfiler,
  SPP_MAX_ITERATIONS,
  SPP_TARGET_DIRTY_COUNT,
  guestFromSaveFile,
  simulateMigration,
  syntheticGuest,
  whatIf,
  whatIfGrid,
  withoutMigrateTrailer,
  type CaptureProfile,
  type DirtyModel,
  type GuestImage,
  type PolicyParameters,
  type SimulationReport,
  type WhatIfRow,
  type WhatIfVariant,
} from "../simulate/index.js";
import { guestDomainType } from "../simulate/guest.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, isClosedOutput, writeOut } from "./io.js";

const USAGE = `usage: xen-stream simulate [options]

Simulate a live migration as Xen 4.17's saver runs it (xg_sr_save.c
send_memory_live(), simple_precopy_policy()) and print its passes, bytes and
predicted downtime; with -o, also write the stream (xl header, libxl, libxc).

source (one of):
  -s, --source FILE             migrate this save file's memory (xl, libxl or libxc;
                                  a capture of \`xl migrate\` too; in a libvirt or
                                  xenopsd container, the stream keeps the container)
  -m, --memory MIB              a synthetic guest of MIB MiB (default: 1024)
  -g, --guest hvm|pvh|pv        synthetic guest type (default: hvm; pv: x86 64-bit PV)
      --vcpus N                 synthetic guest vCPUs (default: 2)
      --ballooned-pages N       pv: N pfns ballooned out (INVALID_MFN: XTAB in pass 0
                                  and in the stop-and-copy pass; default: 0)
      --deferred-page-tables N  pv: N page tables that do not normalise while the guest
                                  runs (EAGAIN: XTAB in the live passes, sent in the
                                  stop-and-copy pass; default: 0)
dirty model:
  -d, --dirty MODEL             idle (default) | uniform:WRITES_PER_S
                                  | hot:PAGES:WRITES_PER_S[:COLD_WRITES_PER_S]
                                  | replay:CAPTURE[:auto|repeat|empty]
loop and link:
  -b, --bandwidth RATE          bytes/s, or with a unit: 125M, 1G (bytes), 1Gbit, 10Gbit
                                  (default: 1Gbit)
      --max-iterations N        SPP_MAX_ITERATIONS (default: ${SPP_MAX_ITERATIONS})
      --target-dirty-count N    SPP_TARGET_DIRTY_COUNT (default: ${SPP_TARGET_DIRTY_COUNT})
      --max-factor X            also stop after X * p2m_size pages (Xen 4.5's rule, in
                                  4.17's loop; default: off)
      --suspend-dirty-pages N   pages written while the guest suspends, sent in the
                                  stop-and-copy pass (default: 485, from the two real
                                  4.17 captures; 0 with replay)
      --seed N                  seed of the dirty model and synthetic pages (default: 1)
what-if:
  -w, --what-if NAME=V1,V2,...  tabulate other values instead of one run (repeatable:
                                  every combination); NAME: max-iterations,
                                  target-dirty-count, max-factor, bandwidth
output:
  -o, --output FILE|-           write the stream (- for standard output: the report
                                  then goes to standard error)
      --migrate-trailer         after the stream, write xl's 44-byte "domain is yours,
                                  you are cleared to unpause" message and its NUL, as
                                  \`xl migrate\` does: \`xl migrate-receive\` needs it,
                                  \`xl restore FILE\` takes the stream without it
                                  (sources with an xl header only)
      --json                    print the report (or table) as JSON
  -h, --help                    show this help

exit status: 0 done, 1 invalid source file, 2 usage or I/O error
`;

class UsageError extends Error {}

/** "125M", "1G", "1Gbit", "10Mbit", "125000000" -> bytes per second. */
export function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(k|M|G|T)?(bit|b|B)?(?:\/s)?$/.exec(text);
  if (match === null) throw new UsageError(`bad rate "${text}" (examples: 125000000, 125M, 1G, 1Gbit)`);
  const scale = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] as "k" | "M" | "G" | "T"] ?? 1;
  const bits = match[3] === "bit" || match[3] === "b";
  const value = Number(match[1]) * scale * (bits ? 1 / 8 : 1);
  if (!(value > 0)) throw new UsageError(`rate must be positive, got "${text}"`);
  return value;
}

function parseCount(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a non-negative integer, got "${text}"`);
  return Number(text);
}

function parseNumber(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new UsageError(`${name} must be a number, got "${text}"`);
  return value;
}

/** A save file or capture, read whole, xl's migrate trailer cut off. */
function readStream(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return withoutMigrateTrailer(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
}

function profileFile(path: string): CaptureProfile {
  const bytes = readStream(path);
  const decoder = new SaveFileDecoder();
  const profiler = new CaptureProfiler();
  const step = 4 * 1024 * 1024;
  for (let pos = 0; pos < bytes.length; pos += step) for (const event of decoder.push(bytes.subarray(pos, pos + step))) profiler.add(event);
  for (const event of decoder.end()) profiler.add(event);
  return profiler.result();
}

function parseDirty(text: string): DirtyModel {
  const [kind, ...rest] = text.split(":");
  if (kind === "idle" && rest.length === 0) return { kind: "idle" };
  if (kind === "uniform" && rest.length === 1) return { kind: "uniform", pagesPerSecond: parseNumber("uniform writes/s", rest[0] as string) };
  if (kind === "hot" && (rest.length === 2 || rest.length === 3)) {
    const model: DirtyModel = {
      kind: "hot",
      hotPages: parseCount("hot pages", rest[0] as string),
      hotPagesPerSecond: parseNumber("hot writes/s", rest[1] as string),
    };
    if (rest[2] !== undefined) model.coldPagesPerSecond = parseNumber("cold writes/s", rest[2]);
    return model;
  }
  if (kind === "replay" && rest.length >= 1) {
    // The path may contain ':'; a last part auto/repeat/empty is the mode.
    const last = rest[rest.length - 1];
    const mode = last === "auto" || last === "repeat" || last === "empty" ? last : undefined;
    const path = (mode === undefined ? rest : rest.slice(0, -1)).join(":");
    if (path === "") throw new UsageError("replay needs a capture file: replay:FILE");
    return { kind: "replay", capture: profileFile(path), ...(mode === undefined ? {} : { afterCapture: mode }) };
  }
  throw new UsageError(`bad dirty model "${text}" (idle, uniform:RATE, hot:PAGES:RATE[:COLD], replay:FILE[:MODE])`);
}

const WHAT_IF_NAMES = { "max-iterations": "maxIterations", "target-dirty-count": "targetDirtyCount", "max-factor": "maxFactor", bandwidth: "bandwidth" } as const;

function parseWhatIf(specs: string[]): WhatIfVariant[] {
  const values: { [K in keyof WhatIfVariant]?: number[] } = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const name = spec.slice(0, eq) as keyof typeof WHAT_IF_NAMES;
    const key = eq > 0 ? WHAT_IF_NAMES[name] : undefined;
    if (key === undefined) throw new UsageError(`bad --what-if "${spec}": expected NAME=V1,V2,... with NAME one of ${Object.keys(WHAT_IF_NAMES).join(", ")}`);
    const list = spec.slice(eq + 1).split(",").filter((v) => v !== "");
    if (list.length === 0) throw new UsageError(`--what-if ${name} needs at least one value`);
    values[key] = list.map((v) =>
      key === "bandwidth" ? parseRate(v) : key === "maxFactor" ? parseNumber(name, v) : parseCount(name, v),
    );
  }
  return whatIfGrid(values);
}

const group = (n: number): string => Math.round(n).toLocaleString("en-US");
const seconds = (s: number): string => (s < 1 ? `${(s * 1000).toFixed(3)} ms` : `${s.toFixed(3)} s`);
const rateText = (bytesPerSecond: number): string => `${group(bytesPerSecond)} B/s (${((bytesPerSecond * 8) / 1e9).toFixed(3)} Gbit/s)`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function describeGuest(guest: GuestImage, label: string): string {
  const deferred = guest.deferredPfns?.length ?? 0;
  return `${label} (${guestDomainType(guest)}): p2m ${group(guest.p2mSize)} pfns, ${group(guest.populatedPages)} pages with data, page size ${guest.pageSize}` +
    (deferred === 0 ? "" : `, ${group(deferred)} pfns deferred to the stop-and-copy pass`);
}

function reportText(report: SimulationReport, header: string): string {
  const rows = report.passes.map((p) => [String(p.index), p.phase, group(p.dirtyCount), group(p.pfns), group(p.pages), group(p.batches), group(p.bytes), seconds(p.seconds)]);
  const params = report.parameters;
  return (
    `${header}\n` +
    `policy: max-iterations ${params.maxIterations ?? "-"}, target-dirty-count ${params.targetDirtyCount ?? "-"}` +
    `${params.maxFactor === undefined ? "" : `, max-factor ${params.maxFactor}`}; bandwidth ${rateText(report.bandwidth)}\n\n` +
    table(["pass", "phase", "dirty", "pfns", "pages", "batches", "bytes", "time"], rows) +
    `\nlive phase ended: ${report.stopReason} after ${report.livePasses} live pass${report.livePasses === 1 ? "" : "es"}\n` +
    `stream: ${group(report.streamBytes)} bytes (memory ${group(report.memoryBytes)}), ${seconds(report.totalSeconds)}\n` +
    `predicted downtime: ${seconds(report.downtimeSeconds)} (${group(report.downtimeBytes)} bytes sent while suspended)\n`
  );
}

function whatIfText(rows: WhatIfRow[], header: string): string {
  const body = rows.map((r) => [
    String(r.maxIterations ?? "-"),
    String(r.targetDirtyCount ?? "-"),
    r.maxFactor === undefined ? "-" : String(r.maxFactor),
    `${((r.bandwidth * 8) / 1e9).toFixed(3)}`,
    String(r.passes),
    r.stopReason,
    group(r.memoryBytes),
    group(r.downtimePages),
    seconds(r.downtimeSeconds),
    seconds(r.totalSeconds),
  ]);
  return `${header}\n\n` + table(["max-iterations", "target-dirty", "max-factor", "Gbit/s", "passes", "stop", "memory-bytes", "downtime-pages", "downtime", "total"], body);
}

/** Writes the stream's chunks to a file descriptor or a stream; false when the reader has gone. */
async function writeStream(chunks: AsyncIterable<Uint8Array>, target: { fd: number } | { stream: NodeJS.WritableStream }): Promise<boolean> {
  // A closed pipe is reported through the write callback; without a listener the stream's 'error' event would be fatal.
  const ignore = (): void => undefined;
  if ("stream" in target) target.stream.on("error", ignore);
  try {
    return await writeChunks(chunks, target);
  } finally {
    if ("stream" in target) target.stream.off("error", ignore);
  }
}

/**
 * Writes each chunk before asking for the next. Chunks from `reuseBuffer`
 * (one reused buffer, and PAGE_DATA pages lent from the simulation's
 * reused page buffer) are only safe for an fd, done with the bytes when
 * writeSync returns. A stream's write callback does not say it is done
 * with them: a PassThrough (a test's stdout, a pipe into other code)
 * keeps the chunk itself queued for its reader. So a stream gets chunks
 * of their own (see stdoutTarget's callers).
 */
async function writeChunks(chunks: AsyncIterable<Uint8Array>, target: { fd: number } | { stream: NodeJS.WritableStream }): Promise<boolean> {
  for await (const chunk of chunks) {
    if ("fd" in target) {
      let rest = chunk;
      while (rest.length > 0) rest = rest.subarray(writeSync(target.fd, rest));
    } else {
      const ok = await new Promise<boolean>((resolve, reject) => {
        target.stream.write(chunk, (error) => {
          if (error === null || error === undefined) resolve(true);
          else if (isClosedOutput(error)) resolve(false);
          else reject(error);
        });
      });
      if (!ok) return false;
    }
  }
  return true;
}

function stdoutTarget(io: CliIO): { fd: number } | { stream: NodeJS.WritableStream } {
  if (io.stdout === process.stdout && io.stdoutFd !== undefined) {
    try {
      const stats = fstatSync(io.stdoutFd);
      if (stats.isFile() || stats.isCharacterDevice()) return { fd: io.stdoutFd };
    } catch {
      // fall back to the stream
    }
  }
  return { stream: io.stdout };
}

/** @internal */
export const simulateCommand: CliCommand = {
  summary: "simulate a live migration (Xen 4.17's live loop): passes, bytes, downtime, what-if tables, the stream",
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: false,
        strict: true,
        options: {
          source: { type: "string", short: "s" },
          memory: { type: "string", short: "m" },
          guest: { type: "string", short: "g", default: "hvm" },
          vcpus: { type: "string", default: "2" },
          "ballooned-pages": { type: "string" },
          "deferred-page-tables": { type: "string" },
          dirty: { type: "string", short: "d", default: "idle" },
          bandwidth: { type: "string", short: "b", default: "1Gbit" },
          "max-iterations": { type: "string" },
          "target-dirty-count": { type: "string" },
          "max-factor": { type: "string" },
          seed: { type: "string", default: "1" },
          "suspend-dirty-pages": { type: "string" },
          "what-if": { type: "string", short: "w", multiple: true },
          output: { type: "string", short: "o" },
          json: { type: "boolean", default: false },
          "migrate-trailer": { type: "boolean", default: false },
          help: { type: "boolean", short: "h", default: false },
        },
      });
    } catch (error) {
      io.stderr.write(`xen-stream simulate: ${errorText(error)}\n${USAGE}`);
      return EXIT_USAGE;
    }
    const { values } = parsed;
    if (values.help) {
      io.stdout.write(USAGE);
      return EXIT_OK;
    }
    const fail = (message: string): number => {
      io.stderr.write(`xen-stream simulate: ${message}\n`);
      return EXIT_USAGE;
    };
    let guest: GuestImage;
    let label: string;
    let dirty: DirtyModel;
    let policy: PolicyParameters;
    let bandwidth: number;
    let seed: number;
    let variants: WhatIfVariant[] | undefined;
    let suspendDirtyPages: number | undefined;
    try {
      if (values.source !== undefined && values.memory !== undefined) throw new UsageError("give --source or --memory, not both");
      const guestType = values.guest;
      if (guestType !== "hvm" && guestType !== "pvh" && guestType !== "pv") throw new UsageError(`--guest must be hvm, pvh or pv, got "${guestType}"`);
      seed = parseCount("--seed", values.seed);
      policy = {};
      if (values["max-iterations"] !== undefined) policy.maxIterations = parseCount("--max-iterations", values["max-iterations"]);
      if (values["target-dirty-count"] !== undefined) policy.targetDirtyCount = parseCount("--target-dirty-count", values["target-dirty-count"]);
      if (values["max-factor"] !== undefined) policy.maxFactor = parseNumber("--max-factor", values["max-factor"]);
      bandwidth = parseRate(values.bandwidth);
      if (values["suspend-dirty-pages"] !== undefined) suspendDirtyPages = parseCount("--suspend-dirty-pages", values["suspend-dirty-pages"]);
      variants = values["what-if"] === undefined ? undefined : parseWhatIf(values["what-if"]);
      if (variants !== undefined && values.output !== undefined) throw new UsageError("--what-if writes a table, not a stream: drop --output");
      if (values["migrate-trailer"] && values.output === undefined) throw new UsageError("--migrate-trailer goes after the stream: give --output");
      if (values.output === "-" && io.stdout === process.stdout && process.stdout.isTTY) {
        throw new UsageError("refusing to write a binary stream to a terminal: use -o FILE or a pipe");
      }
      dirty = parseDirty(values.dirty);
      if (values.source !== undefined && (values["ballooned-pages"] !== undefined || values["deferred-page-tables"] !== undefined)) {
        throw new UsageError("--ballooned-pages and --deferred-page-tables shape a synthetic guest: drop --source");
      }
      if (values.source !== undefined) {
        guest = guestFromSaveFile(readStream(values.source));
        label = `source ${values.source}`;
      } else {
        const memoryMiB = values.memory === undefined ? 1024 : parseCount("--memory", values.memory);
        const pv: { balloonedPages?: number; deferredPageTables?: number } = {};
        if (values["ballooned-pages"] !== undefined) pv.balloonedPages = parseCount("--ballooned-pages", values["ballooned-pages"]);
        if (values["deferred-page-tables"] !== undefined) pv.deferredPageTables = parseCount("--deferred-page-tables", values["deferred-page-tables"]);
        guest = syntheticGuest({ memoryMiB, guest: guestType, vcpus: parseCount("--vcpus", values.vcpus), seed, ...pv });
        label = `synthetic ${guestType} guest of ${memoryMiB} MiB`;
      }
    } catch (error) {
      if (error instanceof UsageError || (isXenStreamError(error) && error.code === "USAGE")) return fail(`${error.message}\n${USAGE}`);
      if (isXenStreamError(error)) {
        io.stderr.write(`xen-stream simulate: invalid source: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      return fail(errorText(error));
    }
    const header = describeGuest(guest, label);
    const base = { guest, dirty, policy, bandwidth, seed, ...(suspendDirtyPages === undefined ? {} : { suspendDirtyPages }) };
    try {
      if (variants !== undefined) {
        const rows = whatIf(base, variants);
        writeOut(io, values.json ? `${JSON.stringify({ guest: { domainType: guestDomainType(guest), p2mSize: guest.p2mSize, populatedPages: guest.populatedPages, pageSize: guest.pageSize }, rows }, null, 2)}\n` : whatIfText(rows, header));
        return EXIT_OK;
      }
      const run = simulateMigration({ ...base, reusePageBuffers: true, migrateTrailer: values["migrate-trailer"] });
      const text = values.json ? `${JSON.stringify(run.report, null, 2)}\n` : reportText(run.report, header);
      if (values.output === undefined) {
        writeOut(io, text);
        return EXIT_OK;
      }
      if (values.output === "-") {
        const target = stdoutTarget(io);
        // The reader gone (`| head`): stop quietly, as the other commands do.
        if (await writeStream(run.chunks({ reuseBuffer: "fd" in target }), target)) io.stderr.write(text);
        return EXIT_OK;
      }
      const fd = openSync(values.output, "w");
      try {
        await writeStream(run.chunks({ reuseBuffer: true }), { fd });
      } finally {
        closeSync(fd);
      }
      writeOut(io, text);
      return EXIT_OK;
    } catch (error) {
      if (isXenStreamError(error) && error.code === "USAGE") return fail(error.message);
      if (isClosedOutput(error)) return EXIT_OK; // the reader has gone: stop quietly
      return fail(errorText(error));
    }
  },
};
