/**
 * The legacy (Xen <= 4.5) vectors of spec-vectors/legacy/: legacy inputs
 * with, for each converter mode tested, the expected migration-v2 output.
 *
 * The inputs and the expected outputs are the converter engineer's
 * hand-built bytes of test/legacy/vectors.ts and test/legacy/legacy-bytes.ts
 * (laid out field by field from legacy-stream.md §3-§9 and §12.2), imported,
 * never copied. Each expected output is marked with where it comes from:
 *
 * - `convert-legacy-stream`: Xen's reference converter produces exactly
 *   these bytes. The generator (scripts/gen-vectors.ts) runs it and fails
 *   when its output differs from the hand-built bytes, or when it is
 *   missing; so the committed file is the reference's output, and the
 *   freshness test (which has no reference) reproduces it from the
 *   hand-built bytes.
 * - `intent`: the reference cannot produce the output (reference-tool-bugs.md
 *   B1, B3, B11); the bytes are what legacy-stream.md §12 and the 4.5
 *   restorer say, and the manifest records the bug and why. For B1 the
 *   generator still runs the reference on the input without its xl header
 *   and checks that the hand-built output is the xl header followed by that.
 *
 * Rejected inputs carry their error code and offset, computed here from the
 * layout, for every mode listed; the generator checks that the reference
 * rejects them too. For B3 it checks that the reference's output is the
 * expected one plus an empty PAGE_DATA; for B11 that the reference still
 * gives up.
 *
 * @module
 */
import { cat, le32, le64 } from "../helpers/hex.js";
import { LIBXC_CONTEXT, LIBXL_HEADER, END, ascii, i32, rec, xlHeader } from "../legacy/legacy-bytes.js";
import { hvmParts, pvVector, TSC_CHUNK } from "../legacy/vectors.js";

/** A converter mode: output format and --skip-qemu (-x is a property of the input: `options.xl`). */
export const LEGACY_MODES = {
  libxc: { format: "libxc", skipQemu: false },
  "libxc-skip-qemu": { format: "libxc", skipQemu: true },
  libxl: { format: "libxl", skipQemu: false },
} as const;

/** Name of a converter mode (a key of the manifest's `outputs`). */
export type LegacyMode = keyof typeof LEGACY_MODES;

/** The converter inputs fixed by the legacy file itself. */
export interface LegacyVectorOptions {
  /** The legacy toolstack's width (`-w`). */
  width: 32 | 64;
  /** Guest type (`-g`). */
  guest: "pv" | "hvm";
  /** The file starts with an xl save-file header (`-x`). */
  xl: boolean;
}

/** Full options of one conversion run (the reference tool's command line). */
export interface LegacyRunOptions {
  width: 32 | 64;
  guest: "pv" | "hvm";
  format: "libxc" | "libxl";
  xl: boolean;
  skipQemu: boolean;
}

/** Runs Xen's convert-legacy-stream; returns its output, throws on a non-zero exit. */
export type LegacyReference = (input: Uint8Array, options: LegacyRunOptions) => Uint8Array;

/** Reference bugs an expected output may be built around. */
export type LegacyReferenceBug = "B1" | "B3" | "B11";

const BUG_REASONS: Record<LegacyReferenceBug, string> = {
  B1: "B1: convert-legacy-stream -x never works under Python 3 (the xl magic is compared as text with bytes: \"No xl header\", exit 1). Expected: the xl header copied (STREAMv2 mandatory flag 0x2 added for libxl output, legacy-stream.md §12.4) followed by the reference's output for the same stream without the header (the generator checks that part).",
  B3: "B3: the reference turns a page batch of bare XTAB entries into a PAGE_DATA record with count 0, which the spec forbids. Expected: the same stream without that record (the 4.5 restorer drops such entries, legacy-stream.md §12.3).",
  B11: "B11: the reference gives up (\"todo\", exit 2) on the QemuDeviceModelRecord signature. Expected: libxc output copies the record raw after END; libxl output carries the QEMU state, up to the end of the stream, as EMULATOR_CONTEXT (legacy-stream.md §8, §12.2).",
};

/** One expected output of a valid legacy vector. */
interface OutputDef {
  /** Hand-built expected bytes. */
  bytes: Uint8Array;
  /** Set when the reference cannot produce `bytes`. */
  bug?: LegacyReferenceBug;
  /** B1: what the reference is run on instead, and the header to put in front of its output. */
  headerless?: { input: Uint8Array; header: Uint8Array };
}

