/**
 * What the verifier remembers while folding over the events: stream facts
 * the rules need (guest type, version, what was seen where) and the running
 * totals of the summary. Memory is bounded: counters, a few small sets with
 * caps, and an optional pfn bitmap with a configured maximum.
 *
 * @module
 * @internal
 */
import { forEachCpuidLeaf, pfnEntries } from "./entries.js";
import { LIBXC_REGISTRY } from "../libxc/codec.js";
import { DomainType, PageType, pageTypeHasData } from "../libxc/constants.js";
import { isBigEndianImage } from "../libxc/header.js";
import type { DomainHeader, ImageHeader, LibxcRecord, PageDataRecord, X86PvInfoRecord } from "../libxc/types.js";
import type { LibxcRecordEvent } from "../libxc/decoder.js";
import { LIBXL_OPT_BIG_ENDIAN, LIBXL_OPT_LEGACY } from "../libxl/constants.js";
import type { LibxlRecordEvent } from "../libxl/decoder.js";
import type { LibxlHeader } from "../libxl/types.js";
import { RECORD_HEADER_SIZE, hex32, paddedLength } from "../wire/frame.js";
import type { SaveFileEvent, StreamFormat } from "../savefile.js";
import type { XlHeader } from "../xl/header.js";
import { XlMandatoryFlag } from "../xl/constants.js";
import { hvmContextVcpus } from "./hvm-context.js";
import { observeContainer, type ContainerSummary } from "./container.js";
import type { PageTotals, Profile, RecordTotals, VerifySummary } from "./types.js";
import { PfnSet } from "./pfn-set.js";

/** Guest type of the libxc stream. */
export type GuestKind = "pv" | "hvm";

/** Cap on small sets (vCPU ids, vCPU record keys) so hostile input cannot grow them. */
const SET_CAP = 65_536;
/** Distinct unknown record types counted separately in the totals; the rest go under "UNKNOWN". */
const UNKNOWN_TYPES_CAP = 64;

const PAGE_TYPE_NAMES: readonly string[] = /*@__PURE__*/ (() => {
  const names = new Array<string>(16);
  for (let type = 0; type < 16; type++) names[type] = `0x${type.toString(16)}`;
  for (const [name, type] of Object.entries(PageType)) names[type] = name;
  return names;
})();

/** Reads `c_info.type` and `b_info.max_vcpus` from an xl JSON config, if it parses. */
function readXlConfig(config: Uint8Array | undefined): { parsed: boolean; guestType?: string; maxVcpus?: number } {
  if (config === undefined || config.length === 0) return { parsed: false };
  let end = config.length;
  while (end > 0 && config[end - 1] === 0) end--;
  // Latin-1 decoding keeps every byte; JSON syntax is ASCII, so parsing is
  // unaffected by how non-ASCII text inside strings is decoded.
  let text = "";
  for (let i = 0; i < end; i += 8192) text += String.fromCharCode(...config.subarray(i, Math.min(end, i + 8192)));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { parsed: false };
  }
  const result: { parsed: boolean; guestType?: string; maxVcpus?: number } = { parsed: true };
  if (typeof value !== "object" || value === null) return result;
  const cInfo = (value as { c_info?: unknown }).c_info;
  if (typeof cInfo === "object" && cInfo !== null) {
    const type = (cInfo as { type?: unknown }).type;
    if (typeof type === "string") result.guestType = type;
  }
  const bInfo = (value as { b_info?: unknown }).b_info;
  if (typeof bInfo === "object" && bInfo !== null) {
    const maxVcpus = (bInfo as { max_vcpus?: unknown }).max_vcpus;
    if (typeof maxVcpus === "number" && Number.isInteger(maxVcpus) && maxVcpus > 0) result.maxVcpus = maxVcpus;
  }
  return result;
}

/** @internal */
export class VerifyState {
  readonly profile: Profile;
  format: StreamFormat | undefined = undefined;
  /** The container around the stream (libvirt, xenopsd), once seen. */
  container: ContainerSummary | undefined = undefined;

  // xl
  xl: XlHeader | undefined = undefined;
  xlConfigParsed = false;
  xlGuestType: string | undefined = undefined;
  xlMaxVcpus: number | undefined = undefined;

  // libxl
  libxlHeader: LibxlHeader | undefined = undefined;
  libxcContexts = 0;
  libxlEnded = false;

  // libxc headers
  imageHeader: ImageHeader | undefined = undefined;
  domainHeader: DomainHeader | undefined = undefined;
  /** Stream version (2 or 3), once the image header is read. */
  version = 0;
  guest: GuestKind | undefined = undefined;
  pageSize = 4096;

