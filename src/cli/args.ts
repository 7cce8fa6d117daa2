/**
 * Argument parsing shared by the commands: `node:util` parseArgs, `--help`,
 * and usage errors on stderr with exit 2.
 *
 * @module
 * @internal
 */
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";
import { type CliIO, errorText, EXIT_OK, EXIT_USAGE } from "./io.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parsed arguments, or the exit code when the command should stop. @internal */
export type Parsed<O extends Options> = { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>["values"]; positionals: string[]; fail: (message: string) => number } | number;

/**
 * Parses `args` for command `name`. Prints the usage and returns 0 for
 * --help; prints the error and the usage on stderr and returns 2 for bad
 * arguments. `fail` does the latter for checks the command makes itself.
 * @internal
 */
export function parseCommand<O extends Options>(name: string, usage: string, options: O, args: string[], io: CliIO): Parsed<O> {
  const fail = (message: string): number => {
    io.stderr.write(`xen-stream ${name}: ${message}\n${usage}`);
    return EXIT_USAGE;
  };
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { ...options, help: { type: "boolean", short: "h", default: false } } });
  } catch (error) {
    return fail(errorText(error));
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    io.stdout.write(usage);
    return EXIT_OK;
  }
  return { values: parsed.values as never, positionals: parsed.positionals, fail };
}
