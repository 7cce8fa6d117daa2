/**
 * The verbose listing, line for line as Xen's `verify-stream-v2 -v` prints
 * it for a valid stream (runs of PAGE_DATA squashed into one line), so the
 * two can be compared. Differences on purpose: the endianness printed is
 * the real one (the reference always says "little", disagreement 16);
 * records the reference cannot reach (optional records, checkpoints
 * followed across libxl) get lines in the same style.
 *
 * @module
 * @internal
 */
import { forEachXenstorePair, hvmParamCount } from "./entries.js";
import { LIBXC_REGISTRY } from "../libxc/codec.js";
import { DomainType, type LibxcRecordTypeName } from "../libxc/constants.js";
import { isBigEndianImage } from "../libxc/header.js";
import type { LibxcRecord, X86PvVcpuRecord } from "../libxc/types.js";
import { LIBXL_REGISTRY } from "../libxl/codec.js";
import { LIBXL_OPT_BIG_ENDIAN, LIBXL_OPT_LEGACY, type LibxlRecordTypeName } from "../libxl/constants.js";
import type { LibxlRecord } from "../libxl/types.js";
import type { ContainerEvent, SaveFileEvent } from "../savefile.js";
import type { RecordNamed } from "../wire/codec.js";
import { hex32 } from "../wire/frame.js";
import { libvirtXmlText } from "../libvirt/header.js";

const EMULATOR_NAMES: readonly string[] = ["Unknown", "Qemu Traditional", "Qemu Upstream"];

/** The lines a record type adds under its "Record:" line, where the reference prints any. */
type Details<R> = (record: R, emit: (line: string) => void) => void;

/** The kind word of a PV vCPU record, as the reference prints it ("basic", ...). */
function vcpuKind(type: string): string {
  return type.slice("X86_PV_VCPU_".length).toLowerCase();
}

const vcpuDetails: Details<X86PvVcpuRecord> = (record, emit) => {
  const kind = vcpuKind(record.type);
  if (record.context.length === 0) emit(`Warning: X86_PV_VCPU_${kind} record with zero content`);
  emit(`  vcpu${record.vcpuId} ${kind} context, ${record.context.length} bytes`);
};

/**
 * Detail lines per libxc record type (verify-stream-v2's libxc.py). A type
 * without an entry prints only its "Libxc Record:" line, as in the
 * reference.
 */
const LIBXC_DETAILS: { readonly [N in LibxcRecordTypeName]?: Details<RecordNamed<LibxcRecord, N>> } = {
  X86_PV_INFO: (record, emit) => emit(`  ${record.guestWidth * 8}bit guest, ${record.ptLevels} levels of pagetables`),
  X86_PV_P2M_FRAMES: (record, emit) => emit(`  Start pfn 0x${record.startPfn.toString(16)}, End 0x${record.endPfn.toString(16)}`),
  X86_PV_VCPU_BASIC: vcpuDetails,
  X86_PV_VCPU_EXTENDED: vcpuDetails,
  X86_PV_VCPU_XSAVE: vcpuDetails,
  X86_PV_VCPU_MSRS: vcpuDetails,
  X86_TSC_INFO: (record, emit) => emit(`  Mode ${record.mode}, ${record.khz} kHz, ${record.nsec} ns, incarnation ${record.incarnation}`),
  HVM_PARAMS: (record, emit) => {
    if (hvmParamCount(record) === 0) emit("Warning: HVM_PARAMS record with zero content");
  },
};

/** Detail lines per libxl record type (libxl.py). */
const LIBXL_DETAILS: { readonly [N in LibxlRecordTypeName]?: Details<RecordNamed<LibxlRecord, N>> } = {
  EMULATOR_XENSTORE_DATA: (record, emit) => {
    emit(`Emulator Xenstore Data (${EMULATOR_NAMES[record.emulatorId] ?? record.emulatorId}, idx ${record.index})`);
    forEachXenstorePair(record, (keyBytes, keyStart, keyEnd, valueBytes, valueStart, valueEnd) =>
      emit(`  '${latin1(keyBytes, keyStart, keyEnd)}' = '${latin1(valueBytes, valueStart, valueEnd)}'`),
    );
  },
  EMULATOR_CONTEXT: (record, emit) => emit(`  Index ${record.index}, type ${EMULATOR_NAMES[record.emulatorId] ?? record.emulatorId}`),
};

