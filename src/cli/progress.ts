/**
 * Progress on standard error, for runs longer than about a second, only
 * when stderr is a terminal: never in a pipe, a file or a test log.
 *
 * @module
 * @internal
 */
import { fstatSync } from "node:fs";
import type { CliIO } from "./io.js";

/** A progress line: call `update` with the bytes done, `done` at the end. @internal */
export interface Progress {
  update(bytes: number): void;
  done(): void;
}

const SILENT: Progress = { update() {}, done() {} };

function isCharacterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

/**
 * Starts a progress line for `label`. Silent unless `io.stderr` is a TTY.
 * The first line appears after 1 s (XEN_STREAM_PROGRESS_DELAY_MS overrides
 * it, for tests), then at most four times a second; `done` erases it.
 * @internal
 */
export function startProgress(io: CliIO, label: string, total?: number): Progress {
  // A terminal is a character device: anything else (a pipe, a file) is
  // told by one fstat, without setting up process.stderr (a few ms).
  if (io.stderrFd !== undefined && !isCharacterDevice(io.stderrFd)) return SILENT;
  const stderr = io.stderr as { isTTY?: boolean; write(text: string): boolean };
  if (stderr.isTTY !== true) return SILENT;
  const delay = Number(process.env.XEN_STREAM_PROGRESS_DELAY_MS ?? 1000);
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(bytes: number): void {
      const now = Date.now();
      if (now - started < delay || now - last < 250) return;
      last = now;
      shown = true;
      const mib = (bytes / 2 ** 20).toFixed(0);
      const share = total === undefined || total === 0 ? "" : ` (${Math.min(100, Math.floor((bytes / total) * 100))}%)`;
      const rate = ((bytes / Math.max(1, now - started)) * 1000) / 2 ** 20;
      stderr.write(`\r\x1b[K${label}: ${mib} MiB${share}, ${rate.toFixed(0)} MiB/s`);
    },
    done(): void {
      if (shown) stderr.write("\r\x1b[K");
    },
  };
}
