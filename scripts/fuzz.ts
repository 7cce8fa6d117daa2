/**
 * Fuzzes the decoders, the verifier and the legacy converter with the
 * testing kit's mutators, for a time budget or a number of cases.
 *
 *   npm run fuzz -- --seconds 60            # fuzz for a minute (random start seed)
 *   npm run fuzz -- --seconds 20 --seed 1   # reproducible run
 *   npm run fuzz -- --executions 10000000   # 10^7 cases (with --seconds too: whichever first)
 *   npx tsx scripts/fuzz.ts --case 12345    # rerun the case of one seed (every target)
 *   npx tsx scripts/fuzz.ts --replay fuzz-failures/<hash>.bin
 *
 * Rate: 4,600-5,000 cases/s on one core (10^7 in 33-36 minutes): 32
 * seeds share one drawn stream, a case computes its decode and verdicts
 * once, and each case is classified then runs one target in turn by seed
 * (`--all-targets`: every target on every case, about 2,500/s; before
 * these changes every case ran every target at about 1,200/s).
 *
 * Bounds: cases run in a worker thread whose heap is limited to --memory
 * MiB (default 256; ArrayBuffers are outside that limit); the main thread
 * is a watchdog that kills the worker when one case takes longer than
 * --timeout ms (default 5000). A case over either bound is a finding like
 * any other, and a new worker goes on after it. Every failing input (an
 * exception other than XenStreamError, a broken invariant, a mutation that
 * did not do what its label says, a bound) is saved as
 * fuzz-failures/<hash>.bin with a .json beside it (seed, format, label,
 * what failed) and a line in fuzz-failures/README.md with the command that
 * reproduces it. `--hook MODULE` (tests only) adds the module's
 * `FUZZ_HOOK_TARGETS` to every case.
 *
 * Exit status: 0 clean, 1 failures found, 2 usage error.
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { KNOWN_ISSUES, fuzzCase, runFuzzInput, scheduledTargets, type FuzzCase, type FuzzCaseResult, type FuzzFailure } from "../src/testing/fuzz.js";
import { FUZZ_TARGETS, type FuzzInput, type FuzzTarget } from "../src/testing/targets.js";
import type { MutationLabel } from "../src/testing/mutators.js";

/** Slots of the shared heartbeat array: cases started by this worker, seed of the current case. */
const BEAT = 0;
const SEED = 1;

/** The worker checks the clock (deadline, stats) once every this many cases. */
const CLOCK_EVERY = 64;

interface WorkerStart {
  firstSeed: number;
  /** Date.now() to stop at (Infinity: none). */
  deadline: number;
  /** Most cases to run. */
  executions: number;
  shared: SharedArrayBuffer;
  /** Every target on every case (default: {@link scheduledTargets}). */
  allTargets: boolean;
  /** Test-only module whose `FUZZ_HOOK_TARGETS` run on every case, after the real targets. */
  hook?: string;
}

type Counts = Record<string, number>;

type WorkerMessage =
  | { type: "failure"; seed: number; failures: FuzzFailure[] }
  | { type: "stats"; cases: number; counts: Counts; generators: Counts; known: Counts; ran: Counts }
  | { type: "done"; cases: number; counts: Counts; generators: Counts; known: Counts; ran: Counts };

// ---------------------------------------------------------------------------
// Worker: run cases until the deadline or the execution count.

/** The stack trace depth to report failures with (cases run with none). */
const STACK_TRACE_LIMIT = Error.stackTraceLimit;

/** Runs the case of a seed; failures come with stacks (a failing case is run again with stack traces on). */
function runSeed(seed: number, start: WorkerStart, hooks: readonly FuzzTarget[]): { generator: string; result: FuzzCaseResult; targets: readonly FuzzTarget[] } {
  const generated = fuzzCase(seed);
  const targets = [...(start.allTargets ? FUZZ_TARGETS.filter((target) => target.applies(generated.input)) : scheduledTargets(seed, generated.input)), ...hooks];
  const result = runFuzzInput(generated.input, generated.mutation, targets);
  if (result.failures.length > 0 && Error.stackTraceLimit === 0) {
    Error.stackTraceLimit = STACK_TRACE_LIMIT;
    try {
      const again = runFuzzInput(fuzzCase(seed).input, generated.mutation, targets);
      if (again.failures.length > 0) return { generator: generated.generator, result: again, targets };
    } finally {
      Error.stackTraceLimit = 0;
    }
  }
  return { generator: generated.generator, result, targets };
}

