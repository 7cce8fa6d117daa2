/**
 * The JSON form of a decoded save file, as used by the value files of
 * spec-vectors/ (the mapping is specified in spec-vectors/README.md,
 * "Value files"):
 *
 * - numbers stay JSON numbers (every one is an integer below 2^53);
 * - bigints become decimal strings;
 * - byte strings become lower-case hex strings;
 * - except PAGE_DATA `pages`, which becomes
 *   `{ "length": n, "sha256": hex, "fill": F }` where F names the
 *   deterministic fill that rebuilds the bytes (`{"kind":"zero"}` or
 *   `{"kind":"mod251","seed":s}`: byte i = (s + i) mod 251).
 *
 * `valueToJson` needs no schema. `valueFromJson` does: a JSON string is a
 * bigint or a byte string depending on where it sits, so the inverse walks
 * the record tables below, which the README repeats.
 *
 * Uses node:crypto for sha256, so it lives with the tests, not in the core.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type {
  LibxcRecord,
  LibxcStream,
  LibxlItem,
  LibxlRecord,
  LibxlStream,
  SaveFile,
  XlHeader,
} from "../../src/index.js";
import { detectFill, fillBytes, type Fill } from "../vectors/spec-bytes.js";

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Lower-case hex, no separators. */
export function toHexString(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Inverse of {@link toHexString}; rejects anything but an even run of hex digits. */
export function fromHexString(text: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error(`not lower-case hex: ${text.slice(0, 40)}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** sha256 of `bytes`, lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The JSON form of PAGE_DATA `pages`. */
export function pagesToJson(pages: Uint8Array): Json {
  const out: JsonObject = { length: pages.length, sha256: sha256Hex(pages) };
  const fill = detectFill(pages);
  if (fill !== undefined) out.fill = fill.kind === "zero" ? { kind: "zero" } : { kind: "mod251", seed: fill.seed };
  return out;
}

function pagesFromJson(json: Json, where: string): Uint8Array {
  const object = asObject(json, where);
  const length = asNumber(object.length, `${where}.length`);
  const fillJson = asObject(object.fill ?? null, `${where}.fill (needed to rebuild the bytes)`);
  let fill: Fill;
  if (fillJson.kind === "zero") fill = { kind: "zero" };
  else if (fillJson.kind === "mod251") fill = { kind: "mod251", seed: asNumber(fillJson.seed, `${where}.fill.seed`) };
  else throw new Error(`${where}.fill: unknown kind ${JSON.stringify(fillJson.kind)}`);
  const pages = fillBytes(fill, length);
  if (sha256Hex(pages) !== object.sha256) throw new Error(`${where}: the fill does not reproduce sha256 ${String(object.sha256)}`);
  return pages;
}

/**
 * The JSON form of any decoded value (a save file, a stream, a record).
 * Object keys keep their order; absent (undefined) properties are omitted.
 */
export function valueToJson(value: unknown): Json {
  if (value === null) return null;
  if (typeof value === "bigint") return value.toString(10);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
    return value;
  }
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof Uint8Array) return toHexString(value);
  if (Array.isArray(value)) return value.map(valueToJson);
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const out: JsonObject = {};
    for (const [key, field] of Object.entries(record)) {
      if (field === undefined) continue;
      out[key] = record.type === "PAGE_DATA" && key === "pages" ? pagesToJson(field as Uint8Array) : valueToJson(field);
    }
    return out;
  }
  throw new Error(`no JSON form for ${typeof value}`);
}

// ----------------------------------------------------------------- inverse

function asObject(json: Json | undefined, where: string): JsonObject {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${where}: expected an object`);
  return json;
}

function asArray(json: Json | undefined, where: string): Json[] {
  if (!Array.isArray(json)) throw new Error(`${where}: expected an array`);
  return json;
}

function asNumber(json: Json | undefined, where: string): number {
  if (typeof json !== "number") throw new Error(`${where}: expected a number`);
  return json;
}

function asString(json: Json | undefined, where: string): string {
  if (typeof json !== "string") throw new Error(`${where}: expected a string`);
  return json;
}

function asBigint(json: Json | undefined, where: string): bigint {
  const text = asString(json, where);
  if (!/^(?:0|[1-9][0-9]*)$/.test(text)) throw new Error(`${where}: expected a decimal string, got ${text}`);
  return BigInt(text);
}

/**
 * How a field's JSON turns back into a value. Fields not listed are plain
 * JSON (numbers, strings); `padding` (every record) is always bytes.
 */
type Kind = "bytes" | "bigint" | "bigints" | "pages" | "pairs" | { each: Record<string, Kind> };

const SIGNAL: Record<string, Kind> = { extra: "bytes" };
const VCPU: Record<string, Kind> = { context: "bytes" };
const BLOB: Record<string, Kind> = { data: "bytes" };

/** The libxc record table (spec-vectors/README.md repeats it). */
export const LIBXC_FIELD_KINDS: Record<string, Record<string, Kind>> = {
  END: SIGNAL,
  VERIFY: SIGNAL,
  CHECKPOINT: SIGNAL,
  STATIC_DATA_END: SIGNAL,
  PAGE_DATA: { pages: "pages", entries: { each: {} } },
  X86_PV_INFO: { reserved: "bytes", extra: "bytes" },
  X86_PV_P2M_FRAMES: { frames: "bigints" },
  X86_PV_VCPU_BASIC: VCPU,
  X86_PV_VCPU_EXTENDED: VCPU,
  X86_PV_VCPU_XSAVE: VCPU,
  X86_PV_VCPU_MSRS: VCPU,
  SHARED_INFO: BLOB,
  HVM_CONTEXT: BLOB,
  TOOLSTACK: BLOB,
  X86_TSC_INFO: { nsec: "bigint" },
  HVM_PARAMS: { params: { each: { index: "bigint", value: "bigint" } } },
  CHECKPOINT_DIRTY_PFN_LIST: { pfns: "bigints" },
  X86_CPUID_POLICY: { entries: { each: {} } },
  X86_MSR_POLICY: { entries: { each: { value: "bigint" } } },
  UNKNOWN: { body: "bytes" },
};

/** The libxl record table. */
export const LIBXL_FIELD_KINDS: Record<string, Record<string, Kind>> = {
  END: SIGNAL,
  LIBXC_CONTEXT: SIGNAL,
  CHECKPOINT_END: SIGNAL,
  EMULATOR_XENSTORE_DATA: { entries: "pairs" },
  EMULATOR_CONTEXT: BLOB,
  CHECKPOINT_STATE: SIGNAL,
  UNKNOWN: { body: "bytes" },
};

function convert(json: Json, kind: Kind | undefined, where: string): unknown {
  if (kind === undefined) {
    if (typeof json === "object" && json !== null) throw new Error(`${where}: unexpected nested JSON`);
    return json;
  }
  if (kind === "bytes") return fromHexString(asString(json, where));
  if (kind === "bigint") return asBigint(json, where);
  if (kind === "bigints") return asArray(json, where).map((item, i) => asBigint(item, `${where}[${i}]`));
  if (kind === "pages") return pagesFromJson(json, where);
  if (kind === "pairs") {
    return asArray(json, where).map((pair, i) => {
      const [key, value] = asArray(pair, `${where}[${i}]`);
      return [fromHexString(asString(key, `${where}[${i}][0]`)), fromHexString(asString(value, `${where}[${i}][1]`))];
    });
  }
  return asArray(json, where).map((item, i) => fieldsFromJson(asObject(item, `${where}[${i}]`), kind.each, `${where}[${i}]`));
}

function fieldsFromJson(object: JsonObject, kinds: Record<string, Kind>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(object)) {
    out[key] = convert(field, key === "padding" ? "bytes" : kinds[key], `${where}.${key}`);
  }
  return out;
}

