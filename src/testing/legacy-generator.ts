/**
 * A seeded, deterministic generator of legacy (Xen <= 4.5) save streams,
 * laid out as the 4.5 savers wrote them (legacy-stream.md §3-§9): p2m_size;
 * PV extended info (`vcpu`, `extv`, `xcnt`) and p2m frame list; TSC_INFO;
 * page batches (with the saver's bare 0xF0000000 XTAB entries, XTAB/BROKEN/
 * XALLOC entries, page-table types); optional verify mode; VCPU_INFO; HVM
 * parameter chunks in the saver's order; the libxl TOOLSTACK chunk with
 * physmap entries (64-bit padding quirk included); LAST_CHECKPOINT; the PV
 * or HVM tail; the QEMU record; optionally an xl header in front.
 *
 * Plain seeded PRNG, no fast-check, no Node built-ins: the same seed and
 * options give the same bytes everywhere, so a fuzzing kit can wrap it
 * (seed from an arbitrary) and a benchmark can stream gigabytes of it
 * ({@link legacyStreamChunks}).
 *
 * By default every stream is one that Xen's convert-legacy-stream converts
 * without error and whose output Xen's own verifier and restore accept; the
 * `allXtabBatch` and `qemu` options reach the reference's known faults
 * (reference-tool-bugs.md B3, B11).
 *
 * @module
 */
import { concatBytes } from "../wire/bytes.js";

/** A small deterministic PRNG (splitmix32). */
export class LegacyPrng {
  private state: number;

