// The API docs cover the package as published: `npm run docs` (typedoc,
// warnings are errors) documents every entry point of package.json's
// "exports" and publishes every guide. typedoc only reads what typedoc.json
// names, so an entry point or guide added without it would be missing from
// the pages while the docs build stays green; this catches that.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const json = <T>(file: string): T => JSON.parse(readFileSync(join(root, file), "utf8")) as T;
const pkg = json<{ exports: Record<string, unknown>; files: string[] }>("package.json");
const typedoc = json<{ entryPoints: string[]; projectDocuments: string[]; readme: string }>("typedoc.json");

/** The source module behind each code entry point (the subpaths that are not JSON files). */
const sources: Record<string, string> = {
  ".": "src/index.ts",
  "./constants": "src/constants.ts",
  "./io": "src/io/index.ts",
  "./io/node": "src/io/node.ts",
  "./testing": "src/testing/index.ts",
};

describe("typedoc.json", () => {
  test("an entry point per code export of package.json, each a documented module", () => {
    const code = Object.keys(pkg.exports).filter((subpath) => !subpath.endsWith(".json"));
    expect(code.sort()).toEqual(Object.keys(sources).sort());
    expect([...typedoc.entryPoints].sort()).toEqual(Object.values(sources).sort());
    for (const file of typedoc.entryPoints) {
      // The module's own page opens with this comment (typedoc: @module or @packageDocumentation).
      const head = readFileSync(join(root, file), "utf8").slice(0, 4000);
      expect(head, file).toMatch(/^\/\*\*[\s\S]*?@(module|packageDocumentation)\b[\s\S]*?\*\//);
    }
  });

  test("every guide is a page of the docs and ships in the tarball", () => {
    const guides = readdirSync(join(root, "guides")).filter((file) => file.endsWith(".md")).map((file) => `guides/${file}`);
    expect([...typedoc.projectDocuments].sort()).toEqual(guides.sort());
    expect(pkg.files).toContain("guides");
    for (const guide of guides) {
      // typedoc titles a document by its front matter; without it the page is named after the file.
      expect(readFileSync(join(root, guide), "utf8"), guide).toMatch(/^---\ntitle: \S.*\n(?:.*\n)*?---\n/);
    }
    expect(existsSync(join(root, typedoc.readme))).toBe(true);
  });

  test("the README's links to guides name existing pages", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const linked = [...readme.matchAll(/\]\((guides\/[^)#]+)\)/g)].map((match) => match[1] as string);
    expect(linked.length).toBeGreaterThan(5);
    expect(linked.filter((path) => !existsSync(join(root, path)))).toEqual([]);
    // The task guides #18 asks for, linked from the README.
    for (const page of ["decode-a-file", "stream-from-a-socket", "verify", "convert-legacy", "inspect-and-extract", "fuzz-a-parser"]) {
      expect(linked, page).toContain(`guides/${page}.md`);
    }
  });
});
