/**
 * A small table-driven codec for the fixed little-endian C structures of
 * the PV vCPU and shared-info blobs (x86 is little-endian; these blobs are
 * raw hypervisor structures, copied as Xen's domctls hand them out).
 *
 * A layout is a list of fields, each with its byte offset, its kind and,
 * for arrays, a count. Names may be dotted (`arch.cr2`) to build nested
 * objects, as the C structures nest. Decoding reads every field at its
 * offset; encoding writes every field back at its offset, range-checked,
 * into a buffer that starts as a copy of nothing (zeros), so a layout that
 * covers every byte (pads included) round-trips exactly.
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../../errors.js";
import { Writer } from "../../wire/writer.js";

/** Kinds of field: unsigned little-endian integers, a signed byte, raw bytes. */
export type FieldKind = "u8" | "i8" | "u16" | "u32" | "u64" | "bytes";

/** One field of a layout. */
export interface FieldSpec {
  /** camelCase of Xen's member name; dots nest (`time.tscShift`). */
  readonly name: string;
  /** Byte offset from the start of the layout's base. */
  readonly offset: number;
  readonly kind: FieldKind;
  /** Element count for arrays (the value is an array); bytes: the length. */
  readonly count?: number;
}

const KIND_SIZE: Record<FieldKind, number> = { u8: 1, i8: 1, u16: 2, u32: 4, u64: 8, bytes: 1 };

/** Bytes one field occupies. */
export function fieldSize(spec: FieldSpec): number {
  return KIND_SIZE[spec.kind] * (spec.count ?? 1);
}

/** End offset (exclusive) of the last field of `specs`. */
export function layoutEnd(specs: readonly FieldSpec[]): number {
  let end = 0;
  for (const spec of specs) end = Math.max(end, spec.offset + fieldSize(spec));
  return end;
}

function readOne(view: DataView, pos: number, kind: FieldKind): number | bigint {
  switch (kind) {
    case "u8":
      return view.getUint8(pos);
    case "i8":
      return view.getInt8(pos);
    case "u16":
      return view.getUint16(pos, true);
    case "u32":
      return view.getUint32(pos, true);
    case "u64":
      return view.getBigUint64(pos, true);
    case "bytes":
      throw new Error("pv-layout: bytes are read whole");
  }
}

function setPath(target: Record<string, unknown>, name: string, value: unknown): void {
  const dot = name.indexOf(".");
  if (dot < 0) {
    target[name] = value;
    return;
  }
  const head = name.slice(0, dot);
  let child = target[head] as Record<string, unknown> | undefined;
  if (child === undefined) {
    child = {};
    target[head] = child;
  }
  setPath(child, name.slice(dot + 1), value);
}

