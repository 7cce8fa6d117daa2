/**
 * Small copy-on-write edits of stream bytes, and the location part of a
 * mutation label, shared by the structural and the byte-level mutators.
 *
 * @module
 * @internal
 */
import type { MutationLabel } from "./mutation-kinds.js";
import type { Frame } from "./stream-map.js";

/** @internal */
export function pick<T>(items: readonly T[], index: number): T {
  return items[index % items.length] as T;
}

/** @internal */
export function copyOf(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

/** @internal */
export function viewOn(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** @internal */
export function withU32(bytes: Uint8Array, at: number, value: number, littleEndian: boolean): Uint8Array {
  const out = copyOf(bytes);
  viewOn(out).setUint32(at, value >>> 0, littleEndian);
  return out;
}

/** @internal */
export function flipByte(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = copyOf(bytes);
  out[at] = (out[at] as number) ^ mask;
  return out;
}

/** @internal */
export function where(frame: Frame): Pick<MutationLabel, "layer" | "recordIndex" | "recordType"> {
  return {
    layer: frame.layer,
    ...(frame.index === undefined ? {} : { recordIndex: frame.index }),
    ...(frame.type === undefined ? {} : { recordType: frame.type }),
  };
}
