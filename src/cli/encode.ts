/**
 * `xen-stream encode [DOC|-] [-o FILE] [--pages FILE]`: the save file or
 * stream a `xen-stream decode` document describes, byte for byte
 * (src/inspect/document.ts), written as it is encoded.
 *
 * @module
 * @internal
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeSync } from "node:fs";
import { isatty } from "node:tty";
import type { Writable } from "node:stream";
import { dirname, isAbsolute, resolve } from "node:path";
import { isXenStreamError } from "../errors.js";
import { documentToStream, type PageReader } from "../inspect/document.js";
import { parseCommand } from "./args.js";
import { inputName } from "./input.js";
import { PAGE, pageAlignedBytes } from "../io/aligned.js";
import { readOnPool, writeFully } from "./pipeline.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, isClosedOutput } from "./io.js";

const USAGE = `usage: xen-stream encode [DOC|-] [options]

Writes the save file or stream that a \`xen-stream decode\` document
describes, byte for byte. Reads the document from standard input when DOC
is - or absent.

options:
  -o, --output FILE    write the stream to FILE (default: standard output,
                       which must not be a terminal)
      --pages FILE     read page contents from FILE (default: the page
                       file the document names, next to the document)
  -h, --help           show this help

exit status: 0 done, 1 invalid document, 2 usage or I/O error
`;

/** Output chunk size: large writes, one reused buffer. */
const CHUNK_SIZE = 4 << 20;

async function readStdin(io: CliIO): Promise<Buffer> {
  if (io.stdin === process.stdin) {
    try {
      if (fstatSync(0).isFile()) return readFileSync(0);
    } catch {
      // not a file: read the stream
    }
  }
  const parts: Buffer[] = [];
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) parts.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}

/**
 * The page file as a {@link PageReader}: one PAGE_DATA record's pages per
 * positioned read. While the caller writes one record, the next one is
 * read on the thread pool (guessed to follow with the same length, as the
 * records of a decoded stream do; a wrong guess is read again), into the
 * other of two buffers: the bytes returned stay valid until the read after
 * next, and every chunk of a record is written before the encoder asks
 * for the next record. Each read lands half a page away from its file
 * offset modulo the page size (src/io/read-into.ts, READ_TARGET_OFFSET:
 * read(2) copies from the page cache several times slower when the target
 * sits a few bytes past the source's place in its page).
 */
class FilePages implements PageReader {
  private readonly fd: number;
  private readonly slots: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  /** The slot the last returned bytes are in. */
  private current = 0;
  private ahead: { offset: number; length: number; view: Uint8Array; reading: Promise<number> } | undefined;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** The `length` bytes of slot `index` placed for file offset `offset`. */
  private target(index: number, offset: number, length: number): Uint8Array {
    let backing = this.slots[index] as Uint8Array;
    if (backing.length < length + PAGE) {
      backing = pageAlignedBytes(Math.max(length, 4 << 20) + PAGE);
      this.slots[index] = backing;
    }
    const start = (offset + PAGE / 2) % PAGE;
    return backing.subarray(start, start + length);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const ahead = this.ahead;
    this.ahead = undefined;
    let bytes: Uint8Array;
    if (ahead !== undefined && ahead.offset === offset && ahead.length === length) {
      bytes = ahead.view.subarray(0, await ahead.reading);
      this.current = 1 - this.current;
    } else {
      if (ahead !== undefined) await ahead.reading.catch(() => 0);
      const view = this.target(this.current, offset, length);
      let got = 0;
      while (got < length) {
        const count = readSync(this.fd, view, got, length - got, offset + got);
        if (count === 0) break;
        got += count;
      }
      bytes = view.subarray(0, got);
    }
    const view = this.target(1 - this.current, offset + length, length);
    const reading = readOnPool(this.fd, view, offset + length);
    reading.catch(() => undefined); // reported only if the bytes are asked for
    this.ahead = { offset: offset + length, length, view, reading };
    return bytes;
  }

  /** Waits for a read ahead still running (before the file is closed). */
  async settle(): Promise<void> {
    await this.ahead?.reading.catch(() => 0);
    this.ahead = undefined;
  }
}

/** Writes chunks to the output: a file descriptor, or a stream (each write awaited: the chunk buffer is reused). */
interface Output {
  write(chunk: Uint8Array): Promise<boolean> | boolean;
}

function fdOutput(fd: number): Output {
  return {
    write(chunk) {
      writeFully(fd, chunk, null);
      return true;
    },
  };
}

