/**
 * The text form of `dump`: one readable block per header or record, a
 * headline in the manner of `verify-stream-v2 -v` and the fields (then the
 * insides) indented below it.
 *
 * @module
 */
import type { DumpEntry, DumpJson, DumpPageEntry, DumpTrailerEntry } from "./dump.js";

/** Widest inline rendering of a flat object or a list before it is broken into lines. */
const INLINE_WIDTH = 120;

/**
 * Members whose numbers read better in hex (CPUID leaves and registers,
 * MSR indices, segment selectors, 32-bit guests' registers); JSON keeps
 * every number a number.
 */
const HEX_KEYS: ReadonlySet<string> = /*@__PURE__*/ new Set([
  "leaf", "subleaf", "a", "b", "c", "d", "index", "rawFms",
  "cs", "ds", "es", "fs", "gs", "ss", "csSel", "dsSel", "esSel", "fsSel", "gsSel", "ssSel", "trSel", "ldtrSel",
  "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "eflags", "ctrlreg", "debugreg", "gdtFrames", "ldtBase", "kernelSp", "cr3Pfn",
  "eventCallbackEip", "failsafeCallbackEip", "magic", "cpuid",
]);

function isFlat(value: DumpJson): boolean {
  return value === null || typeof value !== "object";
}

function scalar(value: DumpJson, hex = false): string {
  if (value === null) return "null";
  if (hex && typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return `0x${value.toString(16)}`;
  if (typeof value === "string") return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) ? value : JSON.stringify(value);
  return String(value);
}

/** A flat object or list as one line, or undefined when it is not flat or too wide. */
function inline(value: DumpJson, hex: boolean): string | undefined {
  if (isFlat(value)) return scalar(value, hex);
  let text: string;
  if (Array.isArray(value)) {
    if (!value.every((item) => isFlat(item) || (Array.isArray(item) && item.every(isFlat)))) return undefined;
    text = `[${value.map((item) => (Array.isArray(item) ? `[${item.map((one) => scalar(one, hex)).join(", ")}]` : scalar(item, hex))).join(", ")}]`;
  } else {
    const entries = Object.entries(value as Record<string, DumpJson>);
    if (!entries.every(([, item]) => isFlat(item))) return undefined;
    text = `{${entries.map(([key, item]) => `${key}: ${scalar(item, HEX_KEYS.has(key))}`).join(", ")}}`;
  }
  return text.length <= INLINE_WIDTH ? text : undefined;
}

function hexRange(range: DumpJson): string {
  if (!Array.isArray(range)) return scalar(range);
  const [first, last] = range as number[];
  return first === last ? `0x${(first ?? 0).toString(16)}` : `0x${(first ?? 0).toString(16)}-0x${(last ?? 0).toString(16)}`;
}

function render(key: string, value: DumpJson, indent: string, lines: string[]): void {
  if (key === "hexdump" && Array.isArray(value)) {
    lines.push(`${indent}${key}:`);
    for (const line of value) lines.push(`${indent}  ${String(line)}`);
    return;
  }
  if (key === "pfnRanges" && Array.isArray(value)) {
    lines.push(`${indent}${key}: ${value.length === 0 ? "none" : value.map(hexRange).join(", ")}`);
    return;
  }
  const hex = HEX_KEYS.has(key);
  const one = inline(value, hex);
  if (one !== undefined) {
    lines.push(`${indent}${key}: ${one}`);
    return;
  }
  lines.push(`${indent}${key}:`);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.every(isFlat)) {
      // A long list of scalars: eight a line.
      for (let i = 0; i < value.length; i += 8) lines.push(`${inner}${value.slice(i, i + 8).map((item) => scalar(item, hex)).join(", ")}`);
      return;
    }
    value.forEach((item, i) => render(`[${i}]`, item, inner, lines));
    return;
  }
  for (const [name, item] of Object.entries(value as Record<string, DumpJson>)) render(name, item, inner, lines);
}

/**
 * One dump entry as text: the headline, then its fields indented, then the
 * insides under `contents:` (or why they could not be decoded).
 *
 * @param entry - an entry of {@link StreamDumper} (records, headers, pages) or {@link dumpTrailerEntry}
 * @returns the lines, each ending in a newline
 *
 * @example
 * ```ts
 * formatDumpEntry(entry);
 * //=> "libxc record 0 X86_PV_INFO (0x00000002) at offset 982, length 8\n  guestWidth: 8\n  ptLevels: 4\n  ..."
 * ```
 */
export function formatDumpEntry(entry: DumpEntry | DumpPageEntry | DumpTrailerEntry): string {
  if (entry.kind === "trailer") return `after the stream, at offset ${entry.offset}: ${entry.description}\n`;
  if (entry.kind === "page") return `  page pfn 0x${entry.pfn.toString(16)} ${entry.type} at offset ${entry.offset}\n${entry.hexdump.map((line) => `    ${line}\n`).join("")}`;
  const lines: string[] = [];
  if (entry.kind === "header") lines.push(`${entry.layer} ${entry.type} at offset ${entry.offset}, ${entry.size} bytes`);
  else {
    const id = `0x${(entry.typeId ?? 0).toString(16).padStart(8, "0")}`;
    lines.push(`${entry.layer} record ${entry.index ?? "?"} ${entry.type} (${id}) at offset ${entry.offset}, length ${entry.length}`);
  }
  for (const [key, value] of Object.entries(entry.fields)) render(key, value, "  ", lines);
  if (entry.contentsError !== undefined) {
    const { code, offset, message } = entry.contentsError;
    lines.push(`  contents: cannot decode: ${code} at offset ${offset}: ${message}`);
  } else if (entry.contents !== undefined) render("contents", entry.contents, "  ", lines);
  return `${lines.join("\n")}\n`;
}
