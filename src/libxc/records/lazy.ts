/**
 * Shallow records: a record whose array of entries (xenstore pairs, pfn
 * entries, HVM params, CPU policy entries, P2M frames, dirty pfns) is not
 * built when the body is decoded. The body is validated exactly as the full
 * decode validates it (same errors, same offsets); the array is a getter
 * that builds it on first access, and the body's reader is kept for
 * consumers that walk the bytes instead (the verifier: issue #19, a 64 MiB
 * EMULATOR_XENSTORE_DATA record of 4-byte pairs cost 67x its size as pairs).
 *
 * The getter reads the body when it runs: like every field of a pushed
 * record, it is valid only while the chunk it came from is unchanged.
 *
 * @module
 * @internal
 */
import type { Reader } from "../../wire/reader.js";

/** The body reader of every shallow record, by record. */
const bodies = new WeakMap<object, Reader>();

/**
 * The body of a shallow record (cursor anywhere: use absolute positions),
 * or undefined for a record decoded in full or built by hand.
 * @internal
 */
export function shallowBody(record: object): Reader | undefined {
  return bodies.get(record);
}

/**
 * Makes `record[key]` a getter that builds the value from the body on first
 * access and then becomes a plain data property (assignable, enumerable,
 * in the same key order), and records the body for {@link shallowBody}.
 *
 * @param record - the record, without `key` yet (so the key order matches a full decode)
 * @param key - the array member
 * @param reader - the body
 * @param build - builds the value from the body (the reader's cursor is reset to `from` first)
 * @param from - body position where `build` starts
 * @returns `record`
 * @internal
 */
export function lazyMember<R extends object, K extends keyof R>(
  record: R,
  key: K,
  reader: Reader,
  from: number,
  build: (reader: Reader) => R[K],
): R {
  bodies.set(record, reader);
  const settle = (target: R, value: R[K]): void => {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  };
  Object.defineProperty(record, key, {
    enumerable: true,
    configurable: true,
    get(this: R): R[K] {
      reader.pos = from;
      const value = build(reader);
      settle(this, value);
      return value;
    },
    set(this: R, value: R[K]) {
      settle(this, value);
    },
  });
  return record;
}
