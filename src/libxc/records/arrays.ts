/**
 * Records that are arrays of fixed-size entries: HVM_PARAMS (after a count
 * header), X86_CPUID_POLICY, X86_MSR_POLICY, CHECKPOINT_DIRTY_PFN_LIST.
 *
 * @module
 * @internal
 */
import { describeValue } from "../../errors.js";
import { objectArray, type BodyCodec, type Fail } from "../../wire/codec.js";
import type { Reader } from "../../wire/reader.js";
import type { Writer } from "../../wire/writer.js";
import {
  COUNT_HEADER_SIZE,
  CPUID_POLICY_ENTRY_SIZE,
  HVM_PARAMS_ENTRY_SIZE,
  MSR_POLICY_ENTRY_SIZE,
} from "../constants.js";
import type {
  CheckpointDirtyPfnListRecord,
  CpuidLeaf,
  HvmParam,
  HvmParamsRecord,
  MsrEntry,
  X86CpuidPolicyRecord,
  X86MsrPolicyRecord,
} from "../types.js";
import type { LibxcCodecContext } from "./context.js";
import { chargeEntries, DECODED_COST } from "./budget.js";
import { lazyMember } from "./lazy.js";

interface EntryCodec<E> {
  size: number;
  /** Estimated heap of one decoded entry (budget.ts). */
  cost: number;
  /** What the entries are called in a refusal. */
  what: string;
  read(reader: Reader): E;
  write(writer: Writer, entry: E): void;
}

/** The entries of a record given to an encoder: an array (of objects, unless they are bigints). */
function entriesOf<E>(value: unknown, field: string, objects: boolean, fail: Fail): readonly E[] {
  if (objects) return objectArray<E>(value, field, fail);
  if (!Array.isArray(value)) fail(`${field} must be an array, got ${describeValue(value)}`);
  return value as readonly E[];
}

function readEntries<E>(reader: Reader, entry: EntryCodec<E>, count: number): E[] {
  const entries = new Array<E>(count);
  for (let i = 0; i < count; i++) entries[i] = entry.read(reader);
  return entries;
}

/**
 * A body that is nothing but entries. `allowEmpty` is false for the policy
 * records, which Xen refuses when empty.
 */
function entryArrayCodec<R extends { type: string }, K extends keyof R, E>(
  name: R["type"],
  key: K,
  entry: EntryCodec<E>,
  allowEmpty: boolean,
  unwrap: (record: R) => E[],
  field: string,
  objects: boolean,
): BodyCodec<R, LibxcCodecContext> {
  const rule = `a ${allowEmpty ? "" : "non-zero "}multiple of ${entry.size} bytes`;
  return {
    decode(reader, context) {
      const length = reader.remaining;
      if (length % entry.size !== 0 || (!allowEmpty && length === 0)) {
        reader.failLength(`body must be ${rule}, got ${length}`);
      }
      const count = length / entry.size;
      const from = reader.pos;
      const read = (body: Reader): R[K] => readEntries(body, entry, count) as R[K];
      // Nothing to validate per entry: a shallow record skips the array.
      if (context.shallow === true) return lazyMember({ type: name } as R, key, reader, from, read);
      chargeEntries(reader, context.budget, count, entry.cost, entry.what);
      return { type: name, [key]: read(reader) } as R;
    },
    bodyLength(record, _context, fail) {
      const entries = entriesOf<E>(unwrap(record), field, objects, fail);
      if (!allowEmpty && entries.length === 0) fail(`${name}: at least one entry is required`);
      return entries.length * entry.size;
    },
    encode(writer, record) {
      for (const item of unwrap(record)) entry.write(writer, item);
    },
  };
}

