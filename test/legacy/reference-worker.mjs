// Worker thread for interop.test.ts: runs Xen's reference tools (through
// scripts/xen-tools.mjs, one python process per job) for a list of jobs and
// posts back { index, status, stderr } for each. Two of these run the ~1000
// reference jobs of the interop test in parallel.
import { parentPort, workerData } from "node:worker_threads";
import { runConvertLegacy, runVerifyStreamV2 } from "../../scripts/xen-tools.mjs";

const results = [];
for (const job of workerData.jobs) {
  const result = job.kind === "convert" ? runConvertLegacy(job.input, job.output, job.options) : runVerifyStreamV2(job.file, job.format);
  // The exception line, or the last line: "Script Error" output ends with "Please fix me".
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
  const lastLine = lines.slice(-3).join(" / ");
  results.push({ index: job.index, status: result.status, lastLine });
}
parentPort.postMessage(results);