async function workerMain(start: WorkerStart): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const hooks = start.hook === undefined ? [] : await loadHook(start.hook);
  const beat = new Int32Array(start.shared);
  const counts: Counts = {};
  const generators: Counts = {};
  const known: Counts = {};
  const ran: Counts = {};
  let cases = 0;
  let lastStats = Date.now();
  // Most cases throw a XenStreamError or two: capturing their stacks is a good part of a case's time.
  Error.stackTraceLimit = 0;
  for (let seed = start.firstSeed; cases < start.executions; seed = (seed + 1) >>> 0) {
    if (cases % CLOCK_EVERY === 0) {
      const now = Date.now();
      if (now >= start.deadline) break;
      if (now - lastStats >= 1000) {
        port.postMessage({ type: "stats", cases, counts, generators, known, ran } satisfies WorkerMessage);
        lastStats = now;
      }
    }
    Atomics.store(beat, SEED, seed | 0);
    Atomics.add(beat, BEAT, 1);
    let failures: FuzzFailure[];
    let key: string;
    try {
      const { generator, result, targets } = runSeed(seed, start, hooks);
      for (const target of targets) ran[target.name] = (ran[target.name] ?? 0) + 1;
      failures = result.failures;
      for (const id of result.known) known[id] = (known[id] ?? 0) + 1;
      key = `${result.kind}\t${result.outcome}`;
      generators[generator] = (generators[generator] ?? 0) + 1;
    } catch (error) {
      failures = [{ target: "generate", message: String(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) }];
      key = "generate\tcrash";
    }
    counts[key] = (counts[key] ?? 0) + 1;
    cases++;
    if (failures.length > 0) port.postMessage({ type: "failure", seed, failures } satisfies WorkerMessage);
  }
  port.postMessage({ type: "done", cases, counts, generators, known, ran } satisfies WorkerMessage);
}

/** The extra targets of a `--hook` module (tests of the fuzzer's own bounds). */
async function loadHook(path: string): Promise<FuzzTarget[]> {
  const module = (await import(pathToFileURL(resolve(path)).href)) as { FUZZ_HOOK_TARGETS?: FuzzTarget[] };
  if (!Array.isArray(module.FUZZ_HOOK_TARGETS)) throw new Error(`--hook ${path}: the module exports no FUZZ_HOOK_TARGETS array`);
  return module.FUZZ_HOOK_TARGETS;
}

// ---------------------------------------------------------------------------
// Saving failures.

interface Saved {
  file: string;
  fresh: boolean;
}

function save(outDir: string, input: FuzzInput, details: { seed?: number; generator?: string; mutation?: MutationLabel; failures: FuzzFailure[] }): Saved {
  mkdirSync(outDir, { recursive: true });
  const hash = createHash("sha256").update(input.bytes).digest("hex").slice(0, 16);
  const file = join(outDir, `${hash}.bin`);
  const fresh = !existsSync(file);
  if (fresh) {
    writeFileSync(file, input.bytes);
    const sidecar = { format: input.format, legacy: input.legacy, chunking: input.chunking, ...details };
    writeFileSync(join(outDir, `${hash}.json`), `${JSON.stringify(sidecar, null, 2)}\n`);
    const readme = join(outDir, "README.md");
    if (!existsSync(readme)) {
      writeFileSync(readme, "# Fuzz failures\n\nInputs that made `npm run fuzz` fail, one line each. Reproduce with the command given.\n\n");
    }
    const first = details.failures[0];
    const what = first === undefined ? "?" : `${first.target}: ${first.message.split("\n")[0]}`;
    appendFileSync(readme, `- \`${hash}.bin\` (${details.generator ?? "?"}, seed ${details.seed ?? "?"}, ${details.mutation?.kind ?? "no mutation"}): ${what}\n  reproduce: \`npx tsx scripts/fuzz.ts --replay ${join(outDir, `${hash}.bin`)}\`\n`);
  }
  return { file, fresh };
}