const cpuidLeaf: EntryCodec<CpuidLeaf> = {
  size: CPUID_POLICY_ENTRY_SIZE,
  cost: DECODED_COST.cpuidLeaf,
  what: "CPUID leaves",
  read: (r) => ({ leaf: r.u32("leaf"), subleaf: r.u32("subleaf"), a: r.u32("a"), b: r.u32("b"), c: r.u32("c"), d: r.u32("d") }),
  write(w, e) {
    w.u32(e.leaf, "leaf");
    w.u32(e.subleaf, "subleaf");
    w.u32(e.a, "a");
    w.u32(e.b, "b");
    w.u32(e.c, "c");
    w.u32(e.d, "d");
  },
};

const msrEntry: EntryCodec<MsrEntry> = {
  size: MSR_POLICY_ENTRY_SIZE,
  cost: DECODED_COST.msrEntry,
  what: "MSR entries",
  read: (r) => ({ index: r.u32("idx"), flags: r.u32("flags"), value: r.u64("val") }),
  write(w, e) {
    w.u32(e.index, "index");
    w.u32(e.flags, "flags");
    w.u64(e.value, "value");
  },
};

const dirtyPfn: EntryCodec<bigint> = {
  size: 8,
  cost: DECODED_COST.bigint,
  what: "dirty pfns",
  read: (r) => r.u64("pfn"),
  write: (w, pfn) => w.u64(pfn, "pfns[]"),
};

const hvmParam: EntryCodec<HvmParam> = {
  size: HVM_PARAMS_ENTRY_SIZE,
  cost: DECODED_COST.hvmParam,
  what: "HVM params",
  read: (r) => ({ index: r.u64("index"), value: r.u64("value") }),
  write(w, e) {
    w.u64(e.index, "index");
    w.u64(e.value, "value");
  },
};

export const cpuidPolicyCodec = entryArrayCodec<X86CpuidPolicyRecord, "entries", CpuidLeaf>(
  "X86_CPUID_POLICY",
  "entries",
  cpuidLeaf,
  false,
  (record) => record.entries,
  "entries",
  true,
);

export const msrPolicyCodec = entryArrayCodec<X86MsrPolicyRecord, "entries", MsrEntry>(
  "X86_MSR_POLICY",
  "entries",
  msrEntry,
  false,
  (record) => record.entries,
  "entries",
  true,
);

export const dirtyPfnListCodec = entryArrayCodec<CheckpointDirtyPfnListRecord, "pfns", bigint>(
  "CHECKPOINT_DIRTY_PFN_LIST",
  "pfns",
  dirtyPfn,
  true,
  (record) => record.pfns,
  "pfns",
  false,
);

/**
 * HVM_PARAMS: count u32, reserved u32, count {index u64, value u64}. Xen
 * requires the exact length and skips a count of 0.
 */
export const hvmParamsCodec: BodyCodec<HvmParamsRecord, LibxcCodecContext> = {
  decode(reader, context) {
    const length = reader.remaining;
    if (length < COUNT_HEADER_SIZE) {
      reader.failLength(`body of ${length} bytes is shorter than the 8-byte count header`);
    }
    const count = reader.u32("count");
    const reserved = reader.u32("reserved");
    const expected = COUNT_HEADER_SIZE + count * HVM_PARAMS_ENTRY_SIZE;
    if (length !== expected) reader.failLength(`count ${count} needs ${expected} bytes, got ${length}`);
    if (context.shallow === true) {
      return lazyMember<HvmParamsRecord, "params">({ type: "HVM_PARAMS", reserved } as HvmParamsRecord, "params", reader, COUNT_HEADER_SIZE, (body) =>
        readEntries(body, hvmParam, count),
      );
    }
    chargeEntries(reader, context.budget, count, hvmParam.cost, hvmParam.what);
    return { type: "HVM_PARAMS", reserved, params: readEntries(reader, hvmParam, count) };
  },
  bodyLength: (record, _context, fail) => COUNT_HEADER_SIZE + objectArray(record.params, "params", fail).length * HVM_PARAMS_ENTRY_SIZE,
  encode(writer, record) {
    writer.u32(record.params.length, "count");
    writer.u32(record.reserved ?? 0, "reserved");
    for (const param of record.params) hvmParam.write(writer, param);
  },
};
