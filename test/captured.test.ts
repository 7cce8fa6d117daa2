/**
 * The real Xen 4.17 `xl save` files in spec-vectors/captured (see its
 * README): decoded, checked against what Xen writes (xl-header.md §2,
 * libxl-stream.md §6.1, libxc-stream.md), re-encoded byte for byte, and
 * decoded in every chunking with identical events.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  LibxlDecoder,
  SaveFileDecoder,
  decodeSaveFile,
  detectFormat,
  encodeSaveFile,
  type LibxcRecord,
  type LibxcStream,
  type LibxlItem,
  type LibxlSaveFile,
  type SaveFileEvent,
} from "../src/index.js";
import { Prng } from "../src/testing/prng.js";
import { decodeSplit } from "./helpers/decode.js";

// ---------------------------------------------------------------- helpers

function load(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../spec-vectors/captured/${name}`, import.meta.url)));
}

/** Index of the first differing byte, or -1 when equal (lengths included). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

function summary(event: SaveFileEvent): string {
  return event.kind === "record"
    ? `${event.layer} ${event.offset} ${event.record.type} ${event.bodyLength}`
    : `${event.layer} ${event.offset} ${event.kind}`;
}

/** Events with every byte array replaced by its hex, for fast deep comparison. */
function comparable(events: readonly SaveFileEvent[]): string {
  return JSON.stringify(events, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return Array.from(value, (byte) => byte.toString(16).padStart(2, "0")).join("");
    if (typeof value === "bigint") return `${value}n`;
    return value;
  });
}

function decodeInChunks(bytes: Uint8Array, cuts: readonly number[]): SaveFileEvent[] {
  return decodeSplit(() => new SaveFileDecoder(), bytes, cuts);
}


/** The libxc records of a decoded libxl file (its one LIBXC_STREAM part). */
function libxcOf(file: LibxlSaveFile): LibxcStream {
  const part = file.stream.items.find((item): item is Extract<LibxlItem, { type: "LIBXC_STREAM" }> => item.type === "LIBXC_STREAM");
  if (part === undefined) throw new Error("no LIBXC_STREAM part");
  return part.stream;
}

function recordsOf<T extends LibxcRecord["type"]>(stream: LibxcStream, type: T): Array<Extract<LibxcRecord, { type: T }>> {
  return stream.records.filter((record): record is Extract<LibxcRecord, { type: T }> => record.type === type);
}

/** vCPU instances of the CPU entries (typecode 2) of an HVM context blob: 8-byte descriptors {typecode u16, instance u16, length u32}. */
function hvmCpuInstances(blob: Uint8Array): number[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const instances: number[] = [];
  for (let pos = 0; pos + 8 <= blob.length; ) {
    const typecode = view.getUint16(pos, true);
    const instance = view.getUint16(pos + 2, true);
    const length = view.getUint32(pos + 4, true);
    if (typecode === 2) instances.push(instance);
    if (typecode === 0) break;
    pos += 8 + length;
  }
  return instances;
}

// ---------------------------------------------------------------- the files

interface Captured {
  guest: "pv" | "hvm" | "pvh";
  file: string;
  size: number;
  configLength: number;
  domainType: number;
  events: string[];
}

