import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeSaveFile } from "../src/index.js";
import { thrown } from "./helpers/errors.js";
import { hex } from "./helpers/hex.js";

describe("input that is no Xen stream at all", () => {
  it("is called that, at offset 0, naming the formats looked for", () => {
    const error = thrown(() => decodeSaveFile(hex("3e 73 f5 0d b6 07 50 06 00 11 22 33")));
    expect(error).toMatchObject({ code: "BAD_MAGIC", offset: 0 });
    expect(error.message).toMatch(/^not a Xen save image or migration stream: its first bytes \(3e 73 f5 0d b6 07 50 06\)/);
  });

  it("random bytes are never taken for a legacy stream (but for 1 in ~4 million)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), (bytes) => {
        const view = new DataView(bytes.buffer);
        const word = view.getInt32(4, true);
        fc.pre(word !== 0 && !(word >= -20 && word <= 1024) && !bytes.subarray(0, 8).every((b) => b === 0xff));
        const error = thrown(() => decodeSaveFile(bytes));
        expect(error.code).toBe("BAD_MAGIC");
      }),
    );
  });

  it("a plausible legacy start still says: legacy, convert it", () => {
    // 64-bit toolstack: p2m_size 0x8000, octets 4-7 zero; then the PV extended-info signature.
    const legacy = hex("00 80 00 00 00 00 00 00 ff ff ff ff ff ff ff ff");
    expect(thrown(() => decodeSaveFile(legacy))).toMatchObject({ code: "UNSUPPORTED", offset: 0 });
    // 32-bit toolstack, PV: octets 4-7 = 0xffffffff.
    expect(thrown(() => decodeSaveFile(hex("00 80 00 00 ff ff ff ff 00 00 00 00")))).toMatchObject({ code: "UNSUPPORTED" });
  });
});
