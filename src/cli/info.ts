/**
 * `xen-stream info [FILE|-] [--json]`: one screen about a save file or
 * stream: layers and versions, guest type and width, vCPUs, memory, the
 * saver's Xen, the domain's name and key config items, the CPU, passes
 * and checkpoints, and the verdict. One pass: the verifier and the info
 * collector see the same events.
 *
 * @module
 * @internal
 */
import { InfoCollector } from "../inspect/info.js";
import type { InfoExtras, XenopsRecordInfo } from "../inspect/info.js";
import type { ContainerSummary } from "../verify/container.js";
import { StreamVerifier } from "../verify/verifier.js";
import type { VerifyReport, VerifySummary } from "../verify/types.js";
import { describeTrailer } from "../xl/migration.js";
import type { StreamTrailer } from "../xl/migration.js";
import { parseCommand } from "./args.js";
import { feedVerifier, inputName, inputSource, isNoXenStream, NO_XEN_STREAM, TrailerCollector, withTrailer, inputSize } from "./input.js";
import { startProgress } from "./progress.js";
import { type CliCommand, type CliIO, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream info [FILE|-] [options]

One screen about a save file or stream: layers and versions, the
container's own fields (libvirt header; xenopsd chunks and Xenops record), guest, vCPUs,
memory, the saver's Xen version, the domain's name and config, the CPU,
memory passes and checkpoints, and the verdict. Reads standard input when
FILE is - or absent.

options:
  -p, --profile spec|restore   rule set of the verdict (default: spec)
      --json                   print everything as JSON
  -h, --help                   show this help

exit status: 0 valid, 1 invalid stream, 2 usage or I/O error
`;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 === 0 ? 0 : 1)} MiB`;
}

/** The container's layer in the `layers` row. */
function containerLayer(container: ContainerSummary): string {
  if (container.libvirt !== undefined) {
    const { version, byteOrder, xmlLength } = container.libvirt;
    return `libvirt header v${version} (${byteOrder}-endian, XML ${xmlLength} bytes)`;
  }
  const xenopsd = container.xenopsd;
  if (xenopsd === undefined) return container.kind;
  if (xenopsd.layout === "legacy") return 'xenopsd image (legacy layout, "XenSavedDomain\\n")';
  return `xenopsd image (${xenopsd.chunks.length} chunk${xenopsd.chunks.length === 1 ? "" : "s"})`;
}

/** The container's own rows: libvirt's header fields; xenopsd's chunks and Xenops record. */
function containerRows(container: ContainerSummary, record: XenopsRecordInfo | undefined, row: (label: string, text: string) => void): void {
  const legacy = container.legacyBytes === undefined ? "" : `; a legacy (Xen <= 4.5) stream of ${container.legacyBytes} bytes, converted to v2 to verify`;
  if (container.libvirt !== undefined) {
    const { version, xmlLength, domainName, stream } = container.libvirt;
    const follows = stream === "libxl" ? "a libxl v2 stream follows" : "a legacy stream follows";
    row("libvirt", `version ${version} (${follows}), xmlLen ${xmlLength}${domainName === undefined ? ", no <name> in the XML" : `, domain "${domainName}"`}${legacy}`);
    return;
  }
  const xenopsd = container.xenopsd;
  if (xenopsd === undefined) return;
  if (xenopsd.layout === "legacy") {
    const qemu = xenopsd.legacyQemuLength === undefined ? "no QEMU record" : `QEMU record ${xenopsd.legacyQemuLength} bytes`;
    row("xenopsd", `legacy layout: signature, legacy libxc stream, ${qemu}${legacy}`);
    return;
  }
  const chunks = xenopsd.chunks.map((chunk) => `${chunk.type} ${chunk.length} @${chunk.offset}`).join(", ");
  row("chunks", `${chunks === "" ? "none" : chunks} (type, length field, offset)${legacy}`);
  if (record !== undefined) {
    const parts = [`time ${record.time}`, `word_size ${record.wordSize}`];
    const vm = record.vmStr;
    if (vm === undefined) parts.push("no vm_str");
    else {
      const named = [vm.name === undefined ? undefined : `name "${vm.name}"`, vm.id === undefined ? undefined : `id ${vm.id}`].filter((part) => part !== undefined);
      parts.push(`vm_str ${vm.length} chars${named.length === 0 ? "" : ` (${named.join(", ")})`}: ${JSON.stringify(vm.preview)}`);
    }
    if (record.xsSubtreeEntries !== undefined) parts.push(`xs_subtree ${record.xsSubtreeEntries} entr${record.xsSubtreeEntries === 1 ? "y" : "ies"}`);
    if (record.extraFields !== undefined) parts.push(`extra fields ${record.extraFields.join(", ")}`);
    row("xenops", parts.join(", "));
  } else if (!xenopsd.chunks.some((chunk) => chunk.type === "Xenops")) row("xenops", "no Xenops record");
  else row("xenops", "the Xenops record does not parse (see the findings)");
}

