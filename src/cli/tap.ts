/**
 * `xen-stream tap [options] [-- CMD ARGS...]`: pass a stream through
 * unchanged while verifying it. Without CMD, stdin is copied to stdout;
 * with CMD, stdin goes to CMD's stdin and CMD's stdout is our stdout, so
 * that `xl migrate -s "xen-stream tap -- ssh" VM HOST` checks a live
 * migration in flight. Every chunk is written on as soon as it arrives,
 * before it is verified: no byte is changed or held back.
 *
 * @module
 * @internal
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { StreamVerifier } from "../verify/verifier.js";
import type { Finding, Profile } from "../verify/types.js";
import { describeTrailer } from "../xl/migration.js";
import { parseCommand } from "./args.js";
import { isNoXenStream, NO_XEN_STREAM, pushUntilEnd, TrailerCollector, withTrailer } from "./input.js";
import { type CliCommand, type CliIO, errorText, EXIT_INVALID, EXIT_OK, EXIT_USAGE, isClosedOutput } from "./io.js";

const USAGE = `usage: xen-stream tap [options] [-- CMD [ARGS...]]

Copy standard input to standard output unchanged while verifying it as a
save file or migration stream, or, with CMD, run CMD with our standard
input forwarded to its standard input (verified in passing) and its
standard output passed back unchanged:

  xl migrate -s "xen-stream tap -- ssh" VM HOST

xl's migration message after the stream ("domain is yours, you are
cleared to unpause", 44 bytes) is expected there and named as such. The
first fault is reported on stderr with its offset as soon as it is seen;
the exit status comes after the input ends.

options:
  -p, --profile spec|restore   rule set (default: spec)
      --report FILE            write the verification report as JSON
  -q, --quiet                  no verdict line on stderr when the stream is valid
  -h, --help                   show this help

exit status: CMD's status when it failed; else 0 valid, 1 invalid stream,
2 usage or I/O error
`;

function describeFinding(finding: Finding): string {
  return `${finding.severity} ${finding.code} at offset ${finding.offset}: ${finding.message}`;
}

/** Writes `chunk` to `out`, resolving when it may take more. */
function forward(out: Writable, chunk: Uint8Array): Promise<void> | undefined {
  if (out.write(chunk)) return undefined;
  return new Promise((resolve, reject) => {
    const done = (): void => {
      out.off("error", fail);
      resolve();
    };
    const fail = (error: Error): void => {
      out.off("drain", done);
      reject(error);
    };
    out.once("drain", done);
    out.once("error", fail);
  });
}

/** @internal */
export const tapCommand: CliCommand = {
  summary: "pass a stream through unchanged (or to a command, as xl migrate -s) while verifying it",
  async run(args: string[], io: CliIO): Promise<number> {
    const split = args.indexOf("--");
    const own = split < 0 ? args : args.slice(0, split);
    const command = split < 0 ? [] : args.slice(split + 1);
    const parsed = parseCommand(
      "tap",
      USAGE,
      { profile: { type: "string", short: "p", default: "spec" }, report: { type: "string" }, quiet: { type: "boolean", short: "q", default: false } },
      own,
      io,
    );
    if (typeof parsed === "number") return parsed;
    const { values, positionals, fail } = parsed;
    if (positionals.length > 0) return fail(`unexpected argument "${positionals[0] as string}" (put a command after --)`);
    if (split >= 0 && command.length === 0) return fail("-- must be followed by a command");
    if (command.length === 0 && (io.stdout as { isTTY?: boolean }).isTTY === true) {
      return fail("standard output is a terminal: redirect it (tap copies binary data), or give a command after --");
    }
    const profile = values.profile as string;
    if (profile !== "spec" && profile !== "restore") return fail(`--profile must be spec or restore, got "${profile}"`);

    let firstFault: Finding | undefined;
    const verifier = new StreamVerifier({
      profile: profile as Profile,
      onFinding: (finding) => {
        if (finding.severity !== "error" || firstFault !== undefined) return;
        firstFault = finding;
        io.stderr.write(`xen-stream tap: ${describeFinding(finding)}\n`);
      },
    });
    const trailer = new TrailerCollector();
    let verifying = true;

    let child: ChildProcess | undefined;
    let childExit: Promise<number> | undefined;
    let out: Writable = io.stdout;
    if (command.length > 0) {
      try {
        child = spawn(command[0] as string, command.slice(1), { stdio: ["pipe", "inherit", "inherit"] });
      } catch (error) {
        io.stderr.write(`xen-stream tap: cannot run ${command[0] as string}: ${errorText(error)}\n`);
        return EXIT_USAGE;
      }
      childExit = new Promise((resolve) => {
        child?.once("error", (error) => {
          io.stderr.write(`xen-stream tap: cannot run ${command[0] as string}: ${error.message}\n`);
          resolve(127);
        });
        child?.once("close", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
      });
      out = child.stdin as Writable;
    }
    // A reader that has gone (closed pipe) ends the copy quietly; the
    // verdict still covers what was read.
    let outClosed = false;
    out.on("error", (error: NodeJS.ErrnoException) => {
      if (isClosedOutput(error)) outClosed = true;
    });
    try {
      for await (const chunk of io.stdin as AsyncIterable<Uint8Array>) {
        if (!outClosed) {
          try {
            await forward(out, chunk);
          } catch {
            outClosed = true;
          }
        }
        if (verifying) verifying = pushUntilEnd(verifier, chunk, trailer);
      }
    } catch (error) {
      io.stderr.write(`xen-stream tap: cannot read standard input: ${errorText(error)}\n`);
      return EXIT_USAGE;
    } finally {
      if (child !== undefined) child.stdin?.end();
    }
    const found = trailer.finish();
    const { report, added } = withTrailer(verifier.end(), found);
    if (added !== undefined && added.severity === "error") io.stderr.write(`xen-stream tap: ${describeFinding(added)}\n`);
    const ok = report.ok;
    const extra = found === undefined ? "" : `; ${describeTrailer(found)}`;
    if (values.report !== undefined) writeFileSync(values.report as string, `${JSON.stringify({ ...report, trailer: found ?? null }, null, 2)}\n`);
    const childCode = childExit === undefined ? 0 : await childExit;
    if (!ok || values.quiet !== true) {
      const what = isNoXenStream(report) ? `input, ${NO_XEN_STREAM}` : `stream of ${report.summary.bytes} bytes`;
      io.stderr.write(`xen-stream tap: ${ok ? "valid" : "INVALID"} ${what}${extra}\n`);
    }
    if (childCode !== 0) return childCode;
    return ok ? EXIT_OK : EXIT_INVALID;
  },
};
