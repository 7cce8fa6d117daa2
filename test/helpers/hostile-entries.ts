/**
 * Streams whose one record is a huge array of the smallest entries its type
 * allows (issue #19 item 2): the inputs on which decoded objects cost a
 * multiple of the bytes. Written by hand from the wire layouts (spec
 * "Record Types"; libxl_stream_read.c, xg_sr_common.h), so that the
 * builder shares no code with the decoder it attacks.
 */

/** The record kinds, with the cost the issue measured for decoded entries. */
export const HOSTILE_KINDS = ["xenstore", "xtab", "hvmParams", "msr", "cpuid", "p2m", "dirtyPfns"] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

// libxc image header (big-endian: marker, "XENF", version 3, options, reserved)
// and an x86 PV domain header (type 1, page_shift 12, Xen 4.17).
const LIBXC_HEADERS = [
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x58, 0x45, 0x4e, 0x46, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 0x11, 0, 0, 0,
];
// libxl header: "LibxlFmt", version 2, options 0 (big-endian).
const LIBXL_HEADER = [0x4c, 0x69, 0x62, 0x78, 0x6c, 0x46, 0x6d, 0x74, 0, 0, 0, 2, 0, 0, 0, 0];

const TYPE: Record<HostileKind, number> = {
  xenstore: 0x2, // libxl EMULATOR_XENSTORE_DATA
  xtab: 0x1, // PAGE_DATA
  hvmParams: 0xa,
  msr: 0x12,
  cpuid: 0x11,
  p2m: 0x3,
  dirtyPfns: 0xf,
};

/** Entry size and body header size of each kind. */
const LAYOUT: Record<HostileKind, { entry: number; header: number }> = {
  xenstore: { entry: 4, header: 8 },
  xtab: { entry: 8, header: 8 },
  hvmParams: { entry: 16, header: 8 },
  msr: { entry: 16, header: 0 },
  cpuid: { entry: 24, header: 0 },
  p2m: { entry: 8, header: 8 },
  dirtyPfns: { entry: 8, header: 0 },
};

/** Number of entries of a `kind` record of about `bodyBytes` bytes. */
export function entryCount(kind: HostileKind, bodyBytes: number): number {
  const { entry, header } = LAYOUT[kind];
  return Math.floor((bodyBytes - header) / entry);
}

/**
 * The whole stream: headers, one `kind` record of about `bodyBytes` bytes,
 * END. Written into `into` when it is large enough (the child reuses one
 * buffer for every kind); returns the view of the stream.
 */
export function hostileStream(kind: HostileKind, bodyBytes: number, into?: Uint8Array): Uint8Array {
  const { entry, header } = LAYOUT[kind];
  const count = entryCount(kind, bodyBytes);
  const body = header + count * entry;
  const prefix = kind === "xenstore" ? LIBXL_HEADER : LIBXC_HEADERS;
  const size = prefix.length + 8 + body + ((8 - (body % 8)) % 8) + 8;
  const bytes = into !== undefined && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  bytes.fill(0);
  bytes.set(prefix, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = prefix.length;
  view.setUint32(at, TYPE[kind], true);
  view.setUint32(at + 4, body, true);
  at += 8;
  const start = at + header;
  switch (kind) {
    case "xenstore":
      // emulator_id 0, index 0, then "a\0b\0" pairs
      for (let p = start; p < start + count * 4; p += 4) {
        bytes[p] = 0x61;
        bytes[p + 2] = 0x62;
      }
      break;
    case "xtab":
      view.setUint32(at, count, true);
      // pfn i with page type XTAB (0xf) in bits 63-60, high above 2^32 so pfns are doubles
      for (let i = 0; i < count; i++) {
        view.setUint32(start + 8 * i, i, true);
        view.setUint32(start + 8 * i + 4, 0xf000_0001, true);
      }
      break;
    case "hvmParams":
      view.setUint32(at, count, true);
      for (let i = 0; i < count; i++) view.setUint32(start + 16 * i, i, true);
      break;
    case "msr":
      for (let i = 0; i < count; i++) view.setUint32(start + 16 * i, 0xce + i, true);
      break;
    case "cpuid":
      for (let i = 0; i < count; i++) view.setUint32(start + 24 * i, i, true);
      break;
    case "p2m":
      // p2m_start_pfn 0, p2m_end_pfn 0, frames
      for (let i = 0; i < count; i++) view.setUint32(start + 8 * i, i, true);
      break;
    case "dirtyPfns":
      for (let i = 0; i < count; i++) view.setUint32(start + 8 * i, i, true);
      break;
  }
  // END: type 0, length 0 (both layers)
  return bytes;
}
