/**
 * The legacy reader's push-decoder contract, the same as the v2 decoders'
 * (src/wire/push.ts): the events do not depend on how the input is cut
 * (byte by byte included); `bytesWanted` is exact (k of w wanted bytes
 * leave w - k wanted and complete nothing); `bytesHeld` is what the
 * reader really holds; pushing exactly `bytesWanted` reads the stream to
 * its last byte and no further, every page batch a view of one pushed
 * chunk; and a stream cut anywhere is TRUNCATED at `end()` with the
 * offset where the input stopped.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { XenStreamError } from "../../src/errors.js";
import { LegacyReader, type LegacyEvent, type LegacyOptions } from "../../src/legacy/index.js";
import { generateLegacyStream, type LegacyGeneratorOptions } from "../../src/testing/legacy-generator.js";
import { cat } from "../helpers/hex.js";

/** A small generated stream and the options that read it. */
function generated(maxPages: number): fc.Arbitrary<{ bytes: Uint8Array; read: LegacyOptions; given: LegacyOptions; readsToEnd: boolean }> {
  return fc
    .record({
      seed: fc.nat(),
      width: fc.constantFrom<32 | 64>(32, 64),
      guest: fc.constantFrom<"pv" | "hvm">("pv", "hvm"),
      xl: fc.boolean(),
      pages: fc.integer({ min: 1, max: maxPages }),
      vcpus: fc.integer({ min: 1, max: 2 }),
      qemu: fc.constantFrom<"DeviceModelRecord0002" | "RemusDeviceModelState" | "QemuDeviceModelRecord">(
        "DeviceModelRecord0002",
        "RemusDeviceModelState",
        "QemuDeviceModelRecord",
      ),
      format: fc.constantFrom<"libxc" | "libxl">("libxc", "libxl"),
      detect: fc.boolean(),
    })
    .map(({ format, detect, ...generator }) => {
      const options: LegacyGeneratorOptions = { ...generator, maxBatch: 4, qemuLength: 40 };
      const { bytes } = generateLegacyStream(options);
      const given: LegacyOptions = { xl: generator.xl, format, width: generator.width, guest: generator.guest };
      const read: LegacyOptions = detect ? { xl: generator.xl, format } : given;
      return { bytes, read, given, readsToEnd: generator.guest === "hvm" && generator.qemu === "QemuDeviceModelRecord" };
    });
}
const smallStream = generated(6);

/** Pass-through bytes are a byte stream: adjacent pieces merged (their cut follows the input's). */
function normalised(events: LegacyEvent[]): LegacyEvent[] {
  const out: LegacyEvent[] = [];
  for (const event of events) {
    const last = out[out.length - 1];
    if (event.kind === "passthrough" && last?.kind === "passthrough" && last.offset + last.bytes.length === event.offset) {
      out[out.length - 1] = { ...last, bytes: cat(last.bytes, event.bytes) };
    } else {
      out.push(event);
    }
  }
  return out;
}

function readWhole(bytes: Uint8Array, options: LegacyOptions): LegacyEvent[] {
  const reader = new LegacyReader(options);
  return [...reader.push(bytes), ...reader.end()];
}

function readCut(bytes: Uint8Array, options: LegacyOptions, sizes: readonly number[]): LegacyEvent[] {
  const reader = new LegacyReader(options);
  const events: LegacyEvent[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const size = sizes.length === 0 ? 1 : (sizes[i % sizes.length] as number);
    events.push(...reader.push(bytes.slice(pos, pos + size)));
    pos += size;
  }
  events.push(...reader.end());
  return events;
}

describe("legacy push decoder: chunking invariance", () => {
  test("any cut of the input gives the same events as one push", () => {
    fc.assert(
      fc.property(smallStream, fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 20 }), ({ bytes, read }, sizes) => {
        expect(normalised(readCut(bytes, read, sizes))).toEqual(normalised(readWhole(bytes, read)));
      }),
      { numRuns: 40, endOnFailure: true },
    );
  });

  test("byte by byte gives the same events as one push", () => {
    fc.assert(
      fc.property(smallStream, ({ bytes, read }) => {
        expect(normalised(readCut(bytes, read, [1]))).toEqual(normalised(readWhole(bytes, read)));
      }),
      { numRuns: 8 },
    );
  });
});

