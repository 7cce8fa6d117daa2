// The Xenops record (suspend_image.ml Xenops_record.t): what xenopsd's
// to_string writes, what of_string would refuse, byte-exact encoding.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeXenopsRecord, encodeXenopsRecord } from "../../src/index.js";
import { xenopsRecordArbitrary } from "../../src/testing/index.js";
import { thrown } from "../helpers/errors.js";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

describe("Xenops record", () => {
  test("what xenopsd's suspend writes: time, word_size, vm_str, an empty xs_subtree", () => {
    const written = '((time 20261203T07:00:00Z)(word_size 64)(vm_str "(VM (uuid x))")(xs_subtree()))';
    const record = decodeXenopsRecord(bytes(written));
    expect(record).toEqual({ time: "20261203T07:00:00Z", wordSize: 64, vmStr: "(VM (uuid x))", xsSubtree: [] });
    expect(text(encodeXenopsRecord(record))).toBe(written);
  });

  test("optional fields absent; xs_subtree pairs; extra fields kept in order", () => {
    expect(decodeXenopsRecord(bytes("((time t)(word_size 32))"))).toEqual({ time: "t", wordSize: 32 });
    expect(decodeXenopsRecord(bytes("((time t)(word_size 64)(xs_subtree((a 1)(b \"x y\"))))")).xsSubtree).toEqual([
      ["a", "1"],
      ["b", "x y"],
    ]);
    const extra = decodeXenopsRecord(bytes("((time t)(new_field (1 2))(word_size 64))"));
    expect(extra.extraFields).toEqual([["new_field", ["1", "2"]]]);
    expect(text(encodeXenopsRecord(extra))).toBe("((time t)(word_size 64)(new_field(1 2)))");
  });

  test.each([
    ["an atom", "abc", /expected a list of fields/],
    ["a field that is not a pair", "((time t)(word_size))", /\(name value\) field/],
    ["time missing", "((word_size 64))", /time field is missing/],
    ["word_size missing", "((time t))", /word_size field is missing/],
    ["word_size not an integer", "((time t)(word_size 6.4))", /word_size must be an integer/],
    ["time a list", "((time (a))(word_size 64))", /time must be an atom/],
    ["vm_str a list", "((time t)(word_size 64)(vm_str ()))", /vm_str must be an atom/],
    ["xs_subtree an atom", "((time t)(word_size 64)(xs_subtree x))", /xs_subtree must be a list/],
    ["xs_subtree entry not a pair", "((time t)(word_size 64)(xs_subtree ((a))))", /atom pairs/],
    ["a field twice", "((time t)(time u)(word_size 64))", /appears twice/],
    ["bad syntax", "((time t)", /unclosed/],
  ])("%s: BAD_FIELD", (_name, input, message) => {
    const error = thrown(() => decodeXenopsRecord(bytes(input), 40));
    expect(error.code).toBe("BAD_FIELD");
    expect(error.layer).toBe("xenopsd");
    expect(error.offset).toBe(40);
    expect(error.message).toMatch(message);
  });

  test("encode checks word_size", () => {
    expect(thrown(() => encodeXenopsRecord({ time: "t", wordSize: 6.5 })).code).toBe("BAD_VALUE");
  });

  test("decode(encode(r)) deep-equals r", () => {
    fc.assert(
      fc.property(xenopsRecordArbitrary(), (record) => {
        expect(decodeXenopsRecord(encodeXenopsRecord(record))).toEqual(record);
      }),
      { numRuns: 200 },
    );
  });
});
