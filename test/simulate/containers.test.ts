// A source in a libvirt or xenopsd container: the simulated stream keeps
// the container (libvirt's header and XML, xenopsd's Xenops record, blob
// chunks and End_of_image, as found) and only its memory passes change; a
// container that cannot hold the simulated v2 stream is refused.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, decodeAnySaveFile, decodeSaveFile, encodeLibxcStream, encodeSaveFile, type AnySaveFile, type SaveFile } from "../../src/index.js";
import type { LibxcRecord } from "../../src/libxc/types.js";
import { verifyStream } from "../../src/verify/index.js";
import { guestFromSaveFile, simulateMigration } from "../../src/simulate/index.js";
import { thrown } from "../helpers/errors.js";
import { collect, memoryMismatch, profileOf, sameBytes } from "./helpers.js";

const VECTORS = new URL("../../spec-vectors/", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("container-manifest.json", VECTORS), "utf8")) as {
  vectors: Array<{ name: string; file: string; expect: unknown }>;
};
const read = (file: string) => new Uint8Array(readFileSync(new URL(file, VECTORS)));

/** Container vectors holding a legacy stream: a v2 stream cannot go back into them. */
const LEGACY = new Map([
  ["libvirt/valid/v1-legacy-pv", "a libvirt version 1 image"],
  ["xenopsd/valid/legacy-layout-hvm", "xenopsd's legacy layout"],
  ["xenopsd/valid/legacy-layout-pv", "xenopsd's legacy layout"],
  ["xenopsd/valid/libxc-legacy-hvm", "a xenopsd Libxc_legacy chunk"],
  ["xenopsd/valid/libxc-legacy-pv", "a xenopsd Libxc_legacy chunk"],
]);

const sources = manifest.vectors.filter((v) => v.expect === "valid" && !LEGACY.has(v.name));

/** The file without its memory: what the simulation must keep as it was. */
function withoutMemory(file: AnySaveFile): unknown {
  if (file.format === "legacy") throw new Error("expected a v2 stream");
  const strip = (records: LibxcRecord[]) => records.filter((r) => r.type !== "PAGE_DATA");
  if (file.format === "libxc") return { ...file, stream: { ...file.stream, records: strip(file.stream.records) } };
  const items = file.stream.items.map((item) => (item.type === "LIBXC_STREAM" ? { ...item, stream: { ...item.stream, records: strip(item.stream.records) } } : item));
  return { ...file, stream: { ...file.stream, items } };
}

function errorCodes(bytes: Uint8Array, profile: "spec" | "restore"): string[] {
  return verifyStream(bytes, { profile }).findings.filter((f) => f.severity === "error").map((f) => f.code);
}

