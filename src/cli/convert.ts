/**
 * `xen-stream convert [FILE|-] --to xl|libvirt|libxl|libxc|xenopsd [-o OUT|-]
 * [--xml FILE] [--config FILE] [--json]`: move a save file's stream into
 * another container (thin over `convertContainer`). Exit 0 converted, 1
 * invalid input or a move that cannot be made, 2 usage or I/O error.
 *
 * The whole input is read into memory (the containers' headers sit on both
 * sides of the stream). A file output is written to a temporary file next
 * to it and renamed on success.
 *
 * @module
 * @internal
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isXenStreamError } from "../errors.js";
import { decodeAnySaveFile, encodeSaveFile, type AnySaveFile } from "../savefile.js";
import { CONTAINER_TARGETS, convertContainer, type ContainerTarget, type ConvertContainerOptions } from "../savefile-convert.js";
import { parseCommand } from "./args.js";
import { type CliCommand, type CliIO, configFileInput, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, isClosedOutput, writeOut } from "./io.js";

const USAGE = `usage: xen-stream convert [FILE|-] --to xl|libvirt|libxl|libxc|xenopsd [options]

Move a save file's stream into another container: a bare libxc or libxl
stream, an xl save file, a libvirt (libxl driver) save image or a
XAPI/xenopsd suspend image. The input may be any of those; a legacy stream
inside libvirt (version 1) or xenopsd is converted to v2 first. What a move
drops or carries over is printed as notes on standard error. Reads standard
input when FILE is - or absent.

options:
  -t, --to TARGET            xl, libvirt, libxl, libxc or xenopsd (required)
  -o, --output OUT|-         output file (default: standard output, never a terminal)
      --xml FILE             domain XML for a libvirt target (required unless
                               the input is a libvirt image)
      --config FILE          libxl JSON config for an xl target (default: the
                               input's own xl config, if any)
      --json                 print what was done as JSON (needs -o OUT)
  -h, --help                 show this help

exit status: 0 converted, 1 invalid input or impossible move, 2 usage or I/O error
`;

function readInput(file: string | undefined, io: CliIO): Promise<Uint8Array> {
  if (file !== undefined && file !== "-") return Promise.resolve(new Uint8Array(readFileSync(file)));
  return (async () => {
    const parts: Buffer[] = [];
    for await (const chunk of io.stdin) parts.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    const all = Buffer.concat(parts);
    return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  })();
}

function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  const fd = openSync(temp, "w");
  try {
    let pos = 0;
    while (pos < bytes.length) pos += writeSync(fd, bytes, pos, bytes.length - pos);
    closeSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  renameSync(temp, path);
}

function writeStdout(io: CliIO, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    // The write callback gets the error; the 'error' event must not crash the process.
    io.stdout.once("error", () => undefined);
    io.stdout.write(bytes, (error) => {
      // A reader that went away (EPIPE) ends the output quietly.
      if (error && !isClosedOutput(error)) reject(error);
      else resolve();
    });
  });
}

function describeInput(file: AnySaveFile): string {
  const outer = file.container?.kind ?? (file.format !== "legacy" && file.xl !== undefined ? "xl" : "bare");
  return `${outer} container, ${file.format} stream`;
}

/** @internal */
export const convertCommand: CliCommand = {
  summary: "move a stream between containers (xl, libvirt, xenopsd, bare libxl or libxc)",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand(
      "convert",
      USAGE,
      {
            to: { type: "string", short: "t" },
            output: { type: "string", short: "o" },
            xml: { type: "string" },
            config: { type: "string" },
            json: { type: "boolean", default: false },
      },
      args,
      io,
    );
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    if (values.to === undefined) return fail("--to is required");
    if (!(CONTAINER_TARGETS as readonly string[]).includes(values.to)) return fail(`--to must be one of ${CONTAINER_TARGETS.join(", ")}, got "${values.to}"`);
    const toStdout = values.output === undefined || values.output === "-";
    if (toStdout && values.json) return fail("--json needs -o OUT (the converted bytes go to standard output otherwise)");
    if (toStdout && (io.stdout as { isTTY?: boolean }).isTTY === true) return fail("refusing to write a binary save image to a terminal; use -o OUT or a redirect");
    const to = values.to as ContainerTarget;
    const file = positionals[0];
    const name = file === undefined || file === "-" ? "<stdin>" : file;

    const options: ConvertContainerOptions = {};
    let input: Uint8Array;
    try {
      if (values.xml !== undefined) options.xml = new Uint8Array(readFileSync(values.xml));
      if (values.config !== undefined) options.config = new Uint8Array(readFileSync(values.config));
      input = await readInput(file, io);
    } catch (error) {
      io.stderr.write(`xen-stream convert: cannot read: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    // A file given as text gets the NUL its container stores after it.
    if (options.xml instanceof Uint8Array) options.xml = configFileInput(options.xml);
    if (options.config instanceof Uint8Array) options.config = configFileInput(options.config);

    let output: Uint8Array;
    let notes: string[];
    let from: string;
    try {
      const decoded = decodeAnySaveFile(input);
      from = describeInput(decoded);
      const result = convertContainer(decoded, to, options);
      notes = result.notes;
      output = encodeSaveFile(result.file);
    } catch (error) {
      if (isXenStreamError(error)) {
        if (error.code === "USAGE") return fail(error.reason.replace(/^convert: /, ""));
        io.stderr.write(`xen-stream convert: ${name}: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      throw error;
    }
    try {
      if (toStdout) await writeStdout(io, output);
      else writeFileAtomic(values.output as string, output);
    } catch (error) {
      io.stderr.write(`xen-stream convert: cannot write: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
    if (values.json) {
      writeOut(io, `${JSON.stringify({ input: name, from, to, bytes: output.length, notes }, null, 2)}\n`);
    } else {
      for (const note of notes) io.stderr.write(`xen-stream convert: note: ${note}\n`);
    }
    return EXIT_OK;
  },
};
