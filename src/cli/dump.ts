/**
 * `xen-stream dump [FILE|-] [--json] [--type NAME[,NAME]] [--layer
 * xl|libxl|libxc] [--range OFF:LEN] [--pages] [--raw-bytes]`: every header
 * and record with layer, offset, index, type, length, fields and decoded
 * insides; text blocks or JSON lines. One pass, in bounded memory (one
 * record at a time), for any input size.
 *
 * @module
 * @internal
 */
import { isXenStreamError } from "../errors.js";
import { DUMP_TYPE_NAMES, StreamDumper, dumpTrailerEntry } from "../inspect/dump.js";
import type { DumpEntry, DumpOptions, DumpPageEntry, DumpTrailerEntry } from "../inspect/dump.js";
import { formatDumpEntry } from "../inspect/dump-text.js";
import type { InternalDecoderOptions } from "../libxc/decoder.js";
import { SaveFileDecoder } from "../savefile.js";
import type { SaveFileDecoderOptions, SaveFileEvent } from "../savefile.js";
import { readWantedChunks } from "../io/wanted.js";
import type { ByteSource } from "../io/source.js";
import type { StreamTrailer } from "../xl/migration.js";
import { closeSync, fstatSync, openSync } from "node:fs";
import { parseCommand } from "./args.js";
import { DumpFileReader } from "./dump-read.js";
import { inputName, inputSize, inputSource, TrailerCollector } from "./input.js";
import { startProgress, type Progress } from "./progress.js";
import { type CliCommand, type CliIO, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, isClosedOutput, writeOut } from "./io.js";

const USAGE = `usage: xen-stream dump [FILE|-] [options]

Every header and record of a save file or stream: layer, offset, index,
type, length and fields, with the records' insides decoded (HVM context,
PV vCPU state, shared info, CPU and MSR policy, the xl config). Reads
standard input when FILE is - or absent.

options:
      --json                 one JSON object per line for each header and record
                             (64-bit values as "0x..." strings)
  -t, --type NAME[,NAME]     only these record types (PAGE_DATA, HVM_CONTEXT, ...)
                             or headers (XL_HEADER, LIBXL_HEADER, IMAGE_HEADER,
                             DOMAIN_HEADER); may be repeated
  -l, --layer xl|libxl|libxc only this layer's headers and records
  -r, --range OFF:LEN        only what overlaps these bytes (decimal or 0x hex;
                             OFF: for the rest of the file); stops reading after it
      --pages                a hexdump of every page of PAGE_DATA records, each page
                             an entry after its record's (default: count, pfn
                             ranges, page types only)
      --raw-bytes            byte fields in full hex (default: length and first 16 bytes)
      --no-contents          do not decode the records' insides
  -h, --help                 show this help

Bytes after the end of the stream (xl's migration message on a live
migration's wire) are named in a last line.

exit status: 0 done, 1 invalid stream (dumped up to the fault, which the
last line names) or data after the stream, 2 usage or I/O error
`;

const LAYERS: readonly string[] = ["xl", "libxl", "libxc"];

/** Output is handed to writeOut in pieces of about this size. */
const FLUSH_SIZE = 1 << 16;

