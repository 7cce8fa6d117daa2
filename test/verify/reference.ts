/**
 * Access to Xen's verify-stream-v2 from the tests, through
 * scripts/xen-tools.mjs (one process per file, the real command line) and
 * through reference-batch.py (the same script's read_stream() for many files
 * in one interpreter, ~1 ms per file instead of ~50 ms).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");

export type ToolFormat = "libxc" | "libxl" | "xl";

/** One verify-stream-v2 verdict. */
export interface ReferenceResult {
  /** Exit status: 0 valid, 1 stream error, 2 script error. */
  status: number;
  /** Last meaningful stderr line (exception class and message). */
  message: string;
}

interface XenTools {
  xenToolsDir(): string | null;
  runVerifyStreamV2(file: string, format: ToolFormat, opts?: { verbose?: boolean }): { status: number | null; stdout: string; stderr: string };
}

let tools: XenTools | undefined;

/** Loads scripts/xen-tools.mjs (a plain .mjs without type declarations). */
export async function xenTools(): Promise<XenTools> {
  tools ??= (await import(pathToFileURL(join(REPO, "scripts", "xen-tools.mjs")).href)) as XenTools;
  return tools;
}

/** The last meaningful stderr line of a verify-stream-v2 run. */
export function lastMessage(stderr: string): string {
  const lines = stderr.split("\n").filter((line) => line.trim() !== "" && !["Please fix me", "Stream Error:", "Script Error:"].includes(line));
  return lines[lines.length - 1] ?? "";
}

/** verify-stream-v2 on one file, as a process (the real command line). */
export async function runReferenceCli(file: string, format: ToolFormat, verbose = false): Promise<ReferenceResult & { stdout: string }> {
  const { runVerifyStreamV2 } = await xenTools();
  const result = runVerifyStreamV2(file, format, { verbose });
  return { status: result.status ?? -1, message: lastMessage(result.stderr), stdout: result.stdout };
}

/** verify-stream-v2's read_stream() over many files in one Python process. */
export async function runReferenceBatch(items: ReadonlyArray<{ file: string; format: ToolFormat }>): Promise<Map<string, ReferenceResult>> {
  const { xenToolsDir } = await xenTools();
  const dir = xenToolsDir();
  if (dir === null) throw new Error("Xen tools not fetched: run bash scripts/fetch-xen-tools.sh");
  const lib = join(dir, "usr", "lib", "xen-4.17");
  const python = process.env.XEN_TOOLS_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  const child = spawn(python, [join(HERE, "reference-batch.py"), join(lib, "bin", "verify-stream-v2")], {
    env: { ...process.env, PYTHONPATH: join(lib, "lib", "python") },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const done = new Promise<number>((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolvePromise(code ?? -1));
  });
  child.stdin.end(items.map(({ file, format }) => `${format}\t${file}\n`).join(""));
  const code = await done;
  if (code !== 0) throw new Error(`reference-batch.py failed (${code}): ${stderr}`);
  const results = new Map<string, ReferenceResult>();
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    const { path, status, message } = JSON.parse(line) as { path: string; status: number; message: string };
    results.set(path, { status, message });
  }
  return results;
}