  /**
   * A generator whose sequence is fixed by `seed`.
   *
   * @param seed - any integer
   */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next u32. */
  u32(): number {
    let z = (this.state = (this.state + 0x9e37_79b9) | 0);
    z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Integer in `min..max` (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor((this.u32() / 0x1_0000_0000) * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): Uint8Array {
    const words = Math.floor(bytes.length / 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < words; i++) view.setUint32(4 * i, this.u32(), true);
    for (let i = 4 * words; i < bytes.length; i++) bytes[i] = this.u32() & 0xff;
    return bytes;
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    return this.fill(new Uint8Array(length));
  }
}

/** The QEMU record to put after an HVM tail. */
export type LegacyQemuKind = "DeviceModelRecord0002" | "QemuDeviceModelRecord" | "RemusDeviceModelState" | "none";

/** Options of the legacy stream generator. Unset fields are drawn from the seed. */
export interface LegacyGeneratorOptions {
  /** PRNG seed. */
  seed: number;
  /** Toolstack width. */
  width?: 32 | 64;
  /** Guest type. */
  guest?: "pv" | "hvm";
  /** PV guest width in bytes (4: 32-bit PAE, 8: 64-bit). */
  guestWidth?: 4 | 8;
  /** Pages carrying data, over all batches. @defaultValue 1..48 */
  pages?: number;
  /** Most entries per batch (1..1024). @defaultValue 1..64 */
  maxBatch?: number;
  /**
   * Mix in dataless and page-table entries: bare 0xF0000000 XTAB entries,
   * XTAB with a pfn, BROKEN, XALLOC (HVM), L1-L4 and pinned types (PV).
   * @defaultValue drawn
   */
  mixedTypes?: boolean;
  /** Batches as large as `maxBatch` allows (else random sizes). @defaultValue false */
  fullBatches?: boolean;
  /** Add one batch made only of bare 0xF0000000 entries (B3). @defaultValue false */
  allXtabBatch?: boolean;
  /** Online vCPUs (vCPU 0 always among them). @defaultValue 1..4 */
  vcpus?: number;
  /** `extv` block (PV). */
  extv?: boolean;
  /** `xcnt` block value: 16 + xsave data bytes, or 0 for none (PV). */
  xcnt?: number;
  /** TSC_INFO chunk. */
  tsc?: boolean;
  /** ENABLE_VERIFY_MODE followed by a resend of some batches. */
  verifyMode?: boolean;
  /** HVM parameter chunks (HVM). */
  hvmParams?: boolean;
  /** Write a libxl TOOLSTACK chunk (libxl-written stream). */
  toolstack?: boolean;
  /** Physmap entries in the TOOLSTACK chunk (HVM; PV libxl writes 0). */
  physmapEntries?: number;
  /** LAST_CHECKPOINT chunk. @defaultValue true */
  lastCheckpoint?: boolean;
  /** Unmapped pfns in the PV tail. */
  unmapped?: number;
  /** QEMU record after an HVM tail. @defaultValue "DeviceModelRecord0002" */
  qemu?: LegacyQemuKind;
  /** QEMU state size in bytes. */
  qemuLength?: number;
  /** Prefix an xl header (Xen 4.5 style: JSON config, mandatory flags 0x1). */
  xl?: boolean;
  /**
   * Page contents: "random" (every page from the PRNG) or "pool" (views
   * into one random 4 MiB pool: fast, for large benchmark streams).
   * @defaultValue "random"
   */
  pageFill?: "random" | "pool";
}

/** What a generated stream contains, for checking a conversion. */
export interface LegacyStreamSummary {
  width: 32 | 64;
  guest: "pv" | "hvm";
  /** PV guest width (0 for HVM). */
  guestWidth: number;
  p2mSize: number;
  /** Bytes of xl header in front (0 without). */
  xlHeaderSize: number;
  /** Page batches written, including all-XTAB ones. */
  batches: number;
  /** Batches with at least one entry besides bare 0xF0000000 ones (= PAGE_DATA records). */
  pageDataRecords: number;
  /** Entries kept in the conversion, over all batches. */
  keptEntries: number;
  /** Pages of data, over all batches. */
  dataPages: number;
  /** Online vCPU ids, ascending. */
  onlineVcpus: number[];
  extv: boolean;
  xcnt: number;
  /** TSC_INFO chunks written. */
  tscChunks: number;
  /** HVM parameter chunks written. */
  hvmParamChunks: number;
  /** Physmap entries in the TOOLSTACK chunk (0 without one). */
  physmapEntries: number;
  /** True when a TOOLSTACK chunk was written. */
  toolstack: boolean;
  qemu: LegacyQemuKind;
  /** QEMU state bytes (0 without a record). */
  qemuLength: number;
  /** Total stream length. */
  length: number;
}

/** A generated stream with its summary. */
export interface GeneratedLegacyStream {
  bytes: Uint8Array;
  summary: LegacyStreamSummary;
}

const PAGE_SIZE = 4096;
const XTAB_BARE = 0xf000_0000;
const XL_MAGIC_TEXT = "Xen saved domain, xl format\n \0 \r";
/** Saver order of the HVM parameter chunks (legacy-stream.md §5.3 step 7). */
const HVM_PARAM_CHUNK_ORDER = [-14, -3, -15, -16, -17, -4, -8, -10, -11, -19, -20];
const PHYSMAP_NAMES = ["vga.vram", "xen.ram", "cirrus_vga.vram", "qxl.vram", "e1000.rom", "vgabios.bin"];

/** Little-endian byte builder for one section of the stream. */
class Bytes {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private room(size: number): void {
    if (this.length + size <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + size) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u32(value: number): this {
    this.room(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
    return this;
  }

  i32(value: number): this {
    this.room(4);
    this.view.setInt32(this.length, value, true);
    this.length += 4;
    return this;
  }

  u64(value: bigint | number): this {
    this.room(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
    return this;
  }

  /** A toolstack `unsigned long`. */
  ulong(value: number | bigint, width: 32 | 64): this {
    return width === 64 ? this.u64(value) : this.u32(Number(value));
  }

  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  ascii(text: string): this {
    return this.raw(Uint8Array.from(text, (c) => c.charCodeAt(0)));
  }

  done(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

interface Resolved {
  width: 32 | 64;
  guest: "pv" | "hvm";
  guestWidth: 4 | 8;
  pages: number;
  maxBatch: number;
  mixedTypes: boolean;
  allXtabBatch: boolean;
  fullBatches: boolean;
  vcpus: number;
  extv: boolean;
  xcnt: number;
  tsc: boolean;
  verifyMode: boolean;
  hvmParams: boolean;
  toolstack: boolean;
  physmapEntries: number;
  lastCheckpoint: boolean;
  unmapped: number;
  qemu: LegacyQemuKind;
  qemuLength: number;
  xl: boolean;
  pageFill: "random" | "pool";
}

function resolve(options: LegacyGeneratorOptions, prng: LegacyPrng): Resolved {
  const guest = options.guest ?? prng.pick(["pv", "hvm"] as const);
  const pv = guest === "pv";
  const toolstack = options.toolstack ?? prng.chance(0.7);
  const resolved: Resolved = {
    width: options.width ?? prng.pick([32, 64] as const),
    guest,
    guestWidth: options.guestWidth ?? prng.pick([4, 8] as const),
    pages: options.pages ?? prng.int(1, 48),
    maxBatch: options.maxBatch ?? prng.int(1, 64),
    mixedTypes: options.mixedTypes ?? prng.chance(0.6),
    allXtabBatch: options.allXtabBatch ?? false,
    fullBatches: options.fullBatches ?? false,
    vcpus: options.vcpus ?? prng.int(1, 4),
    extv: options.extv ?? (pv && prng.chance(0.7)),
    // xcnt = 16-byte legacy header + xcr0 + xcr0_accum + an XSAVE area (legacy + header, AVX, AVX + MPX).
    xcnt: options.xcnt ?? (pv && prng.chance(0.5) ? 16 + 16 + prng.pick([576, 832, 1088]) : 0),
    tsc: options.tsc ?? prng.chance(0.8),
    verifyMode: options.verifyMode ?? prng.chance(0.15),
    hvmParams: options.hvmParams ?? (!pv && prng.chance(0.8)),
    toolstack,
    physmapEntries: options.physmapEntries ?? (toolstack && !pv ? prng.int(0, 3) : 0),
    lastCheckpoint: options.lastCheckpoint ?? true,
    unmapped: options.unmapped ?? (pv && prng.chance(0.3) ? prng.int(1, 5) : 0),
    qemu: options.qemu ?? (pv ? "none" : "DeviceModelRecord0002"),
    qemuLength: options.qemuLength ?? prng.int(4, 600),
    xl: options.xl ?? false,
    pageFill: options.pageFill ?? "random",
  };
  if (resolved.maxBatch < 1 || resolved.maxBatch > 1024) throw new RangeError("legacy generator: maxBatch must be 1..1024");
  if (resolved.vcpus < 1 || resolved.vcpus > 4096) throw new RangeError("legacy generator: vcpus must be 1..4096");
  if (resolved.xcnt !== 0 && resolved.xcnt < 16) throw new RangeError("legacy generator: xcnt must be 0 or >= 16");
  if (pv) resolved.qemu = "none";
  if (resolved.qemu === "QemuDeviceModelRecord" && resolved.qemuLength < 4) resolved.qemuLength = 4;
  return resolved;
}

/** An xl header as Xen 4.5's `xl save` wrote it: JSON flag, config with NUL. */
function xlHeader(prng: LegacyPrng, guest: "pv" | "hvm"): Uint8Array {
  const config = `{\n    "c_info": {\n        "type": "${guest}",\n        "name": "guest${prng.int(0, 999)}"\n    }\n}\n\0`;
  const out = new Bytes().ascii(XL_MAGIC_TEXT).u32(0x0102_0304).u32(0x1).u32(0).u32(4 + config.length);
  return out.u32(config.length).ascii(config).done();
}

/** An HVM context blob that opens with a valid HVM save header and ends with END. */
function hvmContext(prng: LegacyPrng, vcpus: number): Uint8Array {
  const out = new Bytes();
  out.u32(1 | (0 << 16)).u32(24); // descriptor: HEADER, instance 0, length 24
  out.u32(0x5438_1286).u32(1).u64(prng.u32()).u32(0x000306c3).u32(prng.int(1_000_000, 4_000_000));
  for (let vcpu = 0; vcpu < vcpus; vcpu++) {
    out.u32(2 | (vcpu << 16)).u32(1024).raw(prng.bytes(1024)); // CPU
  }
  out.u32(3).u32(8).raw(prng.bytes(8)); // PIC master
  out.u32(0).u32(0); // END
  return out.done();
}

/** Deterministic entry list of one batch. */
interface Batch {
  entries: number[];
  dataPages: number;
  kept: number;
}

function makeBatch(prng: LegacyPrng, size: number, pfnBase: number, p2mSize: number, resolved: Resolved, maxData: number): Batch {
  const entries: number[] = [];
  let dataPages = 0;
  let kept = 0;
  const pv = resolved.guest === "pv";
  // Consecutive pfns (mod p2m_size), at most p2m_size of them: distinct within the batch.
  let pfn = pfnBase % p2mSize;
  let used = 0;
  for (let i = 0; i < size && used < p2mSize; i++) {
    let type = 0;
    if (dataPages >= maxData) {
      type = prng.pick(pv ? [0xf, 0xd] : [0xf, 0xd, 0xe]);
    } else if (resolved.mixedTypes && prng.chance(0.25)) {
      type = prng.pick(pv ? [0x1, 0x2, 0x3, 0x4, 0x9, 0xa, 0xb, 0xc, 0xd, 0xf, 0xf] : [0xd, 0xe, 0xe, 0xf, 0xf]);
    }
    if (type === 0xf && prng.chance(0.5)) {
      entries.push(XTAB_BARE); // the 4.5 saver's pfn-less XTAB
      continue;
    }
    const entryPfn = pfn;
    pfn = (pfn + 1) % p2mSize;
    used++;
    if (type === 0xf && entryPfn === 0) {
      entries.push(XTAB_BARE);
      continue;
    }
    entries.push(((type << 28) | entryPfn) >>> 0);
    kept++;
    if (type < 0xd) dataPages++;
  }
  return { entries, dataPages, kept };
}

/**
 * The stream as a sequence of byte chunks, generated lazily: a multi-GiB
 * stream never exists in memory at once. Page data comes in chunks of at
 * most one batch.
 *
 * @param options - seed and shape
 * @param summaryOut - filled with the summary once the generator completes
 * @returns a generator of chunks
 */
export function* legacyStreamChunks(options: LegacyGeneratorOptions, summaryOut?: Partial<LegacyStreamSummary>): Generator<Uint8Array> {
  const prng = new LegacyPrng(options.seed);
  const r = resolve(options, prng);
  const pv = r.guest === "pv";
  const w = r.width;
  let length = 0;
  const summary: LegacyStreamSummary = {
    width: w,
    guest: r.guest,
    guestWidth: pv ? r.guestWidth : 0,
    p2mSize: 0,
    xlHeaderSize: 0,
    batches: 0,
    pageDataRecords: 0,
    keptEntries: 0,
    dataPages: 0,
    onlineVcpus: [],
    extv: pv && r.extv,
    xcnt: pv ? r.xcnt : 0,
    tscChunks: 0,
    hvmParamChunks: 0,
    physmapEntries: 0,
    toolstack: r.toolstack,
    qemu: r.qemu,
    qemuLength: r.qemu === "none" ? 0 : r.qemuLength,
    length: 0,
  };
  const out = (bytes: Uint8Array): Uint8Array => {
    length += bytes.length;
    return bytes;
  };

  if (r.xl) {
    const header = xlHeader(prng, r.guest);
    summary.xlHeaderSize = header.length;
    yield out(header);
  }

  const p2mSize = Math.max(1, r.pages + prng.int(1, 2048));
  summary.p2mSize = p2mSize;
  const head = new Bytes().ulong(p2mSize, w);
  const contextSize = r.guestWidth === 8 ? 0x1430 : 0xaf0;
  if (pv) {
    const blocks = new Bytes().ascii("vcpu").u32(contextSize).raw(prng.bytes(contextSize));
    if (r.extv) blocks.ascii("extv").u32(0);
    if (r.xcnt !== 0) blocks.ascii("xcnt").u32(4).u32(r.xcnt);
    const blockBytes = blocks.done();
    head.ulong(w === 64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffff, w).u32(blockBytes.length).raw(blockBytes);
    const framesPerPage = PAGE_SIZE / r.guestWidth;
    const frames = Math.floor((p2mSize - 1) / framesPerPage) + 1;
    for (let i = 0; i < frames; i++) head.ulong(prng.int(0, p2mSize - 1), w);
  }
  if (r.tsc) {
    head.i32(-7).u32(prng.pick([0, 1, 2])).u64(BigInt(prng.u32()) * 1000n).u32(prng.int(1_000_000, 4_000_000)).u32(prng.int(0, 5));
    summary.tscChunks++;
  }
  yield out(head.done());

  const pool = r.pageFill === "pool" ? prng.bytes(1024 * PAGE_SIZE) : undefined;
  const emitBatches = function* (pagesWanted: number): Generator<Uint8Array> {
    let pagesLeft = pagesWanted;
    let pfnBase = prng.int(0, p2mSize - 1);
    while (pagesLeft > 0) {
      const size = Math.min(r.maxBatch, r.mixedTypes ? r.maxBatch : pagesLeft);
      const batch = makeBatch(prng, r.fullBatches ? size : prng.int(1, size), pfnBase, p2mSize, r, pagesLeft);
      pfnBase += batch.entries.length;
      // A batch of bare XTAB entries only is never written by the 4.5 saver.
      if (batch.kept === 0) continue;
      summary.batches++;
      summary.pageDataRecords++;
      summary.keptEntries += batch.kept;
      summary.dataPages += batch.dataPages;
      pagesLeft -= batch.dataPages;
      const entries = new Bytes().i32(batch.entries.length);
      for (const entry of batch.entries) entries.ulong(entry, w);
      yield out(entries.done());
      if (batch.dataPages > 0) {
        const size = batch.dataPages * PAGE_SIZE;
        if (pool === undefined) yield out(prng.bytes(size));
        else {
          const start = PAGE_SIZE * prng.int(0, 1024 - batch.dataPages);
          yield out(pool.subarray(start, start + size));
        }
      }
    }
  };

  yield* emitBatches(r.pages);
  if (r.allXtabBatch) {
    const count = prng.int(1, 8);
    const entries = new Bytes().i32(count);
    for (let i = 0; i < count; i++) entries.ulong(XTAB_BARE, w);
    summary.batches++;
    yield out(entries.done());
  }
  if (r.verifyMode) {
    yield out(new Bytes().i32(-1).done());
    yield* emitBatches(Math.min(r.pages, 8));
  }

  const tail = new Bytes();
  // VCPU_INFO: vCPU 0 plus (vcpus - 1) others below max_vcpu_id.
  const maxVcpuId = Math.max(r.vcpus - 1, r.vcpus > 1 ? prng.int(r.vcpus - 1, r.vcpus + 6) : 0);
  const online = new Set<number>([0]);
  while (online.size < r.vcpus) online.add(prng.int(1, maxVcpuId));
  summary.onlineVcpus = [...online].sort((a, b) => a - b);
  const words = Math.floor(maxVcpuId / 64) + 1;
  const map = new Array<bigint>(words).fill(0n);
  for (const id of online) map[Math.floor(id / 64)] = (map[Math.floor(id / 64)] as bigint) | (1n << BigInt(id % 64));
  tail.i32(-2).i32(maxVcpuId);
  for (const word of map) tail.u64(word);

  if (!pv && r.hvmParams) {
    for (const id of HVM_PARAM_CHUNK_ORDER) {
      if (!prng.chance(0.5)) continue;
      tail.i32(id).u32(0).u64(id === -10 ? prng.int(0, 1) : prng.int(1, 0xfffff));
      summary.hvmParamChunks++;
    }
  }
  if (r.toolstack) {
    const data = new Bytes().u32(1).u32(r.physmapEntries);
    for (let i = 0; i < r.physmapEntries; i++) {
      const name = `${prng.pick(PHYSMAP_NAMES)}\0`;
      data.u64(BigInt(prng.int(0xf0000, 0xfffff)) << 12n).u64(BigInt(prng.int(0xf0000, 0xfffff)) << 12n).u64(BigInt(prng.int(1, 4096)) << 12n);
      data.u32(name.length).ascii(name);
      if (w === 64) data.raw(prng.bytes(4)); // the 64-bit struct padding quirk (§9)
    }
    summary.physmapEntries = r.physmapEntries;
    const bytes = data.done();
    tail.i32(-18).u32(bytes.length).raw(bytes);
  }
  if (r.lastCheckpoint) tail.i32(-9);
  tail.i32(0);

  if (pv) {
    tail.u32(r.unmapped);
    for (let i = 0; i < r.unmapped; i++) tail.ulong(prng.int(0, p2mSize - 1), w);
    for (let i = 0; i < summary.onlineVcpus.length; i++) {
      tail.raw(prng.bytes(contextSize));
      if (r.extv) tail.raw(prng.bytes(128));
      if (r.xcnt !== 0) tail.u64(0x7).u64(r.xcnt - 16).raw(prng.bytes(r.xcnt - 16));
    }
    tail.raw(prng.bytes(PAGE_SIZE));
  } else {
    tail.u64(prng.int(0xfeff0, 0xfefff)).u64(prng.int(0xfeff0, 0xfefff)).u64(prng.int(0xfeff0, 0xfefff));
    const context = hvmContext(prng, summary.onlineVcpus.length);
    tail.u32(context.length).raw(context);
    if (r.qemu !== "none") {
      tail.ascii(r.qemu);
      const state = prng.bytes(r.qemuLength);
      if (r.qemu === "QemuDeviceModelRecord") state.set([0x51, 0x45, 0x56, 0x4d]); // "QEVM"
      else tail.u32(state.length);
      tail.raw(state);
    }
  }
  yield out(tail.done());
  summary.length = length;
  if (summaryOut !== undefined) Object.assign(summaryOut, summary);
}

/**
 * Generates a whole legacy stream.
 *
 * @param options - seed and shape
 * @returns the bytes and what they contain
 *
 * @example
 * ```ts
 * import { generateLegacyStream } from "xen-migration-stream/testing";
 * const { bytes, summary } = generateLegacyStream({ seed: 1, width: 64, guest: "pv" });
 * summary.guest; //=> "pv"
 * ```
 */
export function generateLegacyStream(options: LegacyGeneratorOptions): GeneratedLegacyStream {
  const summary: Partial<LegacyStreamSummary> = {};
  const bytes = concatBytes([...legacyStreamChunks(options, summary)]);
  return { bytes, summary: summary as LegacyStreamSummary };
}
