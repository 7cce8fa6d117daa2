/**
 * The field table of the JSON stream document: for every header and
 * record type, its fields and how each one's JSON reads back into a value.
 * A JSON string is a 64-bit integer or a byte string depending only on
 * where it sits (its field), never on its text, so reading a document
 * needs no guessing. The shapes are the decoders' values (src/libxc/types.ts,
 * src/libxl/types.ts, src/xl/header.ts), field for field; the schema
 * (schema/stream-document.schema.json) says the same, and a test checks
 * that the two agree.
 *
 * @module
 * @internal
 */

/**
 * How one field is written in JSON:
 * - `int`: a JSON number, a non-negative integer below 2^53 (u8..u32, and
 *   52-bit pfns);
 * - `u64`: a 64-bit value as a string "0x" + lower-case hex digits, no
 *   leading zeros ("0x0" for zero);
 * - `u64s`: an array of `u64`;
 * - `ints`: an array of `int`;
 * - `bytes`: a byte string as padded standard base64 (RFC 4648 section 4),
 *   or `{"ascii": text}` (each character U+0000..U+007F one byte);
 * - `textBytes`: the same; the writer uses the `ascii` form when every
 *   byte is printable ASCII, tab, CR, LF or NUL (xl's config, xenstore
 *   keys and values), base64 otherwise;
 * - `pairs`: an array of [key, value] arrays, each `textBytes`;
 * - `pages`: PAGE_DATA contents (and other bulk bytes: container blobs):
 *   `{ "offset", "length" }` into the page file, or a `bytes` string when
 *   the document holds them inline;
 * - `{ list }`: an array of objects with the listed fields;
 * - `text`: a JSON string (an enumeration).
 * @internal
 */
export type FieldKind = "int" | "u64" | "u64s" | "ints" | "bytes" | "textBytes" | "pairs" | "pages" | "text" | { list: FieldTable };

/** One field: its kind, and whether it may be absent. @internal */
export interface FieldSpec {
  kind: FieldKind;
  optional: boolean;
}

/** The fields of one object, by name. @internal */
export type FieldTable = Readonly<Record<string, FieldSpec>>;

const need = (kind: FieldKind): FieldSpec => ({ kind, optional: false });
const may = (kind: FieldKind): FieldSpec => ({ kind, optional: true });

/** `padding` (non-zero record padding, as found) may be on any record. */
const PADDING = { padding: may("bytes") };
const SIGNAL: FieldTable = { ...PADDING, extra: may("bytes") };
const VCPU: FieldTable = { ...PADDING, vcpuId: need("int"), reserved: may("int"), context: need("bytes") };
const BLOB: FieldTable = { ...PADDING, data: need("bytes") };
const UNKNOWN: FieldTable = { ...PADDING, typeId: need("int"), body: need("bytes") };

/** libxc records (src/libxc/types.ts), by type name. @internal */
export const LIBXC_RECORD_FIELDS: Readonly<Record<string, FieldTable>> = {
  END: SIGNAL,
  PAGE_DATA: {
    ...PADDING,
    reserved: may("int"),
    entries: need({ list: { pfn: need("int"), type: need("int"), reserved: may("int") } }),
    pages: need("pages"),
  },
  X86_PV_INFO: { ...PADDING, guestWidth: need("int"), ptLevels: need("int"), reserved: may("bytes"), extra: may("bytes") },
  X86_PV_P2M_FRAMES: { ...PADDING, startPfn: need("int"), endPfn: need("int"), frames: need("u64s") },
  X86_PV_VCPU_BASIC: VCPU,
  X86_PV_VCPU_EXTENDED: VCPU,
  X86_PV_VCPU_XSAVE: VCPU,
  SHARED_INFO: BLOB,
  X86_TSC_INFO: { ...PADDING, mode: need("int"), khz: need("int"), nsec: need("u64"), incarnation: need("int"), reserved: may("int") },
  HVM_CONTEXT: BLOB,
  HVM_PARAMS: { ...PADDING, reserved: may("int"), params: need({ list: { index: need("u64"), value: need("u64") } }) },
  TOOLSTACK: BLOB,
  X86_PV_VCPU_MSRS: VCPU,
  VERIFY: SIGNAL,
  CHECKPOINT: SIGNAL,
  CHECKPOINT_DIRTY_PFN_LIST: { ...PADDING, pfns: need("u64s") },
  STATIC_DATA_END: SIGNAL,
  X86_CPUID_POLICY: {
    ...PADDING,
    entries: need({ list: { leaf: need("int"), subleaf: need("int"), a: need("int"), b: need("int"), c: need("int"), d: need("int") } }),
  },
  X86_MSR_POLICY: { ...PADDING, entries: need({ list: { index: need("int"), flags: need("int"), value: need("u64") } }) },
  UNKNOWN,
};

/** libxl records (src/libxl/types.ts), by type name. @internal */
export const LIBXL_RECORD_FIELDS: Readonly<Record<string, FieldTable>> = {
  END: SIGNAL,
  LIBXC_CONTEXT: SIGNAL,
  EMULATOR_XENSTORE_DATA: { ...PADDING, emulatorId: need("int"), index: need("int"), entries: need("pairs") },
  EMULATOR_CONTEXT: { ...PADDING, emulatorId: need("int"), index: need("int"), data: need("bytes") },
  CHECKPOINT_END: SIGNAL,
  CHECKPOINT_STATE: { ...PADDING, controlId: need("int"), extra: may("bytes") },
  UNKNOWN,
};

/** The libxc image header. @internal */
export const IMAGE_HEADER_FIELDS: FieldTable = { version: need("int"), options: need("int"), reserved1: may("int"), reserved2: may("int") };
/** The libxc domain header. @internal */
export const DOMAIN_HEADER_FIELDS: FieldTable = {
  type: need("int"),
  pageShift: need("int"),
  reserved: may("int"),
  xenMajor: need("int"),
  xenMinor: need("int"),
};
/** The libxl header. @internal */
export const LIBXL_HEADER_FIELDS: FieldTable = { version: need("int"), options: need("int") };
/** The xl header; `byteOrder` is "little" or "big". @internal */
export const XL_HEADER_FIELDS: FieldTable = {
  byteOrder: need("text"),
  mandatoryFlags: need("int"),
  optionalFlags: need("int"),
  config: may("textBytes"),
  optionalExtra: may("bytes"),
};
/**
 * The libvirt save-image header (src/libvirt/header.ts); `byteOrder` is
 * "little" or "big", `xml` the domain XML with its NUL as found. @internal
 */
export const LIBVIRT_HEADER_FIELDS: FieldTable = {
  byteOrder: need("text"),
  version: need("int"),
  xml: need("textBytes"),
  unused: need("ints"),
};
/**
 * One xenopsd chunk (src/xenopsd/chunk.ts): a Xenops chunk's body is its
 * record text (`record`, in the JSON), any other blob's body is bulk bytes
 * (`body`, in the page file); stream chunks and End_of_image have neither.
 * @internal
 */
export const XENOPSD_CHUNK_FIELDS: FieldTable = {
  type: need("text"),
  length: need("u64"),
  record: may("textBytes"),
  body: may("pages"),
};
