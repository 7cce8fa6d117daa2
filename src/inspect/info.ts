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
import type { XlHeaderEvent } from "../savefile.js";
import { textOf } from "../savefile-config.js";

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

/** What {@link InfoCollector} found. */
export interface InfoExtras {
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
    if (event.layer !== "libxc" || event.kind !== "record") return;
    const { record } = event as LibxcRecordEvent;
    if (record.type === "PAGE_DATA") {
      const { entries } = record;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as { pfn: number; type: number };
        if (pageTypeHasData(entry.type)) this.pages.set(entry.pfn, 0);
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
    const out: InfoExtras = { config: undefined, configProblem: undefined, cpu: undefined, cpuProblem: undefined, memory };
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