// ---------------------------------------------------------------------------
// Reports.

function table(counts: Counts): string {
  const byKind = new Map<string, Array<[string, number]>>();
  for (const [key, count] of Object.entries(counts)) {
    const [kind, outcome] = key.split("\t") as [string, string];
    const list = byKind.get(kind) ?? [];
    list.push([outcome, count]);
    byKind.set(kind, list);
  }
  const rows: string[] = [];
  const width = Math.max(8, ...[...byKind.keys()].map((kind) => kind.length));
  rows.push(`${"mutation".padEnd(width)}  ${"cases".padStart(6)}  outcomes (decoder / verifier [/ convert])`);
  for (const kind of [...byKind.keys()].sort()) {
    const list = (byKind.get(kind) ?? []).sort((a, b) => b[1] - a[1]);
    const total = list.reduce((sum, [, count]) => sum + count, 0);
    const shown = list.slice(0, 4).map(([outcome, count]) => `${outcome} ${count}`).join(", ");
    rows.push(`${kind.padEnd(width)}  ${String(total).padStart(6)}  ${shown}${list.length > 4 ? `, +${list.length - 4} more` : ""}`);
  }
  return rows.join("\n");
}

function printFailures(failures: FuzzFailure[]): void {
  for (const failure of failures) {
    console.log(`  ${failure.target}: ${failure.message}`);
    if (failure.stack !== undefined) console.log(failure.stack.split("\n").slice(1, 6).map((line) => `    ${line.trim()}`).join("\n"));
  }
}

// ---------------------------------------------------------------------------
// Replay.

function replay(files: string[]): number {
  let failing = 0;
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(file));
    const sidecar = join(dirname(file), `${basename(file, ".bin")}.json`);
    const meta = existsSync(sidecar) ? (JSON.parse(readFileSync(sidecar, "utf8")) as Partial<FuzzCase["input"]> & { mutation?: MutationLabel }) : {};
    const input: FuzzInput = { bytes, format: meta.format ?? "auto" };
    if (meta.legacy !== undefined) input.legacy = meta.legacy;
    if (meta.chunking !== undefined) input.chunking = meta.chunking;
    console.log(`${file}: ${bytes.length} bytes, format ${input.format}${meta.mutation ? `, ${meta.mutation.kind}: ${meta.mutation.description}` : ""}`);
    const result = runFuzzInput(input, meta.mutation);
    console.log(`  outcome: ${result.outcome}; targets: ${Object.entries(result.targets).map(([name, outcome]) => `${name} ${outcome}`).join(", ")}`);
    if (result.known.length > 0) console.log(`  known issues: ${result.known.join(", ")}`);
    if (result.failures.length > 0) {
      failing++;
      printFailures(result.failures);
    } else console.log("  no failure (fixed?)");
  }
  return failing > 0 ? 1 : 0;
}

function runOneCase(seed: number, outDir: string): number {
  const generated = fuzzCase(seed);
  console.log(`seed ${seed}: ${generated.generator}, ${generated.input.bytes.length} bytes, ${generated.mutation.kind}: ${generated.mutation.description}`);
  const result = runFuzzInput(generated.input, generated.mutation);
  console.log(`  outcome: ${result.outcome}; targets: ${Object.entries(result.targets).map(([name, outcome]) => `${name} ${outcome}`).join(", ")}`);
  if (result.failures.length === 0) return 0;
  printFailures(result.failures);
  const saved = save(outDir, generated.input, { seed, generator: generated.generator, mutation: generated.mutation, failures: result.failures });
  console.log(`  saved ${saved.file}`);
  return 1;
}

// ---------------------------------------------------------------------------
// Main: the watchdog.

function startWorker(start: WorkerStart, memoryMb: number): Worker {
  // tsx registers its loader in this thread only; the worker registers it again.
  const api = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  return new Worker(code, { eval: true, workerData: start, resourceLimits: { maxOldGenerationSizeMb: memoryMb } });
}

interface FuzzOptions {
  /** Time budget (Infinity: none). */
  seconds: number;
  /** Most cases (Infinity: none). */
  executions: number;
  firstSeed: number;
  /** A case running longer is a finding. */
  timeoutMs: number;
  /** The worker's heap limit: a case needing more is a finding. */
  memoryMb: number;
  outDir: string;
  allTargets: boolean;
  hook?: string;
}

