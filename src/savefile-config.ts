/**
 * The domain configuration each container stores beside the stream: xl's
 * JSON (or old-style text) config, libvirt's domain XML, xenopsd's Xenops
 * record. Read it from a decoded file, replace it in a decoded file, or
 * rewrite it on a byte stream without touching anything else.
 *
 * No configuration is parsed with a dependency: the text is handed out as
 * it is; the Xenops record is also read with the library's own
 * s-expression reader.
 *
 * @module
 */
import { XenStreamError } from "./errors.js";
import { REC_LENGTH_MAX } from "./wire/frame.js";
import { checkSourceOptions, sourceChunks, throwIfAborted, type AbortSignalLike, type ByteSource } from "./io/source.js";
import { decodeUtf8, encodeUtf8 } from "./sexp.js";
import { detectFormat, type AnySaveFile, type SaveFileContainer } from "./savefile.js";
import { XL_HEADER_SIZE, XlMandatoryFlag } from "./xl/constants.js";
import { decodeXlHeader, encodeXlHeader, readXlFixedHeader, type XlHeader } from "./xl/header.js";
import { LIBVIRT_HEADER_SIZE } from "./libvirt/constants.js";
import { decodeLibvirtHeader, encodeLibvirtHeader, readLibvirtFixedHeader, type LibvirtHeader } from "./libvirt/header.js";
import { XENOPSD_CHUNK_HEADER_SIZE, XENOPSD_SIGNATURE_SIZE } from "./xenopsd/constants.js";
import { decodeXenopsdChunkHeader, decodeXenopsdSignature, encodeXenopsdChunk, type XenopsdChunk } from "./xenopsd/chunk.js";
import { decodeXenopsRecord, type XenopsRecord } from "./xenopsd/record.js";
import { checkBytes } from "./wire/args.js";

/** Which configuration a container stores. */
export type SavedConfigKind = "xl-json" | "xl-text" | "libvirt-xml" | "xenops-record";

/** The configuration stored in a save file's container. */
export interface SavedConfig {
  /** What it is: xl JSON (JSON flag set), xl's old text config, libvirt domain XML, the Xenops s-expression. */
  kind: SavedConfigKind;
  /** The text, up to its terminating NUL (if any), as UTF-8. */
  text: string;
  /** The stored bytes exactly (with the NUL that xl and libvirt write), as a view. */
  bytes: Uint8Array;
  /** For the Xenops record: its fields, when it parses. */
  record?: XenopsRecord;
}

/**
 * A stored configuration as text: UTF-8 up to its terminating NUL (xl and
 * libvirt write one), as every reader of the stored config shows it.
 * @internal
 */
export function textOf(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decodeUtf8(end < 0 ? bytes : bytes.subarray(0, end));
}

function fromXl(header: XlHeader): SavedConfig | undefined {
  if (header.config === undefined) return undefined;
  const json = (header.mandatoryFlags & XlMandatoryFlag.JSON) !== 0;
  return { kind: json ? "xl-json" : "xl-text", text: textOf(header.config), bytes: header.config };
}

function fromContainer(container: SaveFileContainer): SavedConfig | undefined {
  if (container.kind === "libvirt") return { kind: "libvirt-xml", text: textOf(container.header.xml), bytes: container.header.xml };
  if (container.layout === "legacy") return undefined;
  const chunk = container.chunks.find((candidate) => candidate.type === "Xenops");
  if (chunk?.body === undefined) return undefined;
  const config: SavedConfig = { kind: "xenops-record", text: decodeUtf8(chunk.body), bytes: chunk.body };
  try {
    config.record = decodeXenopsRecord(chunk.body);
  } catch (error) {
    if (!(error instanceof XenStreamError)) throw error;
  }
  return config;
}

/**
 * The configuration a save file stores: the xl header's config, the
 * libvirt header's XML, or the xenopsd Xenops record.
 *
 * @param file - a decoded file ({@link decodeAnySaveFile} or {@link decodeSaveFile})
 * @returns the configuration, or undefined when the file stores none (a
 * bare stream, an xl header without config, xenopsd's legacy layout)
 *
 * @example
 * ```ts
 * import { decodeSaveFile, savedConfig } from "xen-migration-stream";
 * const config = savedConfig(decodeSaveFile(bytes));
 * config?.kind; //=> "xl-json"
 * JSON.parse(config?.text ?? "{}").c_info.name; //=> "guest"
 * ```
 */
