/**
 * The Xenops record: the s-expression metadata chunk of a structured
 * suspend image (xen-api ocaml/xenopsd/lib/suspend_image.ml
 * `Xenops_record.t`, `[@@deriving sexp]`, written by `to_string`).
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { encodeUtf8, formatSexp, parseSexp, type Sexp } from "../sexp.js";
import { checkBytes, checkObject, checkOffset } from "../wire/args.js";

/**
 * The Xenops record's fields, by their OCaml names in camelCase
 * (`word_size` -> `wordSize`).
 */
export interface XenopsRecord {
  /** `time`: when the image was written (`Xapi_stdext_date.Date.to_string`, e.g. "20260101T00:00:00Z"). */
  time: string;
  /** `word_size`: `Sys.word_size` of the writer (64 on every current host). */
  wordSize: number;
  /** `vm_str` (`[@sexp.option]`): the VM's metadata as xenopsd serialised it. */
  vmStr?: string;
  /** `xs_subtree` (`[@sexp.option]`): xenstore pairs; xenopsd writes an empty list (CA-248130). */
  xsSubtree?: Array<[string, string]>;
  /**
   * Fields the record type does not have, in order. xenopsd's `of_string`
   * refuses them (Sexplib checks for extra fields); they are kept so the
   * verifier can say so and an encoder can write them back.
   */
  extraFields?: Array<[string, Sexp]>;
}

const KNOWN = new Set(["time", "word_size", "vm_str", "xs_subtree"]);

function fail(offset: number, message: string): never {
  throw new XenStreamError("BAD_FIELD", offset, `Xenops record: ${message}`, { layer: "xenopsd" });
}

/**
 * Reads a Xenops record from its s-expression text.
 *
 * @param bytes - the chunk body
 * @param offset - absolute offset of `bytes[0]`, for errors
 * @returns the record
 * @throws {@link XenStreamError} BAD_FIELD: not an s-expression, not a list
 * of `(name value)` fields, a field twice, `time` or `word_size` missing,
 * `word_size` not an integer, `vm_str` not an atom, `xs_subtree` not a list
 * of atom pairs (each is a failure of xenopsd's `Xenops_record.of_string`)
 *
 * @example
 * ```ts
 * import { decodeXenopsRecord } from "xen-migration-stream";
 * decodeXenopsRecord(new TextEncoder().encode("((time 20260101T00:00:00Z)(word_size 64)(xs_subtree()))"));
 * //=> { time: "20260101T00:00:00Z", wordSize: 64, xsSubtree: [] }
 * ```
 */
export function decodeXenopsRecord(bytes: Uint8Array, offset = 0): XenopsRecord {
  checkBytes(bytes, "decodeXenopsRecord: bytes");
  checkOffset(offset, "decodeXenopsRecord: offset");
  const value = parseSexp(bytes, { offset, layer: "xenopsd" });
  if (typeof value === "string") fail(offset, "expected a list of fields, got an atom");
  const seen = new Map<string, Sexp>();
  const extraFields: Array<[string, Sexp]> = [];
  for (const field of value) {
    if (typeof field === "string" || field.length !== 2 || typeof field[0] !== "string") {
      fail(offset, `expected a (name value) field, got ${formatSexp(field)}`);
    }
    const [name, content] = field as [string, Sexp];
    if (seen.has(name) || extraFields.some(([other]) => other === name)) fail(offset, `field ${name} appears twice`);
    if (KNOWN.has(name)) seen.set(name, content);
    else extraFields.push([name, content]);
  }
  const time = seen.get("time");
  if (time === undefined) fail(offset, "the time field is missing");
  if (typeof time !== "string") fail(offset, "time must be an atom");
  const word = seen.get("word_size");
  if (word === undefined) fail(offset, "the word_size field is missing");
  if (typeof word !== "string" || !/^-?[0-9]+$/.test(word) || !Number.isSafeInteger(Number(word))) {
    fail(offset, `word_size must be an integer, got ${formatSexp(word)}`);
  }
  const record: XenopsRecord = { time, wordSize: Number(word) };
  const vm = seen.get("vm_str");
  if (vm !== undefined) {
    if (typeof vm !== "string") fail(offset, "vm_str must be an atom");
    record.vmStr = vm;
  }
  const subtree = seen.get("xs_subtree");
  if (subtree !== undefined) {
    if (typeof subtree === "string") fail(offset, "xs_subtree must be a list");
    record.xsSubtree = subtree.map((pair) => {
      if (typeof pair === "string" || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        return fail(offset, `xs_subtree entries must be (key value) atom pairs, got ${formatSexp(pair)}`);
      }
      return [pair[0], pair[1]] as [string, string];
    });
  }
  if (extraFields.length > 0) record.extraFields = extraFields;
  return record;
}

/**
 * Writes a Xenops record as xenopsd does (`Sexp.to_string (sexp_of_t r)`):
 * time, word_size, then vm_str and xs_subtree when present, then any extra
 * fields.
 *
 * @param record - the record
 * @returns the chunk body (UTF-8 text, no terminator)
 * @throws {@link XenStreamError} BAD_VALUE for a word size that is not an integer
 *
 * @example
 * ```ts
 * import { encodeXenopsRecord } from "xen-migration-stream";
 * new TextDecoder().decode(encodeXenopsRecord({ time: "20260101T00:00:00Z", wordSize: 64, xsSubtree: [] }));
 * //=> "((time 20260101T00:00:00Z)(word_size 64)(xs_subtree()))"
 * ```
 */
export function encodeXenopsRecord(record: XenopsRecord): Uint8Array {
  checkObject(record, "encodeXenopsRecord: record");
  if (!Number.isSafeInteger(record.wordSize)) {
    throw new XenStreamError("BAD_VALUE", 0, `Xenops record: wordSize must be an integer, got ${String(record.wordSize)}`, { layer: "xenopsd" });
  }
  const fields: Sexp[] = [
    ["time", record.time],
    ["word_size", String(record.wordSize)],
  ];
  if (record.vmStr !== undefined) fields.push(["vm_str", record.vmStr]);
  if (record.xsSubtree !== undefined) fields.push(["xs_subtree", record.xsSubtree.map(([key, value]) => [key, value])]);
  for (const [name, value] of record.extraFields ?? []) fields.push([name, value]);
  return encodeUtf8(formatSexp(fields));
}
