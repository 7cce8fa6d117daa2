// Runs once before any test file: fetches Xen's reference tools (Debian's
// xen-utils-4.17, unpacked into .cache/xen-tools by scripts/fetch-xen-tools.sh,
// never installed), so that every run of the suite sees the same tools from
// its first test on. When they cannot be had, the interop tests skip, and
// this says so loudly with what to do. No test fetches them mid-run
// (XEN_TOOLS_FETCH=0 for the workers).
//
// XEN_TOOLS_FETCH=0: do not fetch (use what is there). In CI (CI=true)
// missing tools are an error: .ci/run fetches them first.
import { spawnSync } from "node:child_process";
// @ts-expect-error -- plain JS helper without typings
import { xenToolsDir, fetchXenTools } from "../scripts/xen-tools.mjs";

const tools = { xenToolsDir, fetchXenTools } as unknown as { xenToolsDir(): string | null; fetchXenTools(): string | null };

function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

export default function setup(): (() => void) | undefined {
  let dir = tools.xenToolsDir();
  let why = "";
  if (dir === null) {
    if (process.env.XEN_TOOLS_FETCH === "0") why = "XEN_TOOLS_FETCH=0 is set and they are not in the cache";
    else if (!hasCommand("apt-get") || !hasCommand("dpkg")) why = "this machine has no apt-get/dpkg to download Debian's xen-utils-4.17";
    else {
      process.stderr.write("Fetching Xen's reference tools (Debian xen-utils-4.17) into .cache/xen-tools before the tests...\n");
      dir = tools.fetchXenTools();
      if (dir === null) why = "scripts/fetch-xen-tools.sh failed (see its messages above; is the Debian archive reachable?)";
    }
  }
  process.env.XEN_TOOLS_FETCH = "0";
  if (dir !== null) return undefined;
  const banner = [
    "",
    "=".repeat(78),
    "SKIPPING the interop tests against Xen's own tools (verify-stream-v2,",
    "convert-legacy-stream): the reference tools are not available.",
    `Why: ${why}.`,
    "To run them: on Debian/Ubuntu, `bash scripts/fetch-xen-tools.sh` (downloads",
    "xen-utils-4.17 with apt-get and unpacks it into .cache/xen-tools, needs",
    "python3), or unpack that .deb yourself and set XEN_TOOLS_DIR to the folder.",
    "=".repeat(78),
    "",
  ].join("\n");
  if (process.env.CI === "true") throw new Error(`reference tools missing in CI: ${why}`);
  process.stderr.write(banner + "\n");
  // Again after the run's summary, where it is read (the first one scrolls away).
  return () => {
    process.stderr.write(banner.replace("SKIPPING the interop tests", "SKIPPED the interop tests") + "\n");
  };
}