export function savedConfig(file: AnySaveFile): SavedConfig | undefined {
  if (file.format !== "legacy" && file.xl !== undefined) return fromXl(file.xl);
  if (file.container !== undefined) return fromContainer(file.container);
  return undefined;
}

/** A new configuration: text (stored as UTF-8, with a NUL where the container terminates it) or exact bytes. */
export type ConfigInput = string | Uint8Array;

function terminated(input: ConfigInput): Uint8Array {
  if (typeof input !== "string") return input;
  const text = encodeUtf8(input);
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}

function xenopsBody(input: ConfigInput): Uint8Array {
  const body = typeof input === "string" ? encodeUtf8(input) : input;
  try {
    decodeXenopsRecord(body);
  } catch (error) {
    if (!(error instanceof XenStreamError)) throw error;
    throw new XenStreamError("BAD_VALUE", 0, `setSavedConfig: the new Xenops record would make xenopsd's restore fail: ${error.message}`, {
      layer: "xenopsd",
    });
  }
  return body;
}

/** The xl header with `config` in place (created when absent; optional extra data kept). @internal */
export function xlWithConfig(header: XlHeader, input: ConfigInput): XlHeader {
  const json = (header.mandatoryFlags & XlMandatoryFlag.JSON) !== 0;
  // xl stores JSON with its NUL (xl_vmcontrol.c save_domain: config_len includes it).
  const config = json ? terminated(input) : typeof input === "string" ? encodeUtf8(input) : input;
  return { ...header, config };
}

/** The libvirt header with new XML. @internal */
export function libvirtWithXml(header: LibvirtHeader, input: ConfigInput): LibvirtHeader {
  const xml = terminated(input);
  if (xml.length === 0) throw new XenStreamError("BAD_VALUE", 0, "setSavedConfig: libvirt refuses an empty XML (xmlLen 0)", { layer: "libvirt" });
  return { ...header, xml };
}

/** The chunks with the Xenops body replaced (or a Xenops chunk put first). @internal */
export function chunksWithRecord(chunks: readonly XenopsdChunk[], body: Uint8Array): { chunks: XenopsdChunk[]; inserted: boolean } {
  const next: XenopsdChunk = { type: "Xenops", length: BigInt(body.length), body };
  const index = chunks.findIndex((chunk) => chunk.type === "Xenops");
  if (index < 0) return { chunks: [next, ...chunks], inserted: true };
  return { chunks: chunks.map((chunk, i) => (i === index ? next : chunk)), inserted: false };
}

/**
 * A copy of `file` with its stored configuration replaced; the stream and
 * every other byte stay as they were.
 *
 * @param file - a decoded file
 * @param config - the new configuration: a string (stored as UTF-8, with
 * the NUL that xl's JSON and libvirt's XML carry) or the exact bytes
 * @returns the new file value (encode it with {@link encodeSaveFile})
 * @throws {@link XenStreamError} UNSUPPORTED for a file whose container
 * stores no configuration (a bare stream, xenopsd's legacy layout);
 * BAD_VALUE for an empty libvirt XML or a Xenops record xenopsd would refuse
 *
 * @example
 * ```ts
 * import { decodeSaveFile, encodeSaveFile, setSavedConfig } from "xen-migration-stream";
 * const out = encodeSaveFile(setSavedConfig(decodeSaveFile(bytes), newJson));
 * ```
 */
export function setSavedConfig<F extends AnySaveFile>(file: F, config: ConfigInput): F {
  if (file.format !== "legacy" && file.xl !== undefined) return { ...file, xl: xlWithConfig(file.xl, config) };
  const container = file.container;
  if (container?.kind === "libvirt") return { ...file, container: { ...container, header: libvirtWithXml(container.header, config) } };
  if (container?.kind === "xenopsd" && container.layout === "structured") {
    const { chunks, inserted } = chunksWithRecord(container.chunks, xenopsBody(config));
    return { ...file, container: { ...container, chunks, streamChunk: container.streamChunk + (inserted ? 1 : 0) } };
  }
  throw new XenStreamError("UNSUPPORTED", 0, "setSavedConfig: this file stores no configuration (no xl header, libvirt header or structured xenopsd image)", {});
}

/** Options of {@link ConfigRewriter}. */
export interface ConfigRewriterOptions {
  /**
   * Largest header part (xl optional data, libvirt XML, a xenopsd chunk
   * before the Xenops record) buffered while looking for the config.
   * @defaultValue 134217728 (128 MiB)
   */
  maxRecordLength?: number;
}

