/**
 * Where the steering repo's shared/ folder is (real Xen captures, oracle
 * outputs): $XEN_STREAM_SHARED, else ../shared beside the repository, else
 * /work/shared. Tests that need it skip loudly when it is absent.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export function sharedDir(): string | undefined {
  const candidates = [process.env.XEN_STREAM_SHARED, resolve(__dirname, "../../../shared"), "/work/shared"];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(join(dir, "real-xen")));
}