function getPath(source: Record<string, unknown>, name: string): unknown {
  let current: unknown = source;
  for (const part of name.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Reads every field of `specs` at `base + offset` into `target` (created
 * when absent). Byte fields are views into `bytes`. The caller has checked
 * that the layout fits.
 */
export function readFields(
  bytes: Uint8Array,
  view: DataView,
  base: number,
  specs: readonly FieldSpec[],
  target: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const spec of specs) {
    const pos = base + spec.offset;
    let value: unknown;
    if (spec.kind === "bytes") {
      value = bytes.subarray(pos, pos + (spec.count ?? 1));
    } else if (spec.count === undefined) {
      value = readOne(view, pos, spec.kind);
    } else {
      const size = KIND_SIZE[spec.kind];
      const values = new Array<number | bigint>(spec.count);
      for (let i = 0; i < spec.count; i++) values[i] = readOne(view, pos + i * size, spec.kind);
      value = values;
    }
    setPath(target, spec.name, value);
  }
  return target;
}

function writeOne(writer: Writer, pos: number, kind: FieldKind, value: unknown, field: string): void {
  writer.pos = pos;
  switch (kind) {
    case "u8":
      writer.u8(value as number, field);
      return;
    case "i8": {
      const number = value as number;
      if (!Number.isInteger(number) || number < -0x80 || number > 0x7f) {
        writer.fail(`${field} must be an integer in -128..127, got ${describeValue(value)}`);
      }
      writer.view.setInt8(pos, number);
      return;
    }
    case "u16":
      writer.u16(value as number, field);
      return;
    case "u32":
      writer.u32(value as number, field);
      return;
    case "u64":
      writer.u64(value as bigint, field);
      return;
    case "bytes":
      throw new Error("pv-layout: bytes are written whole");
  }
}

/**
 * Writes every field of `specs` from `source` at `base + offset`. Missing
 * or ill-typed values fail with BAD_VALUE at the field's offset, naming
 * `prefix` + the field.
 */
export function writeFields(
  writer: Writer,
  base: number,
  specs: readonly FieldSpec[],
  source: object,
  prefix: string,
): void {
  for (const spec of specs) {
    const pos = base + spec.offset;
    const field = `${prefix}${spec.name}`;
    const value = getPath(source as Record<string, unknown>, spec.name);
    if (spec.kind === "bytes") {
      const length = spec.count ?? 1;
      writer.pos = pos;
      if (!(value instanceof Uint8Array) || value.length !== length) {
        writer.fail(`${field} must be a Uint8Array of ${length} bytes, got ${describeValue(value)}`);
      }
      writer.raw(value);
    } else if (spec.count === undefined) {
      writeOne(writer, pos, spec.kind, value, field);
    } else {
      writer.pos = pos;
      if (!Array.isArray(value) || value.length !== spec.count) {
        writer.fail(`${field} must be an array of ${spec.count} values, got ${describeValue(value)}`);
      }
      const size = KIND_SIZE[spec.kind];
      for (let i = 0; i < spec.count; i++) writeOne(writer, pos + i * size, spec.kind, value[i], `${field}[${i}]`);
    }
  }
}

/** Throws BAD_LENGTH at `offset` (the blob's first byte, absolute). */
export function failLength(offset: number, message: string): never {
  throw new XenStreamError("BAD_LENGTH", offset, message);
}

/** Throws BAD_VALUE at `offset` (an encoder's input does not fit the format). */
export function failValue(offset: number, message: string): never {
  throw new XenStreamError("BAD_VALUE", offset, message);
}

/** Throws USAGE for a bad argument. */
export function failUsage(message: string): never {
  throw new XenStreamError("USAGE", 0, message);
}

/** Validates a `baseOffset` option (default 0). */
export function baseOffsetOf(options: { baseOffset?: number } | undefined): number {
  const base = options?.baseOffset ?? 0;
  if (!Number.isSafeInteger(base) || base < 0) failUsage(`baseOffset must be a non-negative integer, got ${describeValue(base)}`);
  return base;
}

/** Checks that `bytes` is a Uint8Array (USAGE otherwise). */
export function checkBytes(bytes: unknown, argument: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) failUsage(`${argument} must be a Uint8Array, got ${describeValue(bytes)}`);
}

/** A DataView over exactly `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Checks that an object argument is an object (USAGE otherwise). */
export function checkObject(value: unknown, argument: string): asserts value is object {
  if (typeof value !== "object" || value === null) failUsage(`${argument} must be an object, got ${describeValue(value)}`);
}

/** Set bits of the words of a bitmap, as bit numbers (word i bit b = i * bits + b). */
export function setBits(words: readonly (number | bigint)[], bitsPerWord: 32 | 64): number[] {
  const out: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === undefined || word === 0 || word === 0n) continue;
    if (typeof word === "bigint") {
      const low = Number(word & 0xffff_ffffn);
      const high = Number(word >> 32n);
      for (let b = 0; b < 32; b++) if ((low >>> b) & 1) out.push(i * bitsPerWord + b);
      for (let b = 0; b < 32; b++) if ((high >>> b) & 1) out.push(i * bitsPerWord + 32 + b);
    } else {
      for (let b = 0; b < 32; b++) if ((word >>> b) & 1) out.push(i * bitsPerWord + b);
    }
  }
  return out;
}
