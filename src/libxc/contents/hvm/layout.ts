/**
 * A small description language for Xen's fixed C structs, so that each HVM
 * save structure is written once, as a field table that reads like its
 * declaration in xen/include/public/arch-x86/hvm/save.h, and decoded and
 * encoded from that one table.
 *
 * Fields are laid out one after the other with no implicit alignment: a
 * struct whose C layout has compiler padding lists that padding as an
 * explicit field (so the bytes are kept and re-encoded exactly). The tests
 * pin every struct's size and the offsets of its fields against the C
 * layout. All HVM save records are little-endian (x86 host order: Xen
 * memcpy()s its structs into the blob, xen/arch/x86/hvm/save.c
 * _hvm_write_entry()).
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../../../errors.js";

/** Integer scalars: u8..u32 decode to `number`, u64 / s64 to `bigint`. */
export type Scalar = "u8" | "u16" | "u32" | "u64" | "s64";

/** A field with its own decode/encode (bit-fields, unions). */
export interface CustomType<T = unknown> {
  readonly kind: "custom";
  readonly size: number;
  decode(view: DataView, pos: number): T;
  /** Writes `value` at `pos`; `path` names the field for error messages. */
  encode(view: DataView, pos: number, value: unknown, path: string, offset: number): void;
}

/** What a field holds. */
export type FieldType =
  | Scalar
  | { readonly kind: "bytes"; readonly size: number }
  | { readonly kind: "array"; readonly of: Scalar | Layout; readonly count: number }
  | Layout
  | CustomType;

/** One struct member: its camelCase name and type. */
export interface Field {
  readonly name: string;
  readonly type: FieldType;
  /** Offset inside the struct, computed from the preceding fields. */
  readonly offset: number;
}

/**
 * Field names starting with this character are not members of the decoded
 * object (bit-field groups, union wrappers): messages name their parent.
 */
export const SYNTHETIC = "\u0000";

/** A struct: named fields laid out back to back. */
export interface Layout {
  readonly kind: "struct";
  /** Xen's struct name, for messages. */
  readonly name: string;
  readonly fields: readonly Field[];
  /** sizeof(struct). */
  readonly size: number;
}

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s64: 8 };

/** Size in bytes of a field type. */
export function sizeOf(type: FieldType): number {
  if (typeof type === "string") return SCALAR_SIZE[type];
  switch (type.kind) {
    case "bytes":
    case "custom":
    case "struct":
      return type.size;
    case "array":
      return sizeOf(type.of) * type.count;
  }
}

/** `uint8_t name[size]`, decoded as a Uint8Array. */
export function bytes(size: number): FieldType {
  return { kind: "bytes", size };
}

/** `type name[count]`, decoded as an array. */
export function array(of: Scalar | Layout, count: number): FieldType {
  return { kind: "array", of, count };
}

/** Builds a struct layout from `[name, type]` pairs in declaration order. */
export function struct(name: string, members: ReadonlyArray<readonly [string, FieldType]>): Layout {
  const fields: Field[] = [];
  let offset = 0;
  for (const [fieldName, type] of members) {
    fields.push({ name: fieldName, type, offset });
    offset += sizeOf(type);
  }
  return { kind: "struct", name, fields, size: offset };
}

/**
 * {@link struct}, built when first read: a module of many layouts costs
 * nothing at import (the CLI's start-up), each is built once, on its first
 * use. `name` and `kind` are there at once; `fields` and `size` build it.
 */
export function lazyStruct(name: string, members: () => ReadonlyArray<readonly [string, FieldType]>): Layout {
  let built: Layout | undefined;
  const layout = (): Layout => (built ??= struct(name, members()));
  return {
    kind: "struct",
    name,
    get fields() {
      return layout().fields;
    },
    get size() {
      return layout().size;
    },
  };
}

function decodeScalar(view: DataView, pos: number, type: Scalar): number | bigint {
  switch (type) {
    case "u8":
      return view.getUint8(pos);
    case "u16":
      return view.getUint16(pos, true);
    case "u32":
      return view.getUint32(pos, true);
    case "u64":
      return view.getBigUint64(pos, true);
    case "s64":
      return view.getBigInt64(pos, true);
  }
}

function decodeType(view: DataView, pos: number, type: FieldType): unknown {
  if (typeof type === "string") return decodeScalar(view, pos, type);
  switch (type.kind) {
    case "bytes":
      return new Uint8Array(view.buffer, view.byteOffset + pos, type.size).slice();
    case "custom":
      return type.decode(view, pos);
    case "struct":
      return decodeStruct(view, pos, type);
    case "array": {
      const step = sizeOf(type.of);
      const out: unknown[] = new Array<unknown>(type.count);
      for (let i = 0; i < type.count; i++) out[i] = decodeType(view, pos + i * step, type.of);
      return out;
    }
  }
}