interface LegacyDefBase {
  name: string;
  description: string;
  spec: string[];
  input: Uint8Array;
  options: LegacyVectorOptions;
}

interface ValidLegacyDef extends LegacyDefBase {
  outputs: Partial<Record<LegacyMode, OutputDef>>;
}

interface InvalidLegacyDef extends LegacyDefBase {
  modes: LegacyMode[];
  expect: { code: string; offset: number };
}

type LegacyDef = ValidLegacyDef | InvalidLegacyDef;

/** The manifest's description of one converter mode of a legacy vector. */
export interface LegacyOutputEntry {
  format: "libxc" | "libxl";
  skipQemu: boolean;
  /** The expected v2 bytes (valid vectors only). */
  file?: string;
  /** Where the expected bytes come from (valid vectors only). */
  expected?: "convert-legacy-stream" | "intent";
  referenceBug?: LegacyReferenceBug;
  reason?: string;
}

/** A legacy manifest entry, as catalogue.ts writes it. */
export interface LegacyManifestEntry {
  name: string;
  file: string;
  layer: "legacy";
  options: LegacyVectorOptions;
  expect: "valid" | { code: string; offset: number };
  outputs: Partial<Record<LegacyMode, LegacyOutputEntry>>;
  source: "generated";
  description: string;
  spec: string[];
}

const LEGACY_SPEC = "legacy-stream.md";

// ------------------------------------------------------------- building

/** The xl header at the start of `input`: 48 bytes plus optional_data_len (xl-header.md §1). */
function xlHeaderOf(input: Uint8Array): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  return input.slice(0, 48 + view.getUint32(44, true));
}

/** The header the converter writes: copied, with STREAMv2 (mandatory flag 0x2) added for libxl (§12.4). */
function xlHeaderOut(input: Uint8Array, format: "libxc" | "libxl"): Uint8Array {
  const header = xlHeaderOf(input);
  if (format === "libxl") {
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    view.setUint32(36, view.getUint32(36, true) | 2, true);
  }
  return header;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** hvmParts' body without its TOOLSTACK (-18) chunk: an HVM stream with no physmap. */
function withoutPhysmap(body: Uint8Array, width: 32 | 64): Uint8Array {
  // physmap: version u32, count u32, one entry (3 u64, u32 name length, "vga.vram\0"), 4 bytes of struct padding on 64-bit.
  const physmapLength = 4 + 4 + 8 + 8 + 8 + 4 + 9 + (width === 64 ? 4 : 0);
  const at = indexOf(body, cat(i32(-18), le32(physmapLength), le32(1), le32(1)));
  if (at < 0) throw new Error("hvmParts changed: no TOOLSTACK chunk");
  return cat(body.subarray(0, at), body.subarray(at + 8 + physmapLength));
}

/** The libxl output of an HVM stream: header, LIBXC_CONTEXT, libxc, the emulator records, END (§12.2). */
const libxlHvm = (libxc: Uint8Array, ...emulator: Uint8Array[]): Uint8Array => cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, ...emulator, END);
const EMULATOR_CONTEXT = (state: Uint8Array): Uint8Array => rec(3, le32(0), le32(0), state);

