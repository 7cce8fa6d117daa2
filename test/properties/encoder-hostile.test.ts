// Issue #19 item 5: any value put in any field of a valid input gives bytes
// that the layer's own decoder accepts, or a XenStreamError — never a
// TypeError/RangeError, never bytes coerced from a string or an array, never
// a stream the decoder refuses.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeDomainHeader,
  decodeImageHeader,
  decodeLibxcStream,
  decodeLibxlHeader,
  decodeLibxlStream,
  decodeSaveFile,
  decodeXlHeader,
  encodeDomainHeader,
  encodeImageHeader,
  encodeLibxcStream,
  encodeLibxlHeader,
  encodeLibxlRecord,
  encodeLibxlStream,
  encodeRawRecord,
  encodeSaveFile,
  encodeXlHeader,
  isXenStreamError,
  LibxcEncoder,
  XenStreamError,
  type LibxcStream,
  type LibxlRecord,
} from "../../src/index.js";
import { readFileSync } from "node:fs";
import {
  decodeCpuPolicy,
  decodePvVcpuBasic,
  decodePvVcpuExtended,
  decodeSharedInfo,
  encodeCpuPolicy,
  encodePvVcpuBasic,
  encodePvVcpuExtended,
  encodeSharedInfo,
} from "../../src/index.js";
import { encodeLibxcStreamChunks, encodeLibxlStreamChunks } from "../../src/io/index.js";
import { libxcStream, libxlStream, xlSaveFile } from "../../src/testing/index.js";

/** Values that break naive code: every JS kind, typed arrays, hostile toString/valueOf, huge and odd numbers. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true, withMap: true, withSet: true, withDate: true, withSparseArray: true }),
  fc.constantFrom<unknown>(
    NaN,
    Infinity,
    -Infinity,
    -0,
    -1,
    1.5,
    2 ** 32,
    2 ** 53,
    2 ** 64,
    Number.MAX_VALUE,
    -1n,
    2n ** 64n,
    "7",
    "",
    Symbol("hostile"),
    { toString: 0n },
    { valueOf: 0n, toString: 0n },
    { [Symbol.toPrimitive]: () => { throw new Error("no primitive"); } },
    new Uint16Array(3),
    new DataView(new ArrayBuffer(8)),
    new ArrayBuffer(8),
    [],
    [1, 2, 3],
    () => 1,
    null,
    undefined,
  ),
);

/** Every (holder, key) pair of a value's own enumerable fields, depth first, Uint8Arrays as leaves. */
function slotsOf(root: unknown): Array<[Record<string | number, unknown>, string]> {
  const slots: Array<[Record<string | number, unknown>, string]> = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== "object" || node instanceof Uint8Array) return;
    for (const key of Object.keys(node)) {
      slots.push([node as Record<string, unknown>, key]);
      visit((node as Record<string, unknown>)[key]);
    }
  };
  visit(root);
  return slots;
}

/** Puts `value` in the `pick`-th slot of `root` (or replaces the root when it has none). */
function plant(root: unknown, pick: number, value: unknown): void {
  const slots = slotsOf(root);
  const slot = slots[pick % slots.length];
  if (slot !== undefined) slot[0][slot[1]] = value;
}

/** Runs `encode`; an error must be a XenStreamError, bytes must decode. */
function bytesOrXenStreamError(encode: () => Uint8Array, decode: (bytes: Uint8Array) => unknown): void {
  let bytes: Uint8Array;
  try {
    bytes = encode();
  } catch (error) {
    if (!isXenStreamError(error)) throw error;
    return;
  }
  expect(bytes).toBeInstanceOf(Uint8Array);
  decode(bytes);
}

const options = { numRuns: 150, seed: 19_05 };
const stream = fc.tuple(libxcStream({ maxPageRecords: 2 }), fc.nat(), hostile);

