/**
 * `xen-stream diff A B [--json]`: what differs between two save files or
 * streams: headers, config, record sequence, state records, and memory as
 * pfn ranges whose final contents differ. One pass over each, in bounded
 * memory (a 52-bit hash per page).
 *
 * @module
 * @internal
 */
import { closeSync } from "node:fs";
import { isXenStreamError } from "../errors.js";
import { DigestCollector } from "../inspect/digest.js";
import type { StreamDigest } from "../inspect/digest.js";
import { diffDigests } from "../inspect/diff.js";
import type { StreamDiff } from "../inspect/diff.js";
import type { PfnRun } from "../memory/page-index.js";
import { parseCommand } from "./args.js";
import { comparePositioned, digestPositions } from "./diff-pages.js";
import type { PositionedDigest } from "./diff-pages.js";
import { openRegularInput } from "./pipeline.js";
import { decodeInput, inputName, inputSource, inputSize } from "./input.js";
import { startProgress } from "./progress.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream diff A B [options]

Compare two save files or streams: headers, the xl config, the record
sequence, vCPU / HVM context / CPU policy records, and guest memory as pfn
ranges whose final contents differ (the last copy of each pfn counts).
Either may be - for standard input.

options:
      --json       print the differences as JSON
  -h, --help       show this help

exit status: 0 no differences, 1 differences, 2 an invalid stream, usage or I/O error (as diff(1))
`;

const RUNS_SHOWN = 20;

function runs(list: PfnRun[]): string {
  const shown = list.slice(0, RUNS_SHOWN).map((run) => (run.count === 1 ? `0x${run.pfn.toString(16)}` : `0x${run.pfn.toString(16)}-0x${(run.pfn + run.count - 1).toString(16)}`));
  return shown.join(", ") + (list.length > RUNS_SHOWN ? `, ... (${list.length - RUNS_SHOWN} more runs)` : "");
}

/** JSON with bigints as "0x..." and byte fields as their length. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return `0x${value.toString(16)}`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return "(absent)";
  const text = JSON.stringify(value, jsonReplacer);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function render(diff: StreamDiff, nameA: string, nameB: string): string {
  if (diff.identical) return `${nameA} and ${nameB}: no differences\n`;
  const lines = [`--- ${nameA}`, `+++ ${nameB}`];
  for (const field of diff.fields) lines.push(`${field.path}: ${show(field.a)} -> ${show(field.b)}`);
  for (const bytes of diff.bytes) {
    lines.push(`${bytes.path}: ${bytes.differing} bytes differ from byte ${bytes.first}${bytes.lengthA === bytes.lengthB ? "" : `; lengths ${bytes.lengthA} -> ${bytes.lengthB}`}`);
  }
  if (diff.config.length > 0) lines.push("config:", ...diff.config.map((line) => `  ${line.op}${String(line.line).padStart(4)}: ${line.text}`));
  if (diff.sequence !== undefined) lines.push(`record sequence: ${diff.sequence.a.join(", ")}`, `             -> ${diff.sequence.b.join(", ")}`);
  const { memory } = diff;
  lines.push(`memory: ${memory.same} pages equal, ${memory.differPages} differ, ${memory.onlyInAPages} only in A, ${memory.onlyInBPages} only in B`);
  if (memory.differ.length > 0) lines.push(`  differ: ${runs(memory.differ)}`);
  if (memory.onlyInA.length > 0) lines.push(`  only in A: ${runs(memory.onlyInA)}`);
  if (memory.onlyInB.length > 0) lines.push(`  only in B: ${runs(memory.onlyInB)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Both digests with memory compared page by page from the files
 * (src/cli/diff-pages.ts), when both are regular files whose last copies
 * lie in long contiguous stretches; undefined when they are not (the
 * caller hashes); an exit status after an error.
 */
async function positionedDigests(files: [string, string], io: CliIO, failed: (file: string, error: unknown) => number): Promise<StreamDigest[] | number | undefined> {
  const opened: { fd: number; owned: boolean }[] = [];
  try {
    const found: PositionedDigest[] = [];
    for (const file of files) {
      let input: { fd: number; owned: boolean } | undefined;
      try {
        input = openRegularInput(file, io);
        if (input === undefined) return undefined;
        opened.push(input);
        const positioned = digestPositions(input.fd, startProgress(io, `diff ${inputName(file)}`, inputSize(file)));
        if (positioned === undefined) return undefined;
        found.push(positioned);
      } catch (error) {
        // A stream this reader cannot place (one it rejects, a legacy
        // stream in a container) goes the decoding way, which converts it
        // or reports the fault as it is.
        if (isXenStreamError(error)) return undefined;
        return failed(file, error);
      }
    }
    const [a, b] = found as [PositionedDigest, PositionedDigest];
    const [inputA, inputB] = opened as unknown as [{ fd: number }, { fd: number }];
    try {
      const total = 2 * (inputSize(files[0]) ?? 0);
      if (!(await comparePositioned(inputA.fd, inputB.fd, a, b, startProgress(io, "diff pages", total)))) return undefined;
    } catch (error) {
      return failed(`${files[0]} or ${files[1]}`, error);
    }
    return [a.digest, b.digest];
  } finally {
    for (const input of opened) if (input.owned) closeSync(input.fd);
  }
}

/** @internal */
export const diffCommand: CliCommand = {
  summary: "compare two save files: headers, config, records, vCPU/HVM state, CPU policy, memory",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand("diff", USAGE, { json: { type: "boolean", default: false } }, args, io);
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length !== 2) return fail(`expected two files A and B, got ${positionals.length}`);
    if (positionals[0] === "-" && positionals[1] === "-") return fail("only one of A and B can be standard input");
    const failed = (file: string, error: unknown): number => {
      io.stderr.write(isXenStreamError(error) ? `xen-stream diff: ${inputName(file)}: ${describeError(error)}\n` : `xen-stream diff: cannot read ${inputName(file)}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    };
    let digests: StreamDigest[] | number | undefined;
    if (positionals[0] !== "-" && positionals[1] !== "-") digests = await positionedDigests(positionals as [string, string], io, failed);
    if (typeof digests === "number") return digests;
    if (digests === undefined) {
      // A stream (or scattered last copies): a hash per page, one pass over each.
      digests = [];
      for (const file of positionals) {
        const collector = new DigestCollector();
        try {
          await decodeInput(await inputSource(file, io), (event) => collector.add(event), {}, startProgress(io, `diff ${inputName(file)}`, inputSize(file)));
        } catch (error) {
          return failed(file, error);
        }
        digests.push(collector.finish());
      }
    }
    const diff = diffDigests(digests[0] as StreamDigest, digests[1] as StreamDigest);
    const [nameA, nameB] = positionals.map(inputName) as [string, string];
    const json = JSON.stringify(diff, jsonReplacer, 2);
    writeOut(io, values.json === true ? `${json}\n` : render(diff, nameA, nameB));
    return diff.identical ? EXIT_OK : EXIT_INVALID;
  },
};
