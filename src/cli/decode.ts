/**
 * `xen-stream decode [FILE|-] [-o DOC] [--pages FILE | --inline]`: the
 * lossless JSON document of a save file or stream (src/inspect/document.ts),
 * page contents in a side file. `xen-stream encode` turns it back into the
 * same bytes.
 *
 * @module
 * @internal
 */
import { closeSync, fstatSync, openSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { isXenStreamError } from "../errors.js";
import { DocumentWriter, type DocumentPiece } from "../inspect/document.js";
import { readWantedChunks } from "../io/wanted.js";
import { SaveFileDecoder } from "../savefile.js";
import { classifyTrailer, describeTrailer } from "../xl/migration.js";
import { parseCommand } from "./args.js";
import { inputName, inputSource } from "./input.js";
import { PageWriter, openRegularInput, pipelineFile } from "./pipeline.js";
import type { ByteSource } from "../io/source.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream decode [FILE|-] [options]

Writes the lossless JSON document of a save file or stream: every header
and record with its fields, reserved fields, padding and the bytes after
the stream included, so that \`xen-stream encode\` rebuilds the file byte
for byte. Page contents go to a side file so that the JSON stays small.
Reads standard input when FILE is - or absent.

options:
  -o, --output DOC           write the document to DOC (default: standard
                             output, with the pages inline unless --pages)
      --pages FILE           write page contents to FILE (default: DOC with
                             its .json suffix replaced by .pages)
      --inline               put page contents in the document as base64
      --keep-unknown-mandatory
                             keep unknown mandatory records as UNKNOWN
                             records instead of failing
  -h, --help                 show this help

exit status: 0 done, 1 invalid stream, 2 usage or I/O error
`;

/** Bytes of JSON text gathered before a write. */
const TEXT_FLUSH = 1 << 20;

function writeAll(fd: number, bytes: Uint8Array): void {
  let rest = bytes;
  while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
}

/** Same file (device and inode), for paths that exist. */
function sameFile(a: string, b: string | undefined): boolean {
  if (b === undefined || b === "-") return false;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** The default page file of a document path: `x.json` -> `x.pages`, else `x.pages` appended. */
function defaultPagesPath(output: string): string {
  return output.endsWith(".json") ? `${output.slice(0, -5)}.pages` : `${output}.pages`;
}

/** @internal */
export const decodeCommand: CliCommand = {
  summary: "write a save file as a lossless JSON document (pages in a side file); encode turns it back",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand(
      "decode",
      USAGE,
      {
        output: { type: "string", short: "o" },
        pages: { type: "string" },
        inline: { type: "boolean", default: false },
        "keep-unknown-mandatory": { type: "boolean", default: false },
      },
      args,
      io,
    );
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    const file = positionals[0];
    const output = values.output === "-" ? undefined : values.output;
    if (values.inline === true && values.pages !== undefined) return fail("--inline and --pages exclude each other");
    const inline = values.inline === true || (output === undefined && values.pages === undefined);
    const pagesPath = inline ? undefined : (values.pages ?? defaultPagesPath(output as string));
    for (const path of [output, pagesPath]) {
      if (path !== undefined && sameFile(path, file)) return fail(`${path} is the input file: give another output`);
    }
    if (output !== undefined && pagesPath !== undefined && resolve(output) === resolve(pagesPath)) return fail("the document and the page file must be different files");
    const recorded = pagesPath === undefined ? undefined : relative(output === undefined ? "." : dirname(resolve(output)), resolve(pagesPath));
    const writer = new DocumentWriter(inline ? { pages: "inline" } : { pages: "file", pagesFile: recorded as string });

    let source: ByteSource | undefined;
    let input: { fd: number; owned: boolean } | undefined;
    try {
      input = openRegularInput(file, io);
      if (input === undefined) source = await inputSource(file, io);
    } catch (error) {
      io.stderr.write(`xen-stream decode: cannot read ${inputName(file)}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    const created: string[] = [];
    let docFd: number | undefined;
    let pagesFd: number | undefined;
    const closeInput = (): void => {
      if (input?.owned === true) closeSync(input.fd);
      input = undefined;
    };
    const cleanUp = (): void => {
      closeInput();
      for (const fd of [docFd, pagesFd]) if (fd !== undefined) closeSync(fd);
      docFd = pagesFd = undefined;
      for (const path of created) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    };
    let text: string[] = [];
    let textLength = 0;
    const flushText = (): void => {
      if (textLength === 0) return;
      const joined = text.join("");
      text = [];
      textLength = 0;
      if (docFd === undefined) writeOut(io, joined);
      else writeAll(docFd, Buffer.from(joined, "utf8"));
    };
    // Page bytes: written while the next record is read (pipeline.ts) when
    // the input is a file, else at once.
    let pagesWriter: PageWriter | undefined;
    const take = (pieces: DocumentPiece[]): void => {
      for (const piece of pieces) {
        if (piece.kind === "pages") {
          if (pagesWriter !== undefined) pagesWriter.append(piece.bytes);
          else writeAll(pagesFd as number, piece.bytes);
          continue;
        }
        text.push(piece.text);
        textLength += piece.text.length;
        if (textLength >= TEXT_FLUSH) flushText();
      }
    };
    const trailerHead = new Uint8Array(64);
    let trailerLength = 0;
    try {
      if (output !== undefined) {
        docFd = openSync(output, "w");
        created.push(output);
      }
      if (pagesPath !== undefined) {
        pagesFd = openSync(pagesPath, "w");
        created.push(pagesPath);
        if (docFd !== undefined && fstatSync(docFd).ino === fstatSync(pagesFd).ino && fstatSync(docFd).dev === fstatSync(pagesFd).dev) {
          cleanUp();
          return fail("the document and the page file must be different files");
        }
      }
      const decoder = new SaveFileDecoder({ keepUnknownMandatory: values["keep-unknown-mandatory"] === true });
      const visit = (event: Parameters<DocumentWriter["add"]>[0]): void => take(writer.add(event));
      const keepTrailer = (chunk: Uint8Array): void => {
        if (trailerLength < trailerHead.length) trailerHead.set(chunk.subarray(0, trailerHead.length - trailerLength), trailerLength);
        trailerLength += chunk.length;
        take(writer.addTrailer(chunk));
      };
      if (input !== undefined) {
        const pipelined = new PageWriter(pagesFd ?? -1);
        if (pagesFd !== undefined) pagesWriter = pipelined;
        try {
          await pipelineFile(input.fd, decoder, visit, pipelined, keepTrailer);
        } finally {
          closeInput();
        }
        take(writer.finish());
        pipelined.flush();
        flushText();
        for (const fd of [docFd, pagesFd]) if (fd !== undefined) closeSync(fd);
        docFd = pagesFd = undefined;
      } else {
      const consumer = {
        get bytesWanted(): number {
          const wanted = decoder.bytesWanted;
          return wanted === 0 ? 1 << 16 : wanted;
        },
        get bytesHeld(): number {
          return decoder.bytesHeld;
        },
      };
      for await (const chunk of readWantedChunks(source as ByteSource, consumer)) {
        if (decoder.bytesWanted > 0) {
          decoder.pushEach(chunk, visit);
          continue;
        }
        keepTrailer(chunk);
      }
      decoder.endEach(visit);
      take(writer.finish());
      flushText();
      for (const fd of [docFd, pagesFd]) if (fd !== undefined) closeSync(fd);
      docFd = pagesFd = undefined;
      }
    } catch (error) {
      cleanUp();
      if (isXenStreamError(error)) {
        io.stderr.write(`xen-stream decode: ${inputName(file)}: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      const message = errorText(error);
      io.stderr.write(`xen-stream decode: ${message}\n`);
      return EXIT_USAGE;
    }
    if (trailerLength > 0) {
      const trailer = classifyTrailer(trailerHead.subarray(0, Math.min(trailerLength, trailerHead.length)), trailerLength);
      io.stderr.write(`xen-stream decode: kept in the document: ${describeTrailer(trailer)}\n`);
    }
    return EXIT_OK;
  },
};
