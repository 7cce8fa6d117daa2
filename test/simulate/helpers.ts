// Shared helpers of the simulate tests: collect a simulated stream, fold a
// stream into its final memory, profile a stream chunk by chunk.
import { SaveFileDecoder } from "../../src/index.js";
import { pageTypeHasData } from "../../src/constants.js";
import type { SaveFileEvent } from "../../src/index.js";
import { CaptureProfiler, type CaptureProfile, type GuestImage } from "../../src/simulate/index.js";

/** Concatenates an async stream of chunks (copying each: chunks may be reused). */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    parts.push(chunk.slice());
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** True when the two byte arrays are equal (toEqual walks typed arrays key by key: too slow for MBs). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes `bytes` in chunks of `chunkSize`, handing every event to `sink`. */
export function eachEvent(bytes: Uint8Array, sink: (event: SaveFileEvent) => void, chunkSize = 1 << 22): void {
  const decoder = new SaveFileDecoder();
  for (let pos = 0; pos < bytes.length; pos += chunkSize) {
    for (const event of decoder.push(bytes.subarray(pos, pos + chunkSize))) sink(event);
  }
  decoder.end();
}

/** The pass structure of a stream. */
export function profileOf(bytes: Uint8Array): CaptureProfile {
  const profiler = new CaptureProfiler();
  eachEvent(bytes, (event) => profiler.add(event));
  return profiler.result();
}

/**
 * Compares the memory a restore of `bytes` ends with (last copy of every
 * pfn wins) with the guest's pages and page types; returns the first
 * mismatch or undefined.
 */
export function memoryMismatch(bytes: Uint8Array, guest: GuestImage): string | undefined {
  const { pageSize } = guest;
  const expected = new Uint8Array(pageSize);
  const last = new Map<number, Uint8Array | null>();
  const lastType = new Map<number, number>();
  eachEvent(bytes, (event) => {
    if (event.layer !== "libxc" || event.kind !== "record" || event.record.type !== "PAGE_DATA") return;
    let pos = 0;
    for (const entry of event.record.entries) {
      lastType.set(entry.pfn, entry.type);
      if (pageTypeHasData(entry.type)) {
        last.set(entry.pfn, event.record.pages.slice(pos, pos + pageSize));
        pos += pageSize;
      } else last.set(entry.pfn, null);
    }
  });
  for (let pfn = 0; pfn < guest.p2mSize; pfn++) {
    const hasData = pageTypeHasData(guest.types[pfn] as number);
    const got = last.get(pfn);
    const type = lastType.get(pfn);
    if (type !== undefined && type !== guest.types[pfn]) return `pfn ${pfn}: type ${type}, the guest's is ${guest.types[pfn]}`;
    if (!hasData) {
      if (got !== undefined && got !== null) return `pfn ${pfn}: the guest has no page, the stream left one`;
      continue;
    }
    if (got === undefined || got === null) return `pfn ${pfn}: never sent with data`;
    guest.copyPage(pfn, expected, 0);
    for (let i = 0; i < pageSize; i++) if (got[i] !== expected[i]) return `pfn ${pfn}: byte ${i} differs`;
  }
  for (const pfn of last.keys()) if (pfn >= guest.p2mSize) return `pfn ${pfn}: beyond the guest's p2m`;
  return undefined;
}
