/**
 * The containers around a stream: libvirt's libxl-driver save header and
 * the XAPI/xenopsd suspend image. What libvirt's and xenopsd's restore code
 * would refuse, what they write differently, and whether the container's
 * version agrees with the stream inside. A legacy stream inside a container
 * is converted to v2 (as libxl and xenopsd do) and the result verified with
 * the same rules; those findings are reported at the legacy stream's
 * offset, their messages giving the offset within the converted stream.
 *
 * Sources: libvirt src/libxl/libxl_domain.c libxlDomainSaveImageOpen(),
 * src/libxl/libxl_driver.c libxlDoDomainSave(); xen-api
 * ocaml/xenopsd/xc/domain.ml restore_common / suspend, suspend_image.ml
 * (guides/container-libvirt.md, guides/container-xapi.md).
 *
 * @module
 * @internal
 */
import { containerLegacyConverter, type LegacyConverter } from "../../legacy/convert.js";
import type { XenopsdChunkEvent } from "../../savefile.js";
import { libvirtXmlText } from "../../libvirt/header.js";
import { XENOPSD_CHUNK_HEADER_SIZE } from "../../xenopsd/constants.js";
import { StreamVerifier } from "../verifier.js";
import type { Finding } from "../types.js";
import { BOTH_INFO, type Rule, type RuleContext } from "../rule.js";
import type { VerifyState } from "../state.js";

/** xenopsd's consume_qemu_record refuses a QEMU record longer than 1 MiB. */
const XENOPSD_QEMU_LIMIT = 1_048_576;

interface ContainerTrack {
  chunks: number;
  xenops: number;
  streams: number;
  firstStreamBeforeXenops: boolean;
  structured: boolean;
  legacyOffset: number;
  converter: LegacyConverter | undefined;
  nested: StreamVerifier | undefined;
  nestedFailure: string | undefined;
}

const tracks = new WeakMap<VerifyState, ContainerTrack>();

function track(state: VerifyState): ContainerTrack {
  let found = tracks.get(state);
  if (found === undefined) {
    found = {
      chunks: 0,
      xenops: 0,
      streams: 0,
      firstStreamBeforeXenops: false,
      structured: false,
      legacyOffset: -1,
      converter: undefined,
      nested: undefined,
      nestedFailure: undefined,
    };
    tracks.set(state, found);
  }
  return found;
}

const libvirtHeader: Rule = {
  name: "libvirt-header",
  code: "CONTAINER",
  severity: { spec: "warning", restore: "error" },
  description:
    "libvirt header: version 1 or 2 agreeing with the stream (1 = legacy, 2 = libxl v2; libxl reads only 1 as legacy), unused words zero, NUL-terminated domain XML (libxlDomainSaveImageOpen, libxlDoDomainSave).",
  on: ["libvirt:header"],
  check(event, _state, context) {
    if (event.layer !== "libvirt") return;
    const { header, offset } = event;
    if (header.version === 1 && event.stream === "libxl") {
      context.report("libvirt header version 1 announces a legacy stream, but a libxl v2 stream follows: libxl would run the legacy converter on it and fail", {
        offset: offset + 16,
        severity: "error",
      });
    }
    if (header.version === 0) {
      context.report("libvirt header version 0: libvirt accepts it (it only refuses > 2) and libxl reads a v2 stream, but libvirt writes 1 or 2", {
        offset: offset + 16,
        severity: "warning",
      });
    }
    if (header.byteOrder === "big") context.report("big-endian libvirt header (written on a big-endian host)", { code: "BIG_ENDIAN", offset: offset + 16, severity: "warning" });
    const unused = header.unused.findIndex((word) => word !== 0);
    if (unused >= 0) {
      context.report(`libvirt header unused[${unused}] = 0x${(header.unused[unused] as number).toString(16)}: libvirt writes zeros`, {
        code: "RESERVED_NONZERO",
        offset: offset + 24 + 4 * unused,
        severity: "warning",
      });
    }
    const nul = header.xml.indexOf(0);
    const xmlAt = offset + 64;
    if (nul < 0) {
      context.report(`the ${header.xml.length}-byte domain XML has no terminating NUL: libvirt parses a buffer that is not a C string`, {
        offset: xmlAt,
        severity: "error",
      });
    } else if (nul < header.xml.length - 1) {
      context.report(`${header.xml.length - 1 - nul} bytes after the XML's NUL inside xmlLen (libvirt writes xmlLen = strlen + 1)`, {
        offset: xmlAt + nul,
        severity: "warning",
      });
    }
    if (!/^\s*</.test(libvirtXmlText(header))) {
      context.report("the domain XML does not start with an element: virDomainDefParseString would fail", { offset: xmlAt, severity: "error" });
    }
  },
};

