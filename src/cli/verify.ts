/**
 * `xen-stream verify [FILE|-] [--format auto|libxc|libxl|xl]
 * [--profile spec|restore] [--verbose] [--json]`: verify a save file or
 * stream. Reads stdin when FILE is `-` or absent, so it can sit at the end
 * of a migration pipe. Exit 0 valid, 1 invalid stream, 2 usage or I/O error.
 *
 * @module
 * @internal
 */
import { StreamVerifier } from "../verify/verifier.js";
import type { Finding, Profile, VerifyReport, VerifySummary } from "../verify/types.js";
import type { FormatOption, SaveFileEvent } from "../savefile.js";
import { feedVerifier, inputName, inputSource, isNoXenStream, NO_XEN_STREAM, TrailerCollector, withTrailer, inputSize } from "./input.js";
import { startProgress } from "./progress.js";
import { parseCommand } from "./args.js";
import { type CliCommand, type CliIO, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream verify [FILE|-] [options]

Verify an xl save file, a libxl stream or a libxc stream (Xen migration v2).
Reads standard input when FILE is - or absent.

options:
  -f, --format auto|libxc|libxl|xl   stream format (default: auto)
  -p, --profile spec|restore         rule set (default: spec)
                                       spec:    Xen's verify-stream-v2 checks + the spec's rules
                                       restore: also what Xen's restore code enforces
  -v, --verbose                      list the stream (like verify-stream-v2 -v), info findings, totals
      --json                         print the report as JSON
  -h, --help                         show this help

exit status: 0 valid, 1 invalid stream, 2 usage or I/O error
`;

const FORMATS: readonly string[] = ["auto", "libxc", "libxl", "xl"];
const PROFILES: readonly string[] = ["spec", "restore"];

function formatFinding(finding: Finding): string {
  const where = [`offset ${finding.offset}`];
  if (finding.layer !== undefined) where.push(finding.recordIndex === undefined ? finding.layer : `${finding.layer} record ${finding.recordIndex}`);
  return `${finding.severity} ${finding.code} (${where.join(", ")}): ${finding.message}`;
}

function describe(report: VerifyReport): string {
  if (isNoXenStream(report)) return `(${NO_XEN_STREAM})`;
  const { summary } = report;
  const parts: string[] = [];
  const outer = summary.format === "xl" ? "xl save file" : summary.format === undefined ? "stream" : `${summary.format} stream`;
  parts.push(outer);
  if (summary.libxc !== undefined) {
    const { domainType, version, xenMajor, xenMinor, legacyConverted } = summary.libxc;
    const from = legacyConverted ? "converted from legacy" : `Xen ${xenMajor}.${xenMinor}`;
    parts.push(`(${domainType}, libxc v${version}, ${from})`);
  }
  return parts.join(" ");
}

function totals(summary: VerifySummary): string[] {
  const lines = ["Totals:", `  bytes: ${summary.bytes}`];
  for (const layer of ["libxc", "libxl"] as const) {
    const records = Object.entries(summary.records[layer]);
    if (records.length === 0) continue;
    lines.push(`  ${layer} records:`);
    for (const [name, { count, bytes }] of records) lines.push(`    ${name.padEnd(28)} ${String(count).padStart(8)}  ${bytes} bytes`);
  }
  const { pages } = summary;
  if (pages.entries > 0) {
    lines.push(`  pages: ${pages.entries} entries, ${pages.withData} with data`);
    lines.push(`    by type: ${Object.entries(pages.byType).map(([name, count]) => `${name} ${count}`).join(", ")}`);
    const distinct = pages.distinctPfns === undefined ? "" : `, ${pages.distinctPfns} distinct`;
    lines.push(`    pfns: 0x${(pages.minPfn ?? 0).toString(16)}..0x${(pages.maxPfn ?? 0).toString(16)}${distinct}`);
  }
  if (summary.pvInfo !== undefined) lines.push(`  guest: ${summary.pvInfo.guestWidth * 8}-bit PV, ${summary.pvInfo.ptLevels} page-table levels`);
  lines.push(`  vcpus: ${summary.vcpus}`);
  lines.push(`  iterations (PAGE_DATA runs): ${summary.iterations}, memory passes: ${summary.passes}, checkpoints: ${summary.checkpoints}`);
  return lines;
}

function countBySeverity(findings: readonly Finding[]): Record<"error" | "warning" | "info", number> {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  return counts;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** @internal */
export const verifyCommand: CliCommand = {
  summary: "verify a save file or stream (verify-stream-v2 checks, spec rules, restore rules)",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand(
      "verify",
      USAGE,
      {
            format: { type: "string", short: "f", default: "auto" },
            profile: { type: "string", short: "p", default: "spec" },
            verbose: { type: "boolean", short: "v", default: false },
            json: { type: "boolean", default: false },
      },
      args,
      io,
    );
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    if (!FORMATS.includes(values.format)) return fail(`--format must be one of ${FORMATS.join(", ")}, got "${values.format}"`);
    if (!PROFILES.includes(values.profile)) return fail(`--profile must be one of ${PROFILES.join(", ")}, got "${values.profile}"`);
    const file = positionals[0];
    const name = inputName(file);
    const verbose = values.verbose;
    const json = values.json;

    // Verbose text: a line about each record's insides after its listing
    // lines (decoded here only; the plain path never decodes insides).
    // (Imported only then: start-up is most of a short run.)
    const summarizer = json || !verbose ? undefined : new (await import("../inspect/dump-summary.js")).ContentsSummarizer();
    const verifier = new StreamVerifier({
      format: values.format as FormatOption,
      profile: values.profile as Profile,
      listing: json && verbose,
      ...(summarizer === undefined
        ? {}
        : {
            onListing: (line: string) => writeOut(io, `${line}\n`),
            onEvent: (event: SaveFileEvent) => {
              const line = summarizer.add(event);
              if (line !== undefined) writeOut(io, `${line}\n`);
            },
          }),
      ...(json
        ? {}
        : {
            onFinding: (finding: Finding) => {
              if (verbose || finding.severity !== "info") writeOut(io, `${formatFinding(finding)}\n`);
            },
          }),
    });
    const trailer = new TrailerCollector();
    try {
      await feedVerifier(await inputSource(file, io), verifier, trailer, startProgress(io, `verify ${name}`, inputSize(file)));
    } catch (error) {
      const message = errorText(error);
      io.stderr.write(`xen-stream verify: cannot read ${name}: ${message}\n`);
      return EXIT_USAGE;
    }
    const { report, added } = withTrailer(verifier.end(), trailer.finish());
    if (added !== undefined && !json && (verbose || added.severity !== "info")) writeOut(io, `${formatFinding(added)}\n`);
    if (json) {
      writeOut(io, `${JSON.stringify(report, null, 2)}\n`);
    } else {
      // Findings made at end() (truncation, presence checks) were already
      // printed through onFinding; only the limit note is not.
      const last = report.findings[report.findings.length - 1];
      if (last?.code === "TOO_MANY_FINDINGS") writeOut(io, `${formatFinding(last)}\n`);
      if (verbose) writeOut(io, `${totals(report.summary).join("\n")}\n`);
      const counts = countBySeverity(report.findings);
      const verdict = report.ok ? "valid" : "INVALID";
      writeOut(
        io,
        `${name}: ${verdict} ${describe(report)}: ${plural(counts.error, "error")}, ${plural(counts.warning, "warning")}` +
          `${verbose ? `, ${counts.info} info` : ""}\n`,
      );
    }
    return report.ok ? EXIT_OK : EXIT_INVALID;
  },
};
