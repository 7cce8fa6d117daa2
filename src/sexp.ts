/**
 * A small, tolerant s-expression reader and writer, for the Xenops record
 * of a XAPI/xenopsd suspend image (xen-api ocaml/xenopsd/lib/suspend_image.ml
 * `Xenops_record`, written with Sexplib's `Sexp.to_string`).
 *
 * Reads what Sexplib writes and a little more: atoms, lists, quoted atoms
 * with the OCaml escapes (`\\ \" \n \t \b \r`, `\DDD` decimal, `\xHH`, a
 * backslash-newline continuation that skips the next line's leading blanks),
 * `;` line comments, `#| |#` block comments (nested) and `#;` expression
 * comments. Atoms are bytes; they are decoded as UTF-8 (invalid sequences
 * become U+FFFD), which is how the record's text fields are shown.
 *
 * @module
 */
import { XenStreamError, type Layer } from "./errors.js";

/** An s-expression: an atom (its text) or a list. */
export type Sexp = string | Sexp[];

/** Where the bytes being read sit, for error offsets. */
export interface SexpReadOptions {
  /**
   * Absolute offset of `bytes[0]` in the stream, for error offsets.
   * @defaultValue 0
   */
  offset?: number;
  /**
   * Layer named by errors.
   * @defaultValue "xenopsd"
   */
  layer?: Layer;
}

/** The WHATWG text codecs every supported runtime has (the core compiles without DOM types). */
interface TextCodecGlobals {
  TextDecoder: new (label?: string) => { decode(bytes: Uint8Array): string };
  TextEncoder: new () => { encode(text: string): Uint8Array };
}
const codecs = globalThis as unknown as TextCodecGlobals;
const utf8 = /*@__PURE__*/ new codecs.TextDecoder("utf-8");
const utf8Encoder = /*@__PURE__*/ new codecs.TextEncoder();

/** UTF-8 text of `bytes` (invalid sequences become U+FFFD). @internal */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** UTF-8 bytes of `text`. @internal */
export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

const OPEN = 0x28; // (
const CLOSE = 0x29; // )
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const SEMICOLON = 0x3b; // ;
const HASH = 0x23; // #
const BAR = 0x7c; // |

function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0c;
}

function isDelimiter(byte: number): boolean {
  return isBlank(byte) || byte === OPEN || byte === CLOSE || byte === QUOTE || byte === SEMICOLON;
}

class SexpReader {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly base: number,
    private readonly layer: Layer,
  ) {}

  fail(pos: number, message: string): never {
    throw new XenStreamError("BAD_FIELD", this.base + pos, `s-expression: ${message}`, { layer: this.layer });
  }

  /** Skips blanks and comments; returns false at the end of the input. */
  skip(): boolean {
    const bytes = this.bytes;
    for (;;) {
      while (this.pos < bytes.length && isBlank(bytes[this.pos] as number)) this.pos += 1;
      if (this.pos >= bytes.length) return false;
      const byte = bytes[this.pos] as number;
      if (byte === SEMICOLON) {
        while (this.pos < bytes.length && bytes[this.pos] !== 0x0a) this.pos += 1;
        continue;
      }
      if (byte === HASH && bytes[this.pos + 1] === BAR) {
        this.blockComment();
        continue;
      }
      if (byte === HASH && bytes[this.pos + 1] === SEMICOLON) {
        this.pos += 2;
        if (!this.skip()) this.fail(this.pos, "#; comment with no expression after it");
        this.value();
        continue;
      }
      return true;
    }
  }

  private blockComment(): void {
    const start = this.pos;
    const bytes = this.bytes;
    let depth = 0;
    while (this.pos < bytes.length) {
      if (bytes[this.pos] === HASH && bytes[this.pos + 1] === BAR) {
        depth += 1;
        this.pos += 2;
      } else if (bytes[this.pos] === BAR && bytes[this.pos + 1] === HASH) {
        depth -= 1;
        this.pos += 2;
        if (depth === 0) return;
      } else this.pos += 1;
    }
    this.fail(start, "unterminated #| comment");
  }

  value(): Sexp {
    const bytes = this.bytes;
    const byte = bytes[this.pos] as number;
    if (byte === OPEN) {
      // An explicit stack, so that deep nesting cannot overflow the call stack.
      const stack: Sexp[][] = [[]];
      const starts: number[] = [this.pos];
      this.pos += 1;
      for (;;) {
        if (!this.skip()) this.fail(starts[starts.length - 1] as number, "unclosed '('");
        const next = bytes[this.pos] as number;
        const top = stack[stack.length - 1] as Sexp[];
        if (next === OPEN) {
          const list: Sexp[] = [];
          top.push(list);
          stack.push(list);
          starts.push(this.pos);
          this.pos += 1;
        } else if (next === CLOSE) {
          this.pos += 1;
          stack.pop();
          starts.pop();
          if (stack.length === 0) return top;
        } else {
          top.push(this.atom());
        }
      }
    }
    if (byte === CLOSE) this.fail(this.pos, "unexpected ')'");
    return this.atom();
  }

  private atom(): string {
    const bytes = this.bytes;
    if (bytes[this.pos] === QUOTE) return this.quoted();
    const start = this.pos;
    while (this.pos < bytes.length && !isDelimiter(bytes[this.pos] as number)) this.pos += 1;
    return utf8.decode(bytes.subarray(start, this.pos));
  }

  private quoted(): string {
    const bytes = this.bytes;
    const start = this.pos;
    this.pos += 1;
    const out: number[] = [];
    for (;;) {
      if (this.pos >= bytes.length) this.fail(start, "unterminated quoted atom");
      const byte = bytes[this.pos] as number;
      if (byte === QUOTE) {
        this.pos += 1;
        return utf8.decode(Uint8Array.from(out));
      }
      if (byte !== BACKSLASH) {
        out.push(byte);
        this.pos += 1;
        continue;
      }
      const escape = bytes[this.pos + 1];
      const at = this.pos;
      this.pos += 2;
      switch (escape) {
        case 0x6e: out.push(0x0a); break; // \n
        case 0x74: out.push(0x09); break; // \t
        case 0x62: out.push(0x08); break; // \b
        case 0x72: out.push(0x0d); break; // \r
        case 0x20: out.push(0x20); break; // "\ "
        case BACKSLASH:
        case QUOTE:
        case 0x27: // \'
          out.push(escape);
          break;
        case 0x0a:
        case 0x0d: {
          // Line continuation: the newline and the next line's leading blanks go.
          if (escape === 0x0d && bytes[this.pos] === 0x0a) this.pos += 1;
          while (this.pos < bytes.length && (bytes[this.pos] === 0x20 || bytes[this.pos] === 0x09)) this.pos += 1;
          break;
        }
        case 0x78: {
          // \xHH
          const text = String.fromCharCode(bytes[this.pos] ?? 0, bytes[this.pos + 1] ?? 0);
          if (!/^[0-9a-fA-F]{2}$/.test(text)) this.fail(at, "\\x needs two hex digits");
          out.push(parseInt(text, 16));
          this.pos += 2;
          break;
        }
        default: {
          const text = String.fromCharCode(escape ?? 0, bytes[this.pos] ?? 0, bytes[this.pos + 1] ?? 0);
          if (/^[0-9]{3}$/.test(text) && Number(text) <= 255) {
            out.push(Number(text));
            this.pos += 2;
          } else {
            // Sexplib keeps an unknown escape as written; so does this reader.
            out.push(BACKSLASH);
            this.pos = at + 1;
          }
        }
      }
    }
  }
}

