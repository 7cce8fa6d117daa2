import { readFileSync } from "node:fs";
import { test, expect } from "vitest";
import { decodeSaveFile, encodeSaveFile, SaveFileDecoder } from "../src/index.js";
for (const name of ["pv", "hvm", "pvh"]) test("smoke " + name, () => {
  const b = new Uint8Array(readFileSync(`/work/shared/real-xen/xen-4.17-${name}-save.skel.xl`));
  const d = new SaveFileDecoder();
  for (const e of d.push(b)) console.log(e.layer, e.kind, e.offset, e.kind === "record" ? e.record.type + " " + e.bodyLength : "");
  d.end();
  const f = decodeSaveFile(b);
  expect(Buffer.from(encodeSaveFile(f)).equals(Buffer.from(b))).toBe(true);
});
