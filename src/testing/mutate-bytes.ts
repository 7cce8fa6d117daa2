/**
 * The byte-level mutators: flip, set, insert, delete and copy bytes
 * anywhere, on any input (legacy streams included). Labels name the frame
 * hit when the input has a map.
 *
 * @module
 * @internal
 */
import { concatBytes } from "../wire/bytes.js";
import { REC_LENGTH_MAX } from "../wire/frame.js";
import { copyOf, flipByte, pick, viewOn, where } from "./mutation-edit.js";
import type { ByteMutationKind, Mutated, MutationChoice, MutationLabel } from "./mutation-kinds.js";
import { Prng } from "./prng.js";
import { describeFrame, frameAt, type StreamMap } from "./stream-map.js";

const INTERESTING_BYTES = [0x00, 0xff, 0x01, 0x7f, 0x80];
const INTERESTING_WORDS = [0, 1, 7, 8, 9, 0x7fff_ffff, 0x8000_0000, 0xffff_fff8, 0xffff_ffff, REC_LENGTH_MAX, REC_LENGTH_MAX + 1];

function located(map: StreamMap | undefined, offset: number): string {
  const frame = map === undefined ? undefined : frameAt(map, offset);
  return frame === undefined ? `byte ${offset}` : `byte ${offset} (${describeFrame(frame)} +${offset - frame.offset})`;
}

/** Applies one byte-level mutation (undefined: an empty input, for kinds that need a byte). @internal */
export function byteMutation(kind: ByteMutationKind, bytes: Uint8Array, map: StreamMap | undefined, format: MutationLabel["format"], choice: MutationChoice): Mutated | undefined {
  const length = bytes.length;
  const { variant } = choice;
  const label = (description: string, offset: number, out: Uint8Array): Mutated => {
    const frame = map === undefined ? undefined : frameAt(map, offset);
    return { bytes: out, mutation: { kind, description, format, ...(frame === undefined ? {} : where(frame)), offset } };
  };
  if (kind === "insert") {
    const at = choice.target % (length + 1);
    const inserted = new Prng(variant).bytes(1 + (variant % 16));
    return label(`${inserted.length} bytes inserted at ${located(map, at)}`, at, concatBytes([bytes.subarray(0, at), inserted, bytes.subarray(at)]));
  }
  if (length === 0) return undefined;
  const at = choice.target % length;
  switch (kind) {
    case "bit-flip":
      return label(`bit ${variant % 8} of ${located(map, at)} flipped`, at, flipByte(bytes, at, 1 << (variant % 8)));
    case "byte-set": {
      const value = variant < INTERESTING_BYTES.length ? (INTERESTING_BYTES[variant] as number) : variant & 0xff;
      const out = copyOf(bytes);
      out[at] = value;
      return label(`${located(map, at)} -> 0x${value.toString(16)}`, at, out);
    }
    case "word-set": {
      const aligned = at - (at % 4);
      const value = pick(INTERESTING_WORDS, variant);
      const littleEndian = Math.floor(variant / INTERESTING_WORDS.length) % 2 === 0;
      const out = copyOf(bytes);
      const word = new Uint8Array(4);
      viewOn(word).setUint32(0, value >>> 0, littleEndian);
      out.set(word.subarray(0, Math.min(4, length - aligned)), aligned);
      return label(`u32 at ${located(map, aligned)} -> 0x${value.toString(16)} (${littleEndian ? "LE" : "BE"})`, aligned, out);
    }
    case "delete": {
      const count = Math.min(1 + (variant % 16), length - at);
      return label(`${count} bytes deleted at ${located(map, at)}`, at, concatBytes([bytes.subarray(0, at), bytes.subarray(at + count)]));
    }
    case "splice": {
      const count = Math.min(1 + (variant % 64), length - at);
      const to = Math.floor(new Prng(variant).next() * (length + 1));
      return label(`${count} bytes from ${located(map, at)} copied to ${to}`, to, concatBytes([bytes.subarray(0, to), bytes.subarray(at, at + count), bytes.subarray(to)]));
    }
  }
}

