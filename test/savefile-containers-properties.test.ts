// Property tests through the containers (libvirt save images, xenopsd
// suspend images, legacy streams inside them): both round trips, any split
// of the input gives the same events, truncation at every offset, mutation
// gives a value or XenStreamError, and the config rewrite touches nothing
// but the config.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ConfigRewriter,
  SaveFileDecoder,
  decodeAnySaveFile,
  encodeSaveFile,
  savedConfig,
  setSavedConfig,
  type AnySaveFile,
  type SaveFileEvent,
} from "../src/index.js";
import { legacyContainerImage, libvirtSaveImage, xenopsdSuspendImage } from "../src/testing/index.js";
import type { Encoded } from "../src/testing/records.js";
import { assertTruncation, canon, cutsArbitrary, decodeSplit, expectSameBytes, expectValueOrXenStreamError, mutate, mutationArbitrary, noisy, runs } from "./properties/harness.js";

const families: Array<[string, fc.Arbitrary<Encoded<AnySaveFile>>]> = [
  ["libvirt v2", libvirtSaveImage({ maxPageRecords: 2, maxPagesPerRecord: 2 })],
  ["libvirt v2, lenient header", libvirtSaveImage({ lenientHeader: true, lenient: true, byteOrder: "any", maxPageRecords: 2 })],
  ["xenopsd Libxc", xenopsdSuspendImage({ maxPageRecords: 2, maxPagesPerRecord: 2 })],
  ["xenopsd Libxc or Libxl, blobs", xenopsdSuspendImage({ stream: "any", maxBlobs: 4, maxPageRecords: 2, version: 3 })],
  ["legacy inside a container", legacyContainerImage({ maxPages: 4 })],
];

/** Events without byte views, for comparing decodes of differently split inputs. */
function comparable(events: SaveFileEvent[]): unknown {
  return canon(events.map((event) => (event.layer === "legacy" ? { layer: "legacy", kind: event.kind } : event)));
}

function legacyBytes(events: SaveFileEvent[]): number {
  return events.reduce((sum, event) => sum + (event.layer === "legacy" && event.kind === "payload" ? event.bytes.length : 0), 0);
}

describe.each(families)("%s", (_name, images) => {
  test("encode(decode(bytes)) === bytes", () => {
    fc.assert(
      fc.property(images, ({ bytes }) => {
        expectSameBytes(encodeSaveFile(decodeAnySaveFile(noisy(bytes))), bytes);
      }),
      runs(25),
    );
  });

  test("decode(encode(value)) deep-equals value", () => {
    fc.assert(
      fc.property(images, ({ value, bytes }) => {
        expect(canon(decodeAnySaveFile(bytes))).toEqual(canon(value));
      }),
      runs(25),
    );
  });

  test("any split gives the same events (legacy payloads: the same bytes in all)", () => {
    fc.assert(
      fc.property(images, cutsArbitrary(16), ({ bytes }, cuts) => {
        const whole = decodeSplit(() => new SaveFileDecoder(), bytes, []);
        const split = decodeSplit(() => new SaveFileDecoder(), bytes, cuts(bytes.length));
        expect(comparable(split.filter((e) => e.layer !== "legacy"))).toEqual(comparable(whole.filter((e) => e.layer !== "legacy")));
        expect(legacyBytes(split)).toBe(legacyBytes(whole));
      }),
      runs(25),
    );
  });

  test("random mutations give a value or XenStreamError", () => {
    fc.assert(
      fc.property(images, mutationArbitrary, ({ bytes }, mutations) => {
        const mutated = mutate(bytes, mutations);
        expectValueOrXenStreamError(() => decodeAnySaveFile(mutated), mutated.length);
      }),
      runs(100),
    );
  });
});

describe("truncation through the containers", () => {
  test.each([
    ["libvirt", libvirtSaveImage({ maxPageRecords: 1, maxPagesPerRecord: 1 })],
    ["xenopsd", xenopsdSuspendImage({ stream: "any", maxPageRecords: 1, maxPagesPerRecord: 1 })],
    ["xenopsd Libxc_legacy", legacyContainerImage({ container: "xenopsd-chunk", maxPages: 1 })],
    ["libvirt v1", legacyContainerImage({ container: "libvirt", maxPages: 1 })],
  ] as Array<[string, fc.Arbitrary<Encoded<AnySaveFile>>]>)("every strict prefix of a %s image is TRUNCATED at its length", (_name, images) => {
    fc.assert(
      fc.property(images, ({ bytes }) => {
        assertTruncation(() => new SaveFileDecoder(), bytes);
      }),
      runs(2),
    );
  });
});

describe("config rewrite", () => {
  const images = fc.oneof(
    libvirtSaveImage({ maxPageRecords: 1 }) as fc.Arbitrary<Encoded<AnySaveFile>>,
    xenopsdSuspendImage({ maxPageRecords: 1, maxBlobs: 2 }) as fc.Arbitrary<Encoded<AnySaveFile>>,
  );
  const configFor = (file: AnySaveFile, name: string): string =>
    file.container?.kind === "libvirt" ? `<domain><name>${name}</name></domain>` : `((time ${name})(word_size 64)(vm_str "${name} x"))`;

  test("streamed rewrite === encode(setSavedConfig(decode)), for any chunking; the stream bytes are untouched", () => {
    fc.assert(
      fc.property(images, fc.stringMatching(/^[a-z]{1,12}$/), cutsArbitrary(8), ({ value, bytes }, name, cuts) => {
        const config = configFor(value, name);
        const expected = encodeSaveFile(setSavedConfig(decodeAnySaveFile(bytes), config));
        expect(savedConfig(decodeAnySaveFile(expected))?.text).toBe(config);
        const rewriter = new ConfigRewriter(config);
        const out: Uint8Array[] = [];
        let start = 0;
        for (const cut of [...cuts(bytes.length), bytes.length]) {
          out.push(...rewriter.push(bytes.subarray(start, cut)));
          start = cut;
        }
        out.push(...rewriter.end());
        const joined = new Uint8Array(out.reduce((n, part) => n + part.length, 0));
        let pos = 0;
        for (const part of out) {
          joined.set(part, pos);
          pos += part.length;
        }
        expectSameBytes(joined, expected);
        const old = savedConfig(value)?.bytes.length ?? 0;
        const delta = (savedConfig(decodeAnySaveFile(expected))?.bytes.length ?? 0) - old;
        expect(joined.length).toBe(bytes.length + delta);
      }),
      runs(25),
    );
  });
});
