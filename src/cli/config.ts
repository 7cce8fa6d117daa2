/**
 * `xen-stream config FILE [--json]`: the domain configuration a save file
 * stores (xl's JSON config, libvirt's domain XML, xenopsd's Xenops record);
 * `xen-stream config FILE --set NEW -o OUT`: a new save file in which only
 * that configuration changed, streamed (the pages are never held), never
 * written onto its input, and verified once written.
 *
 * @module
 * @internal
 */
import { closeSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { isXenStreamError } from "../errors.js";
import { readWantedChunks } from "../io/wanted.js";
import { fileSource } from "../io/file.js";
import { libvirtXmlText } from "../libvirt/header.js";
import { SaveFileDecoder } from "../savefile.js";
import type { SaveFileEvent } from "../savefile.js";
import { ConfigRewriter } from "../savefile-config.js";
import { StreamVerifier } from "../verify/verifier.js";
import { textOf } from "../savefile-config.js";
import { parseCommand } from "./args.js";
import { feedVerifier, inputName, inputSource, TrailerCollector, withTrailer } from "./input.js";
import { type CliCommand, type CliIO, configFileInput, describeError, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, writeOut } from "./io.js";

const USAGE = `usage: xen-stream config [FILE|-] [options]
       xen-stream config FILE --set NEW -o OUT

Print the domain configuration a save file stores: xl's JSON config (or
its old text config), libvirt's domain XML, or xenopsd's Xenops record.
With --set, write OUT: the same save file with only that configuration
replaced by NEW's contents (streamed; OUT is checked once written).

options:
      --set NEW      the new configuration (a file)
  -o, --output OUT   where the new save file goes (required with --set; not FILE)
      --json         print {kind, text} as JSON
  -h, --help         show this help

exit status: 0 done, 1 no configuration, an invalid stream or an invalid
result, 2 usage or I/O error
`;

interface Found {
  kind: "xl-json" | "xl-text" | "libvirt-xml" | "xenops-record";
  text: string;
}

/** The configuration an event carries, if it is the one that stores it. */
function configOf(event: SaveFileEvent): Found | undefined {
  if (event.layer === "xl" && event.kind === "header") {
    const { config, mandatoryFlags } = event.header;
    if (config === undefined) return undefined;
    return { kind: (mandatoryFlags & 1) !== 0 ? "xl-json" : "xl-text", text: textOf(config) };
  }
  if (event.layer === "libvirt") return { kind: "libvirt-xml", text: libvirtXmlText(event.header) };
  if (event.layer === "xenopsd" && event.kind === "chunk" && event.chunk.type === "Xenops" && event.chunk.body !== undefined) {
    return { kind: "xenops-record", text: textOf(event.chunk.body) };
  }
  return undefined;
}

/** Reads only as far as the stored configuration (it lies in the first headers). */
async function readConfig(file: string | undefined, io: CliIO): Promise<Found | undefined> {
  const decoder = new SaveFileDecoder();
  let found: Found | undefined;
  let pastHeaders = false;
  for await (const chunk of readWantedChunks(await inputSource(file, io), decoder)) {
    decoder.pushEach(chunk, (event) => {
      found ??= configOf(event);
      // Every container stores its configuration before the stream.
      if (event.layer === "libxl" || event.layer === "libxc") pastHeaders = true;
    });
    if (found !== undefined || pastHeaders || decoder.bytesWanted === 0) break;
  }
  return found;
}

function show(found: Found): string {
  if (found.kind !== "xl-json") return found.text.endsWith("\n") ? found.text : `${found.text}\n`;
  try {
    return `${JSON.stringify(JSON.parse(found.text), null, 4)}\n`;
  } catch {
    return found.text.endsWith("\n") ? found.text : `${found.text}\n`;
  }
}

async function writeWithConfig(file: string, config: string | Uint8Array, output: string, io: CliIO): Promise<number> {
  let same = false;
  try {
    same = realpathSync(file) === realpathSync(output);
  } catch {
    // output does not exist yet: not the input
  }
  if (same) {
    io.stderr.write(`xen-stream config: refusing to write onto the input ${file}: give another -o\n`);
    return EXIT_USAGE;
  }
  const temporary = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  const fd = openSync(temporary, "w");
  try {
    const rewriter = new ConfigRewriter(config);
    const write = (bytes: Uint8Array): void => {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    };
    const source = fileSource(file, { sync: true });
    const target = new Uint8Array(1 << 20);
    for (;;) {
      const count = source.read(target) as number;
      if (count === 0) break;
      for (const out of rewriter.push(target.slice(0, count))) write(out);
    }
    for (const out of rewriter.end()) write(out);
    closeSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  // Check the result before it replaces anything.
  const verifier = new StreamVerifier();
  const trailer = new TrailerCollector();
  await feedVerifier(fileSource(temporary, { sync: true }), verifier, trailer);
  const { report } = withTrailer(verifier.end(), trailer.finish());
  if (!report.ok) {
    rmSync(temporary, { force: true });
    const first = report.findings.find((finding) => finding.severity === "error");
    io.stderr.write(`xen-stream config: the rewritten file does not verify (${first?.code ?? "?"} at offset ${first?.offset ?? "?"}: ${first?.message ?? ""}); ${output} not written\n`);
    return EXIT_INVALID;
  }
  renameSync(temporary, output);
  writeOut(io, `${output}: written with the new configuration (${config.length} bytes); verified\n`);
  return EXIT_OK;
}

/** @internal */
export const configCommand: CliCommand = {
  summary: "print the stored domain configuration, or write a copy with a new one (--set)",
  async run(args: string[], io: CliIO): Promise<number> {
    const parsed = parseCommand("config", USAGE, { set: { type: "string" }, output: { type: "string", short: "o" }, json: { type: "boolean", default: false } }, args, io);
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 1) return fail(`expected at most one FILE, got ${positionals.length}`);
    const file = positionals[0];
    const name = inputName(file);
    try {
      if (values.set !== undefined) {
        if (file === undefined || file === "-") return fail("--set needs a FILE (the input is read while the output is written)");
        if (values.output === undefined || values.output === "-") return fail("--set needs -o OUT (a file)");
        let config: string | Uint8Array;
        try {
          config = configFileInput(new Uint8Array(readFileSync(values.set as string)));
        } catch (error) {
          io.stderr.write(`xen-stream config: cannot read ${values.set as string}: ${errorText(error)}\n`);
          return EXIT_USAGE;
        }
        return await writeWithConfig(file, config, values.output as string, io);
      }
      if (values.output !== undefined) return fail("-o is for --set");
      const found = await readConfig(file, io);
      if (found === undefined) {
        io.stderr.write(`xen-stream config: ${name} stores no domain configuration (only an xl header, a libvirt image and a xenopsd Xenops record carry one)\n`);
        return EXIT_INVALID;
      }
      writeOut(io, values.json === true ? `${JSON.stringify(found, null, 2)}\n` : show(found));
      return EXIT_OK;
    } catch (error) {
      if (isXenStreamError(error)) {
        io.stderr.write(`xen-stream config: ${name}: ${describeError(error)}\n`);
        return EXIT_INVALID;
      }
      io.stderr.write(`xen-stream config: ${name}: ${errorText(error)}\n`);
      return EXIT_USAGE;
    }
  },
};
