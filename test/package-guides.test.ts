// The guides' examples (guides/*.md, every ```ts block) are compiled with
// the project's strict settings and run, from the repository root, with the
// package's name resolving to the sources (vitest.config.ts aliases it,
// tsconfig paths for the compiler). An example asserts what it shows, so
// a guide that goes wrong fails here.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const guides = join(root, "guides");
const out = join(root, ".cache", "guide-examples");

interface Example {
  guide: string;
  line: number;
  file: string;
  code: string;
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const name of readdirSync(guides).filter((file) => file.endsWith(".md")).sort()) {
    const lines = readFileSync(join(guides, name), "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] !== "```ts") continue;
      // A block marked as a fragment is part of a test elsewhere (named in the mark).
      const fragment = (lines[i - 1] ?? "").startsWith("<!-- fragment:");
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end] !== "```") end++;
      const base = `${name.replace(/\.md$/, "")}-${start + 1}`;
      if (!fragment) found.push({ guide: name, line: start, file: join(out, `${base}.ts`), code: lines.slice(start, end).join("\n") + "\n" });
      i = end;
    }
  }
  return found;
}

const all = examples();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// Each example is its own module (top-level await, no shared names).
for (const example of all) writeFileSync(example.file, `${example.code}export {};\n`);

describe("guides", () => {
  test("every guide has a runnable example", () => {
    const withExamples = new Set(all.map((example) => example.guide));
    const pages = readdirSync(guides).filter((file) => file.endsWith(".md"));
    expect(pages.filter((page) => !withExamples.has(page))).toEqual([]);
  });

  test("the examples compile (strict, as users' TypeScript sees the package)", () => {
    const paths: Record<string, string[]> = {
      "xen-migration-stream": ["../../src/index.ts"],
      "xen-migration-stream/constants": ["../../src/constants.ts"],
      "xen-migration-stream/testing": ["../../src/testing/index.ts"],
      "xen-migration-stream/io": ["../../src/io/index.ts"],
      "xen-migration-stream/io/node": ["../../src/io/node.ts"],
    };
    const tsconfig = {
      extends: "../../tsconfig.test.json",
      compilerOptions: { noEmit: true, paths, rootDir: "../.." },
      include: ["*.ts"],
    };
    writeFileSync(join(out, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(out, "tsconfig.json")], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });

  for (const example of all) {
    test(`${example.guide}:${example.line + 1} runs`, { timeout: 20_000 }, async () => {
      await import(pathToFileURL(example.file).href);
    });
  }
});