function parseNumber(text: string): number | undefined {
  if (!/^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Parses `OFF:LEN` (or `OFF:`, to the end). */
function parseRange(text: string): { start: number; length: number } | string {
  const colon = text.indexOf(":");
  if (colon < 0) return `--range must be OFF:LEN, got "${text}"`;
  const start = parseNumber(text.slice(0, colon));
  const lengthText = text.slice(colon + 1);
  const length = lengthText === "" ? Number.MAX_SAFE_INTEGER : parseNumber(lengthText);
  if (start === undefined || length === undefined) return `--range must be OFF:LEN with decimal or 0x hex numbers, got "${text}"`;
  return { start, length: Math.min(length, Number.MAX_SAFE_INTEGER - start) };
}

const DECODER_OPTIONS: SaveFileDecoderOptions & InternalDecoderOptions = { reuseEntries: true };

/**
 * Standard output in pieces of about {@link FLUSH_SIZE} through writeOut
 * (fd 1 written directly, a closed pipe quiet). When writeOut has fallen
 * back to the stream (a non-blocking pipe that was full), `congested`
 * tells the reading loop to wait for it to drain: memory stays bounded
 * however slow the reader. A reader that has gone (EPIPE on the stream)
 * ends the output quietly, as writeOut does for the fd.
 */
class Output {
  private readonly io: CliIO;
  private pending = "";
  private listening = false;
  /** A write error other than EPIPE, to report at the end. */
  failure: Error | undefined = undefined;

  constructor(io: CliIO) {
    this.io = io;
  }

  get closed(): boolean {
    return this.io.stdoutClosed === true;
  }

  add(text: string): void {
    this.pending += text;
    if (this.pending.length >= FLUSH_SIZE) this.flush();
  }

  flush(): void {
    if (this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    writeOut(this.io, text);
    if (this.io.stdoutFd === undefined && !this.listening) {
      this.listening = true;
      this.io.stdout.on("error", (error: NodeJS.ErrnoException) => {
        if (!isClosedOutput(error)) this.failure ??= error;
        this.io.stdoutClosed = true;
      });
    }
  }

  /** True when the stream holds more than its high-water mark. */
  get congested(): boolean {
    return this.io.stdoutFd === undefined && this.io.stdoutClosed !== true && this.io.stdout.writableNeedDrain;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.io.stdout.off("drain", done);
        this.io.stdout.off("close", done);
        resolve();
      };
      this.io.stdout.on("drain", done);
      this.io.stdout.on("close", done);
    });
  }
}

/**
 * The reading loop of decodeInput (src/cli/input.ts), with two things a
 * dump needs: it stops reading once nothing more can be dumped (past the
 * range, or the reader of the output has gone), and it waits for a
 * congested output between reads. Bytes after the end of the stream are
 * named, not a decoding error. A regular file (`source` a file descriptor)
 * is read by DumpFileReader, which does not read the page contents a dump
 * without --pages does not show.
 */
async function dumpInput(
  source: ByteSource | number,
  dumper: StreamDumper,
  pages: boolean,
  emit: (entry: DumpEntry | DumpPageEntry) => void,
  output: Output,
  progress: Progress,
): Promise<{ bytes: number; trailer: StreamTrailer | undefined }> {
  // Each event is dumped before the visitor returns (pushEach): PAGE_DATA
  // entries may be refilled in place, no objects per page.
  const decoder = new SaveFileDecoder(DECODER_OPTIONS);
  const trailer = new TrailerCollector();
  let stopped = false;
  let inLibxc = false;
  const visit = (event: SaveFileEvent): void => {
    if (stopped) return;
    // The next record header is a libxc one after any libxc event but its END.
    inLibxc = event.layer === "libxc" && !(event.kind === "record" && event.record.type === "END");
    const entry = dumper.add(event);
    if (entry !== undefined) {
      emit(entry);
      if (pages) {
        for (const page of dumper.pageEntries(event)) {
          if (output.closed) break;
          emit(page);
        }
      }
    }
    stopped = dumper.pastRange || output.closed;
  };
  const consumer = {
    get bytesWanted(): number {
      const wanted = decoder.bytesWanted;
      return wanted === 0 ? 1 << 16 : wanted;
    },
    get bytesHeld(): number {
      return decoder.bytesHeld;
    },
  };
  let bytes = 0;
  const step = async (chunk: Uint8Array): Promise<boolean> => {
    bytes += chunk.length;
    if (decoder.bytesWanted > 0) decoder.pushEach(chunk, visit);
    else trailer.add(chunk);
    progress.update(bytes);
    if (stopped) return false;
    if (output.congested) await output.drained();
    return true;
  };
  if (typeof source === "number") {
    // A regular file: positioned reads, page contents skipped unless shown.
    const reader = new DumpFileReader(source, !pages);
    for (;;) {
      const chunk = reader.next(consumer.bytesWanted, inLibxc, consumer.bytesHeld);
      if (chunk.length === 0) break;
      if (!(await step(chunk))) return { bytes, trailer: undefined };
    }
  } else {
    for await (const chunk of readWantedChunks(source, consumer)) {
      if (!(await step(chunk))) return { bytes, trailer: undefined };
    }
  }
  decoder.end();
  return { bytes, trailer: trailer.finish() };
}

