// The s-expression reader and writer behind the Xenops record: what
// Sexplib's Sexp.to_string writes, the escapes and comments it reads, and
// exact error offsets.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { formatSexp, parseSexp, type Sexp } from "../../src/index.js";
import { thrown } from "../helpers/errors.js";

describe("parseSexp", () => {
  test.each([
    ["atom", "abc", "abc"],
    ["empty list", "()", []],
    ["nested, machine style", "((time 20261203T07:00:00Z)(word_size 64)(xs_subtree()))", [["time", "20261203T07:00:00Z"], ["word_size", "64"], ["xs_subtree", []]]],
    ["blanks and newlines", " ( a\n\t(b  c) )\r\n", ["a", ["b", "c"]]],
    ["quoted atom with escapes", '("a b\\"c\\\\d\\n\\t\\r\\b")', ['a b"c\\d\n\t\r\b']],
    ["decimal and hex escapes", '"\\065\\x42\\067"', "ABC"],
    ["line continuation", '"ab\\\n    cd"', "abcd"],
    ["unknown escape kept", '"a\\qb"', "a\\qb"],
    ["UTF-8 atom", '("h\u00e9" "\u00e9")', ["h\u00e9", "\u00e9"]],
    ["line comment", "(a ; comment )\n b)", ["a", "b"]],
    ["block comment, nested", "(a #| x #| y |# z |# b)", ["a", "b"]],
    ["expression comment", "(a #;(ignored (deep)) b)", ["a", "b"]],
    ["empty quoted atom", '("")', [""]],
  ] as Array<[string, string, Sexp]>)("%s", (_name, text, value) => {
    expect(parseSexp(text)).toEqual(value);
  });

  test.each([
    ["empty", "", 0],
    ["only a comment", "; nothing\n", 10],
    ["unclosed list", "(a (b)", 0],
    ["stray )", ")", 0],
    ["text after the expression", "(a) b", 4],
    ["unterminated quote", '(a "bc', 3],
    ["unterminated block comment", "(a #| b", 3],
    ["bad \\x escape", '"\\xZZ"', 1],
  ])("%s: BAD_FIELD at %d", (_name, text, offset) => {
    const error = thrown(() => parseSexp(text, { offset: 100 }));
    expect([error.code, error.offset, error.layer]).toEqual(["BAD_FIELD", 100 + offset, "xenopsd"]);
  });

  test("deep nesting does not overflow the stack", () => {
    const depth = 100_000;
    let value = parseSexp(`${"(".repeat(depth)}x${")".repeat(depth)}`);
    for (let i = 0; i < depth; i++) value = (value as Sexp[])[0] as Sexp;
    expect(value).toBe("x");
  });
});

describe("formatSexp", () => {
  test.each([
    [[["time", "20261203T07:00:00Z"], ["word_size", "64"], ["xs_subtree", []]], "((time 20261203T07:00:00Z)(word_size 64)(xs_subtree()))"],
    [["a", ["b"], "c"], "(a(b)c)"],
    [["", "a b", 'q"', "x;y", "#|", "\u0001", "\u00e9"], '("" "a b" "q\\"" "x;y" "#|" "\\001" \u00e9)'],
  ] as Array<[Sexp, string]>)("%j", (value, text) => {
    expect(formatSexp(value)).toBe(text);
  });

  const sexp: fc.Arbitrary<Sexp> = fc.letrec<{ node: Sexp }>((tie) => ({
    node: fc.oneof({ depthSize: "small" }, fc.string({ maxLength: 6 }), fc.array(tie("node"), { maxLength: 4 })),
  })).node;

  test("parseSexp(formatSexp(x)) deep-equals x", () => {
    fc.assert(
      fc.property(sexp, (value) => {
        expect(parseSexp(formatSexp(value))).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  test("any bytes give a value or XenStreamError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          parseSexp(bytes);
        } catch (error) {
          expect((error as { code?: string }).code).toBe("BAD_FIELD");
        }
      }),
      { numRuns: 500 },
    );
  });
});
