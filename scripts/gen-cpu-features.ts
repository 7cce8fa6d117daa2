/**
 * Generates src/libxc/contents/cpu-features.ts, the table of Xen's x86
 * feature names, from Xen's public featureset header:
 *
 *   git -C <xen> show RELEASE-4.17.7:xen/include/public/arch-x86/cpufeatureset.h > /tmp/cpufeatureset.h
 *   tsx scripts/gen-cpu-features.ts /tmp/cpufeatureset.h RELEASE-4.17.7 > src/libxc/contents/cpu-features.ts
 *
 * The header has two kinds of line that matter (the same two that Xen's own
 * xen/tools/gen-cpuid.py: parse_definitions() reads):
 *
 * - a section comment naming a featureset word and where it comes from,
 *   `/* Intel-defined CPU features, CPUID level 0x00000007:0.ebx, word 5 *\/`
 *   or `/* ... MSR_ARCH_CAPS 0x10a.eax, word 16 *\/`;
 * - `XEN_CPUFEATURE(NAME, word*32+bit) /*ATTRS description *\/`.
 *
 * Names are printed the way gen-cpuid.py spells them for xen-cpuid
 * (`name.lower().replace("_", "-")`), and the bits of CPUID 0x1.edx that AMD
 * repeats in 0x80000001.edx (gen-cpuid.py's `common_1d` list, which the
 * header does not carry) get their word-2 alias, as gen-cpuid.py's
 * INIT_FEATURE_VAL_TO_NAME does. The output is deterministic; the second
 * argument is the Xen version written into the header comment.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** One featureset word as the header describes it. */
export interface Word {
  word: number;
  abbr: string;
  source: "cpuid" | "msr";
  leaf: number;
  subleaf: number | undefined;
  register: "eax" | "ebx" | "ecx" | "edx";
}

/** One feature line of the header. */
export interface Feature {
  name: string;
  constant: string;
  value: number;
  attributes: string;
  alias: boolean;
}

/**
 * CPUID 0x1.edx bits repeated in 0x80000001.edx on AMD: gen-cpuid.py
 * crunch_numbers() `common_1d` (RELEASE-4.17.7), by header name.
 */
const COMMON_1D = ["FPU", "VME", "DE", "PSE", "TSC", "MSR", "PAE", "MCE", "CX8", "APIC", "MTRR", "PGE", "MCA", "CMOV", "PAT", "PSE36", "MMX", "FXSR"];

const WORD_LINE = /^\/\* .*\b(CPUID level|MSR_ARCH_CAPS) (0x[0-9a-fA-F]+)(?::(\d+))?\.(e[abcd]x), word (\d+)\b.*\*\/$/;
const FEATURE_LINE = /^XEN_CPUFEATURE\(([A-Z0-9_]+),\s+(\d+)\s*\*\s*32\s*\+\s*(\d+)\s*\)\s+\/\*([\w!]*) .*$/;

/** The FEATURESET_* abbreviation (cpu-policy.h): 1d, e1c, Da1, 7b0, e21a, m10Al. */
function abbreviation(source: Word["source"], leaf: number, subleaf: number | undefined, register: Word["register"]): string {
  const letter = register.charAt(1);
  if (source === "msr") return `m${leaf.toString(16).toUpperCase()}${letter === "a" ? "l" : "h"}`;
  const extended = leaf >= 0x8000_0000;
  const number = (extended ? leaf - 0x8000_0000 : leaf).toString(16).toUpperCase();
  return `${extended ? "e" : ""}${number}${letter}${subleaf ?? ""}`;
}

/**
 * Reads the featureset words and features of a cpufeatureset.h text.
 *
 * @param text - the header.
 * @returns words in order and features in bit order (with the word-2 aliases).
 * @throws Error on a line it cannot read, words out of order or clashing bits.
 */
export function parseCpuFeatureset(text: string): { words: Word[]; features: Feature[] } {
  const words: Word[] = [];
  const features: Feature[] = [];
  const seenValues = new Map<number, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const word = WORD_LINE.exec(line);
    if (word !== null) {
      const [, kind, leafText, subleafText, register, wordText] = word;
      const index = Number(wordText);
      if (index !== words.length) throw new Error(`featureset word ${index} out of order (expected ${words.length}): ${line}`);
      const source = kind === "MSR_ARCH_CAPS" ? "msr" : "cpuid";
      const leaf = Number.parseInt(leafText ?? "", 16);
      const subleaf = subleafText === undefined ? undefined : Number(subleafText);
      const reg = register as Word["register"];
      words.push({ word: index, abbr: abbreviation(source, leaf, subleaf, reg), source, leaf, subleaf, register: reg });
      continue;
    }
    if (!line.startsWith("XEN_CPUFEATURE(")) continue;
    const feature = FEATURE_LINE.exec(line);
    if (feature === null) throw new Error(`cannot read feature line: ${line}`);
    const [, constant = "", wordText, bitText, attributes = ""] = feature;
    const value = Number(wordText) * 32 + Number(bitText);
    const clash = seenValues.get(value);
    if (clash !== undefined) throw new Error(`${constant} and ${clash} share bit ${value}`);
    seenValues.set(value, constant);
    features.push({ name: constant.toLowerCase().replaceAll("_", "-"), constant, value, attributes, alias: false });
  }
  if (words.length === 0 || features.length === 0) throw new Error("no featureset words or features found: is this cpufeatureset.h?");
  for (const constant of COMMON_1D) {
    const base = features.find((f) => f.constant === constant);
    if (base === undefined) throw new Error(`common_1d feature ${constant} missing`);
    features.push({ ...base, value: base.value + 64, alias: true });
  }
  features.sort((a, b) => a.value - b.value);
  for (const f of features) {
    if (Math.floor(f.value / 32) >= words.length) throw new Error(`${f.constant} (bit ${f.value}) is beyond the last word`);
  }
  return { words, features };
}