async function fuzz(options: FuzzOptions): Promise<number> {
  const { seconds, executions, firstSeed, timeoutMs, memoryMb, outDir } = options;
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const deadline = started + seconds * 1000;
  const totals: Counts = {};
  const generatorTotals: Counts = {};
  const knownTotals: Counts = {};
  const ranTotals: Counts = {};
  let cases = 0;
  let failingInputs = 0;
  let hangs = 0;
  let seed = firstSeed;
  const budget = [Number.isFinite(seconds) ? `for ${seconds} s` : "", Number.isFinite(executions) ? `${executions} cases` : ""].filter(Boolean).join(" or ");
  console.log(`fuzzing ${budget} from seed ${firstSeed} (bounds per case: ${timeoutMs} ms, ${memoryMb} MiB heap); failures go to ${outDir}/`);

  const report = (message: WorkerMessage, into: { counts: Counts; generators: Counts; known: Counts; ran: Counts; cases: number }): void => {
    if (message.type === "failure") return;
    into.counts = message.counts;
    into.generators = message.generators;
    into.known = message.known;
    into.ran = message.ran;
    into.cases = message.cases;
  };

  const recordFailure = (failedSeed: number, failures: FuzzFailure[]): void => {
    let generated: FuzzCase | undefined;
    try {
      generated = fuzzCase(failedSeed);
    } catch {
      generated = undefined;
    }
    console.log(`FAIL seed ${failedSeed}${generated ? ` (${generated.generator}, ${generated.mutation.kind}: ${generated.mutation.description})` : ""}`);
    printFailures(failures);
    if (generated === undefined) return;
    const saved = save(outDir, generated.input, { seed: failedSeed, generator: generated.generator, mutation: generated.mutation, failures });
    if (saved.fresh) failingInputs++;
    console.log(`  saved ${saved.file}; reproduce: npx tsx scripts/fuzz.ts --replay ${saved.file}`);
  };

  while (Date.now() < deadline && cases < executions) {
    const shared = new SharedArrayBuffer(8);
    const beat = new Int32Array(shared);
    const start: WorkerStart = { firstSeed: seed, deadline, executions: executions - cases, shared, allTargets: options.allTargets };
    if (options.hook !== undefined) start.hook = options.hook;
    const worker = startWorker(start, memoryMb);
    const current = { counts: {} as Counts, generators: {} as Counts, known: {} as Counts, ran: {} as Counts, cases: 0 };
    const outcome = await new Promise<"done" | "hang" | "memory" | "error">((resolve) => {
      let lastBeat = -1;
      let lastChange = Date.now();
      const watchdog = setInterval(() => {
        const now = Atomics.load(beat, BEAT);
        if (now !== lastBeat) {
          lastBeat = now;
          lastChange = Date.now();
        } else if (now > 0 && Date.now() - lastChange > timeoutMs) {
          clearInterval(watchdog);
          resolve("hang");
        }
      }, Math.min(100, Math.max(10, Math.floor(timeoutMs / 4))));
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "failure") recordFailure(message.seed, message.failures);
        else report(message, current);
        if (message.type === "done") {
          clearInterval(watchdog);
          resolve("done");
        }
      });
      worker.on("error", (error: Error & { code?: string }) => {
        clearInterval(watchdog);
        if (error.code === "ERR_WORKER_OUT_OF_MEMORY") resolve("memory");
        else {
          console.log(`worker error: ${String(error)}`);
          resolve("error");
        }
      });
    });
    const stuck = Atomics.load(beat, SEED) >>> 0;
    // The cases the worker started, one that broke a bound included (its last stats may lag behind).
    const begun = Atomics.load(beat, BEAT);
    await worker.terminate();
    cases += begun;
    for (const [key, count] of Object.entries(current.counts)) totals[key] = (totals[key] ?? 0) + count;
    for (const [key, count] of Object.entries(current.generators)) generatorTotals[key] = (generatorTotals[key] ?? 0) + count;
    for (const [key, count] of Object.entries(current.known)) knownTotals[key] = (knownTotals[key] ?? 0) + count;
    for (const [key, count] of Object.entries(current.ran)) ranTotals[key] = (ranTotals[key] ?? 0) + count;
    if (outcome === "done") break;
    if (outcome === "error" && begun === 0) return 2;
    hangs++;
    const what =
      outcome === "hang"
        ? { target: "timeout", message: `the case ran over its time bound: no progress for ${timeoutMs} ms` }
        : outcome === "memory"
          ? { target: "memory", message: `the case ran over its memory bound: the worker's heap passed ${memoryMb} MiB` }
          : { target: "worker", message: "the worker died" };
    recordFailure(stuck, [what]);
    seed = (stuck + 1) >>> 0;
  }
  const elapsed = (Date.now() - started) / 1000;
  // Both threads, worker start-ups included: cases per second of one core, however busy the machine.
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

  console.log("");
  console.log(table(totals));
  console.log("");
  console.log(`streams: ${Object.entries(generatorTotals).sort().map(([name, count]) => `${name} ${count}`).join(", ")}`);
  console.log(
    `targets (${options.allTargets ? "every target on every case" : "each case classified, then one target in turn"}): ` +
      `${Object.entries(ranTotals).map(([name, count]) => `${name} ${count}`).join(", ")}`,
  );
  for (const [id, count] of Object.entries(knownTotals)) {
    console.log(`known issue ${id} (${count} cases, not counted as failures): ${KNOWN_ISSUES.find((issue) => issue.id === id)?.description ?? ""}`);
  }
  console.log(`${failingInputs} failing inputs saved, ${hangs} cases over a bound (time, memory) or crashed`);
  console.log(
    `${cases} cases in ${elapsed.toFixed(1)} s (${Math.round(cases / Math.max(elapsed, 0.001))} cases/s; ` +
      `${cpuSeconds.toFixed(1)} s of CPU, ${Math.round(cases / Math.max(cpuSeconds, 0.001))} cases per CPU second) from seed ${firstSeed}`,
  );
  return failingInputs > 0 || hangs > 0 ? 1 : 0;
}

