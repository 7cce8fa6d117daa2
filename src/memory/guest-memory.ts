/**
 * Guest memory out of a save file: an index built in one pass (pfn ->
 * position of the page's last copy), then page reads, physical reads and
 * virtual reads through the guest's own page tables. {@link GuestMemory}
 * reads a save file held in memory; {@link AsyncGuestMemory} a
 * random-access source (a file, see `fileRandomAccess` in
 * `xen-migration-stream/io/node`).
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { SaveFileDecoder } from "../savefile.js";
import type { SaveFileDecoderOptions } from "../savefile.js";
import { MemoryIndexer, ZERO_PAGE } from "./layout.js";
import type { MemoryIndexOptions, MemoryLayout } from "./layout.js";
import type { PfnRun } from "./page-index.js";
import { walk } from "./paging.js";
import type { EntryRequest, PagingState, Translation } from "./paging.js";
import { savedRegisters } from "./registers.js";
import type { VcpuRegisters } from "./registers.js";

/** x86 physical addresses are at most 52 bits wide (MAXPHYADDR). */
const PHYSICAL_ADDRESS_LIMIT = 2 ** 52;

/** Options of guest-memory readers. */
export interface GuestMemoryOptions extends MemoryIndexOptions, Pick<SaveFileDecoderOptions, "maxRecordLength" | "keepUnknownMandatory"> {}

/** Which address space a virtual read or translation walks. */
export interface AddressSpaceOptions {
  /**
   * The vCPU whose paging state is used.
   * @defaultValue the first saved vCPU
   */
  vcpu?: number;
  /**
   * Use this cr3 instead of the vCPU's, keeping the vCPU's paging mode.
   * For PV guests a pfn-based value, as the stream's page tables hold pfns.
   */
  cr3?: bigint;
  /** Use this paging state outright (overrides `vcpu` and `cr3`). */
  paging?: PagingState;
}

/**
 * A random-access byte source for {@link AsyncGuestMemory}. `read` returns
 * exactly `length` bytes at `position`, or fewer only at the end of the
 * source.
 */
export interface RandomAccessSource {
  /**
   * Reads `length` bytes at `position`.
   *
   * @param position - byte offset in the source
   * @param length - bytes wanted
   * @returns the bytes (fewer only at the end of the source)
   */
  read(position: number, length: number): Promise<Uint8Array> | Uint8Array;
  /**
   * Releases the source; called by {@link AsyncGuestMemory.close}.
   *
   * @returns when the source is released
   */
  close?(): Promise<void> | void;
}

/** One piece of a physical read: `length` bytes at `offset` in page `pfn`. */
interface Segment {
  pfn: number;
  offset: number;
  length: number;
}

function checkedAddress(value: unknown, name: string): number {
  const address = typeof value === "bigint" ? Number(value) : value;
  if (typeof address !== "number" || !Number.isSafeInteger(address) || address < 0 || (typeof value === "bigint" && BigInt(address) !== value)) {
    throw new XenStreamError("USAGE", 0, `${name} must be a non-negative integer (number or bigint), got ${describeValue(value)}`);
  }
  if (address >= PHYSICAL_ADDRESS_LIMIT) {
    throw new XenStreamError("BAD_VALUE", 0, `${name} 0x${address.toString(16)} is beyond the 52-bit x86 physical address space`);
  }
  return address;
}

function checkedLength(length: unknown): number {
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0 || length > 0x4000_0000) {
    throw new XenStreamError("USAGE", 0, `length must be an integer in 0..2^30, got ${String(length)}`);
  }
  return length;
}

function segments(address: number, length: number, pageSize: number): Segment[] {
  if (address + length > PHYSICAL_ADDRESS_LIMIT) {
    throw new XenStreamError("BAD_VALUE", 0, `a read of ${length} bytes at 0x${address.toString(16)} goes beyond the 52-bit physical address space`);
  }
  const out: Segment[] = [];
  for (let at = address, left = length; left > 0; ) {
    const pfn = Math.floor(at / pageSize);
    const offset = at - pfn * pageSize;
    const take = Math.min(left, pageSize - offset);
    out.push({ pfn, offset, length: take });
    at += take;
    left -= take;
  }
  return out;
}

function missingPage(pfn: number, address: number): XenStreamError {
  return new XenStreamError(
    "NOT_PRESENT",
    0,
    `pfn 0x${pfn.toString(16)} (physical address 0x${address.toString(16)}) is not in the stream`,
  );
}

function entryValue(bytes: Uint8Array, size: 4 | 8): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return size === 8 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
}