/**
 * Incremental configuration rewrite: push the bytes of a save file, get
 * them back with the stored configuration replaced. Only the part of the
 * file up to and including the configuration is held and re-encoded; every
 * byte after it is passed through unchanged (views of the pushed chunks),
 * so a multi-GiB image streams in bounded memory.
 *
 * In a xenopsd image the Xenops record is looked for among the chunks
 * before the stream chunk (xenopsd writes it first); when none is there,
 * one is put first, as {@link setSavedConfig} does. (An image whose only Xenops record follows its stream then has
 * two; {@link setSavedConfig}, which sees the whole image, replaces it.)
 *
 * @example
 * ```ts
 * import { ConfigRewriter } from "xen-migration-stream";
 * const rewriter = new ConfigRewriter(newXml);
 * for (const chunk of input) for (const out of rewriter.push(chunk)) write(out);
 * for (const out of rewriter.end()) write(out);
 * ```
 */
export class ConfigRewriter {
  private readonly config: ConfigInput;
  private readonly maxRecordLength: number;
  private pending: Uint8Array = new Uint8Array(0);
  private passing = false;
  private finished = false;
  private received = 0;
  private changed: SavedConfigKind | undefined = undefined;

  /**
   * @param config - the new configuration (as for {@link setSavedConfig})
   * @param options - limits
   * @throws {@link XenStreamError} USAGE for a config that is neither a string nor bytes
   */
  constructor(config: ConfigInput, options: ConfigRewriterOptions = {}) {
    if (typeof config !== "string" && !(config instanceof Uint8Array)) {
      throw new XenStreamError("USAGE", 0, "ConfigRewriter: config must be a string or a Uint8Array");
    }
    this.config = config;
    this.maxRecordLength = options.maxRecordLength ?? REC_LENGTH_MAX;
  }

  /** The kind of configuration replaced, once it was found. */
  get replaced(): SavedConfigKind | undefined {
    return this.changed;
  }

  /**
   * Rewrites the next bytes.
   *
   * @param chunk - the next input bytes
   * @returns output chunks (possibly none while the header is incomplete)
   * @throws {@link XenStreamError} as the container decoders; UNSUPPORTED
   * for a file with nowhere to store a configuration; USAGE after `end()`
   */
  push(chunk: Uint8Array): Uint8Array[] {
    checkBytes(chunk, "ConfigRewriter.push: chunk");
    if (this.finished) throw new XenStreamError("USAGE", this.received, "ConfigRewriter: push after end");
    this.received += chunk.length;
    if (this.passing) return chunk.length === 0 ? [] : [chunk];
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    this.pending = joined;
    const head = this.rewriteHead(joined);
    if (head === undefined) return [];
    this.passing = true;
    this.pending = new Uint8Array(0);
    const out = [head.bytes];
    if (head.used < joined.length) out.push(joined.subarray(head.used));
    return out;
  }

  /**
   * Declares the input complete.
   *
   * @returns nothing more (every byte was returned by `push`)
   * @throws {@link XenStreamError} TRUNCATED when the input ended before the configuration
   */
  end(): Uint8Array[] {
    if (this.finished) throw new XenStreamError("USAGE", this.received, "ConfigRewriter: end called twice");
    this.finished = true;
    if (!this.passing) throw new XenStreamError("TRUNCATED", this.received, "ConfigRewriter: the input ended before its stored configuration");
    return [];
  }

  /** The new head and how many input bytes it replaces, or undefined when more are needed. */
  private rewriteHead(bytes: Uint8Array): { bytes: Uint8Array; used: number } | undefined {
    if (bytes.length < 8) return undefined;
    const format = detectFormat(bytes);
    if (format === "xl") {
      if (bytes.length < XL_HEADER_SIZE) return undefined;
      const { optionalDataLength } = readXlFixedHeader(bytes, 0);
      this.limit(optionalDataLength, 44);
      if (bytes.length < XL_HEADER_SIZE + optionalDataLength) return undefined;
      const { header, size } = decodeXlHeader(bytes, 0);
      this.changed = fromXl({ ...header, config: new Uint8Array(0) })?.kind;
      return { bytes: encodeXlHeader(xlWithConfig(header, this.config)), used: size };
    }
    if (format === "libvirt") {
      if (bytes.length < LIBVIRT_HEADER_SIZE) return undefined;
      const { xmlLength } = readLibvirtFixedHeader(bytes, 0);
      this.limit(xmlLength, 20);
      if (bytes.length < LIBVIRT_HEADER_SIZE + xmlLength) return undefined;
      const { header, size } = decodeLibvirtHeader(bytes, 0);
      this.changed = "libvirt-xml";
      return { bytes: encodeLibvirtHeader(libvirtWithXml(header, this.config)), used: size };
    }
    if (format === "xenopsd") return this.rewriteXenopsd(bytes);
    throw new XenStreamError("UNSUPPORTED", 0, `ConfigRewriter: a ${format ?? "short"} input stores no configuration`, {});
  }

