// `npm start`: decode and summarise the bundled sample save file (a real
// Xen 4.17 PV `xl save`, see spec-vectors/captured/README.md).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeSaveFile, encodeSaveFile } from "../dist/index.js";

const path = process.argv[2] ?? fileURLToPath(new URL("../spec-vectors/captured/xen-4.17-pv-save.skel.xl", import.meta.url));
const bytes = new Uint8Array(readFileSync(path));
const file = decodeSaveFile(bytes);
console.log(`${path}: ${bytes.length} bytes, ${file.xl ? "xl header + " : ""}${file.format} stream`);
const items = file.format === "libxl" ? file.stream.items : [{ type: "LIBXC_STREAM", stream: file.stream }];
for (const item of items) {
  if (item.type === "LIBXC_STREAM") {
    const { imageHeader, domainHeader, records } = item.stream;
    console.log(`  libxc v${imageHeader.version}, ${domainHeader.type === 1 ? "x86 PV" : "x86 HVM"}, Xen ${domainHeader.xenMajor}.${domainHeader.xenMinor}`);
    for (const record of records) console.log(`    ${record.type}`);
  } else if (item.type === "LIBXC_RESUME") {
    for (const record of item.records) console.log(`    ${record.type}`);
  } else console.log(`  libxl ${item.type}`);
}
const same = Buffer.from(encodeSaveFile(file)).equals(Buffer.from(bytes));
console.log(same ? "re-encoded byte for byte: OK" : "re-encoded bytes DIFFER");
process.exitCode = same ? 0 : 1;
