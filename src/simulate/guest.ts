/**
 * Guest images for the live-loop model: the memory a simulated migration
 * sends (page type and contents per pfn, p2m size) and the records around
 * it (xl header, libxl records, the libxc records before and after the
 * memory passes). Two kinds: a real save file's memory ({@link
 * guestFromSaveFile}: pages indexed in the caller's buffer, last copy of a
 * pfn wins) and a synthetic guest ({@link syntheticGuest}: the memory layout
 * Xen 4.17 + libxl give an x86 HVM or PVH guest of N MiB, as observed in
 * ../shared/real-xen/live, or a 64-bit PV guest's dense p2m with its page
 * tables, as Xen 4.17's PV saver sends them; see guides/live-loop.md).
 *
 * Memory: a guest holds one type byte and one offset per pfn (9 bytes a
 * page), never the pages themselves.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { DomainType, MAX_BATCH_SIZE, PageType, XEN_CPUID_NO_SUBLEAF, pageTypeHasData } from "../libxc/constants.js";
import type { DomainHeader, ImageHeader, LibxcRecord } from "../libxc/types.js";
import { EmulatorId } from "../libxl/constants.js";
import type { LibxlHeader, LibxlRecord } from "../libxl/types.js";
import { SaveFileDecoder, checkContainer, type SaveFileContainer, type SaveFileEvent } from "../savefile.js";
import type { XenopsdChunk } from "../xenopsd/chunk.js";
import { XlMandatoryFlag } from "../xl/constants.js";
import type { XlHeader } from "../xl/header.js";
import { Prng } from "./prng.js";
import { pvGuestLayout, pvMaxBallooned, pvPageTypes, pvSpecialPage, pvStateRecords, type PvGuestLayout } from "./pv-guest.js";

/** The records of a stream other than its memory, in the order they are written. */
export interface StreamTemplate {
  /** The layers: `libxl` (libxl stream around the libxc one) or a bare `libxc` stream. */
  format: "libxl" | "libxc";
  /** The xl save-file header, when the stream has one. */
  xl?: XlHeader;
  /**
   * The container around the stream, when the source had one, as it was
   * found: libvirt's header and domain XML, or xenopsd's chunks (the Xenops
   * record, the stream chunk, the device-model and other blobs,
   * End_of_image). The simulated stream is written inside it, in the
   * stream chunk's place.
   */
  container?: SaveFileContainer;
  /** The libxl header (format `libxl`). */
  libxlHeader?: LibxlHeader;
  /** libxl records before LIBXC_CONTEXT (none in streams Xen writes). */
  libxlBefore: LibxlRecord[];
  /** libxl records after the libxc stream (EMULATOR_XENSTORE_DATA, EMULATOR_CONTEXT, END). */
  libxlAfter: LibxlRecord[];
  imageHeader: ImageHeader;
  domainHeader: DomainHeader;
  /** libxc records before the memory (static data, STATIC_DATA_END, PV: X86_PV_P2M_FRAMES). */
  head: LibxcRecord[];
  /** libxc records after the memory (end_of_checkpoint state, END last). */
  tail: LibxcRecord[];
}

/** A guest's memory and state records: what a simulated migration sends. */
export interface GuestImage {
  /** Where the guest came from. */
  kind: "save-file" | "synthetic";
  /** Page size (from the domain header's page_shift). */
  pageSize: number;
  /** Number of pfns the saver walks (xg_sr_save.c ctx->save.p2m_size). */
  p2mSize: number;
  /**
   * Page type nibble of every pfn below p2mSize (XTAB where the guest has
   * no page). Do not modify.
   */
  types: Uint8Array;
  /** pfns whose type carries page data. */
  populatedPages: number;
  /** The records around the memory. */
  template: StreamTemplate;
  /**
   * pfns the saver defers in every live pass, ascending: write_batch()
   * (xg_sr_save.c) marks them in `deferred_pages` and writes them as XTAB
   * entries without data in each live pass they appear in, and
   * suspend_and_send_dirty() ORs them into the final bitmap, so the
   * stop-and-copy pass sends them again, with their type from `types`.
   * Two kinds, PV guests only: a pfn whose p2m entry is INVALID_MFN (a
   * ballooned pfn; its type is XTAB, so the final pass sends it as XTAB
   * again) and a page table whose normalise_pagetable() fails with EAGAIN
   * while the guest runs (its real L1TAB..L4TAB type and data go in the
   * final pass). Absent: none. Do not modify.
   */
  deferredPfns?: Uint32Array;
  /**
   * Copies the contents of page `pfn` (a pfn whose type carries data) to
   * `out` at `pos`.
   */
  copyPage(pfn: number, out: Uint8Array, pos: number): void;
}