function layers(summary: VerifySummary): string {
  const parts: string[] = [];
  if (summary.container !== undefined) parts.push(containerLayer(summary.container));
  if (summary.container?.legacyBytes !== undefined) parts.push("legacy (Xen <= 4.5) stream");
  if (summary.xl !== undefined) {
    const { mandatoryFlags, configLength, byteOrder } = summary.xl;
    const flags = [mandatoryFlags & 1 ? "JSON config" : undefined, mandatoryFlags & 2 ? "STREAMv2" : undefined].filter(Boolean).join(", ");
    parts.push(`xl header (${byteOrder}-endian, flags 0x${mandatoryFlags.toString(16)}${flags === "" ? "" : `: ${flags}`}, config ${configLength} bytes)`);
  }
  if (summary.libxl !== undefined) parts.push(`libxl v${summary.libxl.version}${summary.libxl.bigEndian ? " (big-endian)" : ""}${summary.libxl.legacy ? " (LEGACY)" : ""}`);
  if (summary.libxc !== undefined) parts.push(`libxc v${summary.libxc.version}${summary.libxc.bigEndian ? " (big-endian)" : ""}`);
  return parts.join(" > ") || (summary.format ?? "unknown");
}

/** The lines of the info screen. */
function render(name: string, report: VerifyReport, extras: InfoExtras, trailer: StreamTrailer | undefined): string {
  const { summary } = report;
  const errors = report.findings.filter((finding) => finding.severity === "error");
  const warnings = report.findings.filter((finding) => finding.severity === "warning").length;
  const lines: string[] = [];
  const row = (label: string, text: string): void => void lines.push(`  ${`${label}:`.padEnd(10)} ${text}`);
  lines.push(`${name}: ${report.ok ? "valid" : "INVALID"}, ${errors.length} error${errors.length === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
  row("layers", isNoXenStream(report) ? `none: ${NO_XEN_STREAM}` : layers(summary));
  if (summary.container !== undefined) containerRows(summary.container, extras.xenopsRecord, row);
  if (summary.libxc !== undefined) {
    const { xenMajor, xenMinor, legacyConverted, domainType, pageShift } = summary.libxc;
    row("saved by", legacyConverted ? `a legacy (Xen <= 4.5) stream, converted by convert-legacy-stream v${xenMinor}` : `Xen ${xenMajor}.${xenMinor}`);
    const width = summary.pvInfo === undefined ? "" : `, ${summary.pvInfo.guestWidth * 8}-bit, ${summary.pvInfo.ptLevels}-level page tables`;
    const configured = extras.config?.type === undefined ? "" : ` (config: ${extras.config.type})`;
    row("guest", `${domainType}${configured}${width}, ${2 ** pageShift}-byte pages, ${summary.vcpus} vCPU${summary.vcpus === 1 ? "" : "s"} saved`);
  }
  const config = extras.config;
  if (config !== undefined) {
    const items = [
      config.name ?? "(no name)",
      config.uuid === undefined ? undefined : `uuid ${config.uuid}`,
      config.maxVcpus === undefined ? undefined : `${config.maxVcpus} vCPUs`,
      config.maxMemkb === undefined ? undefined : `memory ${mib(config.maxMemkb * 1024)}${config.targetMemkb !== undefined && config.targetMemkb !== config.maxMemkb ? ` (target ${mib(config.targetMemkb * 1024)})` : ""}`,
      config.disks === undefined ? undefined : `${config.disks} disk${config.disks === 1 ? "" : "s"}`,
      config.nics === undefined ? undefined : `${config.nics} nic${config.nics === 1 ? "" : "s"}`,
      config.deviceModelVersion === undefined ? undefined : `device model ${config.deviceModelVersion}`,
    ].filter((item): item is string => item !== undefined);
    row("domain", items.join(", "));
  } else if (extras.configProblem !== undefined) row("domain", `config unreadable: ${extras.configProblem}`);
  else if (summary.container?.libvirt?.domainName !== undefined) row("domain", `${summary.container.libvirt.domainName} (from the libvirt XML)`);
  else if (extras.xenopsRecord?.vmStr?.name !== undefined) row("domain", `${extras.xenopsRecord.vmStr.name} (from the Xenops record's vm_str)`);
  const { memory } = extras;
  if (memory.pages > 0) {
    const pageBytes = summary.libxc === undefined ? 4096 : 2 ** summary.libxc.pageShift;
    const range = `pfns 0x${(memory.lowestPfn ?? 0).toString(16)}..0x${(memory.highestPfn ?? 0).toString(16)}`;
    row("memory", `${memory.pages} pages (${mib(memory.pages * pageBytes)}) in ${memory.runs} run${memory.runs === 1 ? "" : "s"}, ${range}; ${summary.pages.withData} page copies sent`);
  }
  if (extras.cpu !== undefined) {
    const cpu = extras.cpu;
    row("cpu", `${cpu.vendor.name} family 0x${cpu.family.toString(16)} model 0x${cpu.model.toString(16)} stepping ${cpu.stepping}, ${cpu.features.length} features`);
  } else if (extras.cpuProblem !== undefined) row("cpu", `policy unreadable: ${extras.cpuProblem}`);
  row("passes", `${summary.passes} memory pass${summary.passes === 1 ? "" : "es"}, ${summary.checkpoints} checkpoint${summary.checkpoints === 1 ? "" : "s"}`);
  if (trailer !== undefined) row("after", describeTrailer(trailer));
  const first = errors[0];
  if (first !== undefined) row("fault", `${first.code} at offset ${first.offset}: ${first.message}`);
  return `${lines.join("\n")}\n`;
}

/** @internal */
export const infoCommand: CliCommand = {
  summary: "one screen about a save file: layers, guest, vCPUs, memory, config, CPU, passes, verdict",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand("info", USAGE, { profile: { type: "string", short: "p", default: "spec" }, json: { type: "boolean", default: false } }, args, io);
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    const profile = values.profile as string;
    if (profile !== "spec" && profile !== "restore") return fail(`--profile must be spec or restore, got "${profile}"`);
    const file = positionals[0];
    const collector = new InfoCollector();
    const verifier = new StreamVerifier({ profile, onEvent: (event) => collector.add(event) });
    const trailer = new TrailerCollector();
    try {
      await feedVerifier(await inputSource(file, io), verifier, trailer, startProgress(io, `info ${inputName(file)}`, inputSize(file)));
    } catch (error) {
      io.stderr.write(`xen-stream info: cannot read ${inputName(file)}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    const found = trailer.finish();
    const { report } = withTrailer(verifier.end(), found);
    const extras = collector.finish();
    if (values.json === true) {
      const { cpu, xenopsRecord, ...rest } = extras;
      const json = {
        ok: report.ok,
        summary: report.summary,
        // The container's own fields (the verifier's summary, with the Xenops record's vm_str summarised).
        container: report.summary.container === undefined ? undefined : { ...report.summary.container, ...(xenopsRecord === undefined ? {} : { xenopsRecord }) },
        ...rest,
        cpu: cpu === undefined ? undefined : { vendor: cpu.vendor, family: cpu.family, model: cpu.model, stepping: cpu.stepping, features: cpu.features },
        trailer: found,
        findings: report.findings,
      };
      writeOut(io, `${JSON.stringify(json, null, 2)}\n`);
    } else {
      writeOut(io, render(inputName(file), report, extras, found));
    }
    return report.ok ? EXIT_OK : EXIT_INVALID;
  },
};