describe("any hostile value in any field of a valid input", () => {
  test("encodeLibxcStream: bytes decodeLibxcStream accepts, or a XenStreamError", () => {
    fc.assert(
      fc.property(stream, ([{ value }, pick, bad]) => {
        plant(value, pick, bad);
        bytesOrXenStreamError(() => encodeLibxcStream(value), (bytes) => decodeLibxcStream(bytes));
      }),
      options,
    );
  });

  test("encodeLibxlStream: bytes decodeLibxlStream accepts, or a XenStreamError", () => {
    fc.assert(
      fc.property(fc.tuple(libxlStream({ maxPageRecords: 2 }), fc.nat(), hostile), ([{ value }, pick, bad]) => {
        plant(value, pick, bad);
        bytesOrXenStreamError(() => encodeLibxlStream(value), (bytes) => decodeLibxlStream(bytes));
      }),
      options,
    );
  });

  test("encodeSaveFile (xl): bytes decodeSaveFile accepts, or a XenStreamError", () => {
    fc.assert(
      fc.property(fc.tuple(xlSaveFile({ maxPageRecords: 2 }), fc.nat(), hostile), ([{ value }, pick, bad]) => {
        plant(value, pick, bad);
        bytesOrXenStreamError(() => encodeSaveFile(value), (bytes) => decodeSaveFile(bytes));
      }),
      options,
    );
  });

  test("header encoders: bytes their decoder accepts, or a XenStreamError", () => {
    fc.assert(
      fc.property(fc.tuple(xlSaveFile({ maxPageRecords: 2 }), fc.nat(), hostile, fc.integer({ min: 0, max: 3 })), ([{ value }, pick, bad, which]) => {
        if (value.format !== "libxl") throw new Error("xlSaveFile gives libxl files");
        const part = value.stream.items.find((item) => item.type === "LIBXC_STREAM");
        if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc part");
        const { imageHeader, domainHeader } = part.stream;
        const cases: Array<[unknown, () => Uint8Array, (bytes: Uint8Array) => unknown]> = [
          [imageHeader, () => encodeImageHeader(imageHeader), (bytes) => decodeImageHeader(bytes)],
          [domainHeader, () => encodeDomainHeader(domainHeader), (bytes) => decodeDomainHeader(bytes, true)],
          [value.stream.header, () => encodeLibxlHeader(value.stream.header), (bytes) => decodeLibxlHeader(bytes)],
          [value.xl, () => encodeXlHeader(value.xl as NonNullable<typeof value.xl>), (bytes) => decodeXlHeader(bytes)],
        ];
        const [target, encode, decode] = cases[which] as (typeof cases)[number];
        plant(target, pick, bad);
        bytesOrXenStreamError(encode, decode);
      }),
      options,
    );
  });

  test("record encoders (LibxcEncoder.record, encodeLibxlRecord, encodeRawRecord): bytes or a XenStreamError", () => {
    fc.assert(
      fc.property(fc.tuple(libxlStream({ maxPageRecords: 2 }), fc.nat(), fc.nat(), hostile), ([{ value }, index, pick, bad]) => {
        const part = value.items.find((item) => item.type === "LIBXC_STREAM");
        if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc part");
        const libxc: LibxcStream = part.stream;
        const encoder = new LibxcEncoder(libxc.imageHeader, libxc.domainHeader);
        const record = libxc.records[index % libxc.records.length];
        plant(record, pick, bad);
        bytesOrXenStreamError(() => encoder.record(record as LibxcStream["records"][number]), () => undefined);
        const libxl = value.items.filter((item): item is LibxlRecord => item.type !== "LIBXC_STREAM" && item.type !== "LIBXC_RESUME");
        const item = libxl[index % libxl.length];
        plant(item, pick, bad);
        bytesOrXenStreamError(() => encodeLibxlRecord(item as LibxlRecord), () => undefined);
        const raw = { typeId: 1, body: new Uint8Array(3), bodyLength: 3, padding: new Uint8Array(5) };
        plant(raw, pick, bad);
        bytesOrXenStreamError(() => encodeRawRecord(raw), () => undefined);
      }),
      options,
    );
  });

  test("record contents encoders (PV vCPU basic and extended, shared info, CPU policy) of a captured PV guest: bytes or a XenStreamError", () => {
    const file = decodeSaveFile(new Uint8Array(readFileSync("spec-vectors/captured/xen-4.17-pv-save.skel.xl")));
    const part = file.format === "libxl" ? file.stream.items.find((item) => item.type === "LIBXC_STREAM") : undefined;
    if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc part");
    const find = <T extends string>(type: T) => {
      const found = part.stream.records.find((record) => record.type === type);
      if (found === undefined) throw new Error(`no ${type}`);
      return found as Extract<LibxcStream["records"][number], { type: T }>;
    };
    const info = find("X86_PV_INFO");
    const guestWidth = info.guestWidth as 4 | 8;
    const basic = find("X86_PV_VCPU_BASIC") as unknown as { context: Uint8Array };
    const extended = find("X86_PV_VCPU_EXTENDED") as unknown as { context: Uint8Array };
    const shared = find("SHARED_INFO");
    const cpuid = find("X86_CPUID_POLICY");
    const msrs = find("X86_MSR_POLICY");
    const cases: Array<[() => unknown, (value: never) => unknown]> = [
      [() => decodePvVcpuBasic(basic.context, { guestWidth }), (value) => encodePvVcpuBasic(value)],
      [() => decodePvVcpuExtended(extended.context), (value) => encodePvVcpuExtended(value)],
      [() => decodeSharedInfo(shared.data, { guestWidth }), (value) => encodeSharedInfo(value)],
      [() => decodeCpuPolicy(cpuid.entries, msrs.entries), (value) => encodeCpuPolicy(value)],
    ];
    fc.assert(
      fc.property(fc.nat({ max: cases.length - 1 }), fc.nat(), hostile, (which, pick, bad) => {
        const [decode, encode] = cases[which] as (typeof cases)[number];
        const value = decode();
        plant(value, pick, bad);
        try {
          encode(value as never);
        } catch (error) {
          if (!isXenStreamError(error)) throw error;
        }
      }),
      options,
    );
  });
});

