/**
 * What a CLI command gets: its arguments and its streams, so commands can be
 * tested without spawning a process.
 *
 * @module
 * @internal
 */
import type { Readable, Writable } from "node:stream";

/** @internal */
export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** A `xen-stream` sub-command. Returns the exit code: 0 ok, 1 bad stream, 2 usage or I/O error. @internal */
export interface CliCommand {
  /** One line for `xen-stream --help`. */
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}

/** Exit codes shared by every command. @internal */
export const EXIT_OK = 0;
/** @internal */
export const EXIT_INVALID = 1;
/** @internal */
export const EXIT_USAGE = 2;
