/**
 * The `copy` option: detach an event's byte fields from the decoder's input.
 *
 * Decoded values hold views, not copies: PAGE_DATA `pages`, vCPU `context`,
 * SHARED_INFO/HVM_CONTEXT/TOOLSTACK/EMULATOR_CONTEXT `data`, xenstore
 * `entries` pairs, UNKNOWN `body`, `extra`, `padding`, X86_PV_INFO
 * `reserved`, the xl header's `config` and `optionalExtra`. The async
 * decoders reuse their buffers (the decoder's assembly buffer for records
 * that straddle chunks, the ReadIntoSource buffer), so such a view is valid
 * only until the next event is requested.
 *
 * Where the copy is made, and why: per event, per byte field
 * (`Uint8Array.prototype.slice`), after decoding. The alternative, copying
 * each input chunk before pushing it, copies the same bytes but leaves
 * every kept record pinning a whole chunk (a 40-byte record could keep
 * 4 MiB alive) and cannot help the buffers the driver itself reuses.
 * Copying per field costs one fresh allocation per byte field, which on
 * multi-GiB streams costs more than the copy (fresh memory is faulted in):
 * a consumer that keeps only a few records should leave `copy` off and
 * copy what it keeps.
 *
 * @module
 */
import { checkObject } from "../wire/args.js";

/** A copy of `value` in which every Uint8Array reachable through fields and arrays of arrays is sliced. */
function copyValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    // Arrays of byte strings or of pairs (xenstore entries).
    if (first instanceof Uint8Array || Array.isArray(first)) return value.map(copyValue);
    // Entry objects (pfn entries, CPUID leaves, MSRs, params) hold no bytes,
    // but are copied too: the event shares nothing mutable with the decoder.
    if (typeof first === "object" && first !== null) return value.map((entry: object) => ({ ...entry }));
    return value;
  }
  return value;
}

/** A shallow copy of `object` with every byte field copied. */
function copyFields<T extends object>(object: T): T {
  const copy = { ...object } as Record<string, unknown>;
  for (const key of Object.keys(copy)) {
    const value = copy[key];
    if (value instanceof Uint8Array || Array.isArray(value)) copy[key] = copyValue(value);
  }
  return copy as T;
}

/**
 * A copy of a decoder event whose byte fields own their bytes (no views
 * into the decoder's input) and whose entry arrays (pfn entries, CPUID
 * leaves, MSRs...) are its own. Numbers and bigints are values.
 *
 * @param event - any event of the libxc, libxl or save-file decoders
 * @returns an equal event that shares no bytes with the input
 */
export function copyEventBytes<E extends { kind: string }>(event: E): E {
  checkObject(event, "copyEventBytes: event");
  const copy = { ...event } as E & { record?: object; header?: object };
  const source = event as E & { record?: object; header?: object };
  if (source.record !== undefined) copy.record = copyFields(source.record);
  if (source.header !== undefined) copy.header = copyFields(source.header);
  return copy;
}
