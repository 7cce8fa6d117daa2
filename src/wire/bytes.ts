/**
 * Byte-array helpers shared by every layer.
 *
 * @module
 * @internal
 */

/**
 * The parts joined into one new array (a single part is returned as is).
 * @internal
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