  // libxc records
  libxcEnded = false;
  libxcEndOffset: number | undefined = undefined;
  checkpoints = 0;
  /** STATIC_DATA_END: not yet, explicit record, or inferred (v2: first P2M_FRAMES / PAGE_DATA). */
  staticDataEnd: "none" | "explicit" | "inferred" = "none";
  staticDataEndCount = 0;
  pvInfo: X86PvInfoRecord | undefined = undefined;
  pvInfoCount = 0;
  p2mCount = 0;
  /** Highest p2m_end_pfn of the X86_PV_P2M_FRAMES records (PV max_pfn). */
  p2mMaxPfn: number | undefined = undefined;
  pageDataCount = 0;
  vcpuRecordCount = 0;
  hvmContextCount = 0;
  hvmParamsCount = 0;
  sharedInfoCount = 0;
  /** Distinct vCPU ids with a non-empty X86_PV_VCPU_BASIC. */
  readonly vcpuBasicIds = new Set<number>();
  /** vCPU ids from the CPU entries of the last HVM_CONTEXT. */
  hvmVcpus = 0;
  /**
   * End (offset + size) of each XSAVE component 2..62 in the standard format,
   * from the last X86_CPUID_POLICY's leaf 0xD subleaves (ebx offset, eax size;
   * Xen copies the host's: cpuid.c recalculate_xstate()); undefined before one.
   */
  xstateEnds: Map<number, number> | undefined = undefined;

  // per checkpoint epoch (reset at each CHECKPOINT)
  epochPageData = false;
  epochVcpu = false;
  epochHvmContext = false;
  epochTscInfo = false;
  epochSharedInfo = false;
  readonly epochVcpuKeys = new Set<string>();

  // once-per-stream reporting latches, set by rules
  readonly reported = new Set<string>();

  // summary
  bytes = 0;
  complete = false;
  readonly libxcTotals: Record<string, RecordTotals> = {};
  readonly libxlTotals: Record<string, RecordTotals> = {};
  readonly pageTypeCounts = new Float64Array(16);
  pageEntries = 0;
  pagesWithData = 0;
  minPfn = Infinity;
  maxPfn = -Infinity;
  iterations = 0;
  passes = 0;
  private lastWasPageData = false;
  private previousLastPfn = -1;
  private pfns: PfnSet;
  private bitmapOverflow = false;
  private readonly maxTrackedPfn: number;

  constructor(profile: Profile, maxTrackedPfn: number) {
    this.profile = profile;
    this.maxTrackedPfn = maxTrackedPfn;
    this.pfns = new PfnSet(maxTrackedPfn);
  }

  /** True once once-per-stream `key` was reported; marks it. */
  once(key: string): boolean {
    if (this.reported.has(key)) return false;
    this.reported.add(key);
    return true;
  }

  /** Updates the state after the rules have seen `event`. */
  observe(event: SaveFileEvent): void {
    switch (event.layer) {
      case "libvirt":
      case "xenopsd":
      case "legacy":
        this.container = observeContainer(this.container, event);
        return;
      case "xl": {
        this.xl = event.header;
        const config = readXlConfig((event.header.mandatoryFlags & XlMandatoryFlag.JSON) !== 0 ? event.header.config : undefined);
        this.xlConfigParsed = config.parsed;
        this.xlGuestType = config.guestType;
        this.xlMaxVcpus = config.maxVcpus;
        return;
      }
      case "libxl":
        if (event.kind === "header") this.libxlHeader = event.header;
        else this.observeLibxl(event);
        return;
      case "libxc":
        if (event.kind === "imageHeader") {
          this.imageHeader = event.header;
          this.version = event.header.version;
        } else if (event.kind === "domainHeader") {
          this.domainHeader = event.header;
          this.guest = event.header.type === DomainType.X86_PV ? "pv" : "hvm";
          this.pageSize = 2 ** event.header.pageShift;
        } else {
          this.observeLibxc(event);
        }
        return;
    }
  }

  private unknownTypes = 0;

  /** Totals key of an unknown (optional) record type; distinct keys are capped so hostile input cannot grow the map. */
  private unknownKey(totals: Record<string, RecordTotals>, typeId: number): string {
    const key = hex32(typeId);
    if (totals[key] !== undefined) return key;
    if (this.unknownTypes >= UNKNOWN_TYPES_CAP) return "UNKNOWN";
    this.unknownTypes += 1;
    return key;
  }