function usage(message: string): number {
  console.error(`fuzz: ${message}`);
  console.error(
    "usage: tsx scripts/fuzz.ts [--seconds N] [--executions N] [--seed S] [--timeout MS] [--memory MB] [--all-targets] [--out DIR] | --case SEED | --replay FILE...",
  );
  return 2;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        seconds: { type: "string" },
        executions: { type: "string" },
        seed: { type: "string" },
        timeout: { type: "string", default: "5000" },
        memory: { type: "string", default: "256" },
        out: { type: "string", default: "fuzz-failures" },
        case: { type: "string" },
        replay: { type: "boolean", default: false },
        "all-targets": { type: "boolean", default: false },
        hook: { type: "string" },
      },
      allowPositionals: true,
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.replay) return positionals.length === 0 ? usage("--replay needs at least one file") : replay(positionals);
  if (positionals.length > 0) return usage(`unexpected argument ${positionals[0]}`);
  const integer = (text: string | undefined, name: string, min = 0): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`--${name} must be an integer of at least ${min}, got ${text}`);
    return value;
  };
  try {
    if (values.case !== undefined) return runOneCase(integer(values.case, "case") as number, values.out);
    const executions = integer(values.executions, "executions", 1);
    // --executions alone: run until N cases; with --seconds: whichever comes first; neither: 60 s.
    const seconds = integer(values.seconds, "seconds") ?? (executions === undefined ? 60 : Infinity);
    const timeoutMs = integer(values.timeout, "timeout", 1) as number;
    const memoryMb = integer(values.memory, "memory", 16) as number;
    const seed = integer(values.seed, "seed") ?? (Date.now() >>> 0);
    const options: FuzzOptions = {
      seconds,
      executions: executions ?? Infinity,
      firstSeed: seed >>> 0,
      timeoutMs,
      memoryMb,
      outDir: values.out,
      allTargets: values["all-targets"],
    };
    if (values.hook !== undefined) options.hook = values.hook;
    return await fuzz(options);
  } catch (error) {
    if (error instanceof RangeError) return usage(error.message);
    throw error;
  }
}

if (isMainThread) {
  process.exitCode = await main();
} else {
  await workerMain(workerData as WorkerStart);
}
