/**
 * What a CLI command gets: its arguments and its streams, so commands can be
 * tested without spawning a process.
 *
 * @module
 * @internal
 */
import { writeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";

/** @internal */
export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /**
   * The file descriptor behind `stdout` when it is the process's own:
   * {@link writeOut} writes it directly, without setting up the stream.
   */
  stdoutFd?: number | undefined;
  /** Set by {@link writeOut} once the reader of `stdoutFd` has gone (EPIPE): further output is dropped. */
  stdoutClosed?: boolean;
}

/**
 * Writes `text` to standard output: straight to `io.stdoutFd` when there is
 * one (setting up `process.stdout` costs a few ms of a short run), else, or
 * from the first byte the fd would not take without blocking (a
 * non-blocking pipe), through `io.stdout`. A command uses one or the other
 * for all its output, so the order holds. When the reader has gone
 * (`xen-stream verify -v f | head`), the rest of the output is dropped and
 * the command goes on to its exit status, as if stdout were /dev/null.
 * @internal
 */
export function writeOut(io: CliIO, text: string): void {
  if (io.stdoutClosed === true) return;
  let bytes = Buffer.from(text, "utf8");
  if (io.stdoutFd !== undefined) {
    try {
      while (bytes.length > 0) bytes = bytes.subarray(writeSync(io.stdoutFd, bytes));
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EPIPE") {
        io.stdoutClosed = true;
        return;
      }
      if (code !== "EAGAIN") throw error;
      io.stdoutFd = undefined; // the stream from now on
    }
  }
  io.stdout.write(bytes);
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