/** What both readers share: the layout, the registers, the address-space choice. */
abstract class GuestMemoryBase {
  /** What the indexing pass found: page size, guest kind and width, counts. */
  readonly layout: MemoryLayout;
  /** The registers of each saved vCPU, in id order. */
  readonly registers: readonly VcpuRegisters[];

  protected constructor(layout: MemoryLayout) {
    this.layout = layout;
    this.registers = savedRegisters(layout);
  }

  /** Page size of the guest. */
  get pageSize(): number {
    return this.layout.pageSize;
  }

  /** Number of distinct pages the stream holds. */
  get pageCount(): number {
    return this.layout.index.size;
  }

  /**
   * True when the stream holds page `pfn`.
   *
   * @param pfn - the page frame number
   * @returns whether a copy of the page (or an XALLOC entry for it) is in the stream
   */
  hasPage(pfn: number): boolean {
    return this.layout.index.get(pfn) !== undefined;
  }

  /**
   * The populated pfns as maximal runs, in ascending order.
   *
   * @returns the runs, `{ pfn, count }`
   */
  runs(): Iterable<PfnRun> {
    return this.layout.index.runs();
  }

  /**
   * The paging state of an address space.
   *
   * @param options - vCPU, cr3 or an explicit paging state
   * @returns where a walk starts
   * @throws {@link XenStreamError} USAGE for a vCPU that was not saved
   */
  pagingState(options: AddressSpaceOptions = {}): PagingState {
    if (typeof options !== "object" || options === null) throw new XenStreamError("USAGE", 0, "options must be an object");
    if (options.paging !== undefined) return options.paging;
    const registers =
      options.vcpu === undefined ? this.registers[0] : this.registers.find((vcpu) => vcpu.id === options.vcpu);
    if (registers === undefined) {
      throw new XenStreamError(
        "USAGE",
        0,
        options.vcpu === undefined
          ? "the stream holds no vCPU state: give options.paging"
          : `options.vcpu ${String(options.vcpu)} is not a saved vCPU (saved: ${this.registers.map((vcpu) => vcpu.id).join(", ") || "none"})`,
      );
    }
    const { paging } = registers;
    if (options.cr3 === undefined) return paging;
    if (typeof options.cr3 !== "bigint" || options.cr3 < 0n) throw new XenStreamError("USAGE", 0, "options.cr3 must be a non-negative bigint");
    const mask = paging.mode === "pae" ? 0xffff_ffe0n : paging.mode === "32-bit" ? 0xffff_f000n : 0x000f_ffff_ffff_f000n;
    return { ...paging, tableAddress: options.cr3 & mask };
  }

  /**
   * Where the page holding `pfn` starts in the source, or throws NOT_PRESENT.
   *
   * @param pfn - the page frame number
   * @param address - the address asked for, for the message
   * @returns the page's position in the source
   * @throws {@link index!XenStreamError} NOT_PRESENT when the stream does not hold the page
   * @internal
   */
  protected positionOf(pfn: number, address: number): number {
    const position = this.layout.index.get(pfn);
    if (position === undefined) throw missingPage(pfn, address);
    return position;
  }
}

/**
 * Guest memory of a save file held in memory: pages are views into it.
 *
 * @example
 * ```ts
 * import { GuestMemory } from "xen-migration-stream";
 * const memory = GuestMemory.fromBytes(saveFileBytes);
 * const page = memory.readPage(0x1000); // Uint8Array view, or undefined
 * ```
 */
export class GuestMemory extends GuestMemoryBase {
  private readonly bytes: Uint8Array;

  private constructor(layout: MemoryLayout, bytes: Uint8Array) {
    super(layout);
    this.bytes = bytes;
  }

  /**
   * Decodes a whole save file (any format the save-file decoder detects)
   * and indexes its pages.
   *
   * @param bytes - the save file
   * @param options - checkpoint selection and decoder limits
   * @returns the guest memory
   * @throws {@link XenStreamError} for a malformed stream, USAGE for bad arguments
   */
  static fromBytes(bytes: Uint8Array, options: GuestMemoryOptions = {}): GuestMemory {
    if (!(bytes instanceof Uint8Array)) throw new XenStreamError("USAGE", 0, "bytes must be a Uint8Array");
    const indexer = new MemoryIndexer(options);
    const decoder = new SaveFileDecoder(decoderOptions(options));
    decoder.pushEach(bytes, (event) => indexer.add(event));
    decoder.end();
    return new GuestMemory(indexer.finish(), bytes);
  }

