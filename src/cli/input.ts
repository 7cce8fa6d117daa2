/**
 * Opening a command's input: a FILE, or standard input for `-` or none.
 *
 * @module
 * @internal
 */
import { closeSync, fstat, statSync } from "node:fs";
import { promisify } from "node:util";
import { readWantedChunks } from "../io/wanted.js";
import { fileSource } from "../io/file.js";
import { SaveFileDecoder } from "../savefile.js";
import type { SaveFileDecoderOptions, SaveFileEvent } from "../savefile.js";
import type { InternalDecoderOptions } from "../libxc/decoder.js";
import type { StreamVerifier } from "../verify/verifier.js";
import type { Finding, VerifyReport } from "../verify/types.js";
import { classifyTrailer, describeTrailer } from "../xl/migration.js";
import type { StreamTrailer } from "../xl/migration.js";
import type { ByteSource } from "../io/source.js";
import type { CliIO } from "./io.js";
import type { Progress } from "./progress.js";
import { PageWriter, openRegularInput, pipelineFile, pipelineUnits } from "./pipeline.js";

const fstatAsync = promisify(fstat);

/** The size of FILE when it is a regular file (for progress), else undefined. @internal */
export function inputSize(file: string | undefined): number | undefined {
  if (file === undefined || file === "-") return undefined;
  try {
    const stats = statSync(file);
    return stats.isFile() ? stats.size : undefined;
  } catch {
    return undefined;
  }
}

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
  if (file !== undefined && file !== "-") return Object.assign(fileSource(file, { sync: true }), { [PIPELINE_PATH]: file });
  const stats = io.stdin === process.stdin ? await fstatAsync(0).catch(() => undefined) : undefined;
  return stats?.isFile() === true ? fileSource(0, { sync: true }) : (io.stdin as ByteSource);
}

/** Marks a source {@link inputSource} made for a FILE, with its path, for {@link decodeInput}'s file path. */
const PIPELINE_PATH = Symbol("pipeline path");

/** Most trailer bytes kept to name them (the rest are only counted). */
const TRAILER_HEAD = 64;

/**
 * Collects the bytes after a complete stream: keeps the first 64 to name
 * them, counts the rest. @internal
 */
export class TrailerCollector {
  private readonly head = new Uint8Array(TRAILER_HEAD);
  private length = 0;

  /** Takes bytes past the stream's end. */
  add(bytes: Uint8Array): void {
    if (this.length < TRAILER_HEAD) this.head.set(bytes.subarray(0, TRAILER_HEAD - this.length), this.length);
    this.length += bytes.length;
  }

  /** What the bytes are, or undefined when there were none. */
  finish(): StreamTrailer | undefined {
    return this.length === 0 ? undefined : classifyTrailer(this.head.subarray(0, Math.min(this.length, TRAILER_HEAD)), this.length);
  }
}

/**
 * Pushes `chunk` into a decoder or verifier a wanted unit at a time, and
 * hands what follows the end of its stream to `trailer`, so that bytes
 * after the stream (xl's migration message) are not a decoding error.
 * Returns false when the consumer stopped (a fatal fault). @internal
 */
export function pushUntilEnd(consumer: { readonly bytesWanted: number; push(chunk: Uint8Array): unknown }, chunk: Uint8Array, trailer: TrailerCollector): boolean {
  let rest = chunk;
  while (rest.length > 0) {
    const wanted = consumer.bytesWanted;
    if (wanted === 0) {
      trailer.add(rest);
      return true;
    }
    const piece = wanted >= rest.length ? rest : rest.subarray(0, wanted);
    if (consumer.push(piece) === false) return false;
    rest = rest.subarray(piece.length);
  }
  return true;
}

/**
 * Decodes a save file or stream from `source`, handing every event to
 * `visit`. Bytes after the end of the stream are not a decoding error
 * here: they are counted and named (xl's migration message, or data) in
 * the returned trailer, for the command to report. A PAGE_DATA event's
 * `entries` (array and objects) are refilled by the next PAGE_DATA record:
 * `visit` must copy what it keeps. A FILE is read through
 * src/cli/pipeline.ts (the next record read while this one is visited,
 * when visits take long).
 * @internal
 */