/** Options of {@link guestFromSaveFile}. */
export interface SaveFileGuestOptions {
  /**
   * Bytes pushed to the decoder at a time (the index is built from the
   * events, so memory stays one chunk plus one record).
   * @defaultValue 4194304
   */
  chunkSize?: number;
  /**
   * Largest p2m size (highest pfn + 1) accepted: the index holds 9 bytes
   * per pfn below it, so a stream naming a larger pfn is refused rather
   * than indexed.
   * @defaultValue 536870912 (2^29 pfns: 2 TiB of 4 KiB pages)
   */
  maxP2mSize?: number;
}

const NO_PAGE = -1;
/** Default of {@link SaveFileGuestOptions.maxP2mSize}: 2^29 pfns. */
const DEFAULT_MAX_P2M_SIZE = 2 ** 29;
/** Largest maxP2mSize accepted: 2^32 pfns (16 TiB), beyond any typed array the index could allocate. */
const MAX_P2M_SIZE_LIMIT = 2 ** 32;

/**
 * Indexes a save file (xl, libxl or libxc, bare or in a libvirt or
 * xenopsd container; one or more memory passes) as the source of a
 * simulated migration: for every pfn, the type and the position of its
 * last copy in `bytes` (last copy wins, as restore's memory ends up), plus
 * the records around the memory and the container around the stream
 * (libvirt's header and XML, xenopsd's Xenops record and blob chunks, kept
 * as found: the simulated stream is written inside the same container).
 * The pages, and the container's blobs, stay in `bytes`, which must not
 * change while the guest is used.
 *
 * @param bytes - the whole save file
 * @param options - decoding options
 * @returns the guest image
 * @throws {@link XenStreamError} any decoder code for a malformed file;
 *   `UNSUPPORTED` for a checkpointed (Remus/COLO) or VERIFY stream, a
 *   legacy stream (bare, or in a libvirt version 1 image or a xenopsd
 *   Libxc_legacy chunk or legacy layout: a v2 stream cannot go back into
 *   those), a container the encoder could not write back around a v2
 *   stream (a libvirt header of version 1 before a v2 stream), a stream
 *   without memory, or a pfn at or above `maxP2mSize` (at its PAGE_DATA
 *   entry); `USAGE` for bad options
 */
export function guestFromSaveFile(bytes: Uint8Array, options: SaveFileGuestOptions = {}): GuestImage {
  const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new XenStreamError("USAGE", 0, `chunkSize must be a positive integer, got ${String(chunkSize)}`);
  }
  const maxP2mSize = options.maxP2mSize ?? DEFAULT_MAX_P2M_SIZE;
  if (!Number.isSafeInteger(maxP2mSize) || maxP2mSize < 1 || maxP2mSize > MAX_P2M_SIZE_LIMIT) {
    throw new XenStreamError("USAGE", 0, `maxP2mSize must be an integer 1..${MAX_P2M_SIZE_LIMIT}, got ${String(maxP2mSize)}`);
  }
  const builder = new SaveFileIndexer(maxP2mSize);
  const decoder = new SaveFileDecoder({ format: "auto" });
  for (let pos = 0; pos < bytes.length; pos += chunkSize) {
    for (const event of decoder.push(bytes.subarray(pos, Math.min(bytes.length, pos + chunkSize)))) builder.add(event);
  }
  for (const event of decoder.end()) builder.add(event);
  return builder.finish(bytes);
}

