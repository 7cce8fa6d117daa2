// The built executable (src/cli/launcher.ts, dist/cli.cjs) loads the CLI
// bundle through a V8 code cache kept on the user's machine: the first run
// of a command writes it, later runs use it, a bad or foreign one only costs
// the compile, NODE_DISABLE_COMPILE_CACHE turns it off. The launcher and
// the bundles (the dispatcher and one per command: scripts/cli-bundles.ts)
// are built here with esbuild as tsup builds them (a fixed build id) and
// run on plain node.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { commandEntries, commandsApart } from "../../scripts/cli-bundles.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PV = join(REPO, "spec-vectors/captured/xen-4.17-pv-save.skel.xl");
const scratch = mkdtempSync(join(tmpdir(), "xen-stream-launcher-"));
const cli = join(scratch, "dist", "cli.cjs");
const BUILD_ID = "0123456789abcdef";
// Node >= 22.1 has its own compile cache, which the launcher turns on instead.
const nodeCache = typeof (Module as { enableCompileCache?: unknown }).enableCompileCache === "function";

beforeAll(async () => {
  const common = { bundle: true, platform: "node", format: "cjs", target: "node18", logLevel: "warning", minifyWhitespace: true, minifySyntax: true } as const;
  await build({ ...common, entryPoints: [join(REPO, "src/cli/main.ts")], outfile: join(scratch, "dist", "cli-main.cjs"), plugins: [commandsApart] });
  await build({ ...common, entryPoints: commandEntries(REPO), outdir: join(scratch, "dist"), outExtension: { ".js": ".cjs" } });
  await build({ ...common, entryPoints: [join(REPO, "src/cli/launcher.ts")], outfile: cli, define: { XEN_STREAM_BUILD_ID: JSON.stringify(BUILD_ID) } });
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[], cache: string, extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: cache, ...extraEnv };
  delete env.NODE_EXTRA_CA_CERTS;
  if (extraEnv.NODE_DISABLE_COMPILE_CACHE === undefined) delete env.NODE_DISABLE_COMPILE_CACHE;
  const result = spawnSync(process.execPath, [cli, ...args], { env, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const valid = { status: 0, stdout: `${PV}: valid xl save file (x86 PV, libxc v3, Xen 4.17): 0 errors, 0 warnings\n`, stderr: "" };
/** Our cache files (Node < 22.1) in `cache`. */
const ours = (cache: string): string[] => (existsSync(join(cache, "xen-migration-stream")) ? readdirSync(join(cache, "xen-migration-stream")).sort() : []);
/** Our cache file of `command` for the dispatcher's bundle, or for the bundle `bundle` (the command's). */
const ownName = (command: string, bundle?: string): string => `cli-${BUILD_ID}-${process.version}-${process.arch}-${command}${bundle === undefined ? "" : `.${bundle}`}.cache`;
/** Both cache files of a run of `command` (the dispatcher's, the command bundle's). */
const ownNames = (command: string, bundle: string): string[] => [ownName(command), ownName(command, bundle)];

describe("the executable's code cache", () => {
  test("the first run writes it, later runs read it; same output and exit status every time", () => {
    const cache = join(scratch, "cache-1");
    expect(run(["verify", PV], cache)).toEqual(valid);
    if (nodeCache) expect(readdirSync(cache).length).toBeGreaterThan(0);
    else expect(ours(cache)).toEqual(ownNames("verify", "verify").sort());
    const first = nodeCache ? undefined : readFileSync(join(cache, "xen-migration-stream", ownName("verify", "verify")));
    expect(run(["verify", PV], cache)).toEqual(valid);
    expect(run(["verify", "-v", PV], cache).stdout.split("\n")[0]).toBe("Processed xl header");
    const cut = join(scratch, "cut.xl");
    writeFileSync(cut, readFileSync(PV).subarray(0, 20_000));
    expect(run(["verify", cut], cache).status).toBe(1);
    if (!nodeCache) {
      // kept (not rewritten) once valid; a cache per command and option names
      expect(readFileSync(join(cache, "xen-migration-stream", ownName("verify", "verify")))).toEqual(first);
      expect(ours(cache)).toEqual([...ownNames("verify", "verify"), ...ownNames("verify-v", "verify")].sort());
    }
  });

  test.skipIf(nodeCache)("a corrupt cache file is rejected, the run is right, and a fresh cache replaces it", () => {
    const cache = join(scratch, "cache-2");
    mkdirSync(join(cache, "xen-migration-stream"), { recursive: true });
    const file = join(cache, "xen-migration-stream", ownName("verify", "verify"));
    writeFileSync(file, "not a V8 code cache".repeat(100));
    expect(run(["verify", PV], cache)).toEqual(valid);
    expect(readFileSync(file).toString("latin1")).not.toContain("not a V8 code cache");
    expect(run(["verify", PV], cache)).toEqual(valid);
  });

  test.skipIf(nodeCache)("writing a cache removes those of other builds; other files are left alone", () => {
    const cache = join(scratch, "cache-3");
    const dir = join(cache, "xen-migration-stream");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `cli-ffffffffffffffff-${process.version}-${process.arch}-verify.cache`), "old build");
    writeFileSync(join(dir, "notes.txt"), "mine");
    expect(run(["verify", PV], cache)).toEqual(valid);
    expect(ours(cache)).toEqual([...ownNames("verify", "verify"), "notes.txt"].sort());
  });

  test("a run loads the dispatcher and the bundle of its command only", () => {
    const cache = join(scratch, "cache-5");
    const info = run(["info", PV], cache);
    expect(info.status).toBe(0);
    expect(info.stdout).toContain("valid, 0 errors, 0 warnings");
    if (!nodeCache) expect(ours(cache)).toEqual(ownNames("info", "info").sort());
    const dispatcher = readFileSync(join(scratch, "dist", "cli-main.cjs"), "utf8");
    expect(dispatcher).toContain('require("./cli-verify.cjs")');
    expect(dispatcher).not.toContain("StreamVerifier");
    expect(readFileSync(join(scratch, "dist", "cli-verify.cjs"), "utf8")).toContain("StreamVerifier");
  });

  test("NODE_DISABLE_COMPILE_CACHE: no cache written, the run unchanged", () => {
    const cache = join(scratch, "cache-4");
    expect(run(["verify", PV], cache, { NODE_DISABLE_COMPILE_CACHE: "1" })).toEqual(valid);
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
  });

  test("an unwritable cache place only costs the compile", () => {
    const blocker = join(scratch, "a-file");
    writeFileSync(blocker, "");
    expect(run(["verify", PV], join(blocker, "cache"))).toEqual(valid);
    expect(run(["no-such-command"], join(blocker, "cache")).status).toBe(2);
  });
});
