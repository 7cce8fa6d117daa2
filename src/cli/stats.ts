/**
 * `xen-stream stats [FILE|-] [--json]`: pages by type, pfn ranges and
 * holes, memory passes with pages sent and re-sent, batch sizes, bytes by
 * record type.
 *
 * @module
 * @internal
 */
import { isXenStreamError } from "../errors.js";
import { StatsCollector } from "../inspect/stats.js";
import type { StreamStats } from "../inspect/stats.js";
import { describeTrailer } from "../xl/migration.js";
import { parseCommand } from "./args.js";
import { decodeInput, inputName, inputSource, inputSize } from "./input.js";
import { startProgress } from "./progress.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream stats [FILE|-] [options]

Statistics of a save file or stream: pages by type, pfn ranges and holes,
memory passes (pages sent and re-sent per pass), batch sizes, bytes by
record type. Reads standard input when FILE is - or absent.

options:
      --json       print the statistics as JSON
  -h, --help       show this help

exit status: 0 done, 1 invalid stream, 2 usage or I/O error
`;

function hex(value: number | undefined): string {
  return value === undefined ? "-" : `0x${value.toString(16)}`;
}

function render(stats: StreamStats): string {
  const lines: string[] = [];
  const { pages } = stats;
  lines.push(`pages: ${pages.entries} entries, ${pages.withData} with data, ${pages.distinct} distinct pfns ${hex(pages.minPfn)}..${hex(pages.maxPfn)}`);
  lines.push(`  by type: ${Object.entries(pages.byType).map(([name, count]) => `${name} ${count}`).join(", ") || "none"}`);
  const largest = pages.holes.largest;
  lines.push(
    `  ${pages.runs} populated run${pages.runs === 1 ? "" : "s"}, ${pages.holes.count} hole${pages.holes.count === 1 ? "" : "s"} of ${pages.holes.pfns} pfns` +
      (largest === undefined ? "" : ` (largest: ${largest.count} pfns at ${hex(largest.pfn)})`),
  );
  lines.push(`memory passes: ${stats.passes.length}`);
  for (const pass of stats.passes) {
    lines.push(
      `  pass ${pass.index}: ${pass.batches} batches, ${pass.pages} pages (${pass.resent} re-sent), ${pass.xtab} XTAB, ${pass.bytes} bytes, from offset ${pass.offset}`,
    );
  }
  const sizes = Object.entries(stats.batchSizes).sort((x, y) => Number(x[0]) - Number(y[0]));
  lines.push(`batch sizes: ${sizes.map(([size, count]) => `${size}x${count}`).join(" ") || "none"}`);
  for (const layer of ["libxc", "libxl"] as const) {
    const records = Object.entries(stats.records[layer]);
    if (records.length === 0) continue;
    lines.push(`${layer} records:`);
    for (const [name, { count, bytes }] of records) lines.push(`  ${name.padEnd(28)} ${String(count).padStart(8)}  ${bytes} bytes`);
  }
  if (stats.checkpoints > 0) lines.push(`checkpoints: ${stats.checkpoints}`);
  return `${lines.join("\n")}\n`;
}

/** @internal */
export const statsCommand: CliCommand = {
  summary: "statistics: pages by type, pfn ranges and holes, memory passes, batch sizes, bytes by record type",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand("stats", USAGE, { json: { type: "boolean", default: false } }, args, io);
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    const file = positionals[0];
    const collector = new StatsCollector();
    let input;
    try {
      input = await decodeInput(await inputSource(file, io), (event) => collector.add(event), {}, startProgress(io, `stats ${inputName(file)}`, inputSize(file)));
    } catch (error) {
      if (isXenStreamError(error)) {
        io.stderr.write(`xen-stream stats: ${inputName(file)}: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      io.stderr.write(`xen-stream stats: cannot read ${inputName(file)}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    const stats = { bytes: input.bytes, ...collector.finish(), trailer: input.trailer };
    writeOut(io, values.json === true ? `${JSON.stringify(stats, null, 2)}\n` : render(stats) + (input.trailer === undefined ? "" : `${describeTrailer(input.trailer)}\n`));
    return EXIT_OK;
  },
};