/** Folds save-file events into a pfn index and a template. */
class SaveFileIndexer {
  private xl: XlHeader | undefined = undefined;
  private libxlHeader: LibxlHeader | undefined = undefined;
  private imageHeader: ImageHeader | undefined = undefined;
  private domainHeader: DomainHeader | undefined = undefined;
  private container: SaveFileContainer | undefined = undefined;
  /** A structured xenopsd image's chunks, in file order, and the index of its stream chunk. */
  private readonly chunks: XenopsdChunk[] = [];
  private streamChunk = -1;
  private readonly libxlBefore: LibxlRecord[] = [];
  private readonly libxlAfter: LibxlRecord[] = [];
  private readonly head: LibxcRecord[] = [];
  private readonly tail: LibxcRecord[] = [];
  private seenMemory = false;
  private libxcDone = false;
  private types = new Uint8Array(1024).fill(PageType.XTAB);
  private offsets = new Float64Array(1024).fill(NO_PAGE);
  private p2mSize = 0;

  constructor(private readonly maxP2mSize: number) {}

  add(event: SaveFileEvent): void {
    if (event.layer === "xl") {
      this.xl = event.header;
      return;
    }
    if (event.layer === "libxl") {
      if (event.kind === "header") {
        this.libxlHeader = event.header;
        return;
      }
      const record = event.record;
      if (record.type === "LIBXC_CONTEXT") return;
      if (record.type === "CHECKPOINT_END" || record.type === "CHECKPOINT_STATE") {
        throw new XenStreamError("UNSUPPORTED", event.offset, `a checkpointed stream (libxl ${record.type}) cannot be the source of a simulated migration`);
      }
      (this.imageHeader === undefined ? this.libxlBefore : this.libxlAfter).push(record);
      return;
    }
    if (event.layer !== "libxc") {
      this.addContainer(event);
      return;
    }
    if (event.kind === "imageHeader") {
      this.imageHeader = event.header;
      return;
    }
    if (event.kind === "domainHeader") {
      this.domainHeader = event.header;
      return;
    }
    const record = event.record;
    if (record.type === "CHECKPOINT" || record.type === "VERIFY" || record.type === "CHECKPOINT_DIRTY_PFN_LIST") {
      throw new XenStreamError("UNSUPPORTED", event.offset, `a stream with ${record.type} cannot be the source of a simulated migration`);
    }
    if (record.type !== "PAGE_DATA") {
      (this.seenMemory ? this.tail : this.head).push(record);
      if (record.type === "END") this.libxcDone = true;
      return;
    }
    this.seenMemory = true;
    const pageSize = 1 << (this.domainHeader?.pageShift ?? 12);
    // The pages follow the record header (8), count + reserved (8) and the pfn array.
    let pageOffset = event.offset + 16 + 8 * record.entries.length;
    for (const [i, entry] of record.entries.entries()) {
      if (entry.pfn >= this.maxP2mSize) {
        throw new XenStreamError(
          "UNSUPPORTED",
          event.offset + 16 + 8 * i,
          `PAGE_DATA pfn ${entry.pfn} is beyond the largest p2m the simulation indexes (maxP2mSize ${this.maxP2mSize}); raise maxP2mSize to index it`,
        );
      }
      this.grow(entry.pfn + 1);
      this.types[entry.pfn] = entry.type;
      if (pageTypeHasData(entry.type)) {
        this.offsets[entry.pfn] = pageOffset;
        pageOffset += pageSize;
      } else {
        this.offsets[entry.pfn] = NO_PAGE;
      }
    }
  }

  /**
   * Keeps a container event: libvirt's header, xenopsd's signature and
   * chunks. A legacy stream inside a container is refused: the simulated
   * stream is v2, which a libvirt version 1 image, a Libxc_legacy chunk or
   * xenopsd's legacy layout announce not to be.
   */
  private addContainer(event: Exclude<SaveFileEvent, { layer: "libxc" | "libxl" | "xl" }>): void {
    if (event.layer === "legacy") {
      const where = this.container?.kind === "libvirt" ? "a libvirt version 1 image" : this.container?.kind === "xenopsd" && this.container.layout === "legacy" ? "xenopsd's legacy layout" : "a xenopsd Libxc_legacy chunk";
      throw new XenStreamError(
        "UNSUPPORTED",
        event.offset,
        `a legacy (Xen <= 4.5) stream in ${where} cannot be the source of a simulated migration: the simulated stream is migration v2, which that container cannot hold; convert the file to v2 first (convertLegacy, xen-stream convert)`,
      );
    }
    if (event.layer === "libvirt") {
      this.container = { kind: "libvirt", header: event.header };
      return;
    }
    if (event.kind === "signature") {
      this.container = event.layout === "structured" ? { kind: "xenopsd", layout: "structured", chunks: this.chunks, streamChunk: -1 } : { kind: "xenopsd", layout: "legacy" };
      return;
    }
    if (event.kind === "chunk") {
      if (event.chunk.type === "Libxc" || event.chunk.type === "Libxl" || event.chunk.type === "Libxc_legacy") {
        if (this.streamChunk >= 0) {
          throw new XenStreamError("UNSUPPORTED", event.offset, `a xenopsd image with a second stream chunk (${event.chunk.type}, chunk ${event.index}) cannot be the source of a simulated migration`);
        }
        this.streamChunk = this.chunks.length;
      }
      this.chunks.push(event.chunk);
      return;
    }
    // The legacy layout's QEMU record follows a legacy stream, refused above.
    throw new XenStreamError("UNSUPPORTED", event.offset, "a xenopsd legacy-layout image cannot be the source of a simulated migration");
  }