const FILES: Captured[] = [
  {
    guest: "pv",
    file: "xen-4.17-pv-save.skel.xl",
    size: 33918,
    configLength: 866,
    domainType: 1,
    events: [
      "xl 0 header",
      "libxl 918 header",
      "libxl 934 LIBXC_CONTEXT 0",
      "libxc 942 imageHeader",
      "libxc 966 domainHeader",
      "libxc 982 X86_PV_INFO 8",
      "libxc 998 X86_CPUID_POLICY 1224",
      "libxc 2230 X86_MSR_POLICY 32",
      "libxc 2270 STATIC_DATA_END 0",
      "libxc 2278 X86_PV_P2M_FRAMES 520",
      "libxc 2806 PAGE_DATA 16424",
      "libxc 19238 X86_TSC_INFO 24",
      "libxc 19270 SHARED_INFO 4096",
      "libxc 23374 X86_PV_VCPU_BASIC 5176",
      "libxc 28558 X86_PV_VCPU_EXTENDED 72",
      "libxc 28638 X86_PV_VCPU_BASIC 5176",
      "libxc 33822 X86_PV_VCPU_EXTENDED 72",
      "libxc 33902 END 0",
      "libxl 33910 END 0",
    ],
  },
  {
    guest: "hvm",
    file: "xen-4.17-hvm-save.skel.xl",
    size: 33708,
    configLength: 1296,
    domainType: 2,
    events: [
      "xl 0 header",
      "libxl 1348 header",
      "libxl 1364 LIBXC_CONTEXT 0",
      "libxc 1372 imageHeader",
      "libxc 1396 domainHeader",
      "libxc 1412 X86_CPUID_POLICY 1224",
      "libxc 2644 X86_MSR_POLICY 32",
      "libxc 2684 STATIC_DATA_END 0",
      "libxc 2692 PAGE_DATA 16424",
      "libxc 19124 X86_TSC_INFO 24",
      "libxc 19156 HVM_CONTEXT 6520",
      "libxc 25684 HVM_PARAMS 200",
      "libxc 25892 END 0",
      "libxl 25900 EMULATOR_CONTEXT 7785",
      "libxl 33700 END 0",
    ],
  },
  {
    guest: "pvh",
    file: "xen-4.17-pvh-save.skel.xl",
    size: 23809,
    configLength: 869,
    domainType: 2,
    events: [
      "xl 0 header",
      "libxl 921 header",
      "libxl 937 LIBXC_CONTEXT 0",
      "libxc 945 imageHeader",
      "libxc 969 domainHeader",
      "libxc 985 X86_CPUID_POLICY 1224",
      "libxc 2217 X86_MSR_POLICY 32",
      "libxc 2257 STATIC_DATA_END 0",
      "libxc 2265 PAGE_DATA 16424",
      "libxc 18697 X86_TSC_INFO 24",
      "libxc 18729 HVM_CONTEXT 4912",
      "libxc 23649 HVM_PARAMS 136",
      "libxc 23793 END 0",
      "libxl 23801 END 0",
    ],
  },
];