export async function decodeInput(
  source: ByteSource,
  visit: (event: SaveFileEvent) => void,
  options: SaveFileDecoderOptions = {},
  progress?: Progress,
): Promise<{ bytes: number; trailer: StreamTrailer | undefined }> {
  // A legacy stream in a container is converted on the fly: the visitors
  // summarise or extract its records. Entry arrays are refilled record
  // after record: the visitors use a record's entries during the visit
  // only (stats, diff, memory images).
  const decoderOptions: SaveFileDecoderOptions & InternalDecoderOptions = { convertLegacy: true, ...options, reuseEntries: true };
  const decoder = new SaveFileDecoder(decoderOptions);
  const trailer = new TrailerCollector();
  const path = (source as { [PIPELINE_PATH]?: string })[PIPELINE_PATH];
  const input = path === undefined ? undefined : openRegularInput(path, undefined);
  if (input !== undefined) {
    // A regular file: the next record is read on the thread pool while
    // this one's events are visited (src/cli/pipeline.ts).
    try {
      const bytes = await pipelineFile(input.fd, decoder, visit, new PageWriter(-1), (chunk) => trailer.add(chunk), progress);
      return { bytes, trailer: trailer.finish() };
    } finally {
      closeSync(input.fd);
    }
  }
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
    if (decoder.bytesWanted > 0) decoder.pushEach(chunk, visit);
    else trailer.add(chunk);
    progress?.update(bytes);
  }
  progress?.done();
  decoder.endEach(visit);
  return { bytes, trailer: trailer.finish() };
}

/**
 * Feeds a verifier in exactly the pieces it wants next (a header, then one
 * whole record), read into one reused buffer: no record is ever assembled
 * from pieces or copied (the verifier keeps no views). Bytes after the end
 * of the stream go to `trailer`, to be named. @internal
 */
export async function feedVerifier(source: ByteSource, verifier: StreamVerifier, trailer: TrailerCollector, progress?: Progress): Promise<void> {
  const path = (source as { [PIPELINE_PATH]?: string })[PIPELINE_PATH];
  const input = path === undefined ? undefined : openRegularInput(path, undefined);
  if (input !== undefined) {
    // A regular file: the next stretch is read on the thread pool while
    // the verifier checks this one (src/cli/pipeline.ts).
    try {
      await pipelineUnits(input.fd, verifier, new PageWriter(-1), (chunk) => trailer.add(chunk), progress);
    } finally {
      closeSync(input.fd);
    }
    return;
  }
  const consumer = {
    get bytesWanted(): number {
      return verifier.bytesWanted === 0 && !verifier.done ? 1 << 16 : verifier.bytesWanted;
    },
    get bytesHeld(): number {
      return verifier.bytesHeld;
    },
  };
  let bytes = 0;
  try {
    for await (const chunk of readWantedChunks(source, consumer)) {
      if (!pushUntilEnd(verifier, chunk, trailer)) return;
      bytes += chunk.length;
      progress?.update(bytes);
    }
  } finally {
    progress?.done();
  }
}

/**
 * Whether the verifier found no Xen stream at all: no format detected and
 * the decoder's BAD_MAGIC at offset 0 (bytes that begin none of the
 * formats, legacy included). @internal
 */
export function isNoXenStream(report: VerifyReport): boolean {
  return report.summary.format === undefined && report.findings.some((finding) => finding.code === "BAD_MAGIC" && finding.offset === 0 && finding.layer === undefined);
}

/** What {@link isNoXenStream} inputs are called. @internal */
export const NO_XEN_STREAM = "not a Xen save file or stream";

/**
 * The verifier's report with the bytes after the stream taken into
 * account: xl's migration message is expected on a live migration's wire
 * (an info finding); anything else is a TRAILING_DATA error. @internal
 */
export function withTrailer(report: VerifyReport, trailer: StreamTrailer | undefined): { report: VerifyReport; added: Finding | undefined } {
  if (trailer === undefined) return { report, added: undefined };
  const added: Finding = {
    severity: trailer.kind === "permission-to-go" ? "info" : "error",
    code: trailer.kind === "permission-to-go" ? "MIGRATION_MESSAGE" : "TRAILING_DATA",
    offset: report.summary.bytes,
    message: describeTrailer(trailer),
  };
  return { report: { ...report, ok: report.ok && added.severity !== "error", findings: [...report.findings, added] }, added };
}
