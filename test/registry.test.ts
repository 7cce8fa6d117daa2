/**
 * The record registries (src/libxc/codec.ts, src/libxl/codec.ts) are the
 * one list of what the code knows about a record type. These tests walk
 * every name of each layer's constants object at run time: each must have
 * a registry entry, a table row with its id, a kind in the testing kit, a
 * listing name; and each entry's length rule must be what its codec does.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isXenStreamError, type XenStreamError } from "../src/index.js";
import { LibxcRecordType, LibxlRecordType } from "../src/constants.js";
import { LIBXC_RECORD_NAMES, LIBXC_REGISTRY, libxcTable } from "../src/libxc/codec.js";
import { LIBXL_RECORD_NAMES, LIBXL_REGISTRY, NO_CONTEXT, libxlTable } from "../src/libxl/codec.js";
import { LIBXC_RECORD_KINDS, LIBXL_RECORD_KINDS, libxcRecord, libxlRecord } from "../src/testing/records.js";
import type { RecordTypeEntry } from "../src/wire/codec.js";
import { CodecTable } from "../src/wire/record.js";

const OPTIONS = { maxRecordLength: 2 ** 32 - 1, keepUnknownMandatory: false };
const PAGE_SIZE = 4096;

interface Layer {
  name: "libxc" | "libxl";
  ids: Readonly<Record<string, number>>;
  registry: Readonly<Record<string, RecordTypeEntry<unknown, unknown, { guests: readonly string[] }>>>;
  names: readonly string[];
  kinds: readonly string[];
  table: { typeOf(typeId: number): { name: string; typeId: number } | undefined; decode(frame: never, le: boolean, context: never, options: typeof OPTIONS, index: number): { type: string } };
  context: unknown;
  sample(name: string): Uint8Array;
}

const LAYERS: Layer[] = [
  {
    name: "libxc",
    ids: LibxcRecordType,
    registry: LIBXC_REGISTRY as unknown as Layer["registry"],
    names: LIBXC_RECORD_NAMES,
    kinds: LIBXC_RECORD_KINDS,
    table: libxcTable as unknown as Layer["table"],
    context: { pageSize: PAGE_SIZE },
    sample: (name) => (fc.sample(libxcRecord({ type: name as never, guestWidth: 8 }), { numRuns: 1, seed: 7 })[0] as { bytes: Uint8Array }).bytes,
  },
  {
    name: "libxl",
    ids: LibxlRecordType,
    registry: LIBXL_REGISTRY as unknown as Layer["registry"],
    names: LIBXL_RECORD_NAMES,
    kinds: LIBXL_RECORD_KINDS,
    table: libxlTable as unknown as Layer["table"],
    context: NO_CONTEXT,
    sample: (name) => (fc.sample(libxlRecord({ type: name as never }), { numRuns: 1, seed: 7 })[0] as { bytes: Uint8Array }).bytes,
  },
];

/** Decodes a little-endian body of type `typeId` through the table; the error, or undefined when it decodes. */
function decodeBody(layer: Layer, typeId: number, body: Uint8Array): XenStreamError | undefined {
  const frame = { offset: 0, typeId, bodyLength: body.length, body, padding: new Uint8Array(0) };
  try {
    layer.table.decode(frame as never, true, layer.context as never, OPTIONS, 0);
    return undefined;
  } catch (error) {
    if (isXenStreamError(error)) return error;
    throw error;
  }
}

describe.each(LAYERS)("the $name registry", (layer) => {
  const names = Object.keys(layer.ids);

  test("has an entry, in type-id order, for every name of the constants object", () => {
    expect(names.filter((name) => layer.registry[name] === undefined)).toEqual([]);
    expect(Object.keys(layer.registry).sort()).toEqual([...names].sort());
    expect(layer.names).toEqual([...names].sort((a, b) => (layer.ids[a] as number) - (layer.ids[b] as number)));
  });

  test.each(names.map((name) => [name]))("%s: table row, display name, placement, testing kind", (name) => {
    const entry = layer.registry[name] as Layer["registry"][string];
    const typeId = layer.ids[name] as number;
    expect(layer.table.typeOf(typeId)).toMatchObject({ name, typeId });
    expect(entry.display).toMatch(/^\S.*\S$/);
    expect(typeof entry.codec.decode).toBe("function");
    expect(typeof entry.codec.bodyLength).toBe("function");
    expect(typeof entry.codec.encode).toBe("function");
    expect(entry.appears.guests.length).toBeGreaterThan(0);
    expect(layer.kinds).toContain(name);
  });

  test("display names are distinct", () => {
    const displays = names.map((name) => layer.registry[name]?.display);
    expect(new Set(displays).size).toBe(displays.length);
  });

  test.each(names.map((name) => [name]))("%s: the length rule is what the codec enforces", (name) => {
    const entry = layer.registry[name] as Layer["registry"][string];
    const typeId = layer.ids[name] as number;
    const bytes = layer.sample(name);
    const bodyLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    const body = bytes.subarray(8, 8 + bodyLength);
    expect(decodeBody(layer, typeId, body)).toBeUndefined();
    const rule = entry.length;
    if (rule.kind === "any") {
      expect(decodeBody(layer, typeId, new Uint8Array(0))).toBeUndefined();
    } else if (rule.kind === "atLeast") {
      expect(body.length).toBeGreaterThanOrEqual(rule.min);
      expect(decodeBody(layer, typeId, body.subarray(0, rule.min - 1))?.code).toBe("BAD_LENGTH");
    } else {
      if (body.length > 0) expect(decodeBody(layer, typeId, body.subarray(0, body.length - 1))?.code).toBe("BAD_LENGTH");
      const longer = new Uint8Array(body.length + 1);
      longer.set(body);
      expect(decodeBody(layer, typeId, longer)?.code).toBe("BAD_LENGTH");
    }
  });

  test.each(names.map((name) => [name]))("%s: reserved fields lie inside the sampled body", (name) => {
    const entry = layer.registry[name] as Layer["registry"][string];
    const bytes = layer.sample(name);
    const bodyLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    for (const field of entry.reserved) {
      expect(field.at + field.size, field.name).toBeLessThanOrEqual(bodyLength);
      expect((field.shift ?? 0) + (field.bits ?? field.size * 8 - (field.shift ?? 0)), field.name).toBeLessThanOrEqual(field.size * 8);
    }
  });
});

test("a table refuses a name its registry lacks", () => {
  const entry = LIBXL_REGISTRY.END;
  expect(() => new CodecTable("libxl", { END: 0, MISSING: 9 }, { END: entry })).toThrow("libxl record MISSING: no registry entry");
});