describe("legacy push decoder: bytesWanted and bytesHeld", () => {
  test("k of w wanted bytes leave exactly w - k wanted and complete nothing; bytesHeld is what is held", () => {
    fc.assert(
      fc.property(smallStream, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }), ({ bytes, read }, fractions) => {
        const reader = new LegacyReader(read);
        let pos = 0;
        for (let i = 0; pos < bytes.length && !reader.done; i++) {
          const wanted = reader.bytesWanted;
          if (!(wanted > 0)) throw new Error(`bytesWanted ${wanted} before the end`);
          // Part of what is wanted (possibly all of it).
          const size = Math.max(1, Math.min(wanted, Math.ceil(wanted * (fractions[i % fractions.length] as number))));
          const chunk = bytes.subarray(pos, pos + size);
          const offsetBefore = reader.offset;
          const heldBefore = reader.bytesHeld;
          const events = reader.push(chunk);
          pos += chunk.length;
          // Plain checks: an expect() per push would dominate the run.
          const at = `after ${pos} bytes (${chunk.length} of ${wanted} wanted)`;
          // Held: every byte pushed and not consumed.
          if (reader.bytesHeld !== pos - reader.offset) throw new Error(`${at}: bytesHeld ${reader.bytesHeld}, offset ${reader.offset}`);
          if (chunk.length < wanted) {
            const completed = events.filter((event) => event.kind !== "passthrough");
            if (completed.length > 0) throw new Error(`${at}: ${completed.length} events from part of an item`);
            if (reader.offset === offsetBefore) {
              // Held whole until the item is complete.
              if (reader.bytesHeld !== heldBefore + chunk.length) throw new Error(`${at}: bytesHeld ${reader.bytesHeld}, was ${heldBefore}`);
              if (reader.bytesWanted !== wanted - chunk.length) throw new Error(`${at}: bytesWanted ${reader.bytesWanted}`);
            } else if (reader.offset !== offsetBefore + chunk.length || reader.bytesHeld !== 0) {
              // Skipped or passed-through bytes: consumed as they come, never held.
              throw new Error(`${at}: consumed ${reader.offset - offsetBefore}, held ${reader.bytesHeld}`);
            }
          }
        }
        reader.end();
      }),
      { numRuns: 25 },
    );
  });

  test("pushing exactly bytesWanted reads to the stream's last byte, never beyond; page batches are views of one pushed chunk", () => {
    fc.assert(
      // With the layout given: detection may need end() to decide on a short stream.
      fc.property(smallStream, ({ bytes, given, readsToEnd }) => {
        const reader = new LegacyReader(given);
        let pos = 0;
        while (!reader.done && pos < bytes.length) {
          const chunk = bytes.slice(pos, pos + reader.bytesWanted);
          pos += chunk.length;
          for (const event of reader.push(chunk)) {
            if (event.kind === "record" && event.record.type === "PAGE_DATA" && event.record.pages.length > 0) {
              expect(event.record.pages.buffer).toBe(chunk.buffer);
              expect(reader.bytesHeld).toBe(0);
            }
          }
        }
        // A QEMU state read to the end of the input ends only at end().
        expect(reader.done).toBe(!readsToEnd);
        expect(pos).toBe(bytes.length);
        reader.end();
        expect(reader.done).toBe(true);
        expect(reader.bytesWanted).toBe(0);
        expect(reader.trailingBytes).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe("legacy push decoder: truncation", () => {
  test("a stream cut at any offset is TRUNCATED at end(), located where the input stopped", () => {
    fc.assert(
      fc.property(
        generated(1).filter(({ readsToEnd }) => !readsToEnd),
        fc.integer({ min: 0, max: 1000 }),
        fc.nat(),
        ({ bytes, read }, startOffset, split) => {
          for (let length = 0; length < bytes.length; length++) {
            const reader = new LegacyReader(read, startOffset);
            // Two pushes: a cut inside an item must be assembled right.
            const cut = length === 0 ? 0 : split % length;
            reader.push(bytes.subarray(0, cut));
            reader.push(bytes.subarray(cut, length));
            let error: unknown;
            try {
              reader.end();
            } catch (caught) {
              error = caught;
            }
            // Plain check first: an expect() per prefix would dominate the run.
            if (!(error instanceof XenStreamError) || error.code !== "TRUNCATED" || error.offset !== startOffset + length) {
              expect(error, `prefix of ${length} bytes`).toMatchObject({ code: "TRUNCATED", offset: startOffset + length });
            }
          }
        },
      ),
      { numRuns: 3 },
    );
  });
});
