/**
 * One pass over a save file's events -> where every guest page's last copy
 * lies, plus the few records guest-memory readers need (vCPU state, shared
 * info, guest width). A fold: it holds positions, never pages.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { DomainType } from "../libxc/constants.js";
import type { LibxcEvent } from "../libxc/decoder.js";
import { pageTypeHasData } from "../libxc/constants.js";
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import { PageIndex } from "./page-index.js";

/** Bytes before the pfn array of a PAGE_DATA body (count u32 + reserved u32). */
const PAGE_DATA_HEADER = 8;
const PFN_ENTRY_SIZE = 8;

/**
 * The position recorded for a page sent as XALLOC and never with data:
 * restore populates it without writing it, so the guest has a zero page
 * there (Xen xg_sr_common.h: page_type_to_populate()).
 */
export const ZERO_PAGE = -2;

/** XEN_DOMCTL_PFINFO_XALLOC >> 28. */
const XALLOC = 0xe;

/** The guest kinds a libxc stream can carry. */
export type GuestKind = "pv" | "hvm";

/** Options of {@link MemoryIndexer} and every guest-memory constructor. */
export interface MemoryIndexOptions {
  /**
   * Stop at this checkpoint of a checkpointed (Remus/COLO) stream: 0 is the
   * state at the first libxc CHECKPOINT record, 1 at the second, ... Pages
   * and vCPU state sent after it are ignored. Without it the whole stream
   * counts (the last copy of every page wins).
   * @defaultValue undefined (the whole stream)
   */
  checkpoint?: number;
}

/** One vCPU's saved state as the stream carries it (raw blobs). */
export interface SavedVcpu {
  /** vCPU id. */
  id: number;
  /** PV: the X86_PV_VCPU_BASIC context (vcpu_guest_context), when sent. */
  basic?: Uint8Array;
  /** PV: X86_PV_VCPU_EXTENDED, when sent. */
  extended?: Uint8Array;
  /** PV: X86_PV_VCPU_XSAVE, when sent. */
  xsave?: Uint8Array;
  /** PV: X86_PV_VCPU_MSRS, when sent. */
  msrs?: Uint8Array;
}

/** What one pass over a stream learnt about the guest's memory. */
export interface MemoryLayout {
  /** Page size from the domain header. */
  pageSize: number;
  /** The saver's Xen version from the domain header (0.1 for converted legacy streams). */
  xenMajor: number;
  /** See {@link MemoryLayout.xenMajor}. */
  xenMinor: number;
  /** PV or HVM (PVH streams are HVM streams). */
  guest: GuestKind;
  /** PV guest width in bytes (4 or 8) from X86_PV_INFO; 8 for HVM. */
  guestWidth: number;
  /** PV page-table levels from X86_PV_INFO (3 or 4); undefined for HVM. */
  ptLevels: number | undefined;
  /**
   * pfn -> absolute stream offset of its last copy's contents, or
   * {@link ZERO_PAGE} for a page populated (XALLOC) but never sent.
   */
  index: PageIndex;
  /** PV vCPU records by vCPU id, copied (small). */
  vcpus: SavedVcpu[];
  /** The last HVM_CONTEXT blob (copied), for HVM guests. */
  hvmContext: Uint8Array | undefined;
  /** The last SHARED_INFO page (copied), for PV guests. */
  sharedInfo: Uint8Array | undefined;
  /** libxc CHECKPOINT records seen (up to the selected one). */
  checkpoints: number;
  /** PAGE_DATA records indexed. */
  pageDataRecords: number;
  /** Page copies sent (with data), re-sent ones included. */
  pagesSent: number;
  /** PAGE_DATA entries without data (XTAB, BROKEN, XALLOC). */
  entriesWithoutData: number;
}

/**
 * Folds save-file events into a {@link MemoryLayout}. Feed it every event
 * of one stream in order ({@link MemoryIndexer.add}), then call
 * {@link MemoryIndexer.finish}. Accepts the events of any decoder in this
 * package (libxc, libxl, save file); events of other layers are ignored.
 */
export class MemoryIndexer {
  private pageSize = 0;
  private xenMajor = 0;
  private xenMinor = 0;
  private guest: GuestKind | undefined;
  private guestWidth = 8;
  private ptLevels: number | undefined;
  private readonly index = new PageIndex();
  private readonly vcpus = new Map<number, SavedVcpu>();
  private hvmContext: Uint8Array | undefined;
  private sharedInfo: Uint8Array | undefined;
  private checkpoints = 0;
  private stopped = false;
  private ended = false;
  private pageDataRecords = 0;
  private pagesSent = 0;
  private entriesWithoutData = 0;
  private readonly checkpoint: number | undefined;

