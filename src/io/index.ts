/**
 * `xen-migration-stream/io`: async decoding from any byte source and
 * streaming encoding, for streams larger than memory. No Node built-ins
 * (those adapters are in `xen-migration-stream/io/node`).
 *
 * @packageDocumentation
 */
export { decodeLibxcAsync, decodeLibxlAsync, decodeSaveFileAsync } from "./decode.js";
export type { AsyncDecodeOptions, SaveFileAsyncDecodeOptions } from "./decode.js";
export { readWantedChunks } from "./wanted.js";
export type { ReadWantedOptions, WantedConsumer } from "./wanted.js";
export { copyEventBytes } from "./copy.js";
export {
  encodeLibxcStreamChunks,
  encodeLibxlStreamChunks,
  encodeSaveFileChunks,
  encodeEventChunks,
} from "./encode.js";
export type {
  ChunkEncodeOptions,
  RecordSource,
  StreamingLibxcStream,
  StreamingLibxlItem,
  StreamingLibxlStream,
  StreamingSaveFile,
} from "./encode.js";
export { readIntoSource, isReadIntoSource } from "./source.js";
export type { AbortSignalLike, ByteSource, ReadableStreamLike, ReadIntoSource } from "./source.js";
export { toReadableStream, writeToWritableStream } from "./web.js";
export type { WriteOptions } from "./web.js";