  /**
   * The contents of page `pfn` (a view into the save file), or undefined
   * when the stream does not hold it.
   *
   * @param pfn - the page frame number
   * @returns the page's bytes (zeros for a page sent only as XALLOC), or undefined
   */
  readPage(pfn: number): Uint8Array | undefined {
    const position = this.layout.index.get(pfn);
    if (position === undefined) return undefined;
    return position === ZERO_PAGE ? new Uint8Array(this.pageSize) : this.bytes.subarray(position, position + this.pageSize);
  }

  /**
   * Reads guest-physical memory.
   *
   * @param physicalAddress - where to start
   * @param length - bytes to read (at most 1 GiB)
   * @returns a new array with the bytes
   * @throws {@link XenStreamError} NOT_PRESENT when a page is not in the stream
   */
  read(physicalAddress: number | bigint, length: number): Uint8Array {
    const address = checkedAddress(physicalAddress, "physicalAddress");
    const out = new Uint8Array(checkedLength(length));
    let at = 0;
    for (const segment of segments(address, out.length, this.pageSize)) {
      const position = this.positionOf(segment.pfn, address + at);
      if (position !== ZERO_PAGE) out.set(this.bytes.subarray(position + segment.offset, position + segment.offset + segment.length), at);
      at += segment.length;
    }
    return out;
  }

  /**
   * Translates a virtual address through the guest's page tables.
   *
   * @param virtualAddress - the address
   * @param options - whose address space (default: the first vCPU's)
   * @returns the physical address and the entries walked
   * @throws {@link XenStreamError} NOT_PRESENT for an unmapped address or a
   * page table the stream does not hold
   */
  translate(virtualAddress: bigint, options: AddressSpaceOptions = {}): Translation {
    const steps = walk(this.pagingState(options), virtualAddress);
    for (let step = steps.next(); ; ) {
      if (step.done === true) return step.value;
      const request: EntryRequest = step.value;
      step = steps.next(entryValue(this.read(request.address, request.size), request.size));
    }
  }

  /**
   * Reads guest-virtual memory, page by page through the page tables.
   *
   * @param virtualAddress - where to start
   * @param length - bytes to read (at most 1 GiB)
   * @param options - whose address space
   * @returns a new array with the bytes
   * @throws {@link index!XenStreamError} NOT_PRESENT for an unmapped address or a
   * page the stream does not hold
   */
  readVirtual(virtualAddress: bigint, length: number, options: AddressSpaceOptions = {}): Uint8Array {
    const out = new Uint8Array(checkedLength(length));
    forEachVirtualPiece(virtualAddress, out.length, (va, at, take) => {
      const { physicalAddress } = this.translate(va, options);
      out.set(this.read(physicalAddress, take), at);
    });
    return out;
  }
}

/** Splits a virtual range at 4 KiB boundaries (the smallest page any mode maps). */
function forEachVirtualPiece(virtualAddress: bigint, length: number, visit: (va: bigint, at: number, take: number) => void): void {
  if (typeof virtualAddress !== "bigint") throw new XenStreamError("USAGE", 0, "virtualAddress must be a bigint");
  for (let at = 0; at < length; ) {
    const va = virtualAddress + BigInt(at);
    const take = Math.min(length - at, 4096 - Number(va & 0xfffn));
    visit(va, at, take);
    at += take;
  }
}

function decoderOptions(options: GuestMemoryOptions): SaveFileDecoderOptions {
  const out: SaveFileDecoderOptions = {};
  if (options.maxRecordLength !== undefined) out.maxRecordLength = options.maxRecordLength;
  if (options.keepUnknownMandatory !== undefined) out.keepUnknownMandatory = options.keepUnknownMandatory;
  return out;
}

/** Largest single read while indexing: the decoder asks for one record at a time. */
const INDEX_READ_MAX = 1 << 20;

/**
 * Guest memory of a save file behind a random-access source (for files far
 * larger than memory): one sequential pass builds the index, then every
 * read fetches only the pages it needs.
 *
 * @example
 * ```ts
 * import { AsyncGuestMemory } from "xen-migration-stream";
 * import { fileRandomAccess } from "xen-migration-stream/io/node";
 * const memory = await AsyncGuestMemory.open(fileRandomAccess("guest.save"));
 * const bytes = await memory.readVirtual(0xffffffff81000000n, 64);
 * await memory.close();
 * ```
 */
export class AsyncGuestMemory extends GuestMemoryBase {
  private readonly source: RandomAccessSource;

  private constructor(layout: MemoryLayout, source: RandomAccessSource) {
    super(layout);
    this.source = source;
  }

