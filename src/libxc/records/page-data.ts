/**
 * PAGE_DATA (0x01): count u32, reserved u32, count pfn entries (u64: type in
 * bits 63-60, reserved 59-52, pfn 51-0), then one page of data for each
 * entry whose type carries data (spec "PAGE_DATA"; Xen
 * xg_sr_restore.c: handle_page_data()).
 *
 * Decoder tolerance follows Xen's restore: count >= 1, body long enough for
 * the pfn array, known page types only, exact total length. The reserved u32
 * and reserved pfn bits are kept, not checked.
 *
 * @module
 * @internal
 */
import { describeValue } from "../../errors.js";
import { bytesLength, objectArray, type BodyCodec } from "../../wire/codec.js";
import type { Writer } from "../../wire/writer.js";
import { TWO_POW_32, wordOffsets, type Reader } from "../../wire/reader.js";
import {
  COUNT_HEADER_SIZE,
  PAGE_DATA_ENTRY_SIZE,
  PAGE_DATA_PFN_MAX,
  isKnownPageType,
  pageTypeHasData,
} from "../constants.js";
import type { PageDataRecord, PfnEntry } from "../types.js";
import type { LibxcCodecContext } from "./context.js";
import { chargeEntries, DECODED_COST } from "./budget.js";
import { lazyMember } from "./lazy.js";

/**
 * Walks the pfn array of a PAGE_DATA body (the reader's cursor is unused):
 * fails on a reserved page type, fills `entries` (refilling `objects` in
 * order when given), and returns the number of entries that carry data.
 * Without `entries` it only validates: the shallow decode (lazy.ts).
 */
function scanEntries(reader: Reader, count: number, entries: PfnEntry[] | undefined, objects: PfnEntry[] | undefined): number {
  const { view, littleEndian } = reader;
  let dataPages = 0;
  // The hot loop of every decoder: no object but the entry per pfn (and
  // none at all when entries are reused or not built).
  const at = wordOffsets(littleEndian);
  for (let i = 0, pos = COUNT_HEADER_SIZE; i < count; i++, pos += PAGE_DATA_ENTRY_SIZE) {
    const high = view.getUint32(pos + at.high, littleEndian);
    const type = high >>> 28;
    if (!isKnownPageType(type)) {
      reader.fail("BAD_PAGE_TYPE", pos, `pfn[${i}] has reserved page type 0x${type.toString(16)}`);
    }
    if (pageTypeHasData(type)) dataPages++;
    if (entries === undefined) continue;
    const low = view.getUint32(pos + at.low, littleEndian);
    const pfn = (high & 0x000f_ffff) * 0x1_0000_0000 + low;
    const reserved = (high >>> 20) & 0xff;
    const entry = objects?.[i];
    if (entry === undefined) {
      const made = { pfn, type, reserved };
      objects?.push(made);
      entries[i] = made;
    } else {
      entry.pfn = pfn;
      entry.type = type;
      entry.reserved = reserved;
      entries[i] = entry;
    }
  }
  return dataPages;
}

