/**
 * Memory images written in one pass over a stream, as the pages arrive:
 * a sparse raw image (file offset = pfn x page size) or an ELF64 core
 * (the same placement after one page of headers, with the program headers
 * and vCPU notes written after the last page). The last copy of a page
 * wins because it is written last. Nothing but positions is kept.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { pageTypeHasData } from "../libxc/constants.js";
import type { LibxcRecordEvent } from "../libxc/decoder.js";
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import { ELF_DATA_OFFSET, elfCoreParts } from "./elf.js";
import { MemoryIndexer } from "./layout.js";
import type { GuestKind, MemoryIndexOptions, MemoryLayout } from "./layout.js";
import type { PfnRun } from "./page-index.js";
import { savedRegisters } from "./registers.js";

/** The formats {@link MemoryImageBuilder} writes. */
export type MemoryImageFormat = "raw" | "elf";

/** Options of {@link MemoryImageBuilder}. */
export interface MemoryImageOptions extends MemoryIndexOptions {
  /** `"raw"` (sparse image) or `"elf"` (ELF64 core). */
  format: MemoryImageFormat;
}

/** Receives bytes to write at an absolute position of the output file. */
export type PlaceBytes = (position: number, bytes: Uint8Array) => void;

/** One populated run in the output, for `--map`. */
export interface MemoryMapRun {
  /** First pfn. */
  pfn: number;
  /** Pages in the run. */
  count: number;
  /** Guest-physical address of the first page. */
  physicalAddress: number;
  /** Where the run starts in the output file. */
  fileOffset: number;
}

/** What an image holds: the populated ranges and where they are. */
export interface MemoryMap {
  /** Output format. */
  format: MemoryImageFormat | "xen-core";
  /** Page size. */
  pageSize: number;
  /** PV or HVM. */
  guest: GuestKind;
  /** Distinct pages written. */
  pages: number;
  /** Size the output file must have (holes included). */
  fileSize: number;
  /** Populated runs, ascending. */
  runs: MemoryMapRun[];
}

/** x86 physical addresses are at most 52 bits wide (MAXPHYADDR). */
const PHYSICAL_ADDRESS_LIMIT = 2 ** 52;

/**
 * Builds a memory image from a stream's events in one pass. Hand every
 * event to {@link MemoryImageBuilder.add} with a function that writes bytes
 * at a position (a positional file write); the bytes are views into the
 * event, valid only during the call. Then {@link MemoryImageBuilder.finish}
 * places the trailing parts and says how large the file must be.
 */
export class MemoryImageBuilder {
  private readonly format: MemoryImageFormat;
  private readonly indexer: MemoryIndexer;

  /**
   * @param options - format and checkpoint
   * @throws {@link XenStreamError} USAGE for an unknown format
   */
  constructor(options: MemoryImageOptions) {
    if (typeof options !== "object" || options === null || (options.format !== "raw" && options.format !== "elf")) {
      throw new XenStreamError("USAGE", 0, `options.format must be "raw" or "elf", got ${String((options as { format?: unknown } | null)?.format)}`);
    }
    this.format = options.format;
    const indexOptions: MemoryIndexOptions = {};
    if (options.checkpoint !== undefined) indexOptions.checkpoint = options.checkpoint;
    this.indexer = new MemoryIndexer(indexOptions);
  }

  /**
   * Takes the next event; writes the pages it carries.
   *
   * @param event - an event of any decoder in this package
   * @param place - writes bytes at an output position
   * @throws {@link XenStreamError} BAD_FIELD for a page beyond the 52-bit
   * physical address space
   */
  add(event: { layer: string; kind: string }, place: PlaceBytes): void {
    const accepting = this.indexer.accepting;
    this.indexer.add(event);
    if (!accepting || event.layer !== "libxc" || event.kind !== "record") return;
    const { record, offset } = event as LibxcRecordEvent;
    if (record.type !== "PAGE_DATA") return;
    const pageSize = this.indexer.pageBytes;
    const base = this.format === "elf" ? ELF_DATA_OFFSET : 0;
    const { entries, pages } = record;
    // Consecutive pfns with data are consecutive in the record too: one
    // write per run (a whole batch, for the common in-order batch).
    let runStart = 0;
    let runPfn = -1;
    let runPages = 0;
    let data = 0;
    const flush = (): void => {
      if (runPages > 0) place(base + runPfn * pageSize, pages.subarray(runStart, runStart + runPages * pageSize));
      runPages = 0;
    };
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as { pfn: number; type: number };
      if (!pageTypeHasData(entry.type)) continue;
      if ((entry.pfn + 1) * pageSize > PHYSICAL_ADDRESS_LIMIT) {
        throw new XenStreamError(
          "BAD_FIELD",
          offset + RECORD_HEADER_SIZE + 8 + 8 * i,
          `pfn 0x${entry.pfn.toString(16)} lies beyond the 52-bit x86 physical address space: no memory image can hold it`,
        );
      }
      if (runPages > 0 && entry.pfn === runPfn + runPages) runPages++;
      else {
        flush();
        runStart = data;
        runPfn = entry.pfn;
        runPages = 1;
      }
      data += pageSize;
    }
    flush();
  }

  /**
   * Ends the image: places the ELF header and trailer (ELF) and returns the
   * map of what was written and the file size to set.
   *
   * @param place - writes bytes at an output position
   * @returns the memory map
   * @throws {@link XenStreamError} as {@link MemoryIndexer.finish}
   */
  finish(place: PlaceBytes): MemoryMap & { layout: MemoryLayout } {
    const layout = this.indexer.finish();
    const { pageSize } = layout;
    const runs: PfnRun[] = [...layout.index.runs()];
    const last = runs[runs.length - 1];
    const end = last === undefined ? 0 : (last.pfn + last.count) * pageSize;
    const base = this.format === "elf" ? ELF_DATA_OFFSET : 0;
    let fileSize = end;
    if (this.format === "elf") {
      const trailerOffset = ELF_DATA_OFFSET + end;
      const { header, trailer } = elfCoreParts(runs, pageSize, savedRegisters(layout), trailerOffset);
      place(0, header);
      place(trailerOffset, trailer);
      fileSize = trailerOffset + trailer.length;
    }
    return {
      format: this.format,
      pageSize,
      guest: layout.guest,
      pages: layout.index.size,
      fileSize,
      runs: runs.map((run) => ({ ...run, physicalAddress: run.pfn * pageSize, fileOffset: base + run.pfn * pageSize })),
      layout,
    };
  }
}
