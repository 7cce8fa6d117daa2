// Writes dist/cli-main.cache: the V8 code cache of the CLI bundle, for the
// executable (src/cli/launcher.ts) to compile it with. The bundle first runs
// the commands users run (verify and dump on the captured samples, convert-legacy on
// a legacy vector), so that the cache holds the functions they compile, not
// only the top level. Runs after tsup in `npm run build`.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Writable, Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const { loadCli } = require(`${root}dist/cli.cjs`);
const { cli, script } = loadCli({ useCache: false });

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });
const io = () => ({ stdin: Readable.from([]), stdout: discard(), stderr: discard() });
const runs = [
  ["verify", `${root}spec-vectors/captured/xen-4.17-pv-save.skel.xl`],
  ["verify", "--verbose", `${root}spec-vectors/captured/xen-4.17-hvm-save.skel.xl`],
  ["verify", "--profile", "restore", `${root}spec-vectors/captured/xen-4.17-pvh-save.skel.xl`],
  ["dump", "--json", `${root}spec-vectors/captured/xen-4.17-pv-save.skel.xl`],
  ["dump", `${root}spec-vectors/captured/xen-4.17-hvm-save.skel.xl`],
  ["convert-legacy", `${root}spec-vectors/legacy/valid/hvm64.bin`, "-o", "/dev/null", "--format", "libxl"],
  ["convert-legacy", `${root}spec-vectors/legacy/valid/pv64.bin`, "-o", "/dev/null"],
];
for (const args of runs) {
  const code = await cli.main(args, io());
  if (code !== 0) throw new Error(`xen-stream ${args.join(" ")}: exit ${code}`);
}
const cache = script.createCachedData();
writeFileSync(`${root}dist/cli-main.cache`, cache);