describe("a container source keeps its container", () => {
  test("the vectors: every valid or tolerated container vector is a source or a legacy one", () => {
    expect(sources.length).toBe(13);
    expect(manifest.vectors.filter((v) => LEGACY.has(v.name)).length).toBe(LEGACY.size);
  });

  test.each(sources.map((v) => [v.name, v.file]))("%s: same container and blobs, verifies, the source's memory", async (_name, file) => {
    const source = read(file);
    const guest = guestFromSaveFile(source, { chunkSize: 997 });
    expect(guest.template.container).toBeDefined();
    // A hot page dirtied faster than the link: passes up to SPP_MAX_ITERATIONS.
    const run = simulateMigration({ guest, dirty: { kind: "hot", hotPages: 1, hotPagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0, maxIterations: 3 } });
    const bytes = await collect(run.chunks({ chunkSize: 512 }));
    expect(bytes.length).toBe(run.report.streamBytes);
    expect(profileOf(bytes).passes.length).toBe(4);
    expect(profileOf(source).passes.length).toBe(1);

    const before = decodeAnySaveFile(source);
    const after = decodeAnySaveFile(bytes);
    expect(after.format).toBe(before.format);
    expect(after.container).toEqual(before.container);
    expect("xl" in after).toBe(false);
    // Everything but the memory passes is the source's, records and blobs alike.
    expect(withoutMemory(after)).toEqual(withoutMemory(before));
    expect(sameBytes(encodeSaveFile(decodeSaveFile(bytes)), bytes)).toBe(true);

    // Verifies in both profiles as the source does: the vectors' stand-in state records and a
    // tolerated vector's own finding stay what they were, nothing new.
    for (const profile of ["spec", "restore"] as const) expect(errorCodes(bytes, profile)).toEqual(errorCodes(source, profile));
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
    expect(memoryMismatch(source, guest)).toBeUndefined();
  });

  // The vectors' state records are stand-ins (their HVM context is no blob hvm_load() takes), so
  // their restore-profile findings are the source's own; a real save file in the same containers
  // must verify clean in both profiles.
  const skeleton = decodeSaveFile(readFileSync(new URL("captured/xen-4.17-hvm-save.skel.xl", VECTORS)));
  const xenops = decodeSaveFile(read("xenopsd/valid/hvm-libxc-qemu-trad.bin")).container;
  if (skeleton.format !== "libxl" || xenops?.kind !== "xenopsd" || xenops.layout !== "structured") throw new Error("unexpected vectors");
  const libxcPart = skeleton.stream.items.find((item) => item.type === "LIBXC_STREAM");
  if (libxcPart?.type !== "LIBXC_STREAM") throw new Error("expected a libxc stream");
  const xml = Uint8Array.from([..."<domain type='xen'><name>hvm</name></domain>\0"].map((c) => c.charCodeAt(0)));
  const wrapped: Array<[string, SaveFile]> = [
    ["libvirt (libxl stream)", { format: "libxl", container: { kind: "libvirt", header: { byteOrder: "little", version: 2, xml, unused: new Array<number>(10).fill(0) } }, stream: skeleton.stream }],
    ["xenopsd (Xenops, Libxc, Qemu_trad)", { format: "libxc", container: xenops, stream: libxcPart.stream }],
  ];
  test.each(wrapped)("a real HVM save file in %s: verifies clean in both profiles, the container kept", async (_name, file) => {
    const source = encodeSaveFile(file);
    for (const profile of ["spec", "restore"] as const) expect(errorCodes(source, profile)).toEqual([]);
    const guest = guestFromSaveFile(source);
    const run = simulateMigration({ guest, dirty: { kind: "hot", hotPages: 40, hotPagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0 } });
    const bytes = await collect(run.chunks());
    expect(bytes.length).toBe(run.report.streamBytes);
    for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).ok).toBe(true);
    expect(profileOf(bytes).passes.length).toBe(6);
    expect(decodeAnySaveFile(bytes).container).toEqual(file.container);
    expect(withoutMemory(decodeAnySaveFile(bytes))).toEqual(withoutMemory(decodeAnySaveFile(source)));
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
  });

  test("xenopsd hvm-libxc-qemu-trad: the Xenops record and the Qemu_trad chunk come through; the blob after the stream is downtime", async () => {
    const source = read("xenopsd/valid/hvm-libxc-qemu-trad.bin");
    const guest = guestFromSaveFile(source);
    const options = { dirty: { kind: "hot", hotPages: 1, hotPagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0 } } as const;
    const run = { ...simulateMigration({ guest, ...options }), options };
    const file = decodeSaveFile(await collect(run.chunks()));
    expect(file.format).toBe("libxc");
    const container = file.container;
    if (container?.kind !== "xenopsd" || container.layout !== "structured") throw new Error("expected a structured xenopsd container");
    expect(container.chunks.map((c) => [c.type, c.length])).toEqual([["Xenops", 93n], ["Libxc", 0n], ["Qemu_trad", 300n], ["End_of_image", 0n]]);
    expect(container.streamChunk).toBe(1);
    // The libxc END (8 bytes) and the chunks after the stream: Qemu_trad (16 + 300), End_of_image (16).
    const bare = decodeSaveFile(source);
    if (bare.format !== "libxc") throw new Error("expected a libxc stream");
    const alone = simulateMigration({ ...run.options, guest: guestFromSaveFile(encodeLibxcStream(bare.stream)) }).report;
    expect(run.report.downtimeBytes - alone.downtimeBytes).toBe(16 + 300 + 16);
    expect(run.report.streamBytes - alone.streamBytes).toBe(15 + 16 + 93 + 16 + 16 + 300 + 16);
  });

  test("libvirt v2-libxl-hvm: the same header and domain XML around a libxl stream", async () => {
    const source = read("libvirt/valid/v2-libxl-hvm.bin");
    const bytes = await collect(simulateMigration({ guest: guestFromSaveFile(source), dirty: { kind: "hot", hotPages: 1, hotPagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0 } }).chunks());
    const xmlLength = new DataView(source.buffer, source.byteOffset).getUint32(20, true);
    // The 64-byte header and the XML are the source's bytes, then the libxl stream.
    expect(sameBytes(bytes.subarray(0, 64 + xmlLength), source.subarray(0, 64 + xmlLength))).toBe(true);
    const file = decodeSaveFile(bytes);
    expect([file.format, file.container?.kind]).toEqual(["libxl", "libvirt"]);
  });
});

describe("containers that cannot hold the simulated stream are refused", () => {
  test.each([...LEGACY])("%s: UNSUPPORTED at the legacy stream, naming %s", (name, where) => {
    const vector = manifest.vectors.find((v) => v.name === name);
    if (vector === undefined) throw new Error(`no vector ${name}`);
    const source = read(vector.file);
    const error = thrown(() => guestFromSaveFile(source));
    expect(error.code).toBe("UNSUPPORTED");
    expect(error.message).toContain(`a legacy (Xen <= 4.5) stream in ${where}`);
    expect(error.message).toContain("convert the file to v2 first");
    // At the first byte of the legacy stream.
    const payload = new SaveFileDecoder().push(source).find((event) => event.layer === "legacy");
    expect(payload).toBeDefined();
    expect(error.offset).toBe(payload?.offset);
  });

  test("a libvirt version 1 header before a v2 stream: the encoder could not write it back", () => {
    const source = read("libvirt/valid/v2-libxl-hvm.bin").slice();
    new DataView(source.buffer).setUint32(16, 1, true); // version 1 announces a legacy stream
    const error = thrown(() => guestFromSaveFile(source));
    expect([error.code, error.offset]).toEqual(["UNSUPPORTED", 0]);
    expect(error.message).toContain("the libvirt container cannot be written back around the simulated stream");
    expect(error.message).toContain("version 1 does not announce a libxl stream");
  });
});