describe("the classes of the issue's report, pinned", () => {
  const valid = (): LibxcStream => decodeLibxcStream(encodeLibxcStream(fc.sample(libxcStream({ maxPageRecords: 2 }), { numRuns: 1, seed: 7 })[0]!.value));
  const code = (run: () => unknown): string | undefined => {
    try {
      run();
    } catch (error) {
      return error instanceof XenStreamError ? error.code : `not a XenStreamError: ${String(error)}`;
    }
    return undefined;
  };

  test("non-array records/items, or a stream that does not end where the decoder may stop, are BAD_VALUE, not a stream without END", () => {
    const stream = valid();
    expect(code(() => encodeLibxcStream({ ...stream, records: 5 as never }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxcStream({ ...stream, records: "abc" as never }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxcStream({ ...stream, records: [] }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxcStream({ ...stream, records: stream.records.slice(0, -1) }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxcStream({ ...stream, records: [...stream.records, ...stream.records] }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxlStream({ header: { version: 2, options: 0 }, items: { length: 0 } as never }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxlStream({ header: { version: 2, options: 0 }, items: [] }))).toBe("BAD_VALUE");
    expect(code(() => encodeLibxlStream({ header: { version: 2, options: 0 }, items: [{ type: "END" }, { type: "END" }] }))).toBe("BAD_VALUE");
    expect(encodeLibxlStream({ header: { version: 2, options: 0 }, items: [{ type: "END" }] })).toHaveLength(24);
  });

  test('xl.config = "7" is BAD_VALUE, not the byte 0x07; a string or array byte field is never coerced', () => {
    const error = (() => {
      try {
        encodeXlHeader({ byteOrder: "little", mandatoryFlags: 1, optionalFlags: 0, config: "7" as never });
      } catch (caught) {
        return caught as XenStreamError;
      }
      throw new Error("encoded");
    })();
    expect([error.code, error.message]).toEqual(["BAD_VALUE", 'xl header: config must be a Uint8Array, got "7" (at offset 0)']);
    const stream = valid();
    const shared = { type: "SHARED_INFO", data: [1, 2, 3] } as never;
    expect(code(() => encodeLibxcStream({ ...stream, records: [shared, ...stream.records] }))).toBe("BAD_VALUE");
  });

  test("a symbol, a bigint or a hostile toString in a number field is BAD_VALUE, naming the field", () => {
    const stream = valid();
    for (const bad of [Symbol("s"), 5n, { toString: 0n }]) {
      expect(code(() => encodeLibxcStream({ ...stream, domainHeader: { ...stream.domainHeader, pageShift: bad as never } }))).toBe("BAD_VALUE");
      expect(code(() => encodeLibxcStream({ ...stream, imageHeader: { ...stream.imageHeader, options: bad as never } }))).toBe("BAD_VALUE");
      expect(code(() => encodeLibxcStream({ ...stream, records: [{ type: bad } as never, ...stream.records] }))).toBe("BAD_VALUE");
      const frames = { type: "X86_PV_P2M_FRAMES", startPfn: bad, endPfn: 0, frames: [] } as never;
      expect(code(() => encodeLibxcStream({ ...stream, records: [frames, ...stream.records] }))).toBe("BAD_VALUE");
    }
  });

  test("the streaming encoders apply the same rules: the same code and message as the whole-buffer encoder", async () => {
    const stream = valid();
    const streamed = async (chunks: AsyncIterable<Uint8Array>): Promise<unknown> => {
      try {
        for await (const chunk of chunks) void chunk;
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const whole = (run: () => unknown): unknown => {
      try {
        run();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const cases: Array<LibxcStream["records"]> = [[], stream.records.slice(0, -1), [...stream.records, ...stream.records]];
    for (const records of cases) {
      const a = whole(() => encodeLibxcStream({ ...stream, records })) as XenStreamError;
      const b = (await streamed(encodeLibxcStreamChunks(stream, records))) as XenStreamError;
      expect([b.code, b.offset]).toEqual([a.code, a.offset]);
      expect(b.code).toBe("BAD_VALUE");
    }
    for (const records of [5, "abc", null, new Uint8Array(4)]) {
      const error = (await streamed(encodeLibxcStreamChunks(stream, records as never))) as XenStreamError;
      expect([error.code, error.message]).toEqual(["BAD_VALUE", `libxc stream: records must be an array or an (async) iterable, got ${records === null ? "null" : typeof records === "number" ? "5" : typeof records === "string" ? '"abc"' : "Uint8Array(4)"} (at offset 40)`]);
    }
    const header = { version: 2, options: 0 };
    for (const items of [[], [{ type: "END" }, { type: "END" }], [{ type: "CHECKPOINT_STATE", controlId: 0 }, null]] as never[]) {
      const a = whole(() => encodeLibxlStream({ header, items })) as XenStreamError;
      const b = (await streamed(encodeLibxlStreamChunks(header, items))) as XenStreamError;
      expect([b.code, b.offset, b.message]).toEqual([a.code, a.offset, a.message]);
    }
  });
});