/**
 * Reads one s-expression (with optional blanks and comments around it).
 *
 * @param input - the text, as bytes or a string (encoded as UTF-8)
 * @param options - offset and layer for errors
 * @returns the expression
 * @throws {@link XenStreamError} BAD_FIELD at the offending byte: empty
 * input, unbalanced parentheses, an unterminated quoted atom or comment,
 * or text after the expression
 *
 * @example
 * ```ts
 * import { parseSexp } from "xen-migration-stream";
 * parseSexp('((time 20260101T00:00:00Z)(word_size 64))');
 * //=> [["time", "20260101T00:00:00Z"], ["word_size", "64"]]
 * ```
 */
export function parseSexp(input: Uint8Array | string, options: SexpReadOptions = {}): Sexp {
  const bytes = typeof input === "string" ? utf8Encoder.encode(input) : input;
  const reader = new SexpReader(bytes, options.offset ?? 0, options.layer ?? "xenopsd");
  if (!reader.skip()) reader.fail(reader.pos, "no expression (empty input)");
  const value = reader.value();
  if (reader.skip()) reader.fail(reader.pos, "text after the expression");
  return value;
}

function needsQuotes(atom: string): boolean {
  if (atom.length === 0) return true;
  if (atom.includes("#|") || atom.includes("|#")) return true;
  for (let i = 0; i < atom.length; i++) {
    const code = atom.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || code === OPEN || code === CLOSE || code === QUOTE || code === SEMICOLON || code === BACKSLASH) {
      return true;
    }
  }
  return false;
}

function quoteAtom(atom: string): string {
  let out = '"';
  for (const byte of utf8Encoder.encode(atom)) {
    if (byte === QUOTE) out += '\\"';
    else if (byte === BACKSLASH) out += "\\\\";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x0d) out += "\\r";
    else if (byte === 0x08) out += "\\b";
    else if (byte < 0x20 || byte === 0x7f) out += `\\${byte.toString().padStart(3, "0")}`;
    else out += String.fromCharCode(byte);
  }
  // Bytes >= 0x80 were appended as latin1 characters; turn them back into UTF-8 text.
  return `${utf8.decode(Uint8Array.from(out, (c) => c.charCodeAt(0)))}"`;
}

/**
 * Writes an s-expression the way Sexplib's `Sexp.to_string` does: atoms
 * quoted only where needed, one space between atoms, none next to a
 * parenthesis.
 *
 * @param value - the expression
 * @returns its text
 *
 * @example
 * ```ts
 * import { formatSexp } from "xen-migration-stream";
 * formatSexp([["vm_str", "a b"], ["xs_subtree", []]]); //=> '((vm_str "a b")(xs_subtree()))'
 * ```
 */
export function formatSexp(value: Sexp): string {
  if (typeof value === "string") return needsQuotes(value) ? quoteAtom(value) : value;
  let out = "(";
  let previousAtom = false;
  for (const item of value) {
    const atom = typeof item === "string";
    if (atom && previousAtom) out += " ";
    out += formatSexp(item);
    previousAtom = atom;
  }
  return `${out})`;
}