  /**
   * Indexes a save file read through `source`.
   *
   * @param source - random access to the save file
   * @param options - checkpoint selection and decoder limits
   * @returns the guest memory
   * @throws {@link XenStreamError} for a malformed stream, USAGE for bad arguments
   */
  static async open(source: RandomAccessSource, options: GuestMemoryOptions = {}): Promise<AsyncGuestMemory> {
    if (typeof source !== "object" || source === null || typeof source.read !== "function") {
      throw new XenStreamError("USAGE", 0, "source must be a RandomAccessSource ({ read(position, length) })");
    }
    const indexer = new MemoryIndexer(options);
    const decoder = new SaveFileDecoder(decoderOptions(options));
    let position = 0;
    for (;;) {
      const want = Math.min(decoder.bytesWanted, INDEX_READ_MAX);
      if (want === 0) break;
      const chunk = await source.read(position, want);
      if (!(chunk instanceof Uint8Array)) throw new XenStreamError("USAGE", position, "source.read must return a Uint8Array");
      if (chunk.length === 0) break;
      position += chunk.length;
      decoder.pushEach(chunk, (event) => indexer.add(event));
    }
    decoder.end();
    return new AsyncGuestMemory(indexer.finish(), source);
  }

  /**
   * The contents of page `pfn`, or undefined when the stream does not hold it.
   *
   * @param pfn - the page frame number
   * @returns the page's bytes (zeros for a page sent only as XALLOC), or undefined
   */
  async readPage(pfn: number): Promise<Uint8Array | undefined> {
    const position = this.layout.index.get(pfn);
    if (position === undefined) return undefined;
    return position === ZERO_PAGE ? new Uint8Array(this.pageSize) : this.exactly(position, this.pageSize);
  }

  /**
   * Reads guest-physical memory; see {@link GuestMemory.read}.
   *
   * @param physicalAddress - where to start
   * @param length - bytes to read (at most 1 GiB)
   * @returns a new array with the bytes
   * @throws {@link index!XenStreamError} NOT_PRESENT when a page is not in the stream
   */
  async read(physicalAddress: number | bigint, length: number): Promise<Uint8Array> {
    const address = checkedAddress(physicalAddress, "physicalAddress");
    const out = new Uint8Array(checkedLength(length));
    let at = 0;
    for (const segment of segments(address, out.length, this.pageSize)) {
      const position = this.positionOf(segment.pfn, address + at);
      if (position !== ZERO_PAGE) out.set(await this.exactly(position + segment.offset, segment.length), at);
      at += segment.length;
    }
    return out;
  }

  /**
   * Translates a virtual address; see {@link GuestMemory.translate}.
   *
   * @param virtualAddress - the address
   * @param options - whose address space (default: the first vCPU's)
   * @returns the physical address and the entries walked
   * @throws {@link index!XenStreamError} NOT_PRESENT for an unmapped address or a
   * page table the stream does not hold
   */
  async translate(virtualAddress: bigint, options: AddressSpaceOptions = {}): Promise<Translation> {
    const steps = walk(this.pagingState(options), virtualAddress);
    for (let step = steps.next(); ; ) {
      if (step.done === true) return step.value;
      const request: EntryRequest = step.value;
      step = steps.next(entryValue(await this.read(request.address, request.size), request.size));
    }
  }

  /**
   * Reads guest-virtual memory; see {@link GuestMemory.readVirtual}.
   *
   * @param virtualAddress - where to start
   * @param length - bytes to read (at most 1 GiB)
   * @param options - whose address space
   * @returns a new array with the bytes
   */
  async readVirtual(virtualAddress: bigint, length: number, options: AddressSpaceOptions = {}): Promise<Uint8Array> {
    const out = new Uint8Array(checkedLength(length));
    const pieces: { va: bigint; at: number; take: number }[] = [];
    forEachVirtualPiece(virtualAddress, out.length, (va, at, take) => pieces.push({ va, at, take }));
    for (const { va, at, take } of pieces) {
      const { physicalAddress } = await this.translate(va, options);
      out.set(await this.read(physicalAddress, take), at);
    }
    return out;
  }

  /**
   * Closes the source.
   *
   * @returns when the source's `close` (if it has one) is done
   */
  async close(): Promise<void> {
    await this.source.close?.();
  }

  private async exactly(position: number, length: number): Promise<Uint8Array> {
    const bytes = await this.source.read(position, length);
    if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
      throw new XenStreamError("TRUNCATED", position, `source returned ${bytes instanceof Uint8Array ? bytes.length : "no"} bytes of the ${length} indexed at this position`);
    }
    return bytes;
  }
}