export const pageDataCodec: BodyCodec<PageDataRecord, LibxcCodecContext> = {

  decode(reader, { pageSize, entryPool, shallow, budget }) {
    const length = reader.remaining;
    if (length < COUNT_HEADER_SIZE) {
      reader.failLength(`body of ${length} bytes is shorter than the 8-byte count header`);
    }
    const count = reader.u32("count");
    const reserved = reader.u32("reserved");
    if (count < 1) reader.fail("BAD_FIELD", 0, "count is 0; at least one pfn is required");
    const arrayEnd = COUNT_HEADER_SIZE + count * PAGE_DATA_ENTRY_SIZE;
    if (length < arrayEnd) {
      reader.failLength(`body of ${length} bytes is too short for ${count} pfns (${arrayEnd} bytes)`);
    }
    let entries: PfnEntry[] | undefined;
    if (shallow === true) entries = undefined;
    else if (entryPool === undefined) entries = new Array<PfnEntry>(count);
    else {
      entries = entryPool.entries;
      entries.length = count;
    }
    // With a budget: validated first (the same faults as the one-pass
    // decode), then charged, then built.
    const charged = entries !== undefined && budget !== undefined;
    const dataPages = scanEntries(reader, count, charged ? undefined : entries, shallow === true ? undefined : entryPool?.objects);
    const expected = arrayEnd + dataPages * pageSize;
    if (length !== expected) {
      reader.failLength(
        `expected ${COUNT_HEADER_SIZE} + ${count * PAGE_DATA_ENTRY_SIZE} + ${dataPages * pageSize} = ${expected} bytes ` +
          `(${dataPages} pages of data), got ${length}`,
      );
    }
    if (charged) {
      chargeEntries(reader, budget, count, DECODED_COST.pfnEntry, "pfn entries");
      scanEntries(reader, count, entries, entryPool?.objects);
    }
    const pages = reader.bytes.subarray(arrayEnd);
    reader.pos = length;
    if (entries !== undefined) return { type: "PAGE_DATA", reserved, entries, pages };
    const record = lazyMember({ type: "PAGE_DATA", reserved } as PageDataRecord, "entries", reader, 0, (body) => {
      const built = new Array<PfnEntry>(count);
      scanEntries(body, count, built, undefined);
      return built;
    });
    record.pages = pages;
    return record;
  },

  bodyLength(record, { pageSize }, fail) {
    const entries = objectArray<PfnEntry>(record.entries, "entries", fail);
    const count = entries.length;
    if (count < 1) fail("PAGE_DATA: at least one pfn entry is required");
    let dataPages = 0;
    for (let i = 0; i < count; i++) {
      const entry = entries[i] as PfnEntry;
      if (!isKnownPageType(entry.type)) fail(`PAGE_DATA: entries[${i}].type ${describeValue(entry.type)} is not a known page type`);
      if (!Number.isInteger(entry.pfn) || entry.pfn < 0 || entry.pfn > PAGE_DATA_PFN_MAX) {
        fail(`PAGE_DATA: entries[${i}].pfn must be an integer in 0..2^52-1, got ${describeValue(entry.pfn)}`);
      }
      const reserved = entry.reserved ?? 0;
      if (!Number.isInteger(reserved) || reserved < 0 || reserved > 0xff) {
        fail(`PAGE_DATA: entries[${i}].reserved must be in 0..255, got ${describeValue(reserved)}`);
      }
      if (pageTypeHasData(entry.type)) dataPages++;
    }
    if (bytesLength(record.pages, "pages", fail) !== dataPages * pageSize) {
      fail(
        `PAGE_DATA: ${dataPages} entries carry data, so pages must be ${dataPages * pageSize} bytes, got ${record.pages.length}`,
      );
    }
    return COUNT_HEADER_SIZE + count * PAGE_DATA_ENTRY_SIZE + record.pages.length;
  },

  encode(writer: Writer, record) {
    writer.u32(record.entries.length, "count");
    writer.u32(record.reserved ?? 0, "reserved");
    // One entry per pfn: split the 52-bit pfn into u32 halves in place (no object per pfn).
    for (const entry of record.entries) {
      const high = Math.floor(entry.pfn / TWO_POW_32);
      writer.u64Words(entry.pfn - high * TWO_POW_32, ((entry.type << 28) | ((entry.reserved ?? 0) << 20) | high) >>> 0);
    }
    writer.raw(record.pages);
  },
};

/**
 * The pages of a PAGE_DATA record, one view per entry that carries data, in
 * entry order, with the entry they belong to.
 *
 * @param record - a PAGE_DATA record
 * @param pageSize - page size of the stream (2^page_shift)
 * @returns an iterator of `{ entry, index, data }`
 */
export function* pageDataPages(
  record: PageDataRecord,
  pageSize: number,
): Generator<{ entry: PfnEntry; index: number; data: Uint8Array }> {
  let pos = 0;
  for (let index = 0; index < record.entries.length; index++) {
    const entry = record.entries[index] as PfnEntry;
    if (!pageTypeHasData(entry.type)) continue;
    yield { entry, index, data: record.pages.subarray(pos, pos + pageSize) };
    pos += pageSize;
  }
}