function legacyDefs(): LegacyDef[] {
  const defs: LegacyDef[] = [];
  const pvSpec = [`${LEGACY_SPEC} §4`, `${LEGACY_SPEC} §5`, `${LEGACY_SPEC} §7.1`, `${LEGACY_SPEC} §12.2`, `${LEGACY_SPEC} §12.3`];
  const hvmSpec = [`${LEGACY_SPEC} §5`, `${LEGACY_SPEC} §7.2`, `${LEGACY_SPEC} §8`, `${LEGACY_SPEC} §9`, `${LEGACY_SPEC} §12.2`];

  // PV, 64-bit toolstack, 64-bit guest; PV, 32-bit toolstack, 32-bit guest.
  for (const [width, guestWidth] of [[64, 8], [32, 4]] as const) {
    const libxc = pvVector(width, guestWidth, "libxc");
    defs.push({
      name: `legacy/valid/pv${width}`,
      description: `PV, ${width}-bit toolstack, ${guestWidth * 8}-bit guest, 2 vCPUs: extended info (vcpu, extv, xcnt), p2m frame list, TSC, one page batch with a bare XTAB (dropped), an L1 page and an XTAB with a pfn, VCPU_INFO, libxl TOOLSTACK without physmap, PV tail with xsave.`,
      spec: pvSpec,
      input: libxc.input,
      options: { width, guest: "pv", xl: false },
      outputs: { libxc: { bytes: libxc.expected }, libxl: { bytes: pvVector(width, guestWidth, "libxl").expected } },
    });
  }

  // HVM, both widths: physmap and DeviceModelRecord0002.
  for (const width of [64, 32] as const) {
    const { body, qemuRecord, libxc, libxlTail } = hvmParts(width);
    defs.push({
      name: `legacy/valid/hvm${width}`,
      description: `HVM, ${width}-bit toolstack: TSC, a page batch with XALLOC, HVM parameter chunks, a libxl physmap (TOOLSTACK), HVM tail, DeviceModelRecord0002. libxc: the QEMU record is copied after END unless skipped; libxl: physmap -> EMULATOR_XENSTORE_DATA, QEMU state -> EMULATOR_CONTEXT.`,
      spec: hvmSpec,
      input: cat(body, qemuRecord),
      options: { width, guest: "hvm", xl: false },
      outputs: {
        libxc: { bytes: cat(libxc, qemuRecord) },
        "libxc-skip-qemu": { bytes: libxc },
        libxl: { bytes: cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, libxlTail) },
      },
    });
  }

  // HVM 64 without physmap (no TOOLSTACK chunk), with its QEMU record.
  {
    const { body, qemuRecord, libxc, qemu } = hvmParts(64);
    defs.push({
      name: "legacy/valid/hvm64-no-physmap",
      description: "HVM, 64-bit toolstack, no TOOLSTACK chunk (no physmap): libxl output has no EMULATOR_XENSTORE_DATA, only EMULATOR_CONTEXT.",
      spec: hvmSpec,
      input: cat(withoutPhysmap(body, 64), qemuRecord),
      options: { width: 64, guest: "hvm", xl: false },
      outputs: {
        libxc: { bytes: cat(libxc, qemuRecord) },
        "libxc-skip-qemu": { bytes: libxc },
        libxl: { bytes: libxlHvm(libxc, EMULATOR_CONTEXT(qemu)) },
      },
    });
  }

  // HVM 64 without a QEMU record (the stream ends after the HVM tail): only --skip-qemu converts it.
  {
    const { body, libxc } = hvmParts(64);
    defs.push({
      name: "legacy/valid/hvm64-no-qemu",
      description: "HVM, 64-bit toolstack, physmap, the stream ending after the HVM tail (no QEMU record): libxc output with --skip-qemu (without it, or with libxl output, the converter needs the QEMU record and reports the stream truncated).",
      spec: [...hvmSpec, `${LEGACY_SPEC} §12.1`],
      input: body,
      options: { width: 64, guest: "hvm", xl: false },
      outputs: { "libxc-skip-qemu": { bytes: libxc } },
    });
  }

  // xl header (Xen 4.5, mandatory flags 0x1 = config JSON) + HVM 32; xl header of Xen < 4.5 (flags 0, config text) + PV 64.
  {
    const hvm = hvmParts(32);
    const pvLibxc = pvVector(64, 8, "libxc");
    const xlCases = [
      {
        name: "legacy/valid/xl-hvm32",
        description: "xl header (mandatory flags 0x1, JSON config) + HVM 32-bit stream with physmap and DeviceModelRecord0002. The header is copied; libxl output adds STREAMv2 (flags 0x1 -> 0x3).",
        header: xlHeader(1, ascii('{"c_info":{"type":"hvm"}}\0')),
        body: cat(hvm.body, hvm.qemuRecord),
        options: { width: 32, guest: "hvm", xl: true } as const,
        outputs: { libxc: cat(hvm.libxc, hvm.qemuRecord), libxl: cat(LIBXL_HEADER, LIBXC_CONTEXT, hvm.libxc, hvm.libxlTail) },
      },
      {
        name: "legacy/valid/xl-pv64-pre45",
        description: "xl header as Xen < 4.5 wrote it (mandatory flags 0, xl config text) + PV 64-bit stream. libxc output copies the header unchanged; libxl output sets STREAMv2 (flags 0 -> 0x2).",
        header: xlHeader(0, ascii("name='x'\n")),
        body: pvLibxc.input,
        options: { width: 64, guest: "pv", xl: true } as const,
        outputs: { libxc: pvLibxc.expected, libxl: pvVector(64, 8, "libxl").expected },
      },
    ];
    for (const xl of xlCases) {
      const input = cat(xl.header, xl.body);
      const outputs: Partial<Record<LegacyMode, OutputDef>> = {};
      for (const mode of ["libxc", "libxl"] as const) {
        const header = xlHeaderOut(input, mode);
        outputs[mode] = { bytes: cat(header, xl.outputs[mode]), bug: "B1", headerless: { input: xl.body, header } };
      }
      defs.push({ name: xl.name, description: xl.description, spec: [`${LEGACY_SPEC} §1.1`, `${LEGACY_SPEC} §12.4`, "xl-header.md §1"], input, options: xl.options, outputs });
    }
  }

  // B3: a batch of bare XTAB entries only (HVM 64), inserted after the TSC chunk.
  {
    const { body, qemuRecord, libxc, libxlTail } = hvmParts(64);
    const insertAt = 8 + TSC_CHUNK.length; // after p2m_size (u64) and the TSC chunk
    const input = cat(body.subarray(0, insertAt), i32(2), le64(0xf000_0000), le64(0xf000_0000), body.subarray(insertAt), qemuRecord);
    defs.push({
      name: "legacy/valid/hvm64-xtab-batch",
      description: "HVM, 64-bit toolstack, with an extra page batch of two bare XTAB entries (0xf0000000) after the TSC chunk: it produces no PAGE_DATA record at all.",
      spec: [`${LEGACY_SPEC} §5.1`, `${LEGACY_SPEC} §12.3`, "reference-tool-bugs.md B3"],
      input,
      options: { width: 64, guest: "hvm", xl: false },
      outputs: { libxc: { bytes: cat(libxc, qemuRecord), bug: "B3" }, libxl: { bytes: cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, libxlTail), bug: "B3" } },
    });
  }

  // B11: xend's QemuDeviceModelRecord: the QEMU state ("QEVM"...) runs to the end of the stream.
  {
    const { body, libxc } = hvmParts(64);
    const state = cat(ascii("QEVM"), le32(0x0000_0003), ascii("xend-qemu-state-to-end-of-stream"));
    const record = cat(ascii("QemuDeviceModelRecord"), state);
    defs.push({
      name: "legacy/valid/hvm64-qemu-xend",
      description: "HVM, 64-bit toolstack, physmap, QEMU state in xend's QemuDeviceModelRecord form (no length: the state runs to the end of the stream).",
      spec: [`${LEGACY_SPEC} §8`, `${LEGACY_SPEC} §12.2`, "reference-tool-bugs.md B11"],
      input: cat(body, record),
      options: { width: 64, guest: "hvm", xl: false },
      outputs: {
        libxc: { bytes: cat(libxc, record), bug: "B11" },
        libxl: { bytes: libxlHvm(libxc, rec(2, le32(0), le32(0), ascii(PHYSMAP_TEXT)), EMULATOR_CONTEXT(state)), bug: "B11" },
      },
    });
  }

  // Rejected: PV 64, page batch entry 2 repeats the pfn of entry 0.
  {
    const { input } = pvVector(64, 8, "libxc");
    // Layout (legacy-stream.md §4, §5.1): p2m_size 8, signature 8, blocks length 4,
    // blocks ("vcpu" 8 + 0x1430 context, "extv" 8, "xcnt" 8 + 4), p2m frame list 8,
    // TSC chunk 24, batch count 4, then the 8-byte entries.
    const entries = 8 + 8 + 4 + (8 + 0x1430 + 8 + 12) + 8 + TSC_CHUNK.length + 4;
    const bad = input.slice();
    bad.set(le64(0), entries + 2 * 8); // entry 2: pfn 0, NOTAB, like entry 0
    defs.push({
      name: "legacy/invalid/pv64-duplicate-pfn",
      description: "PV 64-bit: page batch entry 2 names pfn 0 again (entry 0). The converter refuses at the repeated entry (convert-legacy-stream too: \"Duplicate pfns in batch\"; the generator checks that it fails).",
      spec: [`${LEGACY_SPEC} §5.1`, `${LEGACY_SPEC} §12.7`],
      input: bad,
      options: { width: 64, guest: "pv", xl: false },
      modes: ["libxc", "libxl"],
      expect: { code: "BAD_FIELD", offset: entries + 2 * 8 },
    });
  }

  // Rejected: HVM 64 cut inside the page data of its batch.
  {
    const { body, qemuRecord } = hvmParts(64);
    const cut = 8 + TSC_CHUNK.length + 4 + 2 * 8 + 100; // p2m_size, TSC, count, 2 entries, 100 bytes of the page
    defs.push({
      name: "legacy/invalid/hvm64-truncated",
      description: "HVM 64-bit stream cut 100 bytes into the page data of its first batch (convert-legacy-stream fails too: \"Stream truncated\").",
      spec: [`${LEGACY_SPEC} §5.1`, `${LEGACY_SPEC} §12.6`],
      input: cat(body, qemuRecord).slice(0, cut),
      options: { width: 64, guest: "hvm", xl: false },
      modes: ["libxc", "libxl"],
      expect: { code: "TRUNCATED", offset: cut },
    });
  }
  return defs;
}