  private static addTotals(totals: Record<string, RecordTotals>, name: string, bodyLength: number): void {
    const entry = totals[name] ?? (totals[name] = { count: 0, bytes: 0 });
    entry.count += 1;
    entry.bytes += RECORD_HEADER_SIZE + paddedLength(bodyLength);
  }

  private observeLibxl(event: LibxlRecordEvent): void {
    const { record } = event;
    VerifyState.addTotals(this.libxlTotals, record.type === "UNKNOWN" ? this.unknownKey(this.libxlTotals, record.typeId) : record.type, event.bodyLength);
    this.lastWasPageData = false;
    if (record.type === "LIBXC_CONTEXT") this.libxcContexts += 1;
    else if (record.type === "END") this.libxlEnded = true;
  }

  private observeLibxc(event: LibxcRecordEvent): void {
    const record: LibxcRecord = event.record;
    VerifyState.addTotals(this.libxcTotals, record.type === "UNKNOWN" ? this.unknownKey(this.libxcTotals, record.typeId) : record.type, event.bodyLength);
    const isPageData = record.type === "PAGE_DATA";
    // v2: STATIC_DATA_END is inferred at the first memory record, X86_PV_P2M_FRAMES or PAGE_DATA (spec "v3 compat with v2").
    if (
      this.staticDataEnd === "none" &&
      this.version < 3 &&
      record.type !== "UNKNOWN" &&
      LIBXC_REGISTRY[record.type].appears.phase === "memory"
    ) {
      this.staticDataEnd = "inferred";
    }
    switch (record.type) {
      case "PAGE_DATA":
        this.pageDataCount += 1;
        this.epochPageData = true;
        this.countPages(record);
        break;
      case "X86_PV_INFO":
        this.pvInfoCount += 1;
        if (this.pvInfo === undefined) this.pvInfo = record;
        break;
      case "X86_PV_P2M_FRAMES":
        this.p2mCount += 1;
        this.p2mMaxPfn = Math.max(this.p2mMaxPfn ?? 0, record.endPfn);
        break;
      case "X86_PV_VCPU_BASIC":
      case "X86_PV_VCPU_EXTENDED":
      case "X86_PV_VCPU_XSAVE":
      case "X86_PV_VCPU_MSRS":
        this.vcpuRecordCount += 1;
        this.epochVcpu = true;
        if (this.epochVcpuKeys.size < SET_CAP) this.epochVcpuKeys.add(`${record.type}/${record.vcpuId}`);
        if (record.type === "X86_PV_VCPU_BASIC" && record.context.length > 0 && this.vcpuBasicIds.size < SET_CAP) {
          this.vcpuBasicIds.add(record.vcpuId);
        }
        break;
      case "SHARED_INFO":
        this.sharedInfoCount += 1;
        this.epochSharedInfo = true;
        break;
      case "X86_TSC_INFO":
        this.epochTscInfo = true;
        break;
      case "HVM_CONTEXT":
        this.hvmContextCount += 1;
        this.epochHvmContext = true;
        this.hvmVcpus = hvmContextVcpus(record.data);
        break;
      case "HVM_PARAMS":
        this.hvmParamsCount += 1;
        break;
      case "X86_CPUID_POLICY":
      {
        const ends = new Map<number, number>();
        forEachCpuidLeaf(record, (leaf, subleaf, a, b) => {
          if (leaf === 0xd && subleaf >= 2 && subleaf < 63 && a !== 0) ends.set(subleaf, b + a);
        });
        this.xstateEnds = ends;
        break;
      }
      case "STATIC_DATA_END":
        this.staticDataEndCount += 1;
        this.staticDataEnd = "explicit";
        break;
      case "CHECKPOINT":
        this.checkpoints += 1;
        this.epochPageData = false;
        this.epochVcpu = false;
        this.epochHvmContext = false;
        this.epochTscInfo = false;
        this.epochSharedInfo = false;
        this.epochVcpuKeys.clear();
        break;
      case "END":
        this.libxcEnded = true;
        this.libxcEndOffset = event.offset;
        break;
      // No state of their own (the totals above count them).
      case "TOOLSTACK":
      case "VERIFY":
      case "CHECKPOINT_DIRTY_PFN_LIST":
      case "X86_MSR_POLICY":
      case "UNKNOWN":
        break;
      default:
        // Every record type is a case above: a new one must be placed here.
        record satisfies never;
    }
    if (!isPageData) this.lastWasPageData = false;
  }

