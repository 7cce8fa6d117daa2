// scripts/fuzz.ts end to end: an execution count is run exactly, and a case
// over its time bound or its memory bound is a finding saved with its seed
// and input, after which the fuzzer goes on with the next seed. The bounds
// are broken by a test-only target (fixtures/fuzz-bound-hook.ts, --hook).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { fuzzCase } from "../../src/testing/index.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = join(REPO, "scripts", "fuzz.ts");
const HOOK = join(REPO, "test", "testing", "fixtures", "fuzz-bound-hook.ts");
const dir = mkdtempSync(join(tmpdir(), "fuzz-script-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fuzz(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", SCRIPT, ...args], { cwd: REPO, encoding: "utf8", env: { ...process.env, ...env }, timeout: 50_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The sidecars of the saved failures, by seed. */
function saved(out: string): Map<number, { file: string; seed: number; failures: Array<{ target: string; message: string }> }> {
  const found = new Map<number, { file: string; seed: number; failures: Array<{ target: string; message: string }> }>();
  for (const name of readdirSync(out).filter((file) => file.endsWith(".json"))) {
    const sidecar = JSON.parse(readFileSync(join(out, name), "utf8")) as { seed: number; failures: Array<{ target: string; message: string }> };
    found.set(sidecar.seed, { file: join(out, name.replace(/\.json$/, ".bin")), ...sidecar });
  }
  return found;
}

describe("npm run fuzz", () => {
  test("--executions N runs exactly N cases; a clean run exits 0", () => {
    const out = join(dir, "clean");
    const { status, stdout } = fuzz(["--executions", "150", "--seed", "40", "--out", out]);
    expect(status, stdout).toBe(0);
    expect(stdout).toMatch(/^150 cases in \d+\.\d s \(\d+ cases\/s; \d+\.\d s of CPU, \d+ cases per CPU second\) from seed 40$/m);
    expect(stdout).toContain("0 failing inputs saved, 0 cases over a bound");
  });

  test("a case over its time bound and one over its memory bound are findings with seed and input; the run goes on", () => {
    const out = join(dir, "bounds");
    const { status, stdout } = fuzz(["--executions", "10", "--seed", "100", "--timeout", "1000", "--memory", "32", "--out", out, "--hook", HOOK], {
      FUZZ_HOOK_HANG_SEED: "103",
      FUZZ_HOOK_OOM_SEED: "106",
    });
    expect(status, stdout).toBe(1);
    expect(stdout).toMatch(/^FAIL seed 103 .*\n {2}timeout: the case ran over its time bound: no progress for 1000 ms$/m);
    expect(stdout).toMatch(/^FAIL seed 106 .*\n {2}memory: the case ran over its memory bound: the worker's heap passed 32 MiB$/m);
    // Seeds 100..109 all ran: the fuzzer restarted after each bound.
    expect(stdout).toMatch(/^10 cases in .* from seed 100$/m);
    expect(stdout).toContain("2 failing inputs saved, 2 cases over a bound");
    const findings = saved(out);
    expect([...findings.keys()].sort()).toEqual([103, 106]);
    expect(findings.get(103)?.failures.map((failure) => failure.target)).toEqual(["timeout"]);
    expect(findings.get(106)?.failures.map((failure) => failure.target)).toEqual(["memory"]);
    for (const seed of [103, 106]) {
      expect(new Uint8Array(readFileSync(findings.get(seed)?.file as string))).toEqual(fuzzCase(seed).input.bytes);
    }
  });

  test("a bad budget is a usage error", () => {
    const { status, stderr } = fuzz(["--executions", "0"]);
    expect(status).toBe(2);
    expect(stderr).toContain("fuzz: --executions must be an integer of at least 1, got 0");
  });
});
