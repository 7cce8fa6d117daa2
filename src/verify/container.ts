/**
 * What the verifier's summary says about the container around the stream
 * (libvirt's libxl-driver header, a xenopsd suspend image), folded from the
 * container events.
 *
 * @module
 * @internal
 */
import type { SaveFileEvent } from "../savefile.js";
import { libvirtXmlText } from "../libvirt/header.js";

/** One xenopsd chunk, for the summary. */
export interface ContainerChunkSummary {
  /** Chunk type (xenopsd's constructor name). */
  type: string;
  /** Absolute offset of the chunk header. */
  offset: number;
  /** The length field (as a number; xenopsd writes 0 for stream chunks and the footer). */
  length: number;
}

/** The container around the stream, for `--verbose` and JSON. */
export interface ContainerSummary {
  /** Which container. */
  kind: "libvirt" | "xenopsd";
  /** libvirt: the header's fields. */
  libvirt?: {
    version: number;
    byteOrder: "little" | "big";
    /** xmlLen: the XML's bytes, its NUL included. */
    xmlLength: number;
    /** The domain name from the XML's first `<name>` element, when there is one. */
    domainName?: string;
    /** What follows, as read: a libxl v2 stream or a legacy stream. */
    stream: "libxl" | "legacy";
  };
  /** xenopsd: the layout, the chunks and the Xenops record. */
  xenopsd?: {
    layout: "structured" | "legacy";
    chunks: ContainerChunkSummary[];
    /** The Xenops record's fields, when it parsed. */
    record?: { time: string; wordSize: number; vmStrLength?: number; xsSubtreeEntries?: number };
    /** The legacy layout's QEMU record length, when present. */
    legacyQemuLength?: number;
  };
  /** Bytes of a legacy stream inside the container (converted to v2 for verification). */
  legacyBytes?: number;
}

/** At most this many chunks are listed in the summary (hostile images cannot grow it). */
const MAX_LISTED_CHUNKS = 64;

/**
 * The summary after `event`, or undefined when the event is not a
 * container's (and nothing was summarised before). @internal
 */
export function observeContainer(summary: ContainerSummary | undefined, event: SaveFileEvent): ContainerSummary | undefined {
  switch (event.layer) {
    case "libvirt": {
      const { header } = event;
      const name = /<name>([^<]*)<\/name>/.exec(libvirtXmlText(header))?.[1];
      return {
        kind: "libvirt",
        libvirt: {
          version: header.version,
          byteOrder: header.byteOrder,
          xmlLength: header.xml.length,
          ...(name === undefined ? {} : { domainName: name.trim() }),
          stream: event.stream,
        },
      };
    }
    case "xenopsd": {
      if (event.kind === "signature") return { kind: "xenopsd", xenopsd: { layout: event.layout, chunks: [] } };
      const xenopsd = summary?.xenopsd;
      if (summary === undefined || xenopsd === undefined) return summary;
      if (event.kind === "legacyQemu") {
        xenopsd.legacyQemuLength = event.qemu.body.length;
        return summary;
      }
      if (xenopsd.chunks.length < MAX_LISTED_CHUNKS) xenopsd.chunks.push({ type: event.chunk.type, offset: event.offset, length: Number(event.chunk.length) });
      const record = event.record;
      if (record !== undefined && xenopsd.record === undefined) {
        xenopsd.record = {
          time: record.time,
          wordSize: record.wordSize,
          ...(record.vmStr === undefined ? {} : { vmStrLength: record.vmStr.length }),
          ...(record.xsSubtree === undefined ? {} : { xsSubtreeEntries: record.xsSubtree.length }),
        };
      }
      return summary;
    }
    case "legacy":
      if (summary !== undefined && event.kind === "payload") summary.legacyBytes = (summary.legacyBytes ?? 0) + event.bytes.length;
      return summary;
    default:
      return summary;
  }
}
