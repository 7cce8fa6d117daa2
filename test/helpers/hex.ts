/**
 * Tiny byte-building helpers for hand-computed test vectors. They know
 * nothing about any Xen format: they turn hex text and integers into bytes
 * so that tests can spell out the spec tables byte by byte, independently
 * of the library's own encoder.
 *
 * @module
 */

/**
 * Bytes from hex text. Whitespace, `_`, `|` and `,` are ignored, so vectors
 * can be laid out field by field: `hex("ff ff | 58 45 4e 46")`.
 */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/[\s_|,]/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) {
    throw new Error(`hex(): not an even run of hex digits: ${JSON.stringify(text)}`);
  }
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of `bytes`, space separated (for readable failure diffs). */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Concatenates byte strings into a new buffer. Written here, not taken from
 * the library (src/wire/bytes.ts concatBytes), so that the byte builders of
 * the tests and the spec vectors stay independent of the code they check.
 */
export function cat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** `count` zero bytes. */
export function zeros(count: number): Uint8Array {
  return new Uint8Array(count);
}

/** `count` bytes of `value`. */
export function filled(count: number, value: number): Uint8Array {
  return new Uint8Array(count).fill(value);
}

/**
 * `count` bytes of a recognisable non-zero pattern: byte i is
 * `(seed + 37 * i) mod 251 + 1` (never zero; differs for every seed).
 */
export function pattern(count: number, seed: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = ((seed + 37 * i) % 251) + 1;
  return out;
}

function uint(value: number | bigint, size: number, littleEndian: boolean): Uint8Array {
  let rest = BigInt(value);
  if (rest < 0n || rest >= 1n << BigInt(8 * size)) throw new Error(`${String(value)} does not fit ${size} bytes`);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[littleEndian ? i : size - 1 - i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** u16, little-endian. */
export const le16 = (value: number): Uint8Array => uint(value, 2, true);
/** u16, big-endian. */
export const be16 = (value: number): Uint8Array => uint(value, 2, false);
/** u32, little-endian. */
export const le32 = (value: number): Uint8Array => uint(value, 4, true);
/** u32, big-endian. */
export const be32 = (value: number): Uint8Array => uint(value, 4, false);
/** u64, little-endian. */
export const le64 = (value: number | bigint): Uint8Array => uint(value, 8, true);
/** u64, big-endian. */
export const be64 = (value: number | bigint): Uint8Array => uint(value, 8, false);

/** u16/u32/u64 in the given byte order. */
export const u16 = (value: number, littleEndian: boolean): Uint8Array => uint(value, 2, littleEndian);
export const u32 = (value: number, littleEndian: boolean): Uint8Array => uint(value, 4, littleEndian);
export const u64 = (value: number | bigint, littleEndian: boolean): Uint8Array => uint(value, 8, littleEndian);

/** A copy of `bytes` placed at `lead` bytes into a larger buffer (a "noisy" subarray, byteOffset != 0). */
export function offsetCopy(bytes: Uint8Array, lead = 3, trail = 5): Uint8Array {
  const backing = filled(lead + bytes.length + trail, 0xee);
  backing.set(bytes, lead);
  return backing.subarray(lead, lead + bytes.length);
}