  private limit(length: number, at: number): void {
    if (length > this.maxRecordLength) {
      throw new XenStreamError("RECORD_TOO_LARGE", at, `ConfigRewriter: ${length} bytes of header exceed the maximum ${this.maxRecordLength}`);
    }
  }

  private rewriteXenopsd(bytes: Uint8Array): { bytes: Uint8Array; used: number } | undefined {
    if (bytes.length < XENOPSD_SIGNATURE_SIZE) return undefined;
    if (decodeXenopsdSignature(bytes, 0) === "legacy") {
      throw new XenStreamError("UNSUPPORTED", 0, 'ConfigRewriter: the legacy xenopsd layout ("XenSavedDomain\\n") stores no configuration', { layer: "xenopsd" });
    }
    const body = xenopsBody(this.config);
    const record = encodeXenopsdChunk({ type: "Xenops", length: BigInt(body.length), body });
    let pos = XENOPSD_SIGNATURE_SIZE;
    for (;;) {
      if (bytes.length < pos + XENOPSD_CHUNK_HEADER_SIZE) return undefined;
      const header = decodeXenopsdChunkHeader(bytes.subarray(pos, pos + XENOPSD_CHUNK_HEADER_SIZE), pos, this.maxRecordLength);
      const end = pos + XENOPSD_CHUNK_HEADER_SIZE + header.bodyLength;
      this.changed = "xenops-record";
      if (header.type === "Xenops") {
        if (bytes.length < end) return undefined;
        return { bytes: join(bytes.subarray(0, pos), record), used: end };
      }
      if (header.bodyLength === 0) {
        // A stream chunk or the footer before any Xenops record: put one
        // first, where xenopsd writes it (and where setSavedConfig puts it).
        return { bytes: join(join(bytes.subarray(0, XENOPSD_SIGNATURE_SIZE), record), bytes.subarray(XENOPSD_SIGNATURE_SIZE, pos)), used: pos };
      }
      if (bytes.length < end) return undefined;
      pos = end;
    }
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Options of {@link rewriteSavedConfig}: the rewriter's, and the source's. */
export interface RewriteSavedConfigOptions extends ConfigRewriterOptions {
  /**
   * Abandons the rewrite when it aborts: the pending read is not waited
   * for, the source is cancelled, and the generator rejects with
   * `signal.reason` (see `ByteSource` in `xen-migration-stream/io`).
   */
  signal?: AbortSignalLike;
  /**
   * ReadIntoSource only: the size of each buffer read into (1..2^30).
   * @defaultValue 1048576 (1 MiB)
   */
  bufferSize?: number;
}

/**
 * Rewrites the stored configuration of a save file read from any byte
 * source (the contract of every async entry point: see `ByteSource` in
 * `xen-migration-stream/io`), yielding the output chunks (see
 * {@link ConfigRewriter}).
 *
 * @param source - the input: a Uint8Array, (async) iterable of Uint8Array
 * chunks, ReadableStream or ReadIntoSource
 * @param config - the new configuration
 * @param options - limits, `signal`, `bufferSize`
 * @returns an async generator of output chunks
 * @throws {@link XenStreamError} USAGE for invalid options or config (at
 * the call); from the generator: as {@link ConfigRewriter}, USAGE for a
 * source that is none or a chunk that is not a Uint8Array, and
 * `signal.reason` when aborted
 *
 * @example
 * ```ts
 * import { rewriteSavedConfig } from "xen-migration-stream";
 * for await (const chunk of rewriteSavedConfig(fileChunks, newJson)) out.write(chunk);
 * ```
 */
export function rewriteSavedConfig(
  source: ByteSource,
  config: ConfigInput,
  options?: RewriteSavedConfigOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const checked = checkSourceOptions(options, "rewriteSavedConfig");
  return rewriteChunks(source, new ConfigRewriter(config, checked), checked);
}

async function* rewriteChunks(source: ByteSource, rewriter: ConfigRewriter, options: RewriteSavedConfigOptions): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of sourceChunks(source, options, "rewriteSavedConfig source")) for (const out of rewriter.push(chunk)) yield out;
  throwIfAborted(options.signal);
  for (const out of rewriter.end()) yield out;
}
