// The package as the registry would publish it: packs the tarball, then runs
// publint (package.json against the files) and @arethetypeswrong/cli (types
// of every entry point under node10, node16 from CJS and ESM, and bundler
// resolution). Exit 1 on any problem either reports. Needs `npm run build`.
//
//   node scripts/check-package.mjs        (npm run check:package)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (!existsSync(join(root, "dist", "index.js"))) {
  console.error("check-package: dist/ missing: run `npm run build` first");
  process.exit(1);
}
// The devDependency, else one on PATH.
const bin = (name) => (existsSync(join(root, "node_modules", ".bin", name)) ? join(root, "node_modules", ".bin", name) : name);
for (const name of ["publint", "attw"]) {
  if (spawnSync(bin(name), ["--help"], { stdio: "ignore" }).status !== 0) {
    console.error(`check-package: ${name} not installed: run \`npm install\` (it is a devDependency)`);
    process.exit(1);
  }
}
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: "inherit" }).status ?? 1;

const dir = mkdtempSync(join(tmpdir(), "xen-pack-"));
let failed = 0;
try {
  if (run("npm", ["pack", "--silent", "--pack-destination", dir]) !== 0) throw new Error("npm pack failed");
  const tarball = join(dir, readdirSync(dir).find((file) => file.endsWith(".tgz")) ?? "");
  // --strict: suggestions and warnings fail too.
  failed |= run(bin("publint"), ["run", tarball, "--strict"]);
  failed |= run(bin("attw"), [tarball, "--format", "ascii"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
