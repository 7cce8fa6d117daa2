/**
 * Opening a command's input: a FILE, or standard input for `-` or none.
 *
 * @module
 * @internal
 */
import { fstat } from "node:fs";
import { promisify } from "node:util";
import { readWantedChunks } from "../io/decode.js";
import { fileSource } from "../io/file.js";
import { SaveFileDecoder } from "../savefile.js";
import type { SaveFileDecoderOptions, SaveFileEvent } from "../savefile.js";
import { classifyTrailer } from "../xl/migration.js";
import type { StreamTrailer } from "../xl/migration.js";
import type { ByteSource } from "../io/source.js";
import type { CliIO } from "./io.js";

const fstatAsync = promisify(fstat);

/** The display name of an input argument. @internal */
export function inputName(file: string | undefined): string {
  return file === undefined || file === "-" ? "<stdin>" : file;
}

/**
 * A byte source for FILE (read with blocking reads: a CLI), or for standard
 * input: fd 0 read directly when it is a regular file (`< file`), the
 * stream when it is a pipe (the stream owns the non-blocking fd).
 * @internal
 */
export async function inputSource(file: string | undefined, io: CliIO): Promise<ByteSource> {
  if (file !== undefined && file !== "-") return fileSource(file, { sync: true });
  const stats = io.stdin === process.stdin ? await fstatAsync(0).catch(() => undefined) : undefined;
  return stats?.isFile() === true ? fileSource(0, { sync: true }) : (io.stdin as ByteSource);
}

/** Most trailer bytes kept to name them (the rest are only counted). */
const TRAILER_HEAD = 64;

/**
 * Decodes a save file or stream from `source`, handing every event to
 * `visit`. Bytes after the end of the stream are not a decoding error
 * here: they are counted and named (xl's migration message, or data) in
 * the returned trailer, for the command to report.
 * @internal
 */
export async function decodeInput(
  source: ByteSource,
  visit: (event: SaveFileEvent) => void,
  options: SaveFileDecoderOptions = {},
): Promise<{ bytes: number; trailer: StreamTrailer | undefined }> {
  const decoder = new SaveFileDecoder(options);
  const head = new Uint8Array(TRAILER_HEAD);
  let trailerLength = 0;
  let bytes = 0;
  const consumer = {
    get bytesWanted(): number {
      const wanted = decoder.bytesWanted;
      return wanted === 0 ? 1 << 16 : wanted;
    },
    get bytesHeld(): number {
      return decoder.bytesHeld;
    },
  };
  for await (const chunk of readWantedChunks(source, consumer)) {
    bytes += chunk.length;
    if (decoder.bytesWanted > 0) {
      decoder.pushEach(chunk, visit);
      continue;
    }
    if (trailerLength < TRAILER_HEAD) head.set(chunk.subarray(0, TRAILER_HEAD - trailerLength), trailerLength);
    trailerLength += chunk.length;
  }
  decoder.end();
  return { bytes, trailer: trailerLength === 0 ? undefined : classifyTrailer(head.subarray(0, Math.min(trailerLength, TRAILER_HEAD)), trailerLength) };
}