describe.each(FILES)("captured $file", ({ guest, file, size, configLength, domainType, events }) => {
  const bytes = load(file);
  const decoded = decodeSaveFile(bytes) as LibxlSaveFile;
  const decoder = new SaveFileDecoder();
  const wholeEvents = decoder.push(bytes);
  decoder.end();

  test("size and format", () => {
    expect(bytes.length).toBe(size);
    expect(detectFormat(bytes)).toBe("xl");
    expect(decoded.format).toBe("libxl");
  });

  test("event sequence: layers, offsets, record types and body lengths, exactly", () => {
    expect(wholeEvents.map(summary)).toStrictEqual(events);
  });

  test("events tile the file: each starts where the previous one ends", () => {
    let expected = 0;
    for (const event of wholeEvents) {
      expect(event.offset, summary(event)).toBe(expected);
      if (event.kind === "record") expected += 8 + Math.ceil(event.bodyLength / 8) * 8;
      else if (event.layer === "xl") expected += event.size;
      else if (event.layer === "libxl") expected += 16;
      else expected += event.kind === "imageHeader" ? 24 : 16;
    }
    expect(expected).toBe(size);
  });

  test("xl header: little-endian, JSON|STREAMv2 (3), no optional flags, JSON config with its NUL", () => {
    const xl = decoded.xl;
    expect(xl).toBeDefined();
    if (xl === undefined) return;
    expect([xl.byteOrder, xl.mandatoryFlags, xl.optionalFlags]).toStrictEqual(["little", 3, 0]);
    expect(xl.optionalExtra).toBeUndefined();
    const config = xl.config as Uint8Array;
    expect(config.length).toBe(configLength);
    expect(config[configLength - 1]).toBe(0);
    const json = JSON.parse(new TextDecoder().decode(config.subarray(0, configLength - 1))) as {
      c_info: { type: string };
      b_info: { max_vcpus: number; max_memkb: number };
    };
    expect(json.c_info.type).toBe(guest);
    expect(json.b_info.max_vcpus).toBe(2);
    expect(json.b_info.max_memkb).toBe(131072);
    // The raw header bytes: magic, then byteorder 04 03 02 01 and flags 3.
    expect(Array.from(bytes.subarray(0, 8), (byte) => String.fromCharCode(byte)).join("")).toBe("Xen save");
    expect(Array.from(bytes.subarray(32, 40))).toStrictEqual([4, 3, 2, 1, 3, 0, 0, 0]);
  });

  test("libxl header v2, options 0; libxc v3, domain type, 4 KiB pages, Xen 4.17", () => {
    expect(decoded.stream.header).toStrictEqual({ version: 2, options: 0 });
    const libxc = libxcOf(decoded);
    expect(libxc.imageHeader).toStrictEqual({ version: 3, options: 0, reserved1: 0, reserved2: 0 });
    expect(libxc.domainHeader).toStrictEqual({ type: domainType, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 });
  });

  test("libxl items: LIBXC_CONTEXT, the libxc stream, emulator records for HVM only, END", () => {
    const types = decoded.stream.items.map((item) => item.type);
    expect(types).toStrictEqual(
      guest === "hvm"
        ? ["LIBXC_CONTEXT", "LIBXC_STREAM", "EMULATOR_CONTEXT", "END"]
        : ["LIBXC_CONTEXT", "LIBXC_STREAM", "END"],
    );
  });

  test("CPUID policy: 51 leaves, AuthenticAMD; MSR policy: 0xCE and 0x10A", () => {
    const libxc = libxcOf(decoded);
    const [cpuid] = recordsOf(libxc, "X86_CPUID_POLICY");
    expect(cpuid?.entries).toHaveLength(51);
    const leaf0 = cpuid?.entries[0];
    expect(leaf0?.leaf).toBe(0);
    expect(leaf0?.subleaf).toBe(0xffff_ffff);
    const vendor = [leaf0?.b, leaf0?.d, leaf0?.c]
      .map((word) => String.fromCharCode(...[0, 8, 16, 24].map((shift) => ((word ?? 0) >>> shift) & 0xff)))
      .join("");
    expect(vendor).toBe("AuthenticAMD");
    const [msr] = recordsOf(libxc, "X86_MSR_POLICY");
    expect(msr?.entries.map((entry) => entry.index)).toStrictEqual([0xce, 0x10a]);
  });

  test("the one PAGE_DATA kept: pfns 0-3, normal pages, contents zeroed", () => {
    const pages = recordsOf(libxcOf(decoded), "PAGE_DATA");
    expect(pages).toHaveLength(1);
    expect(pages[0]?.entries).toStrictEqual([0, 1, 2, 3].map((pfn) => ({ pfn, type: 0, reserved: 0 })));
    expect(pages[0]?.pages.length).toBe(4 * 4096);
    expect(pages[0]?.pages.every((byte) => byte === 0)).toBe(true);
  });

  test("X86_TSC_INFO: mode 0 (default), 2599998 kHz", () => {
    const [tsc] = recordsOf(libxcOf(decoded), "X86_TSC_INFO");
    expect([tsc?.mode, tsc?.khz, tsc?.reserved]).toStrictEqual([0, 2_599_998, 0]);
  });

  if (guest === "pv") {
    test("PV: X86_PV_INFO width 8, levels 4; p2m of 32768 pfns in 64 frames; two vCPUs 0 and 1", () => {
      const libxc = libxcOf(decoded);
      const [info] = recordsOf(libxc, "X86_PV_INFO");
      expect([info?.guestWidth, info?.ptLevels]).toStrictEqual([8, 4]);
      const [p2m] = recordsOf(libxc, "X86_PV_P2M_FRAMES");
      expect([p2m?.startPfn, p2m?.endPfn, p2m?.frames.length]).toStrictEqual([0, 32767, 64]);
      expect(recordsOf(libxc, "SHARED_INFO")[0]?.data.length).toBe(4096);
      const vcpus = libxc.records.flatMap((record) =>
        record.type === "X86_PV_VCPU_BASIC" || record.type === "X86_PV_VCPU_EXTENDED"
          ? [[record.type, record.vcpuId, record.context.length]]
          : [],
      );
      // 64-bit vcpu_guest_context is 5168 bytes; the extended context 64.
      expect(vcpus).toStrictEqual([
        ["X86_PV_VCPU_BASIC", 0, 5168],
        ["X86_PV_VCPU_EXTENDED", 0, 64],
        ["X86_PV_VCPU_BASIC", 1, 5168],
        ["X86_PV_VCPU_EXTENDED", 1, 64],
      ]);
      expect(recordsOf(libxc, "HVM_CONTEXT")).toHaveLength(0);
    });
  } else {
    test("HVM/PVH: HVM_CONTEXT before HVM_PARAMS (as every C saver writes); CPU state for vCPUs 0 and 1", () => {
      const libxc = libxcOf(decoded);
      const types = libxc.records.map((record) => record.type);
      expect(types.indexOf("HVM_CONTEXT")).toBeGreaterThan(-1);
      expect(types.indexOf("HVM_CONTEXT")).toBeLessThan(types.indexOf("HVM_PARAMS"));
      const [context] = recordsOf(libxc, "HVM_CONTEXT");
      expect(hvmCpuInstances(context?.data ?? new Uint8Array(0))).toStrictEqual([0, 1]);
      const [params] = recordsOf(libxc, "HVM_PARAMS");
      expect(params?.params).toHaveLength(guest === "hvm" ? 12 : 8);
      expect(recordsOf(libxc, "X86_PV_INFO")).toHaveLength(0);
    });
  }

  if (guest === "hvm") {
    test("HVM: EMULATOR_CONTEXT from qemu-xen (emulator id 2, index 0), a QEVM blob; no xenstore record", () => {
      const emulator = decoded.stream.items.find((item) => item.type === "EMULATOR_CONTEXT");
      expect(emulator?.type).toBe("EMULATOR_CONTEXT");
      if (emulator?.type !== "EMULATOR_CONTEXT") return;
      expect([emulator.emulatorId, emulator.index, emulator.data.length]).toStrictEqual([2, 0, 7777]);
      expect(Array.from(emulator.data.subarray(0, 4), (byte) => String.fromCharCode(byte)).join("")).toBe("QEVM");
      expect(decoded.stream.items.some((item) => item.type === "EMULATOR_XENSTORE_DATA")).toBe(false);
    });
  }

  test("re-encodes byte for byte", () => {
    expect(firstDifference(encodeSaveFile(decoded), bytes)).toBe(-1);
  });

  test("the libxl stream alone decodes to the same libxl and libxc events", () => {
    const xlSize = wholeEvents[0]?.kind === "header" && wholeEvents[0].layer === "xl" ? wholeEvents[0].size : -1;
    const libxl = new LibxlDecoder({}, xlSize);
    const events = libxl.push(bytes.subarray(xlSize));
    libxl.end();
    expect(comparable(events)).toBe(comparable(wholeEvents.slice(1)));
  });

  test("every chunk size 1..64 gives identical events", () => {
    const expected = comparable(wholeEvents);
    for (let chunk = 1; chunk <= 64; chunk++) {
      const cuts: number[] = [];
      for (let cut = chunk; cut < bytes.length; cut += chunk) cuts.push(cut);
      expect(comparable(decodeInChunks(bytes, cuts)), `chunk size ${chunk}`).toBe(expected);
    }
  });

  test("random splits give identical events", () => {
    const expected = comparable(wholeEvents);
    // Seeded, so the "random" splits are the same every run.
    const random = new Prng(0x5eed + size);
    for (let round = 0; round < 20; round++) {
      const cuts = new Set<number>();
      const count = random.int(1, 40);
      while (cuts.size < count) cuts.add(random.int(1, bytes.length - 1));
      const sorted = [...cuts].sort((a, b) => a - b);
      expect(comparable(decodeInChunks(bytes, sorted)), `cuts ${sorted.join(",")}`).toBe(expected);
    }
  });

  test("events from a noisy subarray (not at byteOffset 0) are the same", () => {
    const noisy = new Uint8Array(bytes.length + 3);
    noisy.set(bytes, 3);
    const events = new SaveFileDecoder().push(noisy.subarray(3));
    expect(comparable(events)).toBe(comparable(wholeEvents));
  });
});
