/**
 * What `xen-stream info` shows beyond the verifier's summary: the domain's
 * config items (xl's JSON config: libxl_domain_config as libxl writes it,
 * tools/libs/light/libxl_types.idl) and the CPU from the policy records.
 * A fold over the events, run beside the verifier in the same pass.
 *
 * @module
 */
import { decodeCpuPolicy } from "../libxc/contents/cpu-policy.js";
import type { CpuPolicy } from "../libxc/contents/cpu-policy.js";
import type { LibxcRecordEvent } from "../libxc/decoder.js";
import type { CpuidLeaf, MsrEntry } from "../libxc/types.js";
import { pageTypeHasData } from "../libxc/constants.js";
import { PageIndex } from "../memory/page-index.js";
import type { XenopsdChunkEvent, XlHeaderEvent } from "../savefile.js";
import { textOf } from "../savefile-config.js";
import { parseSexp, type Sexp } from "../sexp.js";
import type { XenopsRecord } from "../xenopsd/record.js";
import { pfnEntries } from "../verify/entries.js";

/** The config items `info` shows, when the config has them. */
export interface DomainConfigItems {
  /** c_info.name */
  name?: string;
  /** c_info.type: "pv", "hvm" or "pvh". */
  type?: string;
  /** c_info.uuid */
  uuid?: string;
  /** b_info.max_vcpus */
  maxVcpus?: number;
  /** b_info.max_memkb */
  maxMemkb?: number;
  /** b_info.target_memkb */
  targetMemkb?: number;
  /** b_info.device_model_version */
  deviceModelVersion?: string;
  /** Number of disks, nics (d_config.disks, .nics). */
  disks?: number;
  nics?: number;
}

/**
 * The Xenops record of a xenopsd image, for `info` (xen-api
 * ocaml/xenopsd/lib/suspend_image.ml `Xenops_record.t`).
 */
export interface XenopsRecordInfo {
  /** `time`, as written. */
  time: string;
  /** `word_size`. */
  wordSize: number;
  /** `vm_str`, summarised: its length, its start, and an id and name when it has top-level fields by those names. */
  vmStr?: { length: number; preview: string; id?: string; name?: string };
  /** Entries of `xs_subtree` (xenopsd writes none, CA-248130). */
  xsSubtreeEntries?: number;
  /** Names of fields the record type does not have (xenopsd's reader refuses them). */
  extraFields?: string[];
}

/** Characters of `vm_str` shown in the summary. */
const VM_STR_PREVIEW = 60;

/** A top-level field of an s-expression record `((name value) ...)` or a JSON object, when it is text. */
function fieldOf(parsed: { sexp?: Sexp; json?: unknown }, name: string): string | undefined {
  if (parsed.sexp !== undefined && typeof parsed.sexp !== "string") {
    for (const field of parsed.sexp) if (Array.isArray(field) && field.length === 2 && field[0] === name && typeof field[1] === "string") return field[1];
  }
  if (typeof parsed.json === "object" && parsed.json !== null) {
    const value = (parsed.json as Record<string, unknown>)[name];
    if (typeof value === "string") return value;
  }
  return undefined;
}

/**
 * The summary of a Xenops record: its fields, `vm_str` shortened (xenopsd
 * stores there the VM's metadata as its caller serialised it; an `id` and
 * a `name` are picked out when it is an s-expression record or a JSON
 * object with such fields).
 *
 * @param record - a decoded Xenops record
 * @returns the summary
 */
export function xenopsRecordInfo(record: XenopsRecord): XenopsRecordInfo {
  const info: XenopsRecordInfo = { time: record.time, wordSize: record.wordSize };
  const vm = record.vmStr;
  if (vm !== undefined) {
    const parsed: { sexp?: Sexp; json?: unknown } = {};
    try {
      if (vm.trimStart().startsWith("{")) parsed.json = JSON.parse(vm) as unknown;
      else parsed.sexp = parseSexp(vm);
    } catch {
      // Neither form: only its length and start are shown.
    }
    const id = fieldOf(parsed, "id");
    const name = fieldOf(parsed, "name");
    const preview = vm.length <= VM_STR_PREVIEW ? vm : `${vm.slice(0, VM_STR_PREVIEW)}...`;
    info.vmStr = { length: vm.length, preview, ...(id === undefined ? {} : { id }), ...(name === undefined ? {} : { name }) };
  }
  if (record.xsSubtree !== undefined) info.xsSubtreeEntries = record.xsSubtree.length;
  if (record.extraFields !== undefined) info.extraFields = record.extraFields.map(([name]) => name);
  return info;
}

