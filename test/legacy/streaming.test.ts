/**
 * The reader's streaming contract and the behaviours decided where the
 * reference and the legacy restorer part ways: chunking invariance on
 * generated streams, `needed`-sized pushes giving views (no copies),
 * trailing data (Remus checkpoints), the async variant stopping at the end
 * of the stream, and the restorer's semantics for a missing VCPU_INFO and
 * unknown extended-info blocks (legacy-stream.md §12.7).
 */
import { describe, expect, test } from "vitest";
import { decodeLibxcStream } from "../../src/index.js";
import { LegacyConverter, LegacyReader, convertLegacy, convertLegacyStream } from "../../src/legacy/index.js";
import { generateLegacyStream, legacyStreamChunks } from "../../src/testing/legacy-generator.js";
import { Prng } from "../../src/testing/prng.js";
import { cat, le32, le64, pattern } from "../helpers/hex.js";
import { ascii, expectBytes, i32 } from "./legacy-bytes.js";
import { hvmParts, pvVector } from "./vectors.js";

function concat(parts: Uint8Array[]): Uint8Array {
  return cat(...parts);
}

describe("chunking invariance on generated streams", () => {
  test("random splits give the same output as one push (60 streams, both formats)", () => {
    const random = new Prng(99);
    const next = (max: number): number => random.int(1, max);
    for (let seed = 1; seed <= 60; seed++) {
      const { bytes, summary } = generateLegacyStream({ seed, xl: seed % 3 === 0 });
      for (const format of ["libxc", "libxl"] as const) {
        const options = { format, xl: summary.xlHeaderSize > 0 };
        const whole = convertLegacy(bytes, options);
        const converter = new LegacyConverter(options);
        const parts: Uint8Array[] = [];
        for (let pos = 0; pos < bytes.length; ) {
          const size = next(seed % 2 === 0 ? 64 : 9000);
          parts.push(...converter.push(bytes.slice(pos, pos + size)));
          pos += size;
        }
        parts.push(...converter.end());
        expectBytes(concat(parts), whole);
      }
    }
  });

  test("pushing exactly `bytesWanted` bytes: page data reaches the output as views of the pushed chunks", () => {
    const { bytes } = generateLegacyStream({ seed: 5, guest: "pv", pages: 300, maxBatch: 128, fullBatches: true });
    const reader = new LegacyReader({});
    let pos = 0;
    let pageRecords = 0;
    while (!reader.done && pos < bytes.length) {
      const size = reader.bytesWanted;
      const chunk = bytes.slice(pos, pos + size);
      pos += size;
      for (const event of reader.push(chunk)) {
        if (event.kind === "record" && event.record.type === "PAGE_DATA") {
          pageRecords++;
          expect(event.record.pages.buffer).toBe(chunk.buffer);
          // Nothing held back once the layout is known: the caller may reuse its buffer.
          expect(reader.bytesHeld).toBe(0);
        }
      }
    }
    reader.end();
    expect(pageRecords).toBeGreaterThan(2);
  });

  test("the converter writes page data by reference: output parts are the pushed chunk's own bytes (the writer borrows them)", () => {
    const { bytes } = generateLegacyStream({ seed: 6, guest: "pv", width: 64, pages: 64, maxBatch: 16, fullBatches: true });
    const converter = new LegacyConverter({ width: 64, guest: "pv" });
    const input = bytes.slice();
    const parts = [...converter.push(input), ...converter.end()];
    const borrowed = parts.filter((part) => part.buffer === input.buffer);
    // Every batch's pages (16 pages = 64 KiB each) are a view of the input, not a copy.
    expect(borrowed.length).toBe(4);
    for (const part of borrowed) expect(part.length).toBe(16 * 4096);
    expectBytes(concat(parts), convertLegacy(bytes, { width: 64, guest: "pv" }));
  });

  test("the streamed generator equals the whole-buffer one", () => {
    const options = { seed: 17, guest: "hvm" as const, pages: 100 };
    expectBytes(concat([...legacyStreamChunks(options)]), generateLegacyStream(options).bytes);
  });
});