const xenopsdSignature: Rule = {
  name: "xenopsd-signature",
  code: "CONTAINER",
  severity: BOTH_INFO,
  description:
    'xenopsd legacy layout ("XenSavedDomain\\n"): xenopsd pipes it through convert-legacy-stream --skip-qemu; no Xenops record, no footer (domain.ml restore_common).',
  on: ["xenopsd:signature"],
  check(event, state, context) {
    if (event.layer !== "xenopsd" || event.kind !== "signature") return;
    track(state).structured = event.layout === "structured";
    if (event.layout === "legacy") context.report('legacy xenopsd suspend image ("XenSavedDomain\\n"): a pre-2014 layout with a legacy libxc stream');
  },
};

function checkChunk(event: XenopsdChunkEvent, state: VerifyState, context: RuleContext): void {
  const seen = track(state);
  const { chunk, offset } = event;
  seen.chunks += 1;
  const lengthAt = offset + 8;
  switch (chunk.type) {
    case "Xenops":
      seen.xenops += 1;
      if (seen.xenops > 1) context.report("a second Xenops record (xenopsd writes one, first)", { code: "DUPLICATE_RECORD", severity: "warning" });
      if (event.recordError !== undefined) {
        context.report(`the Xenops record does not parse, xenopsd's restore fails (Xenops_record.of_string): ${event.recordError.reason}`, {
          offset: event.recordError.offset,
          severity: "error",
        });
      } else if (event.record !== undefined) {
        const { wordSize, extraFields } = event.record;
        if (wordSize !== 64 && wordSize !== 32) context.report(`Xenops record word_size ${wordSize}: xenopsd writes Sys.word_size (64 or 32)`, { severity: "warning" });
        if (extraFields !== undefined) {
          context.report(`Xenops record fields ${extraFields.map(([name]) => name).join(", ")} are not in Xenops_record.t: Sexplib's of_string refuses extra fields`, {
            offset: offset + XENOPSD_CHUNK_HEADER_SIZE,
          });
        }
      }
      return;
    case "Libxc":
    case "Libxl":
    case "Libxc_legacy":
      seen.streams += 1;
      if (seen.xenops === 0 && seen.streams === 1) seen.firstStreamBeforeXenops = true;
      if (seen.streams > 1) context.report(`a second stream chunk (${chunk.type}): xenopsd writes one memory image per image`, { severity: "error" });
      if (chunk.length !== 0n) {
        context.report(`${chunk.type} chunk length ${chunk.length}: xenopsd writes 0 (the stream delimits itself) and ignores the field`, {
          offset: lengthAt,
          severity: "warning",
        });
      }
      if (chunk.type === "Libxl") {
        context.report("a Libxl chunk: defined, but xenopsd's restore refuses it (Suspend_image_failure)", {
          severity: state.profile === "restore" ? "error" : "warning",
        });
      }
      return;
    case "Qemu_xen":
      context.report("a Qemu_xen chunk: defined, but xenopsd's restore refuses it (Suspend_image_failure)", {
        severity: state.profile === "restore" ? "error" : "warning",
      });
      return;
    case "Qemu_trad":
      if ((chunk.body?.length ?? 0) > XENOPSD_QEMU_LIMIT) {
        context.report(`Qemu_trad record of ${chunk.body?.length ?? 0} bytes: xenopsd's consume_qemu_record refuses more than 1 MiB`, {
          code: "BAD_SIZE",
          offset: lengthAt,
          severity: state.profile === "restore" ? "error" : "warning",
        });
      }
      return;
    case "End_of_image":
      if (chunk.length !== 0n) context.report(`End_of_image length ${chunk.length}: xenopsd writes 0`, { offset: lengthAt, severity: "warning" });
      return;
    default:
      return;
  }
}

