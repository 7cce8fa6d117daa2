/**
 * Runs the CLI in-process with captured streams: the one helper the CLI
 * tests share.
 */
import { PassThrough } from "node:stream";
import { main } from "../../src/cli/main.js";

/** What a CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `xen-stream ARGS...`. `stdin` arrives in `chunkSize` pieces, like a pipe.
 */
export async function runCli(args: string[], stdin?: Uint8Array, chunkSize = 4096): Promise<CliRun> {
  const input = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
  stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
  if (stdin !== undefined) for (let i = 0; i < stdin.length; i += chunkSize) input.write(stdin.subarray(i, i + chunkSize));
  input.end();
  const code = await main(args, { stdin: input, stdout, stderr });
  return { code, stdout: out, stderr: err };
}
