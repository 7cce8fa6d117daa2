/**
 * Bytes as text without TextDecoder (the core declares no DOM or Node
 * types): each byte one character (Latin-1), in slices so that large
 * inputs do not overflow the argument list.
 *
 * @module
 * @internal
 */

/** The bytes as a Latin-1 string, trailing NULs dropped. @internal */
export function latin1Text(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let out = "";
  for (let at = 0; at < end; at += 8192) out += String.fromCharCode(...bytes.subarray(at, Math.min(end, at + 8192)));
  return out;
}