/** FILE (or standard input that is a regular file) as a file descriptor, else undefined. */
function regularFile(file: string | undefined, io: CliIO): number | undefined {
  let fd: number | undefined;
  try {
    if (file === undefined || file === "-") {
      if (io.stdin !== process.stdin) return undefined;
      fd = 0;
    } else {
      fd = openSync(file, "r");
    }
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    // not a file we can read here: the general path says why
  }
  if (fd !== undefined && fd !== 0) closeSync(fd);
  return undefined;
}

/** @internal */
export const dumpCommand: CliCommand = {
  summary: "every header and record with its fields and decoded insides (text or JSON lines)",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand(
      "dump",
      USAGE,
      {
        json: { type: "boolean", default: false },
        type: { type: "string", short: "t", multiple: true },
        layer: { type: "string", short: "l" },
        range: { type: "string", short: "r" },
        pages: { type: "boolean", default: false },
        "raw-bytes": { type: "boolean", default: false },
        "no-contents": { type: "boolean", default: false },
      },
      args,
      io,
    );
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    // --pages: each page its own entry after its record's (one page in memory at a time).
    const pages = values.pages === true;
    const options: DumpOptions = { rawBytes: values["raw-bytes"] === true, contents: values["no-contents"] !== true };
    const types = values.type as string[] | undefined;
    if (types !== undefined) {
      const names = types.flatMap((item) => item.split(",")).map((name) => name.trim().toUpperCase());
      const unknown = names.filter((name) => !DUMP_TYPE_NAMES.includes(name));
      if (unknown.length > 0) return fail(`unknown --type ${unknown.join(", ")}; known: ${DUMP_TYPE_NAMES.join(", ")}`);
      options.types = names;
    }
    const layer = values.layer as string | undefined;
    if (layer !== undefined) {
      if (!LAYERS.includes(layer)) return fail(`--layer must be one of ${LAYERS.join(", ")}, got "${layer}"`);
      options.layer = layer as "xl" | "libxl" | "libxc";
    }
    const rangeText = values.range as string | undefined;
    if (rangeText !== undefined) {
      const range = parseRange(rangeText);
      if (typeof range === "string") return fail(range);
      options.range = range;
    }
    const json = values.json === true;
    const file = positionals[0];
    const name = inputName(file);

    const output = new Output(io);
    const emit = (entry: DumpEntry | DumpPageEntry | DumpTrailerEntry): void => output.add(json ? `${JSON.stringify(entry)}\n` : formatDumpEntry(entry));
    const dumper = new StreamDumper(options);
    const progress = startProgress(io, `dump ${name}`, inputSize(file));
    let exit = EXIT_OK;
    try {
      const fd = regularFile(file, io);
      let input;
      try {
        input = await dumpInput(fd ?? (await inputSource(file, io)), dumper, pages, emit, output, progress);
      } finally {
        if (fd !== undefined && fd !== 0) closeSync(fd);
      }
      if (input.trailer !== undefined) {
        const offset = input.bytes - input.trailer.length;
        const end = options.range === undefined ? Number.POSITIVE_INFINITY : options.range.start + options.range.length;
        if (offset < end) emit(dumpTrailerEntry(offset, input.trailer));
        if (input.trailer.kind !== "permission-to-go") exit = EXIT_INVALID;
      }
    } catch (error) {
      output.flush();
      if (isXenStreamError(error)) {
        const message = error.reason;
        const fault = {
          ...(error.layer === undefined ? {} : { layer: error.layer }),
          kind: "error",
          offset: error.offset,
          ...(error.recordIndex === undefined ? {} : { index: error.recordIndex }),
          code: error.code,
          message,
        };
        const where = `at offset ${error.offset}${error.recordIndex === undefined ? "" : ` (record ${error.recordIndex})`}`;
        output.add(json ? `${JSON.stringify(fault)}\n` : `error ${error.code} ${where}: ${message}\n`);
        io.stderr.write(`xen-stream dump: ${name}: ${error.code} ${where}: ${message}\n`);
        exit = EXIT_INVALID;
      } else {
        io.stderr.write(`xen-stream dump: cannot read ${name}: ${errorText(error)}\n`);
        exit = EXIT_USAGE;
      }
    } finally {
      progress.done();
    }
    output.flush();
    if (output.failure !== undefined) {
      io.stderr.write(`xen-stream dump: cannot write the output: ${output.failure.message}\n`);
      return EXIT_USAGE;
    }
    return exit;
  },
};
