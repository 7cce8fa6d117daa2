// migrateTrailer / --migrate-trailer: xl's migrate_permission_to_go message
// after the stream, as `xl migrate` writes it and `xl migrate-receive`
// reads it (tools/xl/xl.h, xl_migrate.c migrate_receive()).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, test } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { classifyTrailer } from "../../src/xl/migration.js";
import { guestFromSaveFile, simulateMigration, syntheticGuest, withoutMigrateTrailer } from "../../src/simulate/index.js";
import { thrown } from "../helpers/errors.js";
import { collect, sameBytes } from "./helpers.js";

// "domain is yours, you are cleared to unpause" and its NUL, byte by byte.
const PERMISSION_TO_GO = Uint8Array.from([
  0x64, 0x6f, 0x6d, 0x61, 0x69, 0x6e, 0x20, 0x69, 0x73, 0x20, 0x79, 0x6f, 0x75, 0x72, 0x73, 0x2c, 0x20, 0x79, 0x6f, 0x75, 0x20, 0x61,
  0x72, 0x65, 0x20, 0x63, 0x6c, 0x65, 0x61, 0x72, 0x65, 0x64, 0x20, 0x74, 0x6f, 0x20, 0x75, 0x6e, 0x70, 0x61, 0x75, 0x73, 0x65, 0x00,
]);

const dir = mkdtempSync(join(tmpdir(), "xen-simulate-trailer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("migrateTrailer", () => {
  const guest = syntheticGuest({ memoryMiB: 2, guest: "pvh" });
  const options = { guest, dirty: { kind: "hot", hotPages: 60, hotPagesPerSecond: 1e6 } } as const;

  test("appends exactly xl's 44-byte message after the stream, which is otherwise the same", async () => {
    expect(PERMISSION_TO_GO.length).toBe(44);
    const plain = await collect(simulateMigration(options).chunks());
    const run = simulateMigration({ ...options, migrateTrailer: true });
    const bytes = await collect(run.chunks({ chunkSize: 4096, reuseBuffer: true }));
    expect(bytes.length).toBe(plain.length + 44);
    expect(sameBytes(bytes.subarray(plain.length), PERMISSION_TO_GO)).toBe(true);
    expect(sameBytes(bytes.subarray(0, plain.length), plain)).toBe(true);
    // The report counts the stream only; the message is xl's protocol, not the stream.
    expect(run.report.streamBytes).toBe(plain.length);
    expect(sameBytes(withoutMigrateTrailer(bytes), plain)).toBe(true);
    // Iterated twice, the same bytes (each time a fresh message).
    expect(sameBytes(await collect(run.chunks()), bytes)).toBe(true);
    // What the decode/info commands name as xl's message, not trailing garbage.
    expect(classifyTrailer(bytes.subarray(plain.length), 44)).toEqual({ length: 44, kind: "permission-to-go" });
  });

  test("off by default and with false", async () => {
    const plain = await collect(simulateMigration(options).chunks());
    expect(sameBytes(plain.subarray(plain.length - 44), PERMISSION_TO_GO)).toBe(false);
    expect(sameBytes(await collect(simulateMigration({ ...options, migrateTrailer: false }).chunks()), plain)).toBe(true);
  });

  test("USAGE for a stream without an xl header, or a value that is not a boolean", () => {
    const container = guestFromSaveFile(new Uint8Array(readFileSync(new URL("../../spec-vectors/xenopsd/valid/libxc-only.bin", import.meta.url))));
    const error = thrown(() => simulateMigration({ guest: container, migrateTrailer: true }));
    expect([error.code, error.offset]).toEqual(["USAGE", 0]);
    expect(error.message).toContain("migrateTrailer: xl migrate-receive reads an xl save-file header first");
    expect(thrown(() => simulateMigration({ ...options, migrateTrailer: "yes" as unknown as boolean })).code).toBe("USAGE");
  });
});

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const io: CliIO = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const err: Buffer[] = [];
  io.stdout.on("data", () => undefined);
  io.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await main(["simulate", ...args], io);
  return { code, stderr: Buffer.concat(err).toString("utf8") };
}

describe("xen-stream simulate --migrate-trailer", () => {
  test("-o FILE ends with the message; the rest is the stream without the flag", async () => {
    const args = ["--memory", "2", "--guest", "hvm", "--dirty", "uniform:20000"];
    const withTrailer = join(dir, "with.xl");
    const without = join(dir, "without.xl");
    expect((await cli([...args, "--migrate-trailer", "-o", withTrailer])).code).toBe(0);
    expect((await cli([...args, "-o", without])).code).toBe(0);
    const a = new Uint8Array(readFileSync(withTrailer));
    const b = new Uint8Array(readFileSync(without));
    expect(a.length).toBe(b.length + 44);
    expect(sameBytes(a.subarray(b.length), PERMISSION_TO_GO)).toBe(true);
    expect(sameBytes(a.subarray(0, b.length), b)).toBe(true);
  });

  test("without --output, or for a source without an xl header: usage error", async () => {
    const noOutput = await cli(["--memory", "2", "--migrate-trailer"]);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toContain("--migrate-trailer goes after the stream: give --output");
    const source = new URL("../../spec-vectors/xenopsd/valid/libxc-only.bin", import.meta.url).pathname;
    const container = await cli(["--source", source, "--migrate-trailer", "-o", join(dir, "x.img")]);
    expect(container.code).toBe(2);
    expect(container.stderr).toContain("xl migrate-receive reads an xl save-file header first");
  });
});