function hex(value: number, width: number): string {
  return `0x${value.toString(16).padStart(width, "0")}`;
}

/**
 * Renders src/libxc/contents/cpu-features.ts.
 *
 * @param words - from {@link parseCpuFeatureset}.
 * @param features - from {@link parseCpuFeatureset}.
 * @param version - Xen version for the header comment.
 * @returns the module text.
 */
export function renderCpuFeatures(words: readonly Word[], features: readonly Feature[], version: string): string {
  const out: string[] = [];
  out.push("/**");
  out.push(` * Xen's x86 featureset: words and feature names, generated by`);
  out.push(` * scripts/gen-cpu-features.ts from Xen ${version}`);
  out.push(" * xen/include/public/arch-x86/cpufeatureset.h. Do not edit by hand.");
  out.push(" *");
  out.push(" * Names are the header's XEN_CPUFEATURE names in lower case with `_` as");
  out.push(" * `-`, as xen/tools/gen-cpuid.py spells them for xen-cpuid; the CPUID");
  out.push(" * 0x1.edx bits that AMD repeats in 0x80000001.edx carry `alias: true`.");
  out.push(" *");
  out.push(" * @module");
  out.push(" */");
  out.push("");
  out.push("/** A CPUID register. */");
  out.push('export type CpuidRegister = "eax" | "ebx" | "ecx" | "edx";');
  out.push("");
  out.push("/** Where one featureset word comes from (cpu-policy.h FEATURESET_*). */");
  out.push("export interface FeaturesetWord {");
  out.push("  /** Index in the featureset. */");
  out.push("  readonly word: number;");
  out.push("  /** The FEATURESET_ suffix: `1d`, `e1c`, `7b0`, `m10Al` ... */");
  out.push("  readonly abbr: string;");
  out.push("  /** `cpuid` for a CPUID register, `msr` for half of an MSR. */");
  out.push('  readonly source: "cpuid" | "msr";');
  out.push("  /** CPUID leaf, or the MSR index. */");
  out.push("  readonly leaf: number;");
  out.push("  /** CPUID subleaf, 0xffffffff (XEN_CPUID_NO_SUBLEAF) for a leaf without subleaves. */");
  out.push("  readonly subleaf: number;");
  out.push("  /** The register (for an MSR: `eax` = low half, `edx` = high half). */");
  out.push("  readonly register: CpuidRegister;");
  out.push("}");
  out.push("");
  out.push("/** One named feature bit. */");
  out.push("export interface CpuFeature {");
  out.push("  /** Lower-case name, as xen-cpuid prints it. */");
  out.push("  readonly name: string;");
  out.push("  /** Bit number in the featureset: word * 32 + bit. */");
  out.push("  readonly value: number;");
  out.push("  /** The header's attribute characters (`A`, `S`, `H`, lower case for opt-in, `!` special). */");
  out.push("  readonly attributes: string;");
  out.push("  /** True for the 0x80000001.edx copy of a 0x1.edx bit. */");
  out.push("  readonly alias: boolean;");
  out.push("}");
  out.push("");
  out.push("/** FEATURESET_NR_ENTRIES: the number of featureset words. */");
  out.push(`export const FEATURESET_NR_ENTRIES = ${words.length};`);
  out.push("");
  out.push("/** The featureset words in order. */");
  out.push("export const FEATURESET_WORDS: readonly FeaturesetWord[] = [");
  for (const w of words) {
    const subleaf = w.subleaf === undefined ? "0xffffffff" : String(w.subleaf);
    out.push(`  { word: ${w.word}, abbr: "${w.abbr}", source: "${w.source}", leaf: ${hex(w.leaf, w.source === "msr" ? 3 : 8)}, subleaf: ${subleaf}, register: "${w.register}" },`);
  }
  out.push("];");
  out.push("");
  out.push("/** Every named feature bit, in bit order. */");
  out.push("export const CPU_FEATURES: readonly CpuFeature[] = [");
  for (const f of features) {
    const word = Math.floor(f.value / 32);
    out.push(`  { name: "${f.name}", value: ${word} * 32 + ${f.value % 32}, attributes: "${f.attributes}", alias: ${f.alias} },`);
  }
  out.push("];");
  out.push("");
  return out.join("\n");
}

function main(argv: readonly string[]): void {
  const [path, version] = argv;
  if (path === undefined || version === undefined) {
    process.stderr.write("usage: tsx scripts/gen-cpu-features.ts <cpufeatureset.h> <xen-version>\n");
    process.exit(2);
  }
  const { words, features } = parseCpuFeatureset(readFileSync(path, "utf8"));
  process.stdout.write(renderCpuFeatures(words, features, version));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
