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

/** What a shallow record needs to build its array: a non-enumerable own property. */
const LAZY: unique symbol = Symbol("shallow record");

interface Lazy {
  readonly reader: Reader;
  readonly from: number;
  readonly build: (reader: Reader) => unknown;
}

type Shallow = { [LAZY]?: Lazy } & Record<PropertyKey, unknown>;

/**
 * The body of a shallow record (cursor anywhere: use absolute positions),
 * or undefined for a record decoded in full or built by hand.
 * @internal
 */
export function shallowBody(record: object): Reader | undefined {
  return (record as Shallow)[LAZY]?.reader;
}

function settle(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * One accessor pair per member name, shared by every shallow record: V8
 * then gives all of them the same hidden class. (A pair of closures per
 * record made a hidden class per record, in old space, which kept every
 * record's body buffer alive until a full collection: a PAGE_DATA stream
 * verified about a third slower, all of it in the collector.)
 */
const accessors = new Map<PropertyKey, PropertyDescriptor>();

function accessorOf(key: PropertyKey): PropertyDescriptor {
  let accessor = accessors.get(key);
  if (accessor === undefined) {
    accessor = {
      enumerable: true,
      configurable: true,
      get(this: Shallow): unknown {
        const lazy = this[LAZY] as Lazy;
        lazy.reader.pos = lazy.from;
        const value = lazy.build(lazy.reader);
        settle(this, key, value);
        return value;
      },
      set(this: Shallow, value: unknown): void {
        settle(this, key, value);
      },
    };
    accessors.set(key, accessor);
  }
  return accessor;
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
  const lazy: Lazy = { reader, from, build };
  Object.defineProperty(record, LAZY, { value: lazy });
  Object.defineProperty(record, key, accessorOf(key));
  return record;
}
