/**
 * Checks of the arguments of public functions, at their entry: API misuse
 * is a XenStreamError USAGE naming the argument, never a TypeError from
 * deep inside, and never bytes read from something that is not a
 * Uint8Array (an ArrayBuffer's `length` is undefined, a Uint16Array's is
 * its element count).
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../errors.js";

/** What a value that should have been bytes is, with a hint for the usual mistakes. */
function bytesKind(value: unknown): string {
  if (value instanceof ArrayBuffer) return "an ArrayBuffer (wrap it: new Uint8Array(buffer))";
  if (ArrayBuffer.isView(value)) {
    return `${describeValue(value)}, not a Uint8Array (wrap its bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength))`;
  }
  return describeValue(value);
}

/**
 * Throws USAGE unless `value` is a Uint8Array (a Node Buffer is one).
 *
 * @param value - the argument
 * @param name - how the message names it: `decodeSaveFile: bytes`
 * @internal
 */
export function checkBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new XenStreamError("USAGE", 0, `${name} must be a Uint8Array, got ${bytesKind(value)}`);
}

/**
 * Throws USAGE unless `value` is a safe non-negative integer (a stream
 * offset argument). @internal
 */
export function checkOffset(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new XenStreamError("USAGE", 0, `${name} must be a non-negative integer, got ${describeValue(value)}`);
  }
}

/**
 * Throws USAGE unless `value` is undefined or an object (an options
 * argument); returns it, or an empty object. @internal
 */
export function checkOptions<T extends object>(value: T | undefined, name: string): T {
  if (value === undefined) return {} as T;
  if (typeof value !== "object" || value === null) {
    throw new XenStreamError("USAGE", 0, `${name} must be an options object, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws USAGE unless `value` is an object (a structure argument). @internal */
export function checkObject(value: unknown, name: string): asserts value is object {
  if (typeof value !== "object" || value === null) throw new XenStreamError("USAGE", 0, `${name} must be an object, got ${describeValue(value)}`);
}

/** Throws USAGE unless `value` is undefined or a boolean. @internal */
export function checkBoolean(value: unknown, name: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") throw new XenStreamError("USAGE", 0, `${name} must be a boolean, got ${describeValue(value)}`);
}