  private grow(size: number): void {
    if (size > this.p2mSize) this.p2mSize = size;
    if (size <= this.types.length) return;
    const capacity = Math.min(this.maxP2mSize, Math.max(size, this.types.length * 2));
    const types = new Uint8Array(capacity).fill(PageType.XTAB);
    types.set(this.types);
    const offsets = new Float64Array(capacity).fill(NO_PAGE);
    offsets.set(this.offsets);
    this.types = types;
    this.offsets = offsets;
  }

  finish(bytes: Uint8Array): GuestImage {
    const imageHeader = this.imageHeader;
    const domainHeader = this.domainHeader;
    if (imageHeader === undefined || domainHeader === undefined || !this.libxcDone) {
      throw new XenStreamError("UNSUPPORTED", 0, "not a v2/v3 save file with a libxc stream (convert a legacy stream first)");
    }
    if (!this.seenMemory) throw new XenStreamError("UNSUPPORTED", 0, "the save file has no PAGE_DATA: there is no memory to migrate");
    const format = this.libxlHeader === undefined ? "libxc" : "libxl";
    const container = this.container;
    if (container !== undefined) {
      if (container.kind === "xenopsd" && container.layout === "structured") container.streamChunk = this.streamChunk;
      // The encoder writes a container back only around a stream it announces (checkContainer,
      // savefile.ts): refuse here, with its reason, what it would refuse later.
      try {
        checkContainer({ format, container });
      } catch (error) {
        if (!(error instanceof XenStreamError)) throw error;
        throw new XenStreamError("UNSUPPORTED", 0, `the ${container.kind} container cannot be written back around the simulated stream: ${error.reason}`);
      }
    }
    const pageSize = 1 << domainHeader.pageShift;
    const types = this.types.subarray(0, this.p2mSize);
    const offsets = this.offsets.subarray(0, this.p2mSize);
    let populatedPages = 0;
    for (let pfn = 0; pfn < types.length; pfn++) if (pageTypeHasData(types[pfn] as number)) populatedPages++;
    // A PV guest's XTAB pfn has no mfn (x86_pv_pfn_to_gfn() gives INVALID_MFN: ballooned out), which
    // write_batch() defers to the final pass; an HVM guest's holes are never deferred (its pfn_to_gfn
    // is the identity, xg_sr_save_x86_hvm.c).
    const deferred: number[] = [];
    if (domainHeader.type === DomainType.X86_PV) for (let pfn = 0; pfn < types.length; pfn++) if (types[pfn] === PageType.XTAB) deferred.push(pfn);
    const template: StreamTemplate = {
      format,
      libxlBefore: this.libxlBefore,
      libxlAfter: this.libxlAfter,
      imageHeader,
      domainHeader,
      head: this.head,
      tail: this.tail,
    };
    if (this.xl !== undefined) template.xl = this.xl;
    if (container !== undefined) template.container = container;
    if (this.libxlHeader !== undefined) template.libxlHeader = this.libxlHeader;
    return {
      kind: "save-file",
      pageSize,
      p2mSize: this.p2mSize,
      types,
      populatedPages,
      template,
      ...(deferred.length === 0 ? {} : { deferredPfns: Uint32Array.from(deferred) }),
      copyPage(pfn, out, pos) {
        const offset = offsets[pfn] ?? NO_PAGE;
        if (offset === NO_PAGE) throw new Error(`copyPage: pfn ${pfn} has no page data`);
        out.set(bytes.subarray(offset, offset + pageSize), pos);
      },
    };
  }
}

