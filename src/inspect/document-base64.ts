/**
 * Base64 (RFC 4648 section 4, standard alphabet, with `=` padding) for the
 * byte fields of the JSON stream document, with no Node built-ins (the
 * core runs in browsers, Deno and Bun; `atob`/`btoa` work on strings of
 * Latin-1 characters, one copy too many for large fields).
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../errors.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** 6-bit value of each character code, -1 where it is not in the alphabet. */
const VALUES = /*@__PURE__*/ (() => {
  const values = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) values[ALPHABET.charCodeAt(i)] = i;
  return values;
})();

/** Two characters for each 12-bit value: halves the table look-ups of the hot loop. */
let pairs: string[] | undefined;

function pairTable(): string[] {
  if (pairs === undefined) {
    pairs = new Array<string>(4096);
    for (let i = 0; i < 4096; i++) pairs[i] = (ALPHABET[i >> 6] as string) + (ALPHABET[i & 63] as string);
  }
  return pairs;
}

/** Characters converted per string piece (a multiple of 4: whole groups). */
const PIECE = 1 << 15;

/**
 * The base64 text of `bytes`.
 *
 * @param bytes - any bytes
 * @returns padded standard base64 ("" for no bytes)
 * @internal
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const table = pairTable();
  const whole = bytes.length - (bytes.length % 3);
  const pieces: string[] = [];
  let piece = "";
  for (let i = 0; i < whole; i += 3) {
    const group = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    piece += (table[group >> 12] as string) + (table[group & 0xfff] as string);
    if (piece.length >= PIECE) {
      pieces.push(piece);
      piece = "";
    }
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const group = (bytes[whole] as number) << 4;
    piece += `${table[group] as string}==`;
  } else if (rest === 2) {
    const group = (((bytes[whole] as number) << 8) | (bytes[whole + 1] as number)) << 2;
    piece += `${table[group >> 6] as string}${ALPHABET[group & 63] as string}=`;
  }
  pieces.push(piece);
  return pieces.join("");
}

/**
 * The bytes of padded standard base64 text. Strict: only the alphabet,
 * a length that is a multiple of 4, `=` only as the final padding, and
 * zero bits in the unused low bits of the last group (so every byte string
 * has exactly one text).
 *
 * @param text - base64 text
 * @param where - the JSON path of the field, for the message
 * @returns the bytes
 * @throws {@link XenStreamError} BAD_VALUE (offset 0) for text that is not
 * canonical base64
 * @internal
 */
export function base64ToBytes(text: string, where: string): Uint8Array {
  const bad = (why: string): never => {
    throw new XenStreamError("BAD_VALUE", 0, `document ${where}: not base64 (${why})`);
  };
  if (text.length % 4 !== 0) bad(`length ${text.length} is not a multiple of 4`);
  let padding = 0;
  if (text.endsWith("==")) padding = 2;
  else if (text.endsWith("=")) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  const value = (i: number): number => {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (VALUES[code] as number) : -1;
    if (v < 0) bad(`character ${JSON.stringify(text[i])} at ${i}`);
    return v;
  };
  const groups = text.length / 4 - (padding > 0 ? 1 : 0);
  let pos = 0;
  for (let g = 0; g < groups; g++) {
    const i = g * 4;
    const group = (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6) | value(i + 3);
    out[pos] = group >> 16;
    out[pos + 1] = (group >> 8) & 0xff;
    out[pos + 2] = group & 0xff;
    pos += 3;
  }
  if (padding > 0) {
    const i = groups * 4;
    const a = value(i);
    const b = value(i + 1);
    if (padding === 2) {
      if ((b & 0x0f) !== 0) bad("non-zero bits in the last group");
      out[pos] = (a << 2) | (b >> 4);
    } else {
      const c = value(i + 2);
      if ((c & 0x03) !== 0) bad("non-zero bits in the last group");
      out[pos] = (a << 2) | (b >> 4);
      out[pos + 1] = ((b & 0x0f) << 4) | (c >> 2);
    }
  }
  return out;
}
