/**
 * What-if tables: the live loop run again under other parameter values
 * (policy parameters, bandwidth) for the same guest and dirty model, so an
 * operator can choose parameters before migrating. Only the loop runs;
 * no stream is written.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { populatedPfns, runLiveLoop, type LoopOptions, type StopReason } from "./loop.js";
import type { PolicyParameters } from "./policy.js";

/** One set of parameter values to try: each one given replaces the base option's. */
export interface WhatIfVariant extends PolicyParameters {
  /** Link bandwidth in bytes per second. */
  bandwidth?: number;
}

/** One row of a what-if table. */
export interface WhatIfRow {
  /** The parameter values of this row, defaults filled in. */
  maxIterations: number | undefined;
  targetDirtyCount: number | undefined;
  maxFactor: number | undefined;
  bandwidth: number;
  /** Memory passes, stop-and-copy included. */
  passes: number;
  /** Live passes. */
  livePasses: number;
  /** Why the live phase ended. */
  stopReason: StopReason;
  /** Bytes of PAGE_DATA. */
  memoryBytes: number;
  /** Bytes of the whole stream. */
  streamBytes: number;
  /** Pages sent while suspended. */
  downtimePages: number;
  /** Predicted downtime, seconds. */
  downtimeSeconds: number;
  /** Predicted migration time, seconds. */
  totalSeconds: number;
}

/**
 * Runs the live loop once per variant (each over the same guest, dirty
 * model and seed) and tabulates passes, bytes and downtime.
 *
 * @param base - the options every row starts from (a policy function is not allowed: rows vary its parameters)
 * @param variants - the parameter values of each row
 * @returns one row per variant, in order
 * @throws {@link XenStreamError} `USAGE` for a policy function in `base` or values out of range
 */
export function whatIf(base: LoopOptions, variants: readonly WhatIfVariant[]): WhatIfRow[] {
  if (typeof base.policy === "function") throw new XenStreamError("USAGE", 0, "whatIf: base.policy must be policy parameters, not a function");
  const populated = populatedPfns(base.guest);
  return variants.map((variant) => {
    const policy: PolicyParameters = { ...(base.policy ?? {}) };
    if (variant.maxIterations !== undefined) policy.maxIterations = variant.maxIterations;
    if (variant.targetDirtyCount !== undefined) policy.targetDirtyCount = variant.targetDirtyCount;
    if (variant.maxFactor !== undefined) policy.maxFactor = variant.maxFactor;
    const options: LoopOptions = { ...base, policy };
    if (variant.bandwidth !== undefined) options.bandwidth = variant.bandwidth;
    const { report } = runLiveLoop(options, populated);
    const last = report.passes[report.passes.length - 1];
    return {
      maxIterations: report.parameters.maxIterations,
      targetDirtyCount: report.parameters.targetDirtyCount,
      maxFactor: report.parameters.maxFactor,
      bandwidth: report.bandwidth,
      passes: report.passes.length,
      livePasses: report.livePasses,
      stopReason: report.stopReason,
      memoryBytes: report.memoryBytes,
      streamBytes: report.streamBytes,
      downtimePages: report.aborted || last === undefined ? 0 : last.pages,
      downtimeSeconds: report.downtimeSeconds,
      totalSeconds: report.totalSeconds,
    };
  });
}

/**
 * Every combination of the given values (a cartesian product), as variants
 * for {@link whatIf}.
 *
 * @param values - for each parameter, the values to try
 * @returns the variants, the first parameter varying slowest
 */
export function whatIfGrid(values: { [K in keyof WhatIfVariant]?: ReadonlyArray<number> }): WhatIfVariant[] {
  let rows: WhatIfVariant[] = [{}];
  for (const key of ["maxIterations", "targetDirtyCount", "maxFactor", "bandwidth"] as const) {
    const list = values[key];
    if (list === undefined || list.length === 0) continue;
    rows = rows.flatMap((row) => list.map((value) => ({ ...row, [key]: value })));
  }
  return rows;
}