function streamOutput(stream: Writable): Output {
  return {
    write: (chunk) =>
      new Promise<boolean>((resolve, reject) => {
        stream.write(chunk.slice(), (error) => {
          if (error === undefined || error === null) resolve(true);
          else if (isClosedOutput(error)) resolve(false);
          else reject(error);
        });
      }),
  };
}

/**
 * Standard output: fd 1 directly when it is a regular file or a device,
 * and the stream otherwise (a pipe: the stream owns the non-blocking fd;
 * a closed pipe ends the output quietly).
 */
function stdoutOutput(io: CliIO): Output {
  if (io.stdoutFd !== undefined) {
    try {
      const stats = fstatSync(io.stdoutFd);
      if (stats.isFile() || stats.isCharacterDevice()) return fdOutput(io.stdoutFd);
    } catch {
      // use the stream
    }
  }
  const stream = io.stdout;
  stream.on("error", () => {}); // EPIPE is reported to the write callback
  return streamOutput(stream);
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** @internal */
export const encodeCommand: CliCommand = {
  summary: "write the save file a decode document describes, byte for byte",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand("encode", USAGE, { output: { type: "string", short: "o" }, pages: { type: "string" } }, args, io);
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one DOC, got ${positionals.length}`);
    const file = positionals[0] === "-" ? undefined : positionals[0];
    const output = values.output === "-" ? undefined : values.output;
    if (output === undefined) {
      const tty = io.stdoutFd !== undefined ? isatty(io.stdoutFd) : (io.stdout as { isTTY?: boolean }).isTTY === true;
      if (tty) return fail("standard output is a terminal: give -o FILE or redirect it (encode writes binary data)");
    }
    if (output !== undefined && file !== undefined && sameFile(output, file)) return fail(`${output} is the document: give another output`);

    let text: string;
    try {
      text = (file === undefined ? await readStdin(io) : readFileSync(file)).toString("utf8");
    } catch (error) {
      io.stderr.write(`xen-stream encode: cannot read ${inputName(file)}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      io.stderr.write(`xen-stream encode: ${inputName(file)}: not a JSON document: ${errorText(error)}\n`);
      return EXIT_INVALID;
    }
    const storage = (document as { pages?: { storage?: unknown; file?: unknown } } | null)?.pages;
    let pagesPath = values.pages;
    if (pagesPath === undefined && storage?.storage === "file" && typeof storage.file === "string") {
      pagesPath = isAbsolute(storage.file) ? storage.file : resolve(file === undefined ? "." : dirname(file), storage.file);
    }
    if (output !== undefined && pagesPath !== undefined && sameFile(output, pagesPath)) return fail(`${output} is the page file: give another output`);

    let pagesFd: number | undefined;
    let outFd: number | undefined;
    let created = false;
    const close = (): void => {
      for (const fd of [pagesFd, outFd]) if (fd !== undefined) closeSync(fd);
      pagesFd = outFd = undefined;
    };
    try {
      let pages: PageReader = { read: () => new Uint8Array(0) };
      let filePages: FilePages | undefined;
      let pagesFileLength: number | undefined;
      if (storage?.storage === "file" && pagesPath !== undefined) {
        try {
          pagesFd = openSync(pagesPath, "r");
        } catch (error) {
          io.stderr.write(`xen-stream encode: cannot read the page file ${pagesPath}: ${errorText(error)}\n`);
          return EXIT_USAGE;
        }
        pagesFileLength = fstatSync(pagesFd).size;
        filePages = new FilePages(pagesFd);
        pages = filePages;
      }
      let out: Output;
      if (output !== undefined) {
        outFd = openSync(output, "w");
        created = true;
        out = fdOutput(outFd);
      } else out = stdoutOutput(io);
      const chunks = documentToStream(document, pages, {
        chunkSize: CHUNK_SIZE,
        reuseBuffer: true,
        ...(pagesFileLength === undefined ? {} : { pagesFileLength }),
      });
      try {
        for await (const chunk of chunks) {
          const written = out.write(chunk);
          if ((typeof written === "boolean" ? written : await written) === false) break; // the reader has gone
        }
      } finally {
        // No read into our buffers still running once the files close.
        await filePages?.settle();
      }
      close();
      return EXIT_OK;
    } catch (error) {
      close();
      if (created && output !== undefined) {
        try {
          unlinkSync(output);
        } catch {
          // already gone
        }
      }
      if (isXenStreamError(error)) {
        io.stderr.write(`xen-stream encode: ${inputName(file)}: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      if (isClosedOutput(error)) return EXIT_OK;
      io.stderr.write(`xen-stream encode: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
  },
};