describe("trailing data", () => {
  test("Remus: later checkpoints after a RemusDeviceModelState record are left unconverted and counted", () => {
    const { body, libxc, qemu } = hvmParts(64, "RemusDeviceModelState");
    const record = cat(ascii("RemusDeviceModelState"), le32(qemu.length), qemu);
    const secondCheckpoint = cat(i32(0), pattern(100, 3));
    const converter = new LegacyConverter({ format: "libxc" });
    const out = concat([...converter.push(cat(body, record, secondCheckpoint)), ...converter.end()]);
    expectBytes(out, cat(libxc, record));
    expect(converter.done).toBe(true);
    expect(converter.trailingBytes).toBe(secondCheckpoint.length);
  });

  test("bytes pushed after the end are counted, not parsed", () => {
    const vector = pvVector(64, 8, "libxc");
    const reader = new LegacyReader({});
    reader.push(vector.input);
    expect(reader.done).toBe(true);
    expect(reader.push(new Uint8Array(10))).toEqual([]);
    reader.end();
    expect(reader.trailingBytes).toBe(10);
  });

  test("the async variant stops pulling from the source at the end of the legacy stream", async () => {
    const vector = pvVector(64, 8, "libxl");
    let pulled = 0;
    let closed = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield vector.input;
        pulled++;
        for (;;) {
          yield new Uint8Array(1000); // a migration socket: more bytes, not ours
          pulled++;
        }
      } finally {
        closed = true;
      }
    }
    const parts: Uint8Array[] = [];
    for await (const part of convertLegacyStream(source(), { format: "libxl" })) parts.push(part);
    expectBytes(concat(parts), vector.expected);
    expect(pulled).toBe(0);
    expect(closed).toBe(true);
  });

  test("the async variant with trailingData: error reads on and fails", async () => {
    const vector = pvVector(64, 8, "libxc");
    async function* source(): AsyncGenerator<Uint8Array> {
      yield vector.input;
      yield new Uint8Array(3);
    }
    const run = async (): Promise<void> => {
      for await (const part of convertLegacyStream(source(), { trailingData: "error" })) void part;
    };
    await expect(run()).rejects.toMatchObject({ code: "TRAILING_DATA", offset: vector.input.length });
  });

  test("QemuDeviceModelRecord runs to the end of the input, whatever the chunking", () => {
    const { body, libxc } = hvmParts(32);
    const state = cat(ascii("QEVM"), pattern(5000, 4));
    const input = cat(body, ascii("QemuDeviceModelRecord"), state);
    for (const size of [1, 333, input.length]) {
      const converter = new LegacyConverter({ format: "libxc" });
      const parts: Uint8Array[] = [];
      for (let pos = 0; pos < input.length; pos += size) parts.push(...converter.push(input.slice(pos, pos + size)));
      expect(converter.done).toBe(false);
      parts.push(...converter.end());
      expectBytes(concat(parts), cat(libxc, ascii("QemuDeviceModelRecord"), state));
    }
  });
});

describe("legacy restorer semantics where the reference differs (§12.7)", () => {
  test("no VCPU_INFO chunk in a PV stream: vCPU 0 only (the reference emits no vCPU and misreads the tail)", () => {
    const { input } = pvVector(64, 8, "libxc");
    const vcpuInfo = cat(i32(-2), i32(1), le64(0b11));
    const at = findBytes(input, vcpuInfo);
    // Drop the chunk and vCPU 1's tail entry (basic 5168 + extended 128 + xsave 16 + 64).
    const tailEnd = input.length - 4096;
    const vcpu1 = 0x1430 + 128 + 16 + 64;
    const withoutInfo = cat(input.subarray(0, at), input.subarray(at + vcpuInfo.length, tailEnd - vcpu1), input.subarray(tailEnd));
    const stream = decodeLibxcStream(convertLegacy(withoutInfo, {}));
    const vcpuRecords = stream.records.filter((r) => r.type.startsWith("X86_PV_VCPU"));
    expect(vcpuRecords.map((r) => (r.type.startsWith("X86_PV_VCPU") && "vcpuId" in r ? `${r.type}:${r.vcpuId}` : ""))).toEqual([
      "X86_PV_VCPU_BASIC:0",
      "X86_PV_VCPU_EXTENDED:0",
      "X86_PV_VCPU_XSAVE:0",
    ]);
    const shared = stream.records.find((r) => r.type === "SHARED_INFO");
    expect(shared && "data" in shared ? Array.from(shared.data.subarray(0, 4)) : []).toEqual(Array.from(input.subarray(input.length - 4096, input.length - 4092)));
  });

  test("an unknown extended-info block is skipped (the reference refuses it; the restorer skipped it)", () => {
    const { input, expected } = pvVector(64, 8, "libxc");
    const extra = cat(ascii("junk"), le32(6), pattern(6, 9));
    // Insert after the xcnt block (offset 8 + 8 + 4 + 8 + 0x1430 + 8 + 12) and grow the total.
    const at = 8 + 8 + 4 + 8 + 0x1430 + 8 + 12;
    const grown = cat(input.subarray(0, 16), le32(new DataView(input.buffer, input.byteOffset).getUint32(16, true) + extra.length), input.subarray(20, at), extra, input.subarray(at));
    expectBytes(convertLegacy(grown, {}), expected);
  });

  test("B4: a physmap name that is not UTF-8 is converted as bytes (the reference crashes)", () => {
    const { body, qemuRecord } = hvmParts(64);
    const name = findBytes(body, ascii("vga.vram\0"));
    const patched = body.slice();
    patched[name] = 0xff; // "\xffga.vram"
    const out = convertLegacy(cat(patched, qemuRecord), { format: "libxl" });
    expect(findBytes(out, cat(ascii("physmap/f0000000/name\0"), Uint8Array.of(0xff), ascii("ga.vram\0")))).toBeGreaterThan(0);
  });
});

function findBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