/** The detail function of a record, typed for its record. */
function detailsOf<R extends { type: string }>(table: { readonly [name: string]: Details<never> | undefined }, record: R): Details<R> | undefined {
  return table[record.type] as Details<R> | undefined;
}

/** The listing lines of a container event (libvirt header, xenopsd signature and chunks). */
function containerLines(event: ContainerEvent, emit: (line: string) => void): void {
  if (event.layer === "libvirt") {
    const { header } = event;
    const name = /<name>([^<]*)<\/name>/.exec(libvirtXmlText(header))?.[1];
    emit(`Libvirt Header: version ${header.version}, ${header.byteOrder} endian, XML ${header.xml.length} bytes, ${event.stream} stream follows`);
    if (name !== undefined) emit(`  domain ${name.trim()}`);
  } else if (event.layer === "legacy") {
    return;
  } else if (event.kind === "signature") {
    emit(`Xenopsd Signature: ${event.layout === "structured" ? '"XenSavedDomv2-\\n" (structured)' : '"XenSavedDomain\\n" (legacy)'}`);
  } else if (event.kind === "legacyQemu") {
    emit(`Xenopsd legacy QEMU record, length ${event.qemu.body.length}`);
  } else {
    emit(`Xenopsd Chunk: ${event.chunk.type}, length ${event.chunk.length}`);
    const record = event.record;
    if (record !== undefined) emit(`  time ${record.time}, word_size ${record.wordSize}${record.vmStr === undefined ? "" : `, vm_str ${record.vmStr.length} chars`}`);
  }
}

function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i] as number);
  return text;
}

/** Builds the listing from events, squashing PAGE_DATA runs. @internal */
export class Listing {
  private squashed = 0;
  private readonly emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.emit = emit;
  }

  private flush(): void {
    if (this.squashed > 0) {
      this.emit(`Squashed ${this.squashed} Page Data records together`);
      this.squashed = 0;
    }
  }

  /** Adds the lines of one event. */
  add(event: SaveFileEvent): void {
    const emit = this.emit;
    if (event.layer === "xl") {
      emit("Processed xl header");
      return;
    }
    if (event.layer === "libvirt" || event.layer === "xenopsd" || event.layer === "legacy") {
      containerLines(event, emit);
      return;
    }
    if (event.kind === "header" && event.layer === "libxl") {
      const { options } = event.header;
      const endian = (options & LIBXL_OPT_BIG_ENDIAN) !== 0 ? "big" : "little";
      emit(`Libxl Header: ${endian} endian${(options & LIBXL_OPT_LEGACY) !== 0 ? ", legacy converted" : ""}`);
      return;
    }
    if (event.kind === "imageHeader") {
      const endian = isBigEndianImage(event.header) ? "big" : "little";
      emit(`Libxc Image Header: Version ${event.header.version}, ${endian} endian`);
      return;
    }
    if (event.kind === "domainHeader") {
      const { type, xenMajor, xenMinor } = event.header;
      const name = type === DomainType.X86_PV ? "x86 PV" : "x86 HVM";
      emit(xenMajor === 0 ? `Domain Header: legacy converted ${name}` : `Domain Header: ${name} from Xen ${xenMajor}.${xenMinor}`);
      return;
    }
    if (event.kind !== "record") return;
    if (event.layer === "libxl") {
      this.flush();
      const record = event.record;
      if (record.type === "UNKNOWN") {
        emit(`Libxl Record: Unknown optional ${hex32(record.typeId)}, length ${event.bodyLength}`);
        return;
      }
      emit(`Libxl Record: ${LIBXL_REGISTRY[record.type].display}, length ${event.bodyLength}`);
      detailsOf(LIBXL_DETAILS, record)?.(record, emit);
      return;
    }
    const record = event.record;
    if (record.type === "PAGE_DATA") {
      this.squashed += 1;
      return;
    }
    this.flush();
    if (record.type === "UNKNOWN") {
      emit(`Libxc Record: Unknown optional ${hex32(record.typeId)}, length ${event.bodyLength}`);
      return;
    }
    emit(`Libxc Record: ${LIBXC_REGISTRY[record.type].display}, length ${event.bodyLength}`);
    detailsOf(LIBXC_DETAILS, record)?.(record, emit);
  }

  /** Emits a pending squash line (at the end of the stream). */
  end(): void {
    this.flush();
  }
}