/** Guest types {@link syntheticGuest} builds. */
export type SyntheticGuestType = "hvm" | "pvh" | "pv";

/** Options of {@link syntheticGuest}. */
export interface SyntheticGuestOptions {
  /** Guest RAM in MiB (at least 1). */
  memoryMiB: number;
  /**
   * The guest type: `hvm` (with qemu-xen: VGA hole, ioreq server pages,
   * EMULATOR_CONTEXT), `pvh`, or `pv` (x86 64-bit PV: domain type X86_PV,
   * every pfn populated, page tables typed L1TAB..L4TAB with normalised
   * PTEs, X86_PV_P2M_FRAMES before the memory, SHARED_INFO and per-vCPU
   * X86_PV_VCPU_BASIC/EXTENDED after it).
   * @defaultValue "hvm"
   */
  guest?: SyntheticGuestType;
  /**
   * vCPUs (named in the stored config).
   * @defaultValue 2
   */
  vcpus?: number;
  /**
   * Seed of the page contents.
   * @defaultValue 1
   */
  seed?: number;
  /**
   * PV only: ordinary pfns ballooned out (the top ones below the GDT
   * frames). They have no page: p2m entry INVALID_MFN, type XTAB, not in
   * the direct map; write_batch() (xg_sr_save.c) defers them, so they are
   * XTAB entries of pass 0 and of the stop-and-copy pass. At most the
   * guest's ordinary pages minus pfn 0 and the vCPUs' pages.
   * @defaultValue 0
   */
  balloonedPages?: number;
  /**
   * PV only: page-table pages whose normalise_pagetable() fails with
   * EAGAIN while the guest runs (xg_sr_save_x86_pv.c: a PTE the saver
   * cannot translate mid-update), the top ones of the page-table area
   * (L1s first). write_batch() writes them as XTAB entries without data in
   * every live pass they appear in and defers them: the stop-and-copy pass
   * sends their real L1TAB..L4TAB type and normalised contents. At most
   * the guest's page-table pages.
   * @defaultValue 0
   */
  deferredPageTables?: number;
}

/** 4 KiB pages: x86 (XC_PAGE_SHIFT). */
const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
/** pfn of the start of the MMIO hole below 4 GiB (libxl HVM default: 0xf0000000). */
const LOW_MEMORY_END = 0xf_0000;
/** pfn of 4 GiB, where RAM above the hole starts. */
const HIGH_MEMORY_START = 0x10_0000;
/** The end of the special-page area: the p2m size of a guest below 4 GiB (captures: 0xff000). */
const SPECIAL_END = 0xf_f000;
/** Pool of distinct page patterns; each page is one of them stamped with its pfn. */
const POOL_PAGES = 8;

/**
 * pfn ranges [start, count] a guest has, observed in the two real 4.17
 * captures (guides/live-loop.md "Memory layout"): RAM from 0 except pfn
 * 0x10, the VGA hole 0xa0-0xbf (HVM with qemu), firmware/ACPI pages at
 * 0xfc000, and the special pages below 0xff000 (HVM_PARAMS values).
 */
function layout(guest: "hvm" | "pvh", ramPages: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const low = Math.min(ramPages, LOW_MEMORY_END);
  const holes: Array<[number, number]> = guest === "hvm" ? [[0x10, 1], [0xa0, 0x20]] : [[0x10, 1]];
  let pos = 0;
  for (const [start, count] of holes) {
    if (start >= low) break;
    ranges.push([pos, start - pos]);
    pos = Math.min(low, start + count);
  }
  if (pos < low) ranges.push([pos, low - pos]);
  if (guest === "hvm") ranges.push([0xf_c000, 11], [0xf_c100, 1], [0xf_eff0, 16]);
  else ranges.push([0xf_c000, 9], [0xf_eff8, 8]);
  if (ramPages > low) ranges.push([HIGH_MEMORY_START, ramPages - low]);
  return ranges.filter(([, count]) => count > 0);
}

