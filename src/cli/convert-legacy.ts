/**
 * `xen-stream convert-legacy [IN|-] [-o OUT|-] [--width 32|64|auto]
 * [--guest pv|hvm|auto] [--format libxc|libxl] [--xl] [--skip-qemu]
 * [--verbose]`: convert a legacy (Xen <= 4.5) save stream to migration v2,
 * byte-identical to Xen's convert-legacy-stream where that tool works.
 * Exit 0 converted, 1 invalid stream, 2 usage or I/O error.
 *
 * A file output is written to a temporary file next to it and renamed on
 * success, so a failed conversion never leaves a partial file that looks
 * like a result (convert-legacy-stream leaves one). Standard output cannot
 * be taken back: on failure the exit status is the only signal.
 *
 * @module
 * @internal
 */
import { closeSync, fstatSync, openSync, renameSync, statSync, unlinkSync, writevSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { Writable } from "node:stream";
import { isXenStreamError } from "../errors.js";
import { readWantedChunks } from "../io/wanted.js";
import { fileSource } from "../io/file.js";
import { LegacyConverter } from "../legacy/convert.js";
import type { LegacyOptions, LegacyOutputFormat } from "../legacy/types.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, isClosedOutput } from "./io.js";

const USAGE = `usage: xen-stream convert-legacy [IN|-] [-o OUT|-] [options]

Convert a legacy (Xen <= 4.5) save/migration stream to a migration v2 stream,
as Xen's convert-legacy-stream does. Reads standard input when IN is - or
absent; writes standard output when OUT is - or absent.

options:
  -o, --output OUT|-           output file (default: standard output)
  -w, --width 32|64|auto       word size of the toolstack that wrote the stream (default: auto)
  -g, --guest pv|hvm|auto      guest type (default: auto)
  -f, --format libxc|libxl     output format (default: libxc)
  -x, --xl                     an xl save-file header precedes the stream (copied,
                                 with the STREAMv2 flag added for libxl output)
      --skip-qemu              libxc output: do not read or copy the QEMU record
  -v, --verbose                describe the conversion on standard error
  -h, --help                   show this help

exit status: 0 converted, 1 invalid stream, 2 usage or I/O error
`;

/** Where output bytes go. */
interface Sink {
  /** Writes the parts; once the promise resolves, the sink holds none of them (their bytes may be reused). */
  write(parts: Uint8Array[]): Promise<void>;
  commit(): void;
  abort(): void;
}

function fileSink(path: string): Sink {
  const existing = (() => {
    try {
      return statSync(path);
    } catch {
      return undefined;
    }
  })();
  if (existing !== undefined && !existing.isFile()) {
    // A device or FIFO (/dev/null, a named pipe): written in place.
    const fd = openSync(path, "w");
    return {
      write: (parts) => (writeAllSync(fd, parts), Promise.resolve()),
      commit: () => closeSync(fd),
      abort: () => closeSync(fd),
    };
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  const fd = openSync(temp, "w");
  let open = true;
  return {
    write: (parts) => {
      writeAllSync(fd, parts);
      return Promise.resolve();
    },
    commit: () => {
      closeSync(fd);
      open = false;
      renameSync(temp, path);
    },
    abort: () => {
      if (open) closeSync(fd);
      open = false;
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
    },
  };
}

/** writev until every byte is written (writev may write less than asked). */
function writeAllSync(fd: number, parts: Uint8Array[]): void {
  let queue = parts.filter((part) => part.length > 0);
  while (queue.length > 0) {
    let written = queue.length === 1 ? writeSync(fd, queue[0] as Uint8Array) : writevSync(fd, queue.slice(0, 1024));
    const rest: Uint8Array[] = [];
    for (const part of queue) {
      if (written >= part.length) written -= part.length;
      else {
        rest.push(written > 0 ? part.subarray(written) : part);
        written = 0;
      }
    }
    queue = rest;
  }
}

/**
 * A Node stream (a pipe, a terminal). Parts may be views of the input
 * buffer, and a stream keeps a part until it has gone out: `write` resolves
 * when the stream has written every part (its write callbacks), like a
 * blocking write, so that the input buffer can be reused.
 *
 * When the reader has gone (`convert-legacy IN | head -c 10`: EPIPE), the
 * rest of the output is dropped and the conversion goes on to its exit
 * status, as if stdout were /dev/null — what `verify` does (cli/io.ts:
 * writeOut). Other write errors fail the command (exit 2).
 */
function streamSink(stream: Writable, io?: CliIO): Sink {
  let closed = false;
  const isEpipe = isClosedOutput;
  // Write errors reach the callbacks below; the stream's 'error' event
  // (emitted after them, possibly once the command is done) must not go
  // unhandled: Node would print it and exit 1. So the listener stays.
  stream.on("error", (error: unknown) => {
    if (isEpipe(error)) closed = true;
  });
  return {
    write: (parts) =>
      new Promise<void>((resolve, reject) => {
        if (closed) return resolve();
        let pending = parts.length;
        if (pending === 0) resolve();
        for (const part of parts) {
          stream.write(part, (error) => {
            if (error && isEpipe(error)) {
              closed = true;
              if (io !== undefined) io.stdoutClosed = true;
              resolve();
            } else if (error) {
              reject(error);
            } else if (--pending === 0) {
              resolve();
            }
          });
        }
      }),
    commit: () => {},
    abort: () => {},
  };
}

function stdoutSink(io: CliIO): Sink {
  if (io.stdout === process.stdout) {
    // Regular files and devices (/dev/null) take direct writes; pipes go
    // through the stream, which owns the (possibly non-blocking) fd.
    const stats = (() => {
      try {
        return fstatSync(1);
      } catch {
        return undefined;
      }
    })();
    if (stats !== undefined && (stats.isFile() || stats.isCharacterDevice()) && !process.stdout.isTTY) {
      return { write: (parts) => (writeAllSync(1, parts), Promise.resolve()), commit: () => {}, abort: () => {} };
    }
  }
  return streamSink(io.stdout, io);
}

/** Standard input as a file descriptor when it is a regular file (`< file`), else undefined. */
function stdinFd(io: CliIO): number | undefined {
  if (io.stdin !== process.stdin) return undefined;
  try {
    return fstatSync(0).isFile() ? 0 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Converts from a file descriptor; returns the bytes left unread. Reads go
 * through {@link readWantedChunks}: every item (a 4 MiB page batch in
 * particular) reaches the reader as one view of one reused buffer, never
 * assembled from pieces. Output parts may be views of that buffer too: the
 * sink is done with them when its write resolves.
 */
async function convertFd(fd: number, converter: LegacyConverter, sink: Sink): Promise<number> {
  for await (const chunk of readWantedChunks(fileSource(fd, { sync: true }), converter)) {
    if (converter.done) break; // the byte after the end: counted below
    const parts = converter.push(chunk);
    if (parts.length > 0) await sink.write(parts);
  }
  const parts = converter.end();
  if (parts.length > 0) await sink.write(parts);
  if (!converter.done) return 0;
  const stats = fstatSync(fd);
  return stats.isFile() ? Math.max(0, stats.size - converter.reader.offset) : 0;
}

/** Converts from a Node stream (a pipe); returns the bytes left unconverted. */
async function convertStream(stream: AsyncIterable<unknown>, converter: LegacyConverter, sink: Sink): Promise<number> {
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
    const parts = converter.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (parts.length > 0) await sink.write(parts);
  }
  const parts = converter.end();
  if (parts.length > 0) await sink.write(parts);
  return converter.trailingBytes;
}

function parse(args: string[]): { options: LegacyOptions; input: string | undefined; output: string | undefined; verbose: boolean } | string {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        output: { type: "string", short: "o" },
        width: { type: "string", short: "w", default: "auto" },
        guest: { type: "string", short: "g", default: "auto" },
        format: { type: "string", short: "f", default: "libxc" },
        xl: { type: "boolean", short: "x", default: false },
        "skip-qemu": { type: "boolean", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return errorText(error);
  }
  const { values, positionals } = parsed;
  if (values.help) return "";
  if (positionals.length > 1) return `expected at most one input, got ${positionals.length}`;
  const width = values.width;
  if (width !== "32" && width !== "64" && width !== "auto") return `--width must be 32, 64 or auto, got "${width}"`;
  const guest = values.guest;
  if (guest !== "pv" && guest !== "hvm" && guest !== "auto") return `--guest must be pv, hvm or auto, got "${guest}"`;
  const format = values.format;
  if (format !== "libxc" && format !== "libxl") return `--format must be libxc or libxl, got "${format}"`;
  return {
    options: {
      width: width === "auto" ? "auto" : width === "32" ? 32 : 64,
      guest,
      format: format as LegacyOutputFormat,
      xl: values.xl,
      skipQemu: values["skip-qemu"],
    },
    input: positionals[0],
    output: values.output,
    verbose: values.verbose,
  };
}

/** @internal */
export const convertLegacyCommand: CliCommand = {
  summary: "convert a legacy (Xen <= 4.5) stream to migration v2 (like convert-legacy-stream)",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parse(args);
    if (typeof parsed === "string") {
      if (parsed === "") {
        io.stdout.write(USAGE);
        return EXIT_OK;
      }
      io.stderr.write(`xen-stream convert-legacy: ${parsed}\n${USAGE}`);
      return EXIT_USAGE;
    }
    const { options, input, output, verbose } = parsed;
    let converter: LegacyConverter;
    try {
      converter = new LegacyConverter(options);
    } catch (error) {
      io.stderr.write(`xen-stream convert-legacy: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    let sink: Sink;
    try {
      sink = output === undefined || output === "-" ? stdoutSink(io) : fileSink(output);
    } catch (error) {
      io.stderr.write(`xen-stream convert-legacy: cannot open output: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    let trailing = 0;
    try {
      if (input !== undefined && input !== "-") {
        const fd = openSync(input, "r");
        try {
          trailing = await convertFd(fd, converter, sink);
        } finally {
          closeSync(fd);
        }
      } else {
        const fd = stdinFd(io);
        trailing = fd === undefined ? await convertStream(io.stdin, converter, sink) : await convertFd(fd, converter, sink);
      }
      sink.commit();
    } catch (error) {
      sink.abort();
      if (isXenStreamError(error) && error.code !== "USAGE") {
        // The layout detection's BAD_MAGIC: no legacy stream at all (a v2
        // stream, or no Xen stream: its reason says which), not a faulty one.
        const notLegacy = error.code === "BAD_MAGIC" && error.reason.startsWith("not a legacy stream");
        io.stderr.write(`xen-stream convert-legacy: ${input === undefined || input === "-" ? "<stdin>" : input}: ${notLegacy ? "" : "invalid legacy stream: "}${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      io.stderr.write(`xen-stream convert-legacy: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    const layout = converter.layout;
    // With --skip-qemu the QEMU record after an HVM tail is left unread on purpose.
    const skippedQemu = options.skipQemu === true && layout?.guest === "hvm" && options.format !== "libxl";
    if (trailing > 0 && !skippedQemu) {
      io.stderr.write(
        `xen-stream convert-legacy: warning: ${trailing} bytes after the end of the legacy stream were not converted` +
          " (later Remus checkpoints, or data that is not part of the stream)\n",
      );
    }
    if (verbose && layout !== undefined) {
      io.stderr.write(
        `converted ${converter.reader.offset} bytes: ${layout.width}-bit toolstack, ${layout.guest.toUpperCase()} guest` +
          `${options.width === "auto" || options.guest === "auto" ? " (detected)" : ""} -> ${options.format ?? "libxc"} stream of ${converter.outputLength} bytes` +
          `${skippedQemu && trailing > 0 ? `; ${trailing} bytes of QEMU record left unread (--skip-qemu)` : ""}\n`,
      );
    }
    return EXIT_OK;
  },
};