/**
 * Decodes the struct at `view[pos .. pos + layout.size)` into a plain
 * object keyed by the layout's field names. Byte arrays are copies.
 */
export function decodeStruct(view: DataView, pos: number, layout: Layout): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of layout.fields) out[field.name] = decodeType(view, pos + field.offset, field.type);
  return out;
}

/** A BAD_VALUE error for an encoder input that does not fit its field. */
export function badValue(offset: number, path: string, expected: string, got: unknown): XenStreamError {
  return new XenStreamError("BAD_VALUE", offset, `HVM context: ${path} must be ${expected}, got ${describeValue(got)}`);
}

const U_MAX: Record<"u8" | "u16" | "u32", number> = { u8: 0xff, u16: 0xffff, u32: 0xffff_ffff };
const U64_LIMIT = 1n << 64n;
const S64_LIMIT = 1n << 63n;

/** Checks that `value` is an integer number in 0 ..= `max`. */
export function checkUint(value: unknown, max: number, path: string, offset: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw badValue(offset, path, `an integer in 0..${max}`, value);
  }
  return value;
}

function encodeScalar(view: DataView, pos: number, type: Scalar, value: unknown, path: string, offset: number): void {
  switch (type) {
    case "u8":
    case "u16":
    case "u32": {
      const v = checkUint(value, U_MAX[type], path, offset);
      if (type === "u8") view.setUint8(pos, v);
      else if (type === "u16") view.setUint16(pos, v, true);
      else view.setUint32(pos, v, true);
      return;
    }
    case "u64":
      if (typeof value !== "bigint" || value < 0n || value >= U64_LIMIT) throw badValue(offset, path, "a bigint in 0..2^64-1", value);
      view.setBigUint64(pos, value, true);
      return;
    case "s64":
      if (typeof value !== "bigint" || value < -S64_LIMIT || value >= S64_LIMIT) {
        throw badValue(offset, path, "a bigint in -2^63..2^63-1", value);
      }
      view.setBigInt64(pos, value, true);
      return;
  }
}

function encodeType(view: DataView, pos: number, type: FieldType, value: unknown, path: string, offset: number): void {
  if (typeof type === "string") {
    encodeScalar(view, pos, type, value, path, offset);
    return;
  }
  switch (type.kind) {
    case "bytes":
      if (!(value instanceof Uint8Array) || value.length !== type.size) {
        throw badValue(offset, path, `a Uint8Array of ${type.size} bytes`, value);
      }
      new Uint8Array(view.buffer, view.byteOffset + pos, type.size).set(value);
      return;
    case "custom":
      type.encode(view, pos, value, path, offset);
      return;
    case "struct":
      encodeStruct(view, pos, type, value, path, offset);
      return;
    case "array": {
      if (!Array.isArray(value) || value.length !== type.count) throw badValue(offset, path, `an array of ${type.count}`, value);
      const step = sizeOf(type.of);
      for (let i = 0; i < type.count; i++) {
        encodeType(view, pos + i * step, type.of, value[i], `${path}[${i}]`, offset + i * step);
      }
      return;
    }
  }
}

/**
 * Encodes `value` as the struct at `view[pos ..)`. `path` names the value in
 * messages; `offset` is where `pos` lies in the caller's output, for errors.
 *
 * @throws {@link XenStreamError} BAD_VALUE for a missing or out-of-range field
 */
export function encodeStruct(view: DataView, pos: number, layout: Layout, value: unknown, path: string, offset: number): void {
  if (typeof value !== "object" || value === null) throw badValue(offset, path, `an object (${layout.name})`, value);
  const record = value as Record<string, unknown>;
  for (const field of layout.fields) {
    const child = field.name.startsWith(SYNTHETIC) ? path : `${path}.${field.name}`;
    encodeType(view, pos + field.offset, field.type, record[field.name], child, offset + field.offset);
  }
}

/** Dotted path of the innermost field covering byte `at` of the struct. */
export function fieldAt(layout: Layout, at: number): string {
  for (const field of layout.fields) {
    const size = sizeOf(field.type);
    if (at < field.offset || at >= field.offset + size) continue;
    const type = field.type;
    if (typeof type !== "string" && type.kind === "struct") return `${field.name}.${fieldAt(type, at - field.offset)}`;
    if (typeof type !== "string" && type.kind === "array") {
      const step = sizeOf(type.of);
      const index = Math.floor((at - field.offset) / step);
      const inner = typeof type.of !== "string" ? `.${fieldAt(type.of, at - field.offset - index * step)}` : "";
      return `${field.name}[${index}]${inner}`;
    }
    return field.name;
  }
  return `byte ${at}`;
}
