/**
 * What a CLI command gets: its arguments and its streams, so commands can be
 * tested without spawning a process.
 *
 * @module
 * @internal
 */
import { writeSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { isXenStreamError, type XenStreamError } from "../errors.js";

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
  /** The file descriptor behind `stderr` when it is the process's own (progress asks it whether it is a terminal). */
  stderrFd?: number | undefined;
  /**
   * Set once the reader of standard output has gone (EPIPE, on `stdoutFd`
   * or on the stream: {@link watchStdout}): further output is dropped.
   */
  stdoutClosed?: boolean;
  /** A write error on the `stdout` stream other than a closed reader, seen by {@link watchStdout}. */
  stdoutFailure?: Error;
}

const watched = new WeakSet<object>();

/**
 * Whether a write error means the reader of the output has gone: EPIPE on a
 * pipe, ECONNRESET on a socket (a node parent's stdio 'pipe' is a socket
 * pair; closed with bytes unread, the writer gets ECONNRESET), and a write
 * after the stream was destroyed on either.
 * @internal
 */
export function isClosedOutput(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  return code === "EPIPE" || code === "ECONNRESET" || code === "ERR_STREAM_DESTROYED";
}

/**
 * Keeps a write error of `io.stdout` from becoming an unhandled 'error'
 * event (Node prints it with a stack trace and exits 1): a reader that has
 * gone ({@link isClosedOutput}; `xen-stream dump big | head -c 10`) sets `io.stdoutClosed`,
 * so the command drops the rest of its output and ends with its own exit
 * status, as if stdout were /dev/null; any other error is kept in
 * `io.stdoutFailure`. Once per stream; {@link writeOut} calls it when it
 * falls back to the stream, the process's CliIO when anything first
 * touches `process.stdout`.
 * @internal
 */
export function watchStdout(io: CliIO, stream: Writable): void {
  if (watched.has(stream)) return;
  watched.add(stream);
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (isClosedOutput(error)) io.stdoutClosed = true;
    else io.stdoutFailure ??= error;
  });
}

/**
 * A XenStreamError for a one-line message: code, offset (and record),
 * then the reason, so that the offset is printed once.
 * @internal
 */
export function describeError(error: XenStreamError): string {
  const record = error.recordIndex === undefined ? "" : ` (record ${error.recordIndex})`;
  return `${error.code} at offset ${error.offset}${record}: ${error.reason ?? error.message}`;
}

/**
 * Any caught error as one line: a XenStreamError as {@link describeError},
 * another Error by its message, anything else as text.
 * @internal
 */
export function errorText(error: unknown): string {
  if (isXenStreamError(error)) return describeError(error);
  return error instanceof Error ? error.message : String(error);
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
      if (isClosedOutput(error)) {
        io.stdoutClosed = true;
        return;
      }
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      io.stdoutFd = undefined; // the stream from now on
    }
  }
  const stream = io.stdout;
  watchStdout(io, stream);
  stream.write(bytes);
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

/**
 * A configuration file given on the command line (`config --set`,
 * `convert --xml`/`--config`), as the library's ConfigInput: a file that
 * does not end in a NUL is text, so it gets the NUL where its container
 * stores one (libvirt's XML, xl's JSON), as libvirt and xl write it; bytes
 * that are not UTF-8 go as they are. A file that ends in a NUL is taken
 * byte for byte. @internal
 */
export function configFileInput(bytes: Uint8Array): string | Uint8Array {
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0) return bytes;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return bytes;
  }
}
