// Asserting helpers for thrown errors, shared by the test files.
import { expect } from "vitest";
import { XenStreamError } from "../../src/index.js";

/** Runs `fn`, which must throw a XenStreamError, and returns it. */
export function thrown(fn: () => unknown): XenStreamError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(XenStreamError);
    return error as XenStreamError;
  }
  throw new Error("expected a XenStreamError, nothing was thrown");
}