/** ASCII text as bytes (the core has no TextEncoder in its lib types). */
function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}

/**
 * X86_CPUID_POLICY and X86_MSR_POLICY of a synthetic guest
 * (write_x86_cpu_policy_records(), xg_sr_common_x86.c; part of both
 * x86_hvm_static_data() and x86_pv_static_data()).
 */
function cpuPolicyRecords(vcpus: number): LibxcRecord[] {
  const vendor = [0x756e_6547, 0x6c65_746e, 0x4965_6e69]; // "GenuineIntel" in b, d, c order below
  return [
    {
      type: "X86_CPUID_POLICY",
      entries: [
        { leaf: 0, subleaf: XEN_CPUID_NO_SUBLEAF, a: 0xd, b: vendor[0] as number, c: vendor[2] as number, d: vendor[1] as number },
        { leaf: 1, subleaf: XEN_CPUID_NO_SUBLEAF, a: 0x0005_06e3, b: ((vcpus * 2) << 16) | 0x0800, c: 0xf6fa_3203, d: 0x1789_fbff },
        { leaf: 0x8000_0000, subleaf: XEN_CPUID_NO_SUBLEAF, a: 0x8000_0008, b: 0, c: 0, d: 0 },
      ],
    },
    { type: "X86_MSR_POLICY", entries: [{ index: 0xce, flags: 0, value: 0n }, { index: 0x10a, flags: 0, value: 0n }] },
  ];
}

/** The libxc records around an HVM or PVH guest's memory. */
function hvmStateRecords(guest: "hvm" | "pvh", vcpus: number): { head: LibxcRecord[]; tail: LibxcRecord[] } {
  // x86_hvm_static_data(): the CPU policy records (xg_sr_save_x86_hvm.c), then STATIC_DATA_END.
  const head: LibxcRecord[] = [...cpuPolicyRecords(vcpus), { type: "STATIC_DATA_END" }];
  // x86_hvm_end_of_checkpoint(): TSC info, HVM context, HVM params (xg_sr_save_x86_hvm.c).
  const context = new Uint8Array(8 + 24 + 8);
  const view = new DataView(context.buffer);
  view.setUint16(0, 1, true); // HVM_SAVE_CODE(HEADER)
  view.setUint32(4, 24, true);
  view.setUint32(8, 0x5438_1286, true); // HVM_FILE_MAGIC
  view.setUint32(12, 1, true); // HVM_FILE_VERSION
  view.setUint32(24, 0x0005_06e3, true); // cpuid
  view.setUint32(28, 2_000_000, true); // gtsc_khz
  // END descriptor: typecode 0, instance 0, length 0 (already zero).
  const special = guest === "hvm" ? 0xf_eff0 : 0xf_eff8;
  const params: Array<[number, number]> = [
    [1, 0xf_effc], // HVM_PARAM_STORE_PFN
    [5, 0xf_effd], // HVM_PARAM_IOREQ_PFN
    [6, 0xf_effb], // HVM_PARAM_BUFIOREQ_PFN
    [0x1b, 0xf_eff8], // HVM_PARAM_PAGING_RING_PFN
    [0x1c, 0xf_eff9], // HVM_PARAM_MONITOR_RING_PFN
    [0x1d, 0xf_effa], // HVM_PARAM_SHARING_RING_PFN
    [0x11, 0xf_efff], // HVM_PARAM_CONSOLE_PFN
    [0xc, 0xfeff_e000], // HVM_PARAM_IDENT_PT
  ];
  if (guest === "hvm") params.push([0x20, special], [0x21, 8]); // HVM_PARAM_IOREQ_SERVER_PFN, _NR_IOREQ_SERVER_PAGES
  const tail: LibxcRecord[] = [
    { type: "X86_TSC_INFO", mode: 0, khz: 2_000_000, nsec: 0n, incarnation: 0 },
    { type: "HVM_CONTEXT", data: context },
    { type: "HVM_PARAMS", params: params.map(([index, value]) => ({ index: BigInt(index), value: BigInt(value) })) },
    { type: "END" },
  ];
  return { head, tail };
}

