/**
 * What two streams are compared by, gathered in one pass each: a 52-bit
 * hash of the last copy of every page (in a pfn index: 8 bytes per page,
 * 2 MiB per GiB of guest memory), and the non-memory facts (headers,
 * config, the record sequence, the bodies of the state records).
 *
 * @module
 */
import { pageTypeHasData } from "../libxc/constants.js";
import type { LibxcEvent, LibxcRecordEvent } from "../libxc/decoder.js";
import type { LibxlEvent, LibxlRecordEvent } from "../libxl/decoder.js";
import { PageIndex } from "../memory/page-index.js";
import type { LegacyPayloadEvent, LibvirtHeaderEvent, XenopsdChunkEvent, XenopsdLegacyQemuEvent, XenopsdSignatureEvent, XlHeaderEvent } from "../savefile.js";
import { textOf } from "../savefile-config.js";
import { decodeUtf8 } from "../sexp.js";

/** Words of the scratch copy for pages that are not 4-byte aligned. */
let scratch = new Uint32Array(1024);

/** `bytes` as 32-bit words (platform order): a view when aligned, else a copy in the scratch buffer. */
function wordsOf(bytes: Uint8Array): Uint32Array {
  const count = bytes.length >>> 2;
  if ((bytes.byteOffset & 3) === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  if (scratch.length < count + 1) scratch = new Uint32Array(count + 1);
  new Uint8Array(scratch.buffer, 0, bytes.length).set(bytes);
  return scratch.subarray(0, count);
}

/**
 * The hash of `length` bytes: `words[start..]` hold their whole 32-bit
 * words, `tail` the bytes after the last whole word (pages have none).
 * See {@link pageHash}.
 */
function hashWords(words: Uint32Array, start: number, length: number, tail: Uint8Array | undefined): number {
  const end = start + (length >>> 2);
  let a = 0x811c_9dc5;
  let b = 0x0100_0193 ^ length;
  let i = start;
  for (; i + 1 < end; i += 2) {
    a = Math.imul(a ^ (words[i] as number), 0x9e37_79b1);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ (words[i + 1] as number), 0x85eb_ca77);
    b = (b << 17) | (b >>> 15);
  }
  if (i < end) {
    a = Math.imul(a ^ (words[i] as number), 0x9e37_79b1);
    a = (a << 13) | (a >>> 19);
  }
  if (tail !== undefined) for (let pos = 0; pos < tail.length; pos++) b = Math.imul(b ^ (tail[pos] as number), 0x85eb_ca77);
  a ^= Math.imul(b ^ (b >>> 16), 0x7feb_352d);
  a = Math.imul(a ^ (a >>> 15), 0x846c_a68b);
  a ^= a >>> 16;
  b ^= Math.imul(a ^ (a >>> 13), 0xc2b2_ae35);
  return ((b >>> 0) & 0x000f_ffff) * 0x1_0000_0000 + (a >>> 0);
}

/**
 * A 52-bit hash of a page: two 32-bit multiply-rotate lanes, one over the
 * even and one over the odd 32-bit words (two independent dependency
 * chains: twice the speed of one), mixed so that the low 32 bits of the
 * result are a bijection of either lane's state given the other. Every
 * step of a lane is a bijection of its state, so a change confined to one
 * word (any one-byte change) always changes the hash; other pages collide
 * with probability about 2^-52. Words are read in the platform's byte
 * order: hashes compare pages within one run, they are not a file format.
 *
 * @param page - the page's bytes
 * @returns the hash, an integer below 2^52
 */
export function pageHash(page: Uint8Array): number {
  const whole = page.length & ~3;
  return hashWords(wordsOf(page.subarray(0, whole)), 0, page.length, whole === page.length ? undefined : page.subarray(whole));
}

/** The events of a container around the stream (and of a legacy stream in it, unconverted). */
type ContainerEvent = LibvirtHeaderEvent | XenopsdSignatureEvent | XenopsdChunkEvent | XenopsdLegacyQemuEvent | LegacyPayloadEvent;

/** The facts of one stream that a diff compares. */
export interface StreamDigest {
  /** pfn -> hash of its last copy. */
  pages: PageIndex;
  /** Page size (0 before a libxc domain header). */
  pageSize: number;
  /** Header values by layer (`xl`, `libvirt`, `xenopsd`, `libxl`, `libxc image`, `libxc domain`). */
  headers: Record<string, unknown>;
  /** The xl config text, when the file has one. */
  config: string | undefined;
  /** Record types in order per layer, runs of PAGE_DATA as one entry with a count. */
  sequence: { layer: string; type: string; count: number }[];
  /** Bodies of the state records (vCPU, HVM context, policies, shared info, params, TSC), last copy, keyed by type[/vCPU]. */
  state: Map<string, unknown>;
}