const xenopsdChunks: Rule = {
  name: "xenopsd-chunks",
  code: "CONTAINER",
  severity: { spec: "warning", restore: "error" },
  description:
    "xenopsd chunks: a Xenops record that parses, one stream chunk (Libxc, or Libxc_legacy) written with length 0, no Libxl/Qemu_xen (restore refuses them), Qemu_trad at most 1 MiB, an End_of_image footer of length 0 (domain.ml restore_common, suspend).",
  on: ["xenopsd:chunk"],
  check(event, state, context) {
    if (event.layer === "xenopsd" && event.kind === "chunk") checkChunk(event, state, context);
  },
  finish(state, context) {
    const seen = tracks.get(state);
    if (seen === undefined || !seen.structured) return;
    if (seen.streams === 0) {
      context.report("no Libxc or Libxc_legacy chunk: the image holds no memory image (\"well formed, but useless\")", { offset: 15, layer: "xenopsd", severity: "error" });
    }
    if (seen.xenops === 0) context.report("no Xenops record: xenopsd writes one first", { offset: 15, layer: "xenopsd", severity: "warning" });
    else if (seen.firstStreamBeforeXenops) context.report("the Xenops record follows the stream chunk: xenopsd writes it first", { offset: 15, layer: "xenopsd", severity: "info" });
  },
};

function forwardNested(findings: readonly Finding[], at: number, context: RuleContext): void {
  for (const finding of findings) {
    context.report(`in the converted v2 stream at offset ${finding.offset}: ${finding.message}`, {
      code: finding.code,
      severity: finding.severity,
      offset: at,
      layer: "legacy",
    });
  }
}

const legacyInside: Rule = {
  name: "legacy-inside-container",
  code: "CONTAINER",
  severity: BOTH_INFO,
  description:
    "A legacy stream inside a container (libvirt version 1, xenopsd Libxc_legacy or legacy layout) is converted to v2 as libxl / xenopsd would, and the result verified by the same rules.",
  on: ["legacy:payload"],
  check(event, state, context) {
    if (event.layer !== "legacy" || event.kind !== "payload") return;
    const seen = track(state);
    if (seen.converter === undefined) {
      seen.legacyOffset = event.offset;
      seen.converter = containerLegacyConverter(event.convertsTo);
      seen.nested = new StreamVerifier({ profile: state.profile });
      context.report(`legacy (Xen <= 4.5) stream inside the container: converted to a ${event.convertsTo} v2 stream for verification`);
    }
    if (seen.nestedFailure !== undefined) return;
    try {
      // A copy: the caller may reuse the buffer behind event.bytes once push returns,
      // and the converter (so the nested decoder too) keeps views of what it holds.
      for (const part of seen.converter.push(event.bytes.slice())) seen.nested?.push(part);
    } catch (error) {
      seen.nestedFailure = error instanceof Error ? error.message : String(error);
    }
  },
  finish(state, context) {
    const seen = tracks.get(state);
    if (seen?.converter === undefined || seen.nested === undefined) return;
    if (seen.nestedFailure === undefined) {
      try {
        for (const part of seen.converter.end()) seen.nested.push(part);
      } catch (error) {
        seen.nestedFailure = error instanceof Error ? error.message : String(error);
      }
    }
    if (seen.nestedFailure !== undefined) {
      context.report(`the legacy stream does not convert: ${seen.nestedFailure}`, { offset: seen.legacyOffset, layer: "legacy", severity: "error" });
      return;
    }
    const nested = seen.nested.end();
    // The stream's counts and headers are the converted stream's: the
    // container's own events carry no records (info and stats show them).
    state.convertedSummary = nested.summary;
    forwardNested(nested.findings, seen.legacyOffset, context);
  },
};

/** Every container rule. @internal */
export const containerRules: readonly Rule[] = [libvirtHeader, xenopsdSignature, xenopsdChunks, legacyInside];