/** The physmap as libxl's EMULATOR_XENSTORE_DATA carries it (the text of test/legacy/vectors.ts's libxl tail). */
const PHYSMAP_TEXT = "physmap/f0000000/start_addr\x00f0000000\x00physmap/f0000000/size\x00800000\x00physmap/f0000000/name\x00vga.vram\x00";

// ---------------------------------------------------------- generation

const EMPTY_PAGE_DATA = rec(1, le32(0), le32(0));

function succeeds(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

/**
 * Every legacy file and manifest entry. With `reference`, each output that
 * the reference can produce is produced by it and must equal the hand-built
 * bytes (B1: for the stream without its xl header, and the run with -x must
 * still fail); without it (the freshness test), the hand-built bytes are used.
 */
export function generateLegacyVectors(reference?: LegacyReference): { files: Map<string, Uint8Array>; entries: LegacyManifestEntry[] } {
  const files = new Map<string, Uint8Array>();
  const entries: LegacyManifestEntry[] = [];
  for (const def of legacyDefs()) {
    const file = `${def.name}.bin`;
    files.set(file, def.input);
    const outputs: Partial<Record<LegacyMode, LegacyOutputEntry>> = {};
    if ("modes" in def) {
      for (const mode of def.modes) {
        outputs[mode] = { ...LEGACY_MODES[mode] };
        if (reference !== undefined && succeeds(() => reference(def.input, { ...def.options, ...LEGACY_MODES[mode] }))) {
          throw new Error(`${def.name} (${mode}): convert-legacy-stream accepts this rejected input`);
        }
      }
      entries.push({ name: def.name, file, layer: "legacy", options: def.options, expect: def.expect, outputs, source: "generated", description: def.description, spec: def.spec });
      continue;
    }
    for (const [mode, output] of Object.entries(def.outputs) as Array<[LegacyMode, OutputDef]>) {
      const run: LegacyRunOptions = { ...def.options, ...LEGACY_MODES[mode] };
      const outFile = `${def.name}.${mode}.bin`;
      let bytes = output.bytes;
      if (reference !== undefined && output.bug === undefined) {
        bytes = reference(def.input, run);
        const at = firstDifference(bytes, output.bytes);
        if (at >= 0) throw new Error(`${def.name} (${mode}): convert-legacy-stream's output differs from the hand-built bytes at offset ${at} (lengths ${bytes.length}, ${output.bytes.length})`);
      } else if (reference !== undefined && output.bug === "B3") {
        // The reference's output is the expected one plus an empty PAGE_DATA (type 1, length 8, count 0, reserved 0).
        const theirs = reference(def.input, run);
        const at = indexOf(theirs, EMPTY_PAGE_DATA);
        if (at < 0 || !sameBytes(cat(theirs.subarray(0, at), theirs.subarray(at + EMPTY_PAGE_DATA.length)), output.bytes)) {
          throw new Error(`${def.name} (${mode}): convert-legacy-stream's output is not the expected one plus an empty PAGE_DATA (B3)`);
        }
      } else if (reference !== undefined && output.bug === "B11") {
        if (succeeds(() => reference(def.input, run))) throw new Error(`${def.name} (${mode}): convert-legacy-stream converts this: B11 no longer reproduces`);
      } else if (reference !== undefined && output.headerless !== undefined) {
        if (succeeds(() => reference(def.input, run))) throw new Error(`${def.name} (${mode}): convert-legacy-stream -x succeeded: B1 no longer reproduces, take the output from it`);
        const rest = reference(output.headerless.input, { ...run, xl: false });
        if (!sameBytes(cat(output.headerless.header, rest), output.bytes)) throw new Error(`${def.name} (${mode}): xl header + convert-legacy-stream's output differs from the hand-built bytes`);
      }
      files.set(outFile, bytes);
      outputs[mode] = {
        ...LEGACY_MODES[mode],
        file: outFile,
        expected: output.bug === undefined ? "convert-legacy-stream" : "intent",
        ...(output.bug === undefined ? {} : { referenceBug: output.bug, reason: BUG_REASONS[output.bug] }),
      };
    }
    entries.push({ name: def.name, file, layer: "legacy", options: def.options, expect: "valid", outputs, source: "generated", description: def.description, spec: def.spec });
  }
  return { files, entries };
}