/** The records of a synthetic guest around `state` (the libxc records before and after its memory). */
function syntheticTemplate(guest: SyntheticGuestType, memoryMiB: number, vcpus: number, state: { head: LibxcRecord[]; tail: LibxcRecord[] }): StreamTemplate {
  const config = JSON.stringify({
    c_info: { type: guest, name: `simulated-${guest}` },
    b_info: { max_vcpus: vcpus, max_memkb: memoryMiB * 1024, target_memkb: memoryMiB * 1024 },
  });
  const xl: XlHeader = {
    byteOrder: "little",
    mandatoryFlags: XlMandatoryFlag.JSON | XlMandatoryFlag.STREAMV2,
    optionalFlags: 0,
    config: ascii(`${config}\0`),
  };
  const libxlAfter: LibxlRecord[] = [];
  if (guest === "hvm") {
    // libxl_stream_write.c write_emulator_context_record(): qemu-xen's saved state (a stand-in here).
    // No emulator records for PVH or PV: libxl writes them for LIBXL_DOMAIN_TYPE_HVM only.
    libxlAfter.push({ type: "EMULATOR_CONTEXT", emulatorId: EmulatorId.QEMU_UPSTREAM, index: 0, data: ascii("QEVM simulated device state\n") });
  }
  libxlAfter.push({ type: "END" });
  return {
    format: "libxl",
    xl,
    libxlHeader: { version: 2, options: 0 },
    libxlBefore: [],
    libxlAfter,
    imageHeader: { version: 3, options: 0 },
    // write_headers(): X86_PV for PV, X86_HVM for HVM and PVH (xg_sr_save.c save() guest_type).
    domainHeader: { type: guest === "pv" ? DomainType.X86_PV : DomainType.X86_HVM, pageShift: PAGE_SHIFT, xenMajor: 4, xenMinor: 17 },
    head: state.head,
    tail: state.tail,
  };
}

/**
 * A synthetic x86 guest of `memoryMiB` MiB with the memory layout Xen 4.17
 * gives one and state records of the shape Xen writes. HVM and PVH: holes
 * as XTAB, special pages, firmware pages. PV (64-bit): every pfn
 * populated, page tables (typed L1TAB..L4TAB, the L4s pinned) holding
 * normalised PTEs of a direct map, the p2m list in the frames
 * X86_PV_P2M_FRAMES names, a start_info page, vCPU state with cr3, cr1,
 * GDT frames and start_info as pfns. Other pages are seeded patterns,
 * each stamped with its pfn. The state records are stand-ins: the stream
 * verifies, but it is not a guest real Xen could run (use {@link
 * guestFromSaveFile} for that).
 *
 * @param options - size, guest type, vCPUs, seed
 * @returns the guest image
 * @throws {@link XenStreamError} `USAGE` for options out of range
 *
 * @example
 * ```ts
 * const guest = syntheticGuest({ memoryMiB: 64, guest: "pv", vcpus: 4 });
 * guest.p2mSize; //=> 16384 (every pfn of the 64 MiB populated)
 * guest.template.domainHeader.type; //=> 1 (DomainType.X86_PV)
 * ```
 */
