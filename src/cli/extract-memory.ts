/**
 * `xen-stream extract-memory FILE|- -o OUT [--format raw|elf|xen-core]
 * [--map MAP.json] [--checkpoint N] [--json]`: guest memory out of a save
 * file, in one pass for raw images and ELF cores (stdin works), through
 * the page index for Xen's dump-core layout (a file is needed).
 *
 * @module
 * @internal
 */
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from "node:fs";
import { isXenStreamError } from "../errors.js";
import { fileRandomAccess } from "../io/random-access.js";
import { AsyncGuestMemory } from "../memory/guest-memory.js";
import { MemoryImageBuilder } from "../memory/image.js";
import type { MemoryImageFormat, MemoryMap } from "../memory/image.js";
import { writeXenCore } from "../memory/xen-core.js";
import { SaveFileDecoder } from "../savefile.js";
import { PageWriter, openRegularInput, pipelineFile } from "./pipeline.js";
import { decodeInput, inputName, inputSource, inputSize } from "./input.js";
import { startProgress } from "./progress.js";
import { parseCommand } from "./args.js";
import { type CliCommand, type CliIO, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream extract-memory [FILE|-] -o OUT [options]

Write the guest memory a save file holds (the last copy of every page) as
a memory image. Reads standard input when FILE is - or absent (raw and elf).

options:
  -o, --output OUT                 the image to write (required; never stdout)
  -F, --format raw|elf|xen-core    raw:      sparse image, file offset = guest-physical address
                                   elf:      ELF64 core, one PT_LOAD per run of pages and
                                             NT_PRSTATUS notes per vCPU (gdb -c, crash)
                                   xen-core: the layout of Xen's xl dump-core (needs a FILE)
                                   (default: raw)
  -m, --map MAP.json               also write the populated ranges as JSON
  -c, --checkpoint N               memory as of checkpoint N of a checkpointed stream
      --json                       print the map as JSON on stdout
  -h, --help                       show this help

PV guests: the saver replaced machine frames by pfns in page tables, so the
image is the guest as seen through pfns (consistent: walks work on it).

exit status: 0 written, 1 invalid stream, 2 usage or I/O error
`;

const FORMATS: readonly string[] = ["raw", "elf", "xen-core"];

function summaryLine(map: MemoryMap, output: string): string {
  const mib = (map.pages * map.pageSize) / 2 ** 20;
  return `${output}: ${map.format} image of ${map.pages} pages (${mib.toFixed(1)} MiB) in ${map.runs.length} run${map.runs.length === 1 ? "" : "s"}, ${map.guest.toUpperCase()} guest\n`;
}

async function extractOnePass(file: string | undefined, io: CliIO, fd: number, format: MemoryImageFormat, checkpoint: number | undefined): Promise<MemoryMap> {
  const builder = new MemoryImageBuilder(checkpoint === undefined ? { format } : { format, checkpoint });
  const progress = startProgress(io, `extract-memory ${inputName(file)}`, inputSize(file));
  const input = openRegularInput(file, io);
  let map: MemoryMap;
  if (input !== undefined) {
    // A file: the next record is read while the pages of the one before
    // are written, straight from the read buffer (pipeline.ts).
    const writer = new PageWriter(fd);
    const place = (position: number, bytes: Uint8Array): void => writer.place(position, bytes);
    try {
      await pipelineFile(input.fd, new SaveFileDecoder({ convertLegacy: true }), (event) => builder.add(event, place), writer, () => undefined, progress);
      map = builder.finish(place);
      writer.flush();
    } finally {
      if (input.owned) closeSync(input.fd);
    }
  } else {
    const place = (position: number, bytes: Uint8Array): void => {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
    };
    await decodeInput(await inputSource(file, io), (event) => builder.add(event, place), {}, progress);
    map = builder.finish(place);
  }
  ftruncateSync(fd, map.fileSize);
  const { layout: _layout, ...plain } = map as MemoryMap & { layout?: unknown };
  return plain;
}

/** @internal */
export const extractMemoryCommand: CliCommand = {
  summary: "write a save file's guest memory as a raw image, an ELF core or a Xen dump-core",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand(
      "extract-memory",
      USAGE,
      {
            output: { type: "string", short: "o" },
            format: { type: "string", short: "F", default: "raw" },
            map: { type: "string", short: "m" },
            checkpoint: { type: "string", short: "c" },
            json: { type: "boolean", default: false },
      },
      args,
      io,
    );
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    if (values.output === undefined || values.output === "-") return fail("-o OUT is required: an image is written with positional writes, never to stdout");
    if (!FORMATS.includes(values.format)) return fail(`--format must be one of ${FORMATS.join(", ")}, got "${values.format}"`);
    let checkpoint: number | undefined;
    if (values.checkpoint !== undefined) {
      if (!/^\d+$/.test(values.checkpoint)) return fail(`--checkpoint must be a non-negative integer, got "${values.checkpoint}"`);
      checkpoint = Number(values.checkpoint);
    }
    const file = positionals[0];
    if (values.format === "xen-core" && (file === undefined || file === "-")) return fail("--format xen-core needs a FILE (it reads pages back in pfn order)");
    const name = inputName(file);
    let fd: number;
    try {
      fd = openSync(values.output, "w");
    } catch (error) {
      io.stderr.write(`xen-stream extract-memory: cannot write ${values.output}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    let map: MemoryMap;
    try {
      if (values.format === "xen-core") {
        const memory = await AsyncGuestMemory.open(fileRandomAccess(file as string), checkpoint === undefined ? {} : { checkpoint });
        try {
          map = await writeXenCore(memory, (position, bytes) => {
            for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
          });
          ftruncateSync(fd, map.fileSize);
        } finally {
          await memory.close();
        }
      } else {
        map = await extractOnePass(file, io, fd, values.format as MemoryImageFormat, checkpoint);
      }
    } catch (error) {
      closeSync(fd);
      if (isXenStreamError(error)) {
        io.stderr.write(`xen-stream extract-memory: ${name}: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      io.stderr.write(`xen-stream extract-memory: cannot read ${name}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    closeSync(fd);
    const text = `${JSON.stringify(map, null, 2)}\n`;
    if (values.map !== undefined) writeFileSync(values.map, text);
    writeOut(io, values.json ? text : summaryLine(map, values.output));
    return EXIT_OK;
  },
};
