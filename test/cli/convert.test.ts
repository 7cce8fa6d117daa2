/**
 * `xen-stream convert`: moves between containers, file and standard
 * streams, --json, usage errors (exit 2), invalid input (exit 1), no
 * binary to a terminal, no partial output file on failure.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convertCommand } from "../../src/cli/convert.js";
import { main } from "../../src/cli/main.js";
import type { CliIO } from "../../src/cli/io.js";
import { cat, le32, toHex } from "../helpers/hex.js";

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const XL = new Uint8Array(readFileSync("spec-vectors/captured/xen-4.17-pv-save.skel.xl"));
const OPTIONAL = new DataView(XL.buffer, XL.byteOffset).getUint32(44, true);
const LIBXL = XL.subarray(48 + OPTIONAL);
const XML = "<domain type='xen'><name>cli</name></domain>";
const LIBVIRT = cat(ascii("libvirt-xml\n "), new Uint8Array([0]), ascii(" \r"), le32(2), le32(XML.length + 1), new Uint8Array(40), ascii(XML), new Uint8Array([0]), LIBXL);

interface Run {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

async function run(args: string[], stdin: Uint8Array = new Uint8Array(0), tty = false): Promise<Run> {
  const stdout = new PassThrough();
  if (tty) Object.assign(stdout, { isTTY: true });
  const io: CliIO = { stdin: new PassThrough(), stdout, stderr: new PassThrough() };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  io.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  io.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  (io.stdin as PassThrough).end(Buffer.from(stdin));
  const code = await main(["convert", ...args], io);
  return { code, stdout: new Uint8Array(Buffer.concat(out)), stderr: Buffer.concat(err).toString("utf8") };
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "convert-cli-"));
  writeFileSync(join(dir, "in.xl"), XL);
  writeFileSync(join(dir, "domain.xml"), XML);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("xen-stream convert", () => {
  test("is registered, with --help", async () => {
    expect(convertCommand.summary).toMatch(/containers/);
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(new TextDecoder().decode(help.stdout)).toMatch(/usage: xen-stream convert/);
    const list = await main(["--help"], { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() });
    expect(list).toBe(0);
  });

  test("xl file to libvirt with --xml, file to file, byte exact", async () => {
    const out = join(dir, "out.libvirt");
    const result = await run([join(dir, "in.xl"), "--to", "libvirt", "--xml", join(dir, "domain.xml"), "-o", out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("xen-stream convert: note: dropped the xl header and its config\n");
    expect(toHex(new Uint8Array(readFileSync(out)))).toBe(toHex(LIBVIRT));
    expect(readdirSync(dir).filter((name) => name.includes("partial"))).toEqual([]);
  });

  test("libvirt on standard input to a bare libxl stream on standard output", async () => {
    const result = await run(["-", "--to", "libxl"], LIBVIRT);
    expect(result.code).toBe(0);
    expect(toHex(result.stdout)).toBe(toHex(LIBXL));
    expect(result.stderr).toBe("xen-stream convert: note: dropped the libvirt header and its domain XML\n");
  });

  test("--json describes the move", async () => {
    const out = join(dir, "out.libxc");
    const result = await run([join(dir, "in.xl"), "--to", "libxc", "-o", out, "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(result.stdout))).toEqual({
      input: join(dir, "in.xl"),
      from: "xl container, libxl stream",
      to: "libxc",
      bytes: readFileSync(out).length,
      notes: ["dropped the xl header and its config"],
    });
  });

  test.each([
    [["--to", "qemu"], /--to must be one of xl, libvirt, libxl, libxc, xenopsd/],
    [[], /--to is required/],
    [["a", "b", "--to", "xl"], /at most one FILE/],
    [["--to", "xl", "--json"], /--json needs -o OUT/],
    [["--bogus"], /Unknown option/],
  ])("usage error %j: exit 2", async (args, message) => {
    const result = await run(args, XL);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout.length).toBe(0);
  });

  test("libvirt without XML from an xl file says what is missing: exit 2, no output file", async () => {
    const out = join(dir, "never.libvirt");
    const result = await run([join(dir, "in.xl"), "--to", "libvirt", "-o", out]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(
      "xen-stream convert: a libvirt image stores the domain XML, which this file does not have; pass it (--xml FILE / options.xml)",
    );
    expect(existsSync(out)).toBe(false);
  });

  test("refuses to write binary to a terminal", async () => {
    const result = await run(["--to", "libxl"], XL, true);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to write a binary save image to a terminal/);
  });

  test("an invalid input exits 1 with the code", async () => {
    const broken = XL.slice(0, 100);
    const result = await run(["--to", "libxl"], broken);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^xen-stream convert: <stdin>: TRUNCATED at offset 100: [^()]*\n$/);
  });

  test("a reader that went away (EPIPE) ends the output quietly", async () => {
    const stdout = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const stderr = new PassThrough();
    const err: Buffer[] = [];
    stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const stdin = new PassThrough();
    stdin.end(Buffer.from(XL));
    const code = await main(["convert", "--to", "libxl"], { stdin, stdout, stderr });
    expect(code).toBe(0);
    expect(Buffer.concat(err).toString("utf8")).toBe("xen-stream convert: note: dropped the xl header and its config\n");
  });

  test("a missing input file is an I/O error: exit 2", async () => {
    const result = await run([join(dir, "absent.xl"), "--to", "libxl", "-o", join(dir, "x")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot read/);
  });
});
