/**
 * `xen-stream`: the command line over the library. Each sub-command lives in
 * its own file and is registered in COMMANDS.
 *
 * @module
 * @internal
 */
import { EXIT_OK, EXIT_USAGE, watchStdout, type CliCommand, type CliIO } from "./io.js";
import { PACKAGE_VERSION } from "./version.js";

/**
 * Sub-commands, loaded on demand: start-up time is what a short run of the
 * CLI spends most on, so only the command asked for is imported.
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  verify: {
    summary: "verify a save file or stream (verify-stream-v2 checks, spec rules, restore rules)",
    load: async () => (await import("./verify.js")).verifyCommand,
  },
  "convert-legacy": {
    summary: "convert a legacy (Xen <= 4.5) stream to migration v2 (like convert-legacy-stream)",
    load: async () => (await import("./convert-legacy.js")).convertLegacyCommand,
  },
  info: {
    summary: "one screen about a save file: layers, guest, vCPUs, memory, config, CPU, passes, verdict",
    load: async () => (await import("./info.js")).infoCommand,
  },
  config: {
    summary: "print the stored domain configuration, or write a copy with a new one (--set)",
    load: async () => (await import("./config.js")).configCommand,
  },
  stats: {
    summary: "statistics: pages by type, pfn ranges and holes, memory passes, batch sizes, bytes by record type",
    load: async () => (await import("./stats.js")).statsCommand,
  },
  diff: {
    summary: "compare two save files: headers, config, records, vCPU/HVM state, CPU policy, memory",
    load: async () => (await import("./diff.js")).diffCommand,
  },
  dump: {
    summary: "every header and record with its fields and decoded insides (text or JSON lines)",
    load: async () => (await import("./dump.js")).dumpCommand,
  },
  tap: {
    summary: "pass a stream through unchanged (or to a command, as xl migrate -s) while verifying it",
    load: async () => (await import("./tap.js")).tapCommand,
  },
  decode: {
    summary: "write a save file as a lossless JSON document (pages in a side file); encode turns it back",
    load: async () => (await import("./decode.js")).decodeCommand,
  },
  encode: {
    summary: "write the save file a decode document describes, byte for byte",
    load: async () => (await import("./encode.js")).encodeCommand,
  },
  "extract-memory": {
    summary: "write a save file's guest memory as a raw image, an ELF core or a Xen dump-core",
    load: async () => (await import("./extract-memory.js")).extractMemoryCommand,
  },
  simulate: {
    summary: "simulate a live migration (Xen 4.17's live loop): passes, bytes, downtime, what-if tables, the stream",
    load: async () => (await import("./simulate.js")).simulateCommand,
  },
  convert: {
    summary: "move a stream between containers (xl, libvirt, xenopsd, bare libxl or libxc)",
    load: async () => (await import("./convert.js")).convertCommand,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(16)} ${command.summary}`);
  return (
    [
      "usage: xen-stream <command> [options]",
      "",
      "commands:",
      ...lines,
      "",
      "Run `xen-stream help <command>` or `xen-stream <command> --help` for a command's options; `xen-stream --version` for the version.",
      "",
      "Start-up: the installed xen-stream keeps a V8 code cache per command (Node >= 22.1: Node's own;",
      "older: in $NODE_COMPILE_CACHE, $XDG_CACHE_HOME or ~/.cache, under xen-migration-stream/).",
      "NODE_DISABLE_COMPILE_CACHE=1 turns it off.",
    ].join("\n") + "\n"
  );
}

/** Runs the CLI with `argv` (without node and script). @internal */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" && rest.length === 0) {
    io.stdout.write(`xen-stream ${PACKAGE_VERSION}\n`);
    return EXIT_OK;
  }
  if (name === "help" && rest.length > 0) {
    // `help CMD` is `CMD --help`.
    const [topic, ...extra] = rest as [string, ...string[]];
    const helped = COMMANDS[topic];
    if (helped === undefined || extra.length > 0) {
      io.stderr.write(`xen-stream help: ${helped === undefined ? `unknown command "${topic}"` : "expected one command name"}\n${usage()}`);
      return EXIT_USAGE;
    }
    return (await helped.load()).run(["--help"], io);
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`xen-stream: unknown command "${name}"\n${usage()}`);
    return EXIT_USAGE;
  }
  return (await command.load()).run(rest, io);
}

/**
 * Runs the CLI as the process: arguments from `process.argv`, the process's
 * standard streams, the exit code into `process.exitCode`. @internal
 */
export function runAsProcess(): void {
  // Getters: touching a process stream sets it up (a few ms) even when
  // unused; a command may write fd 1 directly (writeOut). A closed output
  // pipe ends any command quietly (watchStdout), whichever way it writes.
  const io: CliIO = {
    get stdin() {
      return process.stdin;
    },
    get stdout() {
      watchStdout(io, process.stdout);
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    stdoutFd: 1,
    stderrFd: 2,
  };
  // A write error other than EPIPE may arrive after the command is done.
  process.once("exit", () => {
    if (io.stdoutFailure === undefined) return;
    process.stderr.write(`xen-stream: cannot write the output: ${io.stdoutFailure.message}\n`);
    process.exitCode = EXIT_USAGE;
  });
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`xen-stream: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
