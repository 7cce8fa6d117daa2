/**
 * The hand-built legacy vectors (vectors.ts): exact output bytes for every
 * option set, with the width/guest given and detected, through the
 * whole-buffer, incremental and async paths; and the events the reader
 * emits (v2 values, in output order).
 */
import { describe, expect, test } from "vitest";
import { LegacyConverter, LegacyReader, convertLegacy, convertLegacyStream } from "../../src/legacy/index.js";
import { decodeLibxcStream, decodeSaveFile } from "../../src/index.js";
import { cat, offsetCopy } from "../helpers/hex.js";
import { expectBytes } from "./legacy-bytes.js";
import { legacyVectors, pvVector } from "./vectors.js";

function concat(parts: Uint8Array[]): Uint8Array {
  return cat(...parts);
}

describe("hand-built legacy vectors", () => {
  for (const vector of legacyVectors()) {
    describe(vector.name, () => {
      test("converts to the expected bytes", () => {
        expectBytes(convertLegacy(vector.input, vector.options), vector.expected);
      });

      test("detects width and guest type", () => {
        const converter = new LegacyConverter({ ...vector.options, width: "auto", guest: "auto" });
        const out = concat([...converter.push(offsetCopy(vector.input)), ...converter.end()]);
        expectBytes(out, vector.expected);
        expect(converter.layout).toEqual({ width: vector.options.width, guest: vector.options.guest });
      });

      test("same bytes for any chunking (1, 7, 4097-byte pushes)", () => {
        for (const size of [1, 7, 4097]) {
          const converter = new LegacyConverter(vector.options);
          const parts: Uint8Array[] = [];
          for (let pos = 0; pos < vector.input.length; pos += size) {
            parts.push(...converter.push(vector.input.slice(pos, pos + size)));
          }
          parts.push(...converter.end());
          expectBytes(concat(parts), vector.expected);
        }
      });

      test("async: same bytes", async () => {
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let pos = 0; pos < vector.input.length; pos += 1000) yield vector.input.slice(pos, pos + 1000);
        }
        const parts: Uint8Array[] = [];
        for await (const part of convertLegacyStream(source(), vector.options)) parts.push(part.slice());
        expectBytes(concat(parts), vector.expected);
      });

      test("the v2 output decodes", () => {
        const out = convertLegacy(vector.input, vector.options);
        if (vector.options.xl || vector.options.format === "libxl") {
          expect(() => decodeSaveFile(out, { format: vector.options.xl ? "xl" : "libxl" })).not.toThrow();
        } else {
          // libxc output: a raw QEMU record may follow the END.
          const stream = decodeLibxcStream(out.subarray(0, out.length - trailingQemu(vector.input, vector.options)));
          expect(stream.domainHeader).toEqual({ type: vector.options.guest === "pv" ? 1 : 2, pageShift: 12, reserved: 0, xenMajor: 0, xenMinor: 1 });
        }
      });
    });
  }
});

/** Length of the raw QEMU record a libxc conversion appends after END (from the reader's events). */
function trailingQemu(input: Uint8Array, options: object): number {
  const reader = new LegacyReader(options);
  const events = [...reader.push(input), ...reader.end()];
  return events.reduce((n, e) => n + (e.layer === "legacy" && e.kind === "passthrough" ? e.bytes.length : 0), 0);
}

describe("reader events", () => {
  test("PV 64-bit: v2 values in output order", () => {
    const vector = pvVector(64, 8, "libxc");
    const reader = new LegacyReader({ width: 64, guest: "pv" });
    const events = [...reader.push(vector.input), ...reader.end()];
    expect(events.map((e) => (e.kind === "record" ? `${e.layer}:${e.record.type}` : `${e.layer}:${e.kind}`))).toEqual([
      "legacy:layout",
      "libxc:imageHeader",
      "libxc:domainHeader",
      "libxc:X86_PV_INFO",
      "libxc:STATIC_DATA_END",
      "libxc:X86_PV_P2M_FRAMES",
      "libxc:X86_TSC_INFO",
      "libxc:PAGE_DATA",
      "libxc:X86_PV_VCPU_BASIC",
      "libxc:X86_PV_VCPU_EXTENDED",
      "libxc:X86_PV_VCPU_XSAVE",
      "libxc:X86_PV_VCPU_BASIC",
      "libxc:X86_PV_VCPU_EXTENDED",
      "libxc:X86_PV_VCPU_XSAVE",
      "libxc:SHARED_INFO",
      "libxc:END",
      "legacy:end",
    ]);
    const page = events.find((e) => e.kind === "record" && e.record.type === "PAGE_DATA");
    expect(page?.kind === "record" && page.record.type === "PAGE_DATA" ? page.record.entries : undefined).toEqual([
      { pfn: 0, type: 0 },
      { pfn: 2, type: 1 },
      { pfn: 1, type: 0xf },
    ]);
    // offsets are input offsets: the batch's chunk id
    const headerSize = 8 + 8 + 4 + (8 + 0x1430) + 8 + 12;
    const p2mFrames = 8;
    const tsc = 24;
    expect(page?.offset).toBe(headerSize + p2mFrames + tsc);
    const tscEvent = events.find((e) => e.kind === "record" && e.record.type === "X86_TSC_INFO");
    expect(tscEvent?.kind === "record" ? tscEvent.record : undefined).toEqual({
      type: "X86_TSC_INFO",
      mode: 2,
      khz: 2_000_000,
      nsec: 0x11_2233_4455n,
      incarnation: 3,
    });
    expect(reader.done).toBe(true);
    expect(reader.trailingBytes).toBe(0);
  });
});
