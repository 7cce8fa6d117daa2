/**
 * schema/stream-document.schema.json: it describes exactly the field
 * tables the document reader uses (every record type, every field, which
 * are required), and the documents the writer makes validate against it
 * under a small JSON Schema validator written here (the keywords the
 * schema uses, no dependency; an unknown keyword fails the test).
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { saveFileToDocument } from "../../src/inspect/document.js";
import {
  DOMAIN_HEADER_FIELDS,
  IMAGE_HEADER_FIELDS,
  LIBXC_RECORD_FIELDS,
  LIBXL_HEADER_FIELDS,
  LIBVIRT_HEADER_FIELDS,
  LIBXL_RECORD_FIELDS,
  XENOPSD_CHUNK_FIELDS,
  XL_HEADER_FIELDS,
  type FieldTable,
} from "../../src/inspect/document-fields.js";
import { XenopsdChunkType } from "../../src/xenopsd/constants.js";
import { LibxcRecordType } from "../../src/libxc/constants.js";
import { LibxlRecordType } from "../../src/libxl/constants.js";
import { legacyContainerImage, libvirtSaveImage, libxcStream, libxlStream, xenopsdSuspendImage, xlSaveFile } from "../../src/testing/index.js";
import { MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";
import { cat } from "../helpers/hex.js";

type Schema = { [key: string]: unknown } | boolean;
const SCHEMA = JSON.parse(readFileSync(new URL("../../schema/stream-document.schema.json", import.meta.url), "utf8")) as { [key: string]: unknown };
const DEFS = SCHEMA.$defs as Record<string, Schema>;

const ANNOTATIONS = new Set(["$schema", "$id", "$defs", "title", "description", "$comment"]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** The errors of `value` against `schema` (empty: valid), each with its JSON path. */
function validate(schema: Schema, value: unknown, path = "$"): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value allowed`];
  const errors: string[] = [];
  for (const [keyword, argument] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    switch (keyword) {
      case "$ref": {
        const name = /^#\/\$defs\/(.+)$/.exec(argument as string)?.[1];
        const target = name === undefined ? undefined : DEFS[name];
        if (target === undefined) throw new Error(`unresolvable $ref ${String(argument)}`);
        errors.push(...validate(target, value, path));
        break;
      }
      case "type": {
        const actual = typeOf(value);
        if (actual !== argument && !(argument === "number" && actual === "integer")) errors.push(`${path}: expected ${String(argument)}, got ${actual}`);
        break;
      }
      case "const":
        if (JSON.stringify(value) !== JSON.stringify(argument)) errors.push(`${path}: expected ${JSON.stringify(argument)}`);
        break;
      case "enum":
        if (!(argument as unknown[]).some((item) => JSON.stringify(item) === JSON.stringify(value))) errors.push(`${path}: not one of ${JSON.stringify(argument)}`);
        break;
      case "pattern":
        if (typeof value === "string" && !new RegExp(argument as string, "u").test(value)) errors.push(`${path}: does not match ${String(argument)}`);
        break;
      case "minimum":
        if (typeof value === "number" && value < (argument as number)) errors.push(`${path}: below ${String(argument)}`);
        break;
      case "maximum":
        if (typeof value === "number" && value > (argument as number)) errors.push(`${path}: above ${String(argument)}`);
        break;
      case "minItems":
        if (Array.isArray(value) && value.length < (argument as number)) errors.push(`${path}: fewer than ${String(argument)} items`);
        break;
      case "maxItems":
        if (Array.isArray(value) && value.length > (argument as number)) errors.push(`${path}: more than ${String(argument)} items`);
        break;
      case "required":
        if (typeOf(value) === "object") {
          for (const name of argument as string[]) if (!Object.hasOwn(value as object, name)) errors.push(`${path}: missing ${name}`);
        }
        break;
      case "properties":
        if (typeOf(value) === "object") {
          for (const [name, sub] of Object.entries(argument as Record<string, Schema>)) {
            if (Object.hasOwn(value as object, name)) errors.push(...validate(sub, (value as Record<string, unknown>)[name], `${path}.${name}`));
          }
        }
        break;
      case "additionalProperties":
        if (typeOf(value) === "object") {
          const known = (schema as { properties?: object }).properties ?? {};
          for (const [name, item] of Object.entries(value as object)) {
            if (!Object.hasOwn(known, name)) errors.push(...validate(argument as Schema, item, `${path}.${name}`));
          }
        }
        break;
      case "items":
        if (Array.isArray(value)) {
          const skip = ((schema as { prefixItems?: unknown[] }).prefixItems ?? []).length;
          value.slice(skip).forEach((item, i) => errors.push(...validate(argument as Schema, item, `${path}[${i + skip}]`)));
        }
        break;
      case "prefixItems":
        if (Array.isArray(value)) (argument as Schema[]).forEach((sub, i) => i < value.length && errors.push(...validate(sub, value[i], `${path}[${i}]`)));
        break;
      case "oneOf":
      case "anyOf": {
        const passing = (argument as Schema[]).filter((sub) => validate(sub, value, path).length === 0).length;
        if (keyword === "oneOf" ? passing !== 1 : passing === 0) errors.push(`${path}: ${passing} of the ${keyword} alternatives match`);
        break;
      }
      default:
        throw new Error(`the test's validator does not know the keyword ${keyword}`);
    }
  }
  return errors;
}

