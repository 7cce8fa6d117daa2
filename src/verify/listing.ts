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
import { DomainType } from "../libxc/constants.js";
import { isBigEndianImage } from "../libxc/header.js";
import { LIBXL_OPT_BIG_ENDIAN, LIBXL_OPT_LEGACY } from "../libxl/constants.js";
import type { ContainerEvent, SaveFileEvent } from "../savefile.js";
import { hex32 } from "../wire/frame.js";
import { libvirtXmlText } from "../libvirt/header.js";

/** Display names of libxc record types, as the reference prints them. */
const LIBXC_NAMES: Readonly<Record<string, string>> = {
  END: "End",
  PAGE_DATA: "Page data",
  X86_PV_INFO: "x86 PV info",
  X86_PV_P2M_FRAMES: "x86 PV P2M frames",
  X86_PV_VCPU_BASIC: "x86 PV vcpu basic",
  X86_PV_VCPU_EXTENDED: "x86 PV vcpu extended",
  X86_PV_VCPU_XSAVE: "x86 PV vcpu xsave",
  SHARED_INFO: "Shared info",
  X86_TSC_INFO: "TSC info",
  HVM_CONTEXT: "HVM context",
  HVM_PARAMS: "HVM params",
  TOOLSTACK: "Toolstack",
  X86_PV_VCPU_MSRS: "x86 PV vcpu msrs",
  VERIFY: "Verify",
  CHECKPOINT: "Checkpoint",
  CHECKPOINT_DIRTY_PFN_LIST: "Checkpoint dirty pfn list",
  STATIC_DATA_END: "Static data end",
  X86_CPUID_POLICY: "x86 CPUID policy",
  X86_MSR_POLICY: "x86 MSR policy",
};

const LIBXL_NAMES: Readonly<Record<string, string>> = {
  END: "End",
  LIBXC_CONTEXT: "Libxc context",
  EMULATOR_XENSTORE_DATA: "Emulator xenstore data",
  EMULATOR_CONTEXT: "Emulator context",
  CHECKPOINT_END: "Checkpoint end",
  CHECKPOINT_STATE: "Checkpoint state",
};

const EMULATOR_NAMES: readonly string[] = ["Unknown", "Qemu Traditional", "Qemu Upstream"];

const VCPU_KIND: Readonly<Record<string, string>> = {
  X86_PV_VCPU_BASIC: "basic",
  X86_PV_VCPU_EXTENDED: "extended",
  X86_PV_VCPU_XSAVE: "xsave",
  X86_PV_VCPU_MSRS: "msrs",
};

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

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i] as number);
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
      const name = record.type === "UNKNOWN" ? `Unknown optional ${hex32(record.typeId)}` : LIBXL_NAMES[record.type];
      emit(`Libxl Record: ${name}, length ${event.bodyLength}`);
      if (record.type === "EMULATOR_XENSTORE_DATA") {
        emit(`Emulator Xenstore Data (${EMULATOR_NAMES[record.emulatorId] ?? record.emulatorId}, idx ${record.index})`);
        for (const [key, value] of record.entries) emit(`  '${latin1(key)}' = '${latin1(value)}'`);
      } else if (record.type === "EMULATOR_CONTEXT") {
        emit(`  Index ${record.index}, type ${EMULATOR_NAMES[record.emulatorId] ?? record.emulatorId}`);
      }
      return;
    }
    const record = event.record;
    if (record.type === "PAGE_DATA") {
      this.squashed += 1;
      return;
    }
    this.flush();
    const name = record.type === "UNKNOWN" ? `Unknown optional ${hex32(record.typeId)}` : LIBXC_NAMES[record.type];
    emit(`Libxc Record: ${name}, length ${event.bodyLength}`);
    switch (record.type) {
      case "X86_PV_INFO":
        emit(`  ${record.guestWidth * 8}bit guest, ${record.ptLevels} levels of pagetables`);
        break;
      case "X86_PV_P2M_FRAMES":
        emit(`  Start pfn 0x${record.startPfn.toString(16)}, End 0x${record.endPfn.toString(16)}`);
        break;
      case "X86_PV_VCPU_BASIC":
      case "X86_PV_VCPU_EXTENDED":
      case "X86_PV_VCPU_XSAVE":
      case "X86_PV_VCPU_MSRS": {
        const kind = VCPU_KIND[record.type] as string;
        if (record.context.length === 0) emit(`Warning: X86_PV_VCPU_${kind} record with zero content`);
        emit(`  vcpu${record.vcpuId} ${kind} context, ${record.context.length} bytes`);
        break;
      }
      case "X86_TSC_INFO":
        emit(`  Mode ${record.mode}, ${record.khz} kHz, ${record.nsec} ns, incarnation ${record.incarnation}`);
        break;
      case "HVM_PARAMS":
        if (record.params.length === 0) emit("Warning: HVM_PARAMS record with zero content");
        break;
      default:
        break;
    }
  }

  /** Emits a pending squash line (at the end of the stream). */
  end(): void {
    this.flush();
  }
}