export function syntheticGuest(options: SyntheticGuestOptions): GuestImage {
  const { memoryMiB } = options;
  const guest = options.guest ?? "hvm";
  const vcpus = options.vcpus ?? 2;
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > 1024 * 1024) {
    throw new XenStreamError("USAGE", 0, `memoryMiB must be an integer 1..1048576, got ${String(memoryMiB)}`);
  }
  if (guest !== "hvm" && guest !== "pvh" && guest !== "pv") throw new XenStreamError("USAGE", 0, `guest must be "hvm", "pvh" or "pv", got ${String(guest)}`);
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 128) throw new XenStreamError("USAGE", 0, `vcpus must be 1..128, got ${String(vcpus)}`);
  if (!Number.isSafeInteger(seed)) throw new XenStreamError("USAGE", 0, `seed must be an integer, got ${String(seed)}`);
  const ballooned = options.balloonedPages ?? 0;
  const deferredTables = options.deferredPageTables ?? 0;
  for (const [name, value] of [["balloonedPages", ballooned], ["deferredPageTables", deferredTables]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new XenStreamError("USAGE", 0, `${name} must be an integer >= 0, got ${String(value)}`);
    // HVM and PVH: pfn_to_gfn is the identity and normalise_page a no-op (xg_sr_save_x86_hvm.c): nothing is deferred.
    if (value > 0 && guest !== "pv") throw new XenStreamError("USAGE", 0, `${name} is for PV guests only (an ${guest} guest's saver defers no pages), got ${value}`);
  }
  const ramPages = memoryMiB * (1024 * 1024 / PAGE_SIZE);
  let p2mSize: number;
  let types: Uint8Array;
  let populatedPages = 0;
  let pv: PvGuestLayout | undefined = undefined;
  let deferredPfns: Uint32Array | undefined = undefined;
  let state: { head: LibxcRecord[]; tail: LibxcRecord[] };
  if (guest === "pv") {
    // A PV guest's p2m is dense: p2m_size = max_pfn + 1, every pfn backed (xg_sr_save_x86_pv.c map_p2m_leaves()).
    pv = pvGuestLayout(ramPages, vcpus, ballooned);
    const maxBallooned = pvMaxBallooned(pv);
    if (ballooned > maxBallooned) throw new XenStreamError("USAGE", 0, `balloonedPages must be 0..${maxBallooned} for this guest, got ${ballooned}`);
    const tables = pv.p2mBase - pv.kernelL4;
    if (deferredTables > tables) throw new XenStreamError("USAGE", 0, `deferredPageTables must be 0..${tables} (the guest's page-table pages), got ${deferredTables}`);
    p2mSize = ramPages;
    types = pvPageTypes(pv);
    populatedPages = ramPages - ballooned;
    const deferred = new Uint32Array(ballooned + deferredTables);
    for (let i = 0; i < ballooned; i++) deferred[i] = pv.gdtBase - ballooned + i;
    for (let i = 0; i < deferredTables; i++) deferred[ballooned + i] = pv.p2mBase - deferredTables + i;
    deferredPfns = deferred;
    state = pvStateRecords(pv, cpuPolicyRecords(vcpus));
  } else {
    const ranges = layout(guest, ramPages);
    const last = ranges[ranges.length - 1] as [number, number];
    p2mSize = Math.max(SPECIAL_END, last[0] + last[1]);
    types = new Uint8Array(p2mSize).fill(PageType.XTAB);
    for (const [start, count] of ranges) {
      types.fill(PageType.NOTAB, start, start + count);
      populatedPages += count;
    }
    state = hvmStateRecords(guest, vcpus);
  }
  const prng = new Prng(seed);
  const pool = new Uint8Array(POOL_PAGES * PAGE_SIZE);
  const words = new Uint32Array(pool.buffer);
  for (let i = 0; i < words.length; i++) words[i] = prng.nextU32();
  return {
    kind: "synthetic",
    pageSize: PAGE_SIZE,
    p2mSize,
    types,
    populatedPages,
    template: syntheticTemplate(guest, memoryMiB, vcpus, state),
    ...(deferredPfns === undefined || deferredPfns.length === 0 ? {} : { deferredPfns }),
    copyPage(pfn, out, pos) {
      if (pv !== undefined && pvSpecialPage(pv, pfn, out, pos)) return;
      const from = (pfn % POOL_PAGES) * PAGE_SIZE;
      out.set(pool.subarray(from, from + PAGE_SIZE), pos);
      // Stamp the pfn (little-endian u32 pair) so that no two pages are equal.
      out[pos] = pfn & 0xff;
      out[pos + 1] = (pfn >>> 8) & 0xff;
      out[pos + 2] = (pfn >>> 16) & 0xff;
      out[pos + 3] = (pfn >>> 24) & 0xff;
      out[pos + 4] = Math.floor(pfn / 2 ** 32) & 0xff;
    },
  };
}

/**
 * The guest's domain header type by Xen's name (write_headers(),
 * xg_sr_save.c: DHDR_TYPE_X86_PV for PV guests, DHDR_TYPE_X86_HVM for HVM
 * and PVH ones).
 *
 * @param guest - the guest
 * @returns `X86_PV` or `X86_HVM`
 */
export function guestDomainType(guest: GuestImage): "X86_PV" | "X86_HVM" {
  return guest.template.domainHeader.type === DomainType.X86_PV ? "X86_PV" : "X86_HVM";
}

/** Batch size of the saver (re-exported for the model's modules). */
export const BATCH_SIZE = MAX_BATCH_SIZE;
