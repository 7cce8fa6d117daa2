/**
 * Containers through the save-file API: the captured real Xen 4.17 streams
 * wrapped, by hand from the source layouts, in a libvirt save image and in
 * XAPI/xenopsd suspend images; detection, events, byte-exact round trips,
 * verification, any split of the input, truncation at every container
 * boundary, the stored configuration (read, set, streamed rewrite) and
 * moves between containers.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  ConfigRewriter,
  SaveFileDecoder,
  convertContainer,
  decodeAnySaveFile,
  decodeSaveFile,
  detectFormat,
  encodeSaveFile,
  rewriteSavedConfig,
  savedConfig,
  setSavedConfig,
  verifyStream,
  type SaveFileEvent,
} from "../src/index.js";
import { decodeSaveFileAsync, encodeEventChunks } from "../src/io/index.js";
import { cat, le32, le64, toHex } from "./helpers/hex.js";
import { thrown } from "./helpers/errors.js";

const NAMES = ["pv", "hvm", "pvh"] as const;
const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const LIBVIRT_MAGIC = cat(ascii("libvirt-xml\n "), new Uint8Array([0]), ascii(" \r"));
const XML = "<domain type='xen'>\n  <name>guest</name>\n</domain>\n";
const RECORD = '((time 20261203T07:00:00Z)(word_size 64)(vm_str "(uuid 1)")(xs_subtree()))';

function captured(name: (typeof NAMES)[number]): { xl: Uint8Array; libxl: Uint8Array; libxc: Uint8Array; config: Uint8Array } {
  const xl = new Uint8Array(readFileSync(`spec-vectors/captured/xen-4.17-${name}-save.skel.xl`));
  const view = new DataView(xl.buffer, xl.byteOffset, xl.byteLength);
  const optional = view.getUint32(44, true);
  const configLength = view.getUint32(48, true);
  const libxl = xl.subarray(48 + optional);
  // The libxc stream: after the libxl header (16) and LIBXC_CONTEXT (8), up to libxc END's end.
  const events = new SaveFileDecoder().push(libxl);
  const end = events.find((event) => event.layer === "libxc" && event.kind === "record" && event.record.type === "END");
  if (end === undefined) throw new Error("no libxc END");
  return { xl, libxl, libxc: libxl.subarray(24, end.offset + 8), config: xl.subarray(52, 52 + configLength) };
}

function libvirtImage(stream: Uint8Array, version = 2, xml = XML): Uint8Array {
  const text = cat(ascii(xml), new Uint8Array([0]));
  return cat(LIBVIRT_MAGIC, le32(version), le32(text.length), new Uint8Array(40), text, stream);
}

function chunk(type: number, length: number | bigint, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return cat(le64(type), le64(length), body);
}

function xenopsdImage(streamType: number, stream: Uint8Array, after: Uint8Array = new Uint8Array(0)): Uint8Array {
  const record = ascii(RECORD);
  return cat(ascii("XenSavedDomv2-\n"), chunk(0x000f, record.length, record), chunk(streamType, 0), stream, after, chunk(0xffff, 0));
}

function eventSummary(events: SaveFileEvent[]): string[] {
  return events.map((event) => `${event.layer}:${event.kind === "record" ? event.record.type : event.kind}@${event.offset}`);
}

describe.each(NAMES)("captured %s stream in every container", (name) => {
  const streams = captured(name);
  const images: Array<[string, Uint8Array, string, number]> = [
    ["libvirt v2 around the libxl stream", libvirtImage(streams.libxl), "libvirt", 64 + XML.length + 1],
    ["xenopsd Libxc chunk around the libxc stream", xenopsdImage(0x00f0, streams.libxc), "xenopsd", 15 + 16 + RECORD.length + 16],
    ["xenopsd Libxl chunk around the libxl stream", xenopsdImage(0x00f1, streams.libxl), "xenopsd", 15 + 16 + RECORD.length + 16],
    [
      "xenopsd Libxc with Qemu_trad and Varstored after",
      xenopsdImage(0x00f0, streams.libxc, cat(chunk(0x0f11, 3, ascii("efi")), chunk(0x0f00, 5, ascii("QEVM!")))),
      "xenopsd",
      15 + 16 + RECORD.length + 16,
    ],
  ];

  test.each(images)("%s: detected, decoded, byte-exact, valid", (_label, bytes, format, streamAt) => {
    expect(detectFormat(bytes)).toBe(format);
    const file = decodeSaveFile(bytes);
    expect(file.container?.kind).toBe(format);
    expect(toHex(encodeSaveFile(file))).toBe(toHex(bytes));
    const events = new SaveFileDecoder().push(bytes);
    const first = events.find((event) => event.layer === "libxl" || event.layer === "libxc");
    expect(first?.offset).toBe(streamAt);
    const report = verifyStream(bytes);
    expect(report.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary.format).toBe(format);
    expect(report.summary.container?.kind).toBe(format);
  });

  test.each(images)("%s: the streaming event encoder reproduces it from the async decoder", async (_label, bytes) => {
    const chunks = [bytes.subarray(0, 50), bytes.subarray(50, 4000), bytes.subarray(4000)];
    const out: Uint8Array[] = [];
    for await (const part of encodeEventChunks(decodeSaveFileAsync(chunks), { chunkSize: 1024 })) out.push(part);
    expect(toHex(cat(...out))).toBe(toHex(bytes));
  });

  test.each(images)("%s: any split gives the same events", (_label, bytes) => {
    const whole = eventSummary(new SaveFileDecoder().push(bytes));
    for (const cut of [1, 7, 15, 16, 31, 63, 64, 65, 200, bytes.length - 17, bytes.length - 1]) {
      const decoder = new SaveFileDecoder();
      const events = [...decoder.push(bytes.slice(0, cut)), ...decoder.push(bytes.slice(cut))];
      decoder.end();
      expect(eventSummary(events)).toEqual(whole);
    }
  });

  test.each(images)("%s: a cut at a container boundary is TRUNCATED at the cut", (_label, bytes, _format, streamAt) => {
    for (const cut of [8, 15, 40, streamAt - 1, streamAt, bytes.length - 16, bytes.length - 1]) {
      const error = thrown(() => decodeSaveFile(bytes.subarray(0, cut)));
      expect([error.code, error.offset]).toEqual(["TRUNCATED", cut]);
    }
  });

  test("verify's listing and summary show the container's own fields", () => {
    const libvirt = verifyStream(libvirtImage(streams.libxl), { listing: true });
    expect(libvirt.summary.listing?.slice(0, 2)).toEqual([`Libvirt Header: version 2, little endian, XML ${XML.length + 1} bytes, libxl stream follows`, "  domain guest"]);
    expect(libvirt.summary.container).toEqual({
      kind: "libvirt",
      libvirt: { version: 2, byteOrder: "little", xmlLength: XML.length + 1, domainName: "guest", stream: "libxl" },
    });
    const image = xenopsdImage(0x00f0, streams.libxc, chunk(0x0f11, 3, ascii("efi")));
    const xenopsd = verifyStream(image, { listing: true });
    expect(xenopsd.summary.listing?.slice(0, 4)).toEqual([
      'Xenopsd Signature: "XenSavedDomv2-\\n" (structured)',
      `Xenopsd Chunk: Xenops, length ${RECORD.length}`,
      "  time 20261203T07:00:00Z, word_size 64, vm_str 8 chars",
      "Xenopsd Chunk: Libxc, length 0",
    ]);
    expect(xenopsd.summary.listing?.slice(-2)).toEqual(["Xenopsd Chunk: Varstored, length 3", "Xenopsd Chunk: End_of_image, length 0"]);
    const varstoredAt = 15 + 16 + RECORD.length + 16 + streams.libxc.length;
    expect(xenopsd.summary.container).toEqual({
      kind: "xenopsd",
      xenopsd: {
        layout: "structured",
        chunks: [
          { type: "Xenops", offset: 15, length: RECORD.length },
          { type: "Libxc", offset: 15 + 16 + RECORD.length, length: 0 },
          { type: "Varstored", offset: varstoredAt, length: 3 },
          { type: "End_of_image", offset: varstoredAt + 19, length: 0 },
        ],
        record: { time: "20261203T07:00:00Z", wordSize: 64, vmStrLength: 8, xsSubtreeEntries: 0 },
      },
    });
    expect(JSON.parse(JSON.stringify(xenopsd.summary)).container.xenopsd.chunks.length).toBe(4);
  });

  test("the libvirt image's header fields and XML", () => {
    const file = decodeSaveFile(libvirtImage(streams.libxl));
    if (file.container?.kind !== "libvirt") throw new Error("not libvirt");
    expect(file.container.header).toMatchObject({ byteOrder: "little", version: 2, unused: new Array(10).fill(0) });
    expect(savedConfig(file)).toMatchObject({ kind: "libvirt-xml", text: XML });
    expect(savedConfig(file)?.bytes.length).toBe(XML.length + 1);
  });

  test("the xenopsd image's chunks and Xenops record", () => {
    const file = decodeSaveFile(xenopsdImage(0x00f0, streams.libxc, chunk(0x0f13, 2, ascii("tp"))));
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("not structured xenopsd");
    expect(file.container.chunks.map((c) => [c.type, c.length])).toEqual([
      ["Xenops", BigInt(RECORD.length)],
      ["Libxc", 0n],
      ["Swtpm", 2n],
      ["End_of_image", 0n],
    ]);
    expect(file.container.streamChunk).toBe(1);
    expect(savedConfig(file)).toMatchObject({
      kind: "xenops-record",
      text: RECORD,
      record: { time: "20261203T07:00:00Z", wordSize: 64, vmStr: "(uuid 1)", xsSubtree: [] },
    });
  });

  test("config: set, and the streamed rewrite gives the same bytes", async () => {
    for (const [bytes, config] of [
      [streams.xl, '{"c_info":{"name":"renamed"}}\n'],
      [libvirtImage(streams.libxl), "<domain type='xen'><name>renamed</name></domain>"],
      [xenopsdImage(0x00f0, streams.libxc), "((time 20270101T00:00:00Z)(word_size 64))"],
    ] as const) {
      const expected = encodeSaveFile(setSavedConfig(decodeAnySaveFile(bytes), config));
      expect(savedConfig(decodeAnySaveFile(expected))?.text).toBe(config);
      // Everything after the config is untouched: the tails are equal.
      const tail = streams.libxc.length;
      expect(toHex(expected.subarray(expected.length - tail))).toBe(toHex(bytes.subarray(bytes.length - tail)));
      for (const size of [3, 13, 4096]) {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        const out: Uint8Array[] = [];
        for await (const part of rewriteSavedConfig(chunks, config)) out.push(part);
        expect(toHex(cat(...out))).toBe(toHex(expected));
      }
    }
  });

  test("convert to xenopsd writes what xenopsd's suspend writes; xenopsd to xenopsd is the identity", () => {
    const xl = decodeSaveFile(streams.xl);
    if (xl.format !== "libxl") throw new Error("not libxl");
    const emulator = xl.stream.items.find((item) => item.type === "EMULATOR_CONTEXT");
    const record = { time: "20261203T07:00:00Z", wordSize: 64, vmStr: "(uuid 1)", xsSubtree: [] };
    const { file, notes } = convertContainer(xl, "xenopsd", { record });
    const qemu = emulator?.type === "EMULATOR_CONTEXT" ? chunk(0x0f00, emulator.data.length, emulator.data) : new Uint8Array(0);
    const expected = xenopsdImage(0x00f0, streams.libxc, qemu);
    expect(toHex(encodeSaveFile(file))).toBe(toHex(expected));
    expect(notes).toEqual([
      "dropped the xl header and its config",
      ...(emulator?.type === "EMULATOR_CONTEXT" ? [`carried the EMULATOR_CONTEXT (${emulator.data.length} bytes) as the Qemu_trad record`] : []),
    ]);
    expect(verifyStream(expected).ok).toBe(true);
    const again = convertContainer(decodeSaveFile(expected), "xenopsd");
    expect(toHex(encodeSaveFile(again.file))).toBe(toHex(expected));
    expect(again.notes).toEqual([]);
    // Without a record, one is made as xenopsd's Xenops_record.make does.
    const made = convertContainer(decodeSaveFile(streams.xl), "xenopsd");
    expect(savedConfig(made.file)?.record).toMatchObject({ wordSize: 64, xsSubtree: [] });
    expect(made.notes).toContain("wrote a new Xenops record (time now, word_size 64)");
  });

  test("config: a xenopsd image without a Xenops record gets one first, streamed or not", () => {
    const bare = cat(ascii("XenSavedDomv2-\n"), chunk(0x0f11, 2, ascii("ef")), chunk(0x00f0, 0), streams.libxc, chunk(0xffff, 0));
    const config = "((time t)(word_size 64))";
    const expected = cat(ascii("XenSavedDomv2-\n"), chunk(0x000f, config.length, ascii(config)), chunk(0x0f11, 2, ascii("ef")), chunk(0x00f0, 0), streams.libxc, chunk(0xffff, 0));
    expect(toHex(encodeSaveFile(setSavedConfig(decodeSaveFile(bare), config)))).toBe(toHex(expected));
    const rewriter = new ConfigRewriter(config);
    const out = [...rewriter.push(bare.subarray(0, 40)), ...rewriter.push(bare.subarray(40)), ...rewriter.end()];
    expect(toHex(cat(...out))).toBe(toHex(expected));
    expect(rewriter.replaced).toBe("xenops-record");
  });

  test("convert moves the stream between containers and back, byte exact where nothing is lost", () => {
    const xl = decodeSaveFile(streams.xl);
    const libvirt = encodeSaveFile(convertContainer(xl, "libvirt", { xml: XML }).file);
    expect(toHex(libvirt)).toBe(toHex(libvirtImage(streams.libxl)));
    const backToXl = encodeSaveFile(convertContainer(decodeSaveFile(libvirt), "xl", { config: streams.config }).file);
    expect(toHex(backToXl)).toBe(toHex(streams.xl));
    expect(toHex(encodeSaveFile(convertContainer(xl, "libxl").file))).toBe(toHex(streams.libxl));
    const fromXenopsd = convertContainer(decodeSaveFile(xenopsdImage(0x00f0, streams.libxc)), "libxc");
    expect(toHex(encodeSaveFile(fromXenopsd.file))).toBe(toHex(streams.libxc));
    expect(fromXenopsd.notes).toEqual(["dropped the Xenops record (xenopsd's own metadata)"]);
  });
});

describe("libvirt header vectors", () => {
  const { libxl } = captured("pv");

  test("version 1 with a v2 stream after it: decoded as v2, an error under both profiles", () => {
    const bytes = libvirtImage(libxl, 1);
    expect(new SaveFileDecoder().push(bytes)[0]).toMatchObject({ layer: "libvirt", kind: "header", stream: "libxl", size: 64 + XML.length + 1 });
    const report = verifyStream(bytes);
    expect(report.ok).toBe(false);
    expect(report.findings.find((f) => f.code === "CONTAINER")).toMatchObject({ severity: "error", offset: 16, layer: "libvirt" });
  });

  test("version 0 is read as v2 (libxl's stream_version != 1) with a warning", () => {
    const report = verifyStream(libvirtImage(libxl, 0));
    expect(report.ok).toBe(true);
    expect(report.findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["warning", 16]]);
  });

  test("big-endian header: the version tells the byte order", () => {
    const text = cat(ascii(XML), new Uint8Array([0]));
    const bytes = cat(LIBVIRT_MAGIC, new Uint8Array([0, 0, 0, 2]), new Uint8Array([0, 0, 0, text.length]), new Uint8Array(40), text, libxl);
    const file = decodeSaveFile(bytes);
    expect(file.container?.kind === "libvirt" && file.container.header.byteOrder).toBe("big");
    expect(toHex(encodeSaveFile(file))).toBe(toHex(bytes));
  });

  test.each([
    ["wrong magic byte 11", (b: Uint8Array): void => void (b[11] = 0x0d), "BAD_MAGIC", 11],
    ["version 3", (b: Uint8Array): void => b.set(le32(3), 16), "BAD_VERSION", 16],
    ["xmlLen 0", (b: Uint8Array): void => b.set(le32(0), 20), "BAD_LENGTH", 20],
  ] as const)("%s fails with %s at %d", (_label, mutate, code, offset) => {
    const bytes = libvirtImage(libxl).slice();
    mutate(bytes);
    const error = thrown(() => decodeSaveFile(bytes));
    expect([error.code, error.offset, error.layer]).toEqual([code, offset, "libvirt"]);
  });

  test("xmlLen over maxRecordLength fails before the XML is buffered", () => {
    const decoder = new SaveFileDecoder({ maxRecordLength: 16 });
    const error = thrown(() => decoder.push(libvirtImage(libxl).subarray(0, 64)));
    expect([error.code, error.offset, error.layer]).toEqual(["RECORD_TOO_LARGE", 20, "libvirt"]);
  });

  test("xmlLen past the stream's start: the libxl magic is not where it should be", () => {
    const bytes = libvirtImage(libxl).slice();
    bytes.set(le32(XML.length + 1 + 4), 20);
    const error = thrown(() => decodeSaveFile(bytes));
    expect([error.code, error.offset]).toEqual(["BAD_MAGIC", 64 + XML.length + 1 + 4]);
  });

  test("XML findings: no NUL, bytes after the NUL, not an element", () => {
    const noNul = cat(LIBVIRT_MAGIC, le32(2), le32(4), new Uint8Array(40), ascii("<a/>"), libxl);
    expect(verifyStream(noNul).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["error", 64]]);
    const tail = cat(LIBVIRT_MAGIC, le32(2), le32(7), new Uint8Array(40), ascii("<a/>"), new Uint8Array([0, 9, 9]), libxl);
    expect(verifyStream(tail).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["warning", 68]]);
    const text = cat(LIBVIRT_MAGIC, le32(2), le32(3), new Uint8Array(40), ascii("ab"), new Uint8Array([0]), libxl);
    expect(verifyStream(text).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["error", 64]]);
    const unused = libvirtImage(libxl).slice();
    unused.set(le32(5), 24 + 4 * 3);
    expect(verifyStream(unused).findings.filter((f) => f.code === "RESERVED_NONZERO").map((f) => [f.severity, f.offset])).toEqual([["warning", 36]]);
  });
});

describe("xenopsd chunk vectors", () => {
  const { libxc } = captured("pv");
  const signature = ascii("XenSavedDomv2-\n");
  const record = ascii(RECORD);
  const xenops = chunk(0x000f, record.length, record);
  const end = chunk(0xffff, 0);

  test("every chunk type xenopsd defines decodes, blobs kept byte exact", () => {
    const blobs = [0x0f00, 0x0f01, 0x0f10, 0x0f11, 0x0f12, 0x0f13].map((type, i) => chunk(type, i + 1, new Uint8Array(i + 1).fill(type & 0xff)));
    const bytes = cat(signature, xenops, ...blobs, chunk(0x00f0, 0), libxc, end);
    const file = decodeSaveFile(bytes);
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("not structured");
    expect(file.container.chunks.map((c) => c.type)).toEqual([
      "Xenops",
      "Qemu_trad",
      "Qemu_xen",
      "Demu",
      "Varstored",
      "Swtpm0",
      "Swtpm",
      "Libxc",
      "End_of_image",
    ]);
    expect(file.container.chunks[3]?.body).toEqual(new Uint8Array(3).fill(0x10));
    expect(toHex(encodeSaveFile(file))).toBe(toHex(bytes));
    // Qemu_xen is refused by xenopsd's restore: a warning in spec, an error in restore.
    const qemuXen = (profile: "spec" | "restore") =>
      verifyStream(bytes, { profile }).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset]);
    expect(qemuXen("spec")).toContainEqual(["warning", 15 + xenops.length + 16 + 1]);
    expect(qemuXen("restore")).toContainEqual(["error", 15 + xenops.length + 16 + 1]);
  });

  test.each([
    ["unknown chunk type 0x0abc", cat(signature, chunk(0x0abc, 0)), "UNKNOWN_RECORD", 15],
    ["a type above 32 bits", cat(signature, le64(0x1_0000_000fn), le64(0)), "UNKNOWN_RECORD", 15],
    ["a blob longer than the limit", cat(signature, chunk(0x0f11, 0x1_0000_0000n)), "RECORD_TOO_LARGE", 23],
    ["Demu with length 0", cat(signature, xenops, chunk(0x0f10, 0)), "UNSUPPORTED", 15 + xenops.length],
    ["bytes after End_of_image", cat(signature, xenops, chunk(0x00f0, 0), libxc, end, new Uint8Array(3)), "TRAILING_DATA", 15 + xenops.length + 16 + libxc.length + 16],
    ["a bad signature", cat(ascii("XenSavedDomv3-\n"), xenops), "BAD_MAGIC", 0],
    ["no End_of_image", cat(signature, xenops, chunk(0x00f0, 0), libxc), "TRUNCATED", 15 + xenops.length + 16 + libxc.length],
  ] as const)("%s: %s at %d", (_label, bytes, code, offset) => {
    const error = thrown(() => {
      const decoder = new SaveFileDecoder();
      decoder.push(bytes);
      decoder.end();
    });
    expect([error.code, error.offset]).toEqual([code, offset]);
  });

  test("findings: stream chunk length, footer length, an unparsable record, no stream chunk, no Xenops record", () => {
    const lengths = cat(signature, xenops, chunk(0x00f0, 99), libxc, chunk(0xffff, 4));
    expect(verifyStream(lengths).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([
      ["warning", 15 + xenops.length + 8],
      ["warning", 15 + xenops.length + 16 + libxc.length + 8],
    ]);
    const bad = ascii("((time x)(word_size sixty-four))");
    const badRecord = cat(signature, chunk(0x000f, bad.length, bad), chunk(0x00f0, 0), libxc, end);
    const event = new SaveFileDecoder().push(badRecord)[1];
    expect(event).toMatchObject({ layer: "xenopsd", kind: "chunk", chunk: { type: "Xenops" } });
    expect(event?.layer === "xenopsd" && event.kind === "chunk" && event.recordError?.code).toBe("BAD_FIELD");
    expect(verifyStream(badRecord).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["error", 31]]);
    const useless = cat(signature, xenops, end);
    expect(verifyStream(useless).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["error", 15]]);
    expect(thrown(() => decodeSaveFile(useless)).code).toBe("UNSUPPORTED");
    const noRecord = cat(signature, chunk(0x00f0, 0), libxc, end);
    expect(verifyStream(noRecord).findings.filter((f) => f.code === "CONTAINER").map((f) => [f.severity, f.offset])).toEqual([["warning", 15]]);
    expect(verifyStream(noRecord).ok).toBe(true);
  });

  test("findings: extra record fields, odd word_size, a second Xenops record, a second stream chunk, Libxl, the record after the stream", () => {
    const codes = (bytes: Uint8Array, profile: "spec" | "restore" = "spec") =>
      verifyStream(bytes, { profile }).findings.filter((f) => f.layer === "xenopsd").map((f) => [f.code, f.severity, f.offset]);
    const extraText = ascii("((time t)(word_size 16)(extra 1))");
    const extra = cat(signature, chunk(0x000f, extraText.length, extraText), chunk(0x00f0, 0), libxc, end);
    expect(codes(extra)).toEqual([
      ["CONTAINER", "warning", 15],
      ["CONTAINER", "warning", 31],
    ]);
    expect(codes(extra, "restore")).toEqual([
      ["CONTAINER", "warning", 15],
      ["CONTAINER", "error", 31],
    ]);
    const twice = cat(signature, xenops, xenops, chunk(0x00f0, 0), libxc, end);
    expect(codes(twice)).toEqual([["DUPLICATE_RECORD", "warning", 15 + xenops.length]]);
    // Two stream chunks: the decoder reads both; xenopsd writes one.
    const two = cat(signature, xenops, chunk(0x00f0, 0), libxc, chunk(0x00f0, 0), libxc, end);
    expect(codes(two)).toEqual([["CONTAINER", "error", 15 + xenops.length + 16 + libxc.length]]);
    expect(thrown(() => decodeSaveFile(two)).code).toBe("UNSUPPORTED");
    const afterStream = cat(signature, chunk(0x00f0, 0), libxc, xenops, end);
    expect(codes(afterStream)).toEqual([["CONTAINER", "info", 15]]);
    const libxl = captured("pv").libxl;
    const libxlChunk = cat(signature, xenops, chunk(0x00f1, 0), libxl, end);
    expect(codes(libxlChunk)).toEqual([["CONTAINER", "warning", 15 + xenops.length]]);
    expect(codes(libxlChunk, "restore")).toEqual([["CONTAINER", "error", 15 + xenops.length]]);
  });

  test("a Qemu_trad record over 1 MiB is refused by xenopsd's restore", () => {
    const big = new Uint8Array(1_048_577);
    const bytes = cat(signature, xenops, chunk(0x00f0, 0), libxc, chunk(0x0f00, big.length, big), end);
    expect(verifyStream(bytes, { profile: "restore" }).findings.filter((f) => f.code === "BAD_SIZE").map((f) => [f.severity, f.layer])).toEqual([
      ["error", "xenopsd"],
    ]);
  });
});

describe("config errors", () => {
  const { libxc, libxl } = captured("pv");

  test("ConfigRewriter and setSavedConfig refuse files without a config slot, bad records, misuse", () => {
    expect([thrown(() => new ConfigRewriter("x").push(libxc)).code, thrown(() => new ConfigRewriter("x").push(libxl)).code]).toEqual(["UNSUPPORTED", "UNSUPPORTED"]);
    expect(thrown(() => new ConfigRewriter("x").push(cat(ascii("XenSavedDomain\n"), new Uint8Array(8)))).code).toBe("UNSUPPORTED");
    expect(thrown(() => setSavedConfig(decodeSaveFile(libxc), "x")).code).toBe("UNSUPPORTED");
    const image = xenopsdImage(0x00f0, libxc);
    const bad = thrown(() => new ConfigRewriter("(not a record").push(image));
    expect([bad.code, bad.layer]).toEqual(["BAD_VALUE", "xenopsd"]);
    expect(thrown(() => setSavedConfig(decodeSaveFile(image), "((word_size 64))")).code).toBe("BAD_VALUE");
    const short = new ConfigRewriter("<a/>");
    expect(short.push(libvirtImage(libxl).subarray(0, 70))).toEqual([]);
    const cut = thrown(() => short.end());
    expect([cut.code, cut.offset]).toEqual(["TRUNCATED", 70]);
    expect(thrown(() => short.push(new Uint8Array(1))).code).toBe("USAGE");
    expect(thrown(() => new ConfigRewriter(5 as unknown as string)).code).toBe("USAGE");
    expect(thrown(() => setSavedConfig(decodeSaveFile(libvirtImage(libxl)), new Uint8Array(0))).code).toBe("BAD_VALUE");
  });

  test("encodeSaveFile refuses a container that does not fit the stream", () => {
    const file = decodeSaveFile(xenopsdImage(0x00f0, libxc));
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("not structured");
    const chunks = file.container.chunks;
    for (const container of [
      { ...file.container, streamChunk: 0 },
      { ...file.container, chunks: chunks.slice(0, -1) },
      { ...file.container, chunks: [...chunks.slice(0, -1), { type: "Libxc" as const, length: 0n }, chunks[chunks.length - 1] as (typeof chunks)[number]] },
      { kind: "xenopsd" as const, layout: "legacy" as const },
    ]) {
      expect(thrown(() => encodeSaveFile({ ...file, container })).code).toBe("BAD_VALUE");
    }
    const libvirt = decodeSaveFile(libvirtImage(libxl));
    const around = libvirt.container;
    if (around?.kind !== "libvirt") throw new Error("not libvirt");
    expect(thrown(() => encodeSaveFile({ ...libvirt, container: { kind: "libvirt", header: { ...around.header, version: 1 } } })).code).toBe("BAD_VALUE");
    expect(thrown(() => encodeSaveFile({ format: "libxc", container: around, stream: decodeSaveFile(libxc).stream as never })).code).toBe("BAD_VALUE");
  });
});