  /**
   * @param options - which checkpoint to stop at
   * @throws {@link XenStreamError} USAGE for a checkpoint that is not a
   * non-negative integer
   */
  constructor(options: MemoryIndexOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new XenStreamError("USAGE", 0, "options must be an object");
    }
    const { checkpoint } = options;
    if (checkpoint !== undefined && (!Number.isSafeInteger(checkpoint) || checkpoint < 0)) {
      throw new XenStreamError("USAGE", 0, `options.checkpoint must be a non-negative integer, got ${String(checkpoint)}`);
    }
    this.checkpoint = checkpoint;
  }

  /**
   * Takes the next event of the stream.
   *
   * @param event - an event from a decoder of this package
   */
  add(event: { layer: string; kind: string }): void {
    if (event.layer !== "libxc" || this.stopped) return;
    const libxc = event as LibxcEvent;
    if (libxc.kind === "domainHeader") {
      this.pageSize = 2 ** libxc.header.pageShift;
      this.xenMajor = libxc.header.xenMajor;
      this.xenMinor = libxc.header.xenMinor;
      this.guest = libxc.header.type === DomainType.X86_PV ? "pv" : "hvm";
      return;
    }
    if (libxc.kind !== "record") return;
    const { record, offset } = libxc;
    switch (record.type) {
      case "PAGE_DATA": {
        this.pageDataRecords++;
        const { entries } = record;
        let position = offset + RECORD_HEADER_SIZE + PAGE_DATA_HEADER + entries.length * PFN_ENTRY_SIZE;
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i] as { pfn: number; type: number };
          if (!pageTypeHasData(entry.type)) {
            this.entriesWithoutData++;
            if (entry.type === XALLOC && this.index.get(entry.pfn) === undefined) this.index.set(entry.pfn, ZERO_PAGE);
            continue;
          }
          this.index.set(entry.pfn, position);
          this.pagesSent++;
          position += this.pageSize;
        }
        return;
      }
      case "X86_PV_INFO":
        this.guestWidth = record.guestWidth;
        this.ptLevels = record.ptLevels;
        return;
      case "X86_PV_VCPU_BASIC":
      case "X86_PV_VCPU_EXTENDED":
      case "X86_PV_VCPU_XSAVE":
      case "X86_PV_VCPU_MSRS": {
        let vcpu = this.vcpus.get(record.vcpuId);
        if (vcpu === undefined) {
          vcpu = { id: record.vcpuId };
          this.vcpus.set(record.vcpuId, vcpu);
        }
        const copy = record.context.slice();
        if (record.type === "X86_PV_VCPU_BASIC") vcpu.basic = copy;
        else if (record.type === "X86_PV_VCPU_EXTENDED") vcpu.extended = copy;
        else if (record.type === "X86_PV_VCPU_XSAVE") vcpu.xsave = copy;
        else vcpu.msrs = copy;
        return;
      }
      case "HVM_CONTEXT":
        this.hvmContext = record.data.slice();
        return;
      case "SHARED_INFO":
        this.sharedInfo = record.data.slice();
        return;
      case "CHECKPOINT":
        if (this.checkpoint !== undefined && this.checkpoints === this.checkpoint) this.stopped = true;
        this.checkpoints++;
        return;
      case "END":
        this.ended = true;
        return;
      default:
        return;
    }
  }

  /**
   * The layout learnt so far.
   *
   * @returns the layout
   * @throws {@link XenStreamError} UNSUPPORTED when no libxc domain header
   * was seen (nothing to index), or when the selected checkpoint is not in
   * the stream
   */
  finish(): MemoryLayout {
    if (this.guest === undefined) {
      throw new XenStreamError("UNSUPPORTED", 0, "no libxc stream was seen: nothing to index (a legacy stream must be converted first: xen-stream convert-legacy)");
    }
    if (this.checkpoint !== undefined && !this.stopped) {
      throw new XenStreamError(
        "USAGE",
        0,
        `options.checkpoint is ${this.checkpoint}, but the stream has ${this.checkpoints} checkpoint${this.checkpoints === 1 ? "" : "s"}`,
      );
    }
    return {
      pageSize: this.pageSize,
      xenMajor: this.xenMajor,
      xenMinor: this.xenMinor,
      guest: this.guest,
      guestWidth: this.guest === "hvm" ? 8 : this.guestWidth,
      ptLevels: this.guest === "hvm" ? undefined : this.ptLevels,
      index: this.index,
      vcpus: [...this.vcpus.values()].sort((a, b) => a.id - b.id),
      hvmContext: this.hvmContext,
      sharedInfo: this.sharedInfo,
      checkpoints: this.checkpoints,
      pageDataRecords: this.pageDataRecords,
      pagesSent: this.pagesSent,
      entriesWithoutData: this.entriesWithoutData,
    };
  }

  /** False once the selected checkpoint has passed: later pages do not count. */
  get accepting(): boolean {
    return !this.stopped;
  }

  /** Page size from the domain header (0 before it). */
  get pageBytes(): number {
    return this.pageSize;
  }

  /** True once the libxc END record was seen. */
  get complete(): boolean {
    return this.ended || this.stopped;
  }
}