function recordFromJson<R>(json: Json, table: Record<string, Record<string, Kind>>, where: string): R {
  const object = asObject(json, where);
  const type = asString(object.type, `${where}.type`);
  const kinds = table[type];
  if (kinds === undefined) throw new Error(`${where}: unknown record type ${type}`);
  return fieldsFromJson(object, kinds, where) as R;
}

function libxcStreamFromJson(json: Json, where: string): LibxcStream {
  const object = asObject(json, where);
  return {
    imageHeader: fieldsFromJson(asObject(object.imageHeader, `${where}.imageHeader`), {}, `${where}.imageHeader`) as never,
    domainHeader: fieldsFromJson(asObject(object.domainHeader, `${where}.domainHeader`), {}, `${where}.domainHeader`) as never,
    records: asArray(object.records, `${where}.records`).map((r, i) => recordFromJson<LibxcRecord>(r, LIBXC_FIELD_KINDS, `${where}.records[${i}]`)),
  };
}

function libxlStreamFromJson(json: Json, where: string): LibxlStream {
  const object = asObject(json, where);
  const items = asArray(object.items, `${where}.items`).map((itemJson, i): LibxlItem => {
    const at = `${where}.items[${i}]`;
    const item = asObject(itemJson, at);
    if (item.type === "LIBXC_STREAM") return { type: "LIBXC_STREAM", stream: libxcStreamFromJson(item.stream ?? null, `${at}.stream`) };
    if (item.type === "LIBXC_RESUME") {
      return {
        type: "LIBXC_RESUME",
        records: asArray(item.records, `${at}.records`).map((r, j) => recordFromJson<LibxcRecord>(r, LIBXC_FIELD_KINDS, `${at}.records[${j}]`)),
      };
    }
    return recordFromJson<LibxlRecord>(item, LIBXL_FIELD_KINDS, at);
  });
  return { header: fieldsFromJson(asObject(object.header, `${where}.header`), {}, `${where}.header`) as never, items };
}

const XL_KINDS: Record<string, Kind> = { config: "bytes", optionalExtra: "bytes" };

/** Rebuilds a save file value from its JSON form (the inverse of {@link valueToJson}). */
export function saveFileFromJson(json: Json): SaveFile {
  const object = asObject(json, "$");
  const xl = object.xl === undefined ? {} : { xl: fieldsFromJson(asObject(object.xl, "$.xl"), XL_KINDS, "$.xl") as unknown as XlHeader };
  if (object.format === "libxl") return { format: "libxl", ...xl, stream: libxlStreamFromJson(object.stream ?? null, "$.stream") };
  if (object.format === "libxc") return { format: "libxc", ...xl, stream: libxcStreamFromJson(object.stream ?? null, "$.stream") };
  throw new Error(`$.format: expected "libxl" or "libxc", got ${JSON.stringify(object.format)}`);
}

/** Canonical text of a JSON value file: two-space indent, trailing newline. */
export function jsonText(json: Json): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}