/** What {@link InfoCollector} found. */
export interface InfoExtras {
  /** The first Xenops record of a xenopsd image, when it parsed. */
  xenopsRecord: XenopsRecordInfo | undefined;
  /** The config's key items, when there is a readable xl JSON config. */
  config: DomainConfigItems | undefined;
  /** Why the config could not be read, when there is one but it is not JSON. */
  configProblem: string | undefined;
  /** The CPU policy, decoded, when the stream carries X86_CPUID_POLICY. */
  cpu: CpuPolicy | undefined;
  /** Why the policy could not be decoded. */
  cpuProblem: string | undefined;
  /** Guest memory: distinct pages sent with data (the last copy counts), their runs and pfn bounds. */
  memory: { pages: number; runs: number; lowestPfn: number | undefined; highestPfn: number | undefined };
}

function pick<T>(value: unknown, kind: "string" | "number"): T | undefined {
  return typeof value === kind ? (value as T) : undefined;
}

/**
 * The key items of an xl JSON config (`xl create`'s d_config as JSON: the
 * xl save-file header's optional data, mandatory flag 0x1).
 *
 * @param text - the config text (NUL removed)
 * @returns the items, or the reason the text is not such a config
 */
export function domainConfigItems(text: string): { items: DomainConfigItems } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof json !== "object" || json === null) return { problem: "not a JSON object" };
  const config = json as { c_info?: Record<string, unknown>; b_info?: Record<string, unknown>; disks?: unknown; nics?: unknown };
  const c = config.c_info ?? {};
  const b = config.b_info ?? {};
  const items: DomainConfigItems = {};
  const set = <K extends keyof DomainConfigItems>(key: K, value: DomainConfigItems[K] | undefined): void => {
    if (value !== undefined) items[key] = value;
  };
  set("name", pick<string>(c.name, "string"));
  set("type", pick<string>(c.type, "string"));
  set("uuid", pick<string>(c.uuid, "string"));
  set("maxVcpus", pick<number>(b.max_vcpus, "number"));
  set("maxMemkb", pick<number>(b.max_memkb, "number"));
  set("targetMemkb", pick<number>(b.target_memkb, "number"));
  set("deviceModelVersion", pick<string>(b.device_model_version, "string"));
  if (Array.isArray(config.disks)) items.disks = config.disks.length;
  if (Array.isArray(config.nics)) items.nics = config.nics.length;
  return { items };
}

/** Collects the config and the CPU policy from a stream's events. */
export class InfoCollector {
  private configText: string | undefined;
  private cpuid: CpuidLeaf[] | undefined;
  private msrs: MsrEntry[] = [];
  private readonly pages = new PageIndex();
  private xenopsRecord: XenopsRecord | undefined;

  /**
   * Takes the next event.
   *
   * @param event - a decoder event, in stream order
   */
  add(event: { layer: string; kind: string }): void {
    if (event.layer === "xl" && event.kind === "header") {
      const config = (event as XlHeaderEvent).header.config;
      if (config !== undefined) this.configText = textOf(config);
      return;
    }
    if (event.layer === "xenopsd" && event.kind === "chunk") {
      const { record } = event as XenopsdChunkEvent;
      if (record !== undefined && this.xenopsRecord === undefined) this.xenopsRecord = record;
      return;
    }
    if (event.layer !== "libxc" || event.kind !== "record") return;
    const { record } = event as LibxcRecordEvent;
    if (record.type === "PAGE_DATA") {
      // Read in place: the verifier's records are shallow, and their
      // `entries` would build an object per pfn.
      const entries = pfnEntries(record);
      for (let i = 0; i < entries.count; i++) {
        if (pageTypeHasData(entries.type(i))) this.pages.set(entries.pfn(i), 0);
      }
    } else if (record.type === "X86_CPUID_POLICY") this.cpuid = record.entries.map((leaf) => ({ ...leaf }));
    else if (record.type === "X86_MSR_POLICY") this.msrs = record.entries.map((entry) => ({ ...entry }));
  }

  /**
   * What was found.
   *
   * @returns the facts of the events added
   */
  finish(): InfoExtras {
    let runs = 0;
    for (const _run of this.pages.runs()) runs++;
    const bounds = this.pages.bounds();
    const memory = { pages: this.pages.size, runs, lowestPfn: bounds?.lowest, highestPfn: bounds?.highest };
    const out: InfoExtras = {
      xenopsRecord: this.xenopsRecord === undefined ? undefined : xenopsRecordInfo(this.xenopsRecord),
      config: undefined, configProblem: undefined, cpu: undefined, cpuProblem: undefined, memory };
    if (this.configText !== undefined) {
      const result = domainConfigItems(this.configText);
      if ("items" in result) out.config = result.items;
      else out.configProblem = result.problem;
    }
    if (this.cpuid !== undefined) {
      try {
        out.cpu = decodeCpuPolicy(this.cpuid, this.msrs);
      } catch (error) {
        out.cpuProblem = error instanceof Error ? error.message : String(error);
      }
    }
    return out;
  }
}