  private countPages(record: PageDataRecord): void {
    const entries = pfnEntries(record);
    const count = entries.count;
    if (count === 0) return;
    if (!this.lastWasPageData) {
      this.iterations += 1;
      this.passes += 1;
    } else if (entries.pfn(0) <= this.previousLastPfn) {
      this.passes += 1;
    }
    this.lastWasPageData = true;
    this.previousLastPfn = entries.pfn(count - 1);
    const typeCounts = this.pageTypeCounts;
    let withData = 0;
    let min = this.minPfn;
    let max = this.maxPfn;
    for (let i = 0; i < count; i++) {
      const type = entries.type(i);
      const pfn = entries.pfn(i);
      typeCounts[type] = (typeCounts[type] as number) + 1;
      if (pageTypeHasData(type)) withData++;
      if (pfn < min) min = pfn;
      if (pfn > max) max = pfn;
      if (!this.bitmapOverflow) this.markPfn(pfn);
    }
    this.minPfn = min;
    this.maxPfn = max;
    this.pageEntries += count;
    this.pagesWithData += withData;
  }

  private markPfn(pfn: number): void {
    if (pfn > this.maxTrackedPfn) {
      this.bitmapOverflow = true;
      this.pfns = new PfnSet(0);
      return;
    }
    this.pfns.add(pfn);
  }

  /** Bytes held by the distinct-pfn tracking (for memory bounds). */
  get trackedPfnBytes(): number {
    return this.pfns.bytesHeld;
  }

  /** Width used by Xen's restore for PV blob sizes: X86_PV_INFO's, else the native 8. */
  get pvWidth(): number {
    return this.pvInfo?.guestWidth ?? 8;
  }

  /**
   * The summary of the v2 stream converted from a legacy stream inside a
   * container (rules/container.ts), whose records the outer events lack.
   */
  convertedSummary: VerifySummary | undefined = undefined;

  /** The summary as it stands. */
  summary(listing: string[] | undefined): VerifySummary {
    const byType: Record<string, number> = {};
    for (let type = 0; type < 16; type++) {
      const count = this.pageTypeCounts[type] as number;
      if (count > 0) byType[PAGE_TYPE_NAMES[type] as string] = count;
    }
    const pages: PageTotals = {
      entries: this.pageEntries,
      withData: this.pagesWithData,
      byType,
      minPfn: this.pageEntries > 0 ? this.minPfn : undefined,
      maxPfn: this.pageEntries > 0 ? this.maxPfn : undefined,
      distinctPfns: this.bitmapOverflow ? undefined : this.pfns.size,
    };
    const summary: VerifySummary = {
      format: this.format,
      profile: this.profile,
      bytes: this.bytes,
      records: { libxc: this.libxcTotals, libxl: this.libxlTotals },
      pages,
      vcpus: this.guest === "hvm" ? this.hvmVcpus : this.vcpuBasicIds.size,
      iterations: this.iterations,
      passes: this.passes,
      checkpoints: this.checkpoints,
      complete: this.complete,
    };
    if (this.container !== undefined) summary.container = this.container;
    if (this.xl !== undefined) {
      summary.xl = {
        byteOrder: this.xl.byteOrder,
        mandatoryFlags: this.xl.mandatoryFlags,
        optionalFlags: this.xl.optionalFlags,
        configLength: this.xl.config?.length ?? 0,
        ...(this.xlGuestType === undefined ? {} : { guestType: this.xlGuestType }),
      };
    }
    if (this.libxlHeader !== undefined) {
      const { version, options } = this.libxlHeader;
      summary.libxl = {
        version,
        options,
        bigEndian: (options & LIBXL_OPT_BIG_ENDIAN) !== 0,
        legacy: (options & LIBXL_OPT_LEGACY) !== 0,
      };
    }
    if (this.imageHeader !== undefined && this.domainHeader !== undefined) {
      const { pageShift, xenMajor, xenMinor, type } = this.domainHeader;
      summary.libxc = {
        version: this.imageHeader.version,
        bigEndian: isBigEndianImage(this.imageHeader),
        domainType: type === DomainType.X86_PV ? "x86 PV" : "x86 HVM",
        pageShift,
        xenMajor,
        xenMinor,
        legacyConverted: xenMajor === 0,
      };
    }
    if (this.pvInfo !== undefined) summary.pvInfo = { guestWidth: this.pvInfo.guestWidth, ptLevels: this.pvInfo.ptLevels };
    if (listing !== undefined) summary.listing = listing;
    const converted = this.convertedSummary;
    if (converted === undefined) return summary;
    // A legacy stream in a container: the stream is the converted one; the
    // container, the xl header and the byte count stay the file's.
    const { format: _format, profile: _profile, bytes: _bytes, container: _container, xl: _xl, listing: _listing, ...stream } = converted;
    return { ...summary, ...stream };
  }
}