function definition(name: string): { properties: Record<string, unknown>; required: string[] } {
  const def = DEFS[name];
  if (typeof def !== "object") throw new Error(`no $defs/${name}`);
  return def as { properties: Record<string, unknown>; required: string[] };
}

function tableShape(table: FieldTable, typed: boolean): { properties: string[]; required: string[] } {
  const names = Object.keys(table);
  const required = names.filter((name) => !(table[name] as { optional: boolean }).optional);
  return { properties: (typed ? ["type", ...names] : names).sort(), required: (typed ? ["type", ...required] : required).sort() };
}

describe("the document schema", () => {
  it("is draft 2020-12 and has a definition for every libxc and libxl record type", () => {
    expect(SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const libxc = [...Object.keys(LibxcRecordType), "UNKNOWN"].sort();
    const libxl = [...Object.keys(LibxlRecordType), "UNKNOWN"].sort();
    expect(Object.keys(LIBXC_RECORD_FIELDS).sort()).toEqual(libxc);
    expect(Object.keys(LIBXL_RECORD_FIELDS).sort()).toEqual(libxl);
    expect(Object.keys(DEFS).filter((name) => name.startsWith("libxc.")).map((name) => name.slice(6)).sort()).toEqual(libxc);
    expect(Object.keys(DEFS).filter((name) => name.startsWith("libxl.")).map((name) => name.slice(6)).sort()).toEqual(libxl);
  });

  it("says what the reader's field tables say: the same fields, the same required ones", () => {
    const shape = (name: string): { properties: string[]; required: string[] } => {
      const def = definition(name);
      return { properties: Object.keys(def.properties).sort(), required: [...def.required].sort() };
    };
    for (const [type, table] of Object.entries(LIBXC_RECORD_FIELDS)) expect([type, shape(`libxc.${type}`)]).toEqual([type, tableShape(table, true)]);
    for (const [type, table] of Object.entries(LIBXL_RECORD_FIELDS)) expect([type, shape(`libxl.${type}`)]).toEqual([type, tableShape(table, true)]);
    expect(shape("xlHeader")).toEqual(tableShape(XL_HEADER_FIELDS, false));
    expect(shape("libxlHeader")).toEqual(tableShape(LIBXL_HEADER_FIELDS, false));
    expect(shape("imageHeader")).toEqual(tableShape(IMAGE_HEADER_FIELDS, false));
    expect(shape("domainHeader")).toEqual(tableShape(DOMAIN_HEADER_FIELDS, false));
    expect(shape("libvirtHeader")).toEqual(tableShape(LIBVIRT_HEADER_FIELDS, false));
    expect(shape("xenopsdChunk")).toEqual(tableShape(XENOPSD_CHUNK_FIELDS, false));
    expect((definition("xenopsdChunk").properties.type as { enum: string[] }).enum.sort()).toEqual(Object.keys(XenopsdChunkType).sort());
    // The kinds: where a field is a 64-bit value, bytes or pages.
    expect(definition("libxc.X86_TSC_INFO").properties.nsec).toEqual({ $ref: "#/$defs/u64" });
    expect(definition("libxc.HVM_CONTEXT").properties.data).toEqual({ $ref: "#/$defs/bytes" });
    expect(definition("libxc.PAGE_DATA").properties.pages).toEqual({ $ref: "#/$defs/pages" });
  });

  it("validates every document the writer makes (both storages, trailers, every stream shape, every container)", () => {
    const streams = fc.oneof(
      libxcStream({ byteOrder: "any", lenient: true }).map((s) => s.bytes),
      libxlStream({ lenient: true, checkpoints: 2 }).map((s) => s.bytes),
      libxlStream({ lenient: true, checkpoints: 1, colo: true }).map((s) => s.bytes),
      xlSaveFile({ byteOrder: "any", lenient: true }).map((s) => cat(s.bytes, MIGRATE_PERMISSION_TO_GO)),
      libvirtSaveImage({ lenient: true, lenientHeader: true }).map((s) => s.bytes),
      xenopsdSuspendImage({ lenient: true }).map((s) => cat(s.bytes, Uint8Array.of(1, 2))),
      legacyContainerImage().map((s) => s.bytes),
    );
    fc.assert(
      fc.property(streams, fc.boolean(), (bytes, inline) => {
        const document = JSON.parse(saveFileToDocument(bytes, { pages: inline ? "inline" : "file" }).json) as unknown;
        expect(validate(SCHEMA, document)).toEqual([]);
      }),
      { numRuns: 90 },
    );
    for (const name of ["xen-4.17-hvm-save.skel.xl", "xen-4.17-pv-save.skel.xl"]) {
      const bytes = new Uint8Array(readFileSync(new URL(`../../spec-vectors/captured/${name}`, import.meta.url)));
      expect(validate(SCHEMA, JSON.parse(saveFileToDocument(bytes).json))).toEqual([]);
    }
  });

  it("rejects what the reader rejects: a decimal u64, an unknown key, non-canonical base64, a missing field", () => {
    const bytes = new Uint8Array(readFileSync(new URL("../../spec-vectors/captured/xen-4.17-hvm-save.skel.xl", import.meta.url)));
    const fresh = (): { stream: { items: Array<{ stream?: { records: Array<Record<string, unknown>> } }> } } => JSON.parse(saveFileToDocument(bytes).json);
    const records = (doc: ReturnType<typeof fresh>): Array<Record<string, unknown>> => (doc.stream.items[1]?.stream as { records: Array<Record<string, unknown>> }).records;
    const tsc = (doc: ReturnType<typeof fresh>): Record<string, unknown> => records(doc).find((r) => r.type === "X86_TSC_INFO") as Record<string, unknown>;
    const edits: Array<(doc: ReturnType<typeof fresh>) => void> = [
      (doc) => (tsc(doc).nsec = "123"),
      (doc) => (tsc(doc).bogus = 1),
      (doc) => delete tsc(doc).khz,
      (doc) => (records(doc).find((r) => r.type === "HVM_CONTEXT") as Record<string, unknown>).data = "AQJ=",
    ];
    for (const edit of edits) {
      const doc = fresh();
      edit(doc);
      expect(validate(SCHEMA, doc).length).toBeGreaterThan(0);
    }
    expect(validate(SCHEMA, fresh())).toEqual([]);
  });
});