const STATE_RECORDS = new Set([
  "X86_PV_INFO",
  "X86_PV_VCPU_BASIC",
  "X86_PV_VCPU_EXTENDED",
  "X86_PV_VCPU_XSAVE",
  "X86_PV_VCPU_MSRS",
  "SHARED_INFO",
  "X86_TSC_INFO",
  "HVM_CONTEXT",
  "HVM_PARAMS",
  "X86_CPUID_POLICY",
  "X86_MSR_POLICY",
  "EMULATOR_CONTEXT",
  "EMULATOR_XENSTORE_DATA",
]);

/** Copies byte fields out of a record (event views are valid only during the call). */
function detach(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return value.map(detach);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, detach(field)]));
  }
  return value;
}

/** Folds one stream's events into a {@link StreamDigest}. */
export class DigestCollector {
  private readonly digest: StreamDigest = { pages: new PageIndex(), pageSize: 0, headers: {}, config: undefined, sequence: [], state: new Map() };

  /**
   * Takes the next event.
   *
   * @param event - a decoder event, in stream order
   */
  add(event: { layer: string; kind: string }): void {
    const digest = this.digest;
    const container = event as ContainerEvent;
    if (container.layer === "libvirt" || container.layer === "xenopsd" || container.layer === "legacy") {
      this.addContainer(container);
      return;
    }
    const any = event as XlHeaderEvent | LibxlEvent | LibxcEvent;
    if (any.kind === "header" && any.layer === "xl") {
      const { config, ...rest } = any.header;
      digest.headers.xl = rest;
      if (config !== undefined) digest.config = textOf(config);
      return;
    }
    if (any.kind === "header") {
      digest.headers.libxl = detach(any.header);
      return;
    }
    if (any.kind === "imageHeader") {
      digest.headers["libxc image"] = detach(any.header);
      return;
    }
    if (any.kind === "domainHeader") {
      digest.headers["libxc domain"] = detach(any.header);
      digest.pageSize = 2 ** any.header.pageShift;
      return;
    }
    const { record, layer } = any as LibxcRecordEvent | LibxlRecordEvent;
    const name = record.type === "UNKNOWN" ? `0x${record.typeId.toString(16).padStart(8, "0")}` : record.type;
    const last = digest.sequence[digest.sequence.length - 1];
    if (last !== undefined && last.layer === layer && last.type === name && name === "PAGE_DATA") last.count++;
    else digest.sequence.push({ layer, type: name, count: 1 });
    if (record.type === "PAGE_DATA") {
      const { entries, pages } = record;
      const size = digest.pageSize;
      // One word view over the record's pages (pages are whole words), not one per page.
      const words = size % 4 === 0 ? wordsOf(pages) : undefined;
      let at = 0;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as { pfn: number; type: number };
        if (!pageTypeHasData(entry.type)) continue;
        digest.pages.set(entry.pfn, words === undefined ? pageHash(pages.subarray(at, at + size)) : hashWords(words, at >>> 2, size, undefined));
        at += size;
      }
      return;
    }
    if (!STATE_RECORDS.has(record.type)) return;
    const key = "vcpuId" in record ? `${record.type}/${record.vcpuId}` : record.type;
    digest.state.set(key, detach(record));
  }

  /**
   * A container's events: its header fields and stored config (libvirt's
   * XML, the Xenops record), its chunks in order (each blob's contents as
   * state, so a changed blob is named), and the length of a legacy stream
   * the decoder did not convert (`convertLegacy`).
   */
  private addContainer(event: ContainerEvent): void {
    const digest = this.digest;
    switch (event.kind) {
      case "header": {
        const { xml, ...rest } = event.header;
        digest.headers.libvirt = { ...detach(rest) as object, xmlLength: xml.length, stream: event.stream };
        digest.config = textOf(xml);
        return;
      }
      case "signature":
        digest.headers.xenopsd = { layout: event.layout };
        return;
      case "chunk": {
        const { type, length, body } = event.chunk;
        digest.sequence.push({ layer: "xenopsd", type, count: 1 });
        if (type === "Xenops" && body !== undefined) digest.config = decodeUtf8(body);
        else if (body !== undefined) digest.state.set(`xenopsd ${type}`, { length, body: body.slice() });
        return;
      }
      case "legacyQemu":
        digest.sequence.push({ layer: "xenopsd", type: "legacy QEMU record", count: 1 });
        digest.state.set("xenopsd legacy QEMU record", { body: event.qemu.body.slice() });
        return;
      case "payload": {
        const last = digest.sequence[digest.sequence.length - 1];
        if (last?.layer === "legacy") last.count++;
        else digest.sequence.push({ layer: "legacy", type: "legacy stream bytes", count: 1 });
        // Only the length: its contents are compared as the records of the
        // converted stream (decode with convertLegacy, as the CLI does).
        const previous = digest.state.get("legacy stream bytes") as number | undefined;
        digest.state.set("legacy stream bytes", (previous ?? 0) + event.bytes.length);
        return;
      }
    }
  }

  /**
   * The digest.
   *
   * @returns what {@link diffDigests} compares
   */
  finish(): StreamDigest {
    return this.digest;
  }
}
