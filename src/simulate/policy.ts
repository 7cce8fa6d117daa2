/**
 * The precopy policy of Xen 4.17's live loop (tools/include/xenguest.h:
 * struct precopy_stats, precopy_policy_t, XGS_POLICY_*; tools/libs/guest/
 * xg_sr_save.c: simple_precopy_policy(), SPP_MAX_ITERATIONS,
 * SPP_TARGET_DIRTY_COUNT). libxl and `xl migrate` pass no policy of their
 * own in 4.17 (libxl_save_msgs_gen.pl has no precopy_policy callback), so
 * every `xl migrate` runs simple_precopy_policy.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import {
  MAX_SIMULATED_ITERATIONS,
  SPP_MAX_ITERATIONS,
  SPP_TARGET_DIRTY_COUNT,
  XGS_POLICY_ABORT,
  XGS_POLICY_CONTINUE_PRECOPY,
  XGS_POLICY_STOP_AND_COPY,
} from "./constants.js";

/** A policy decision: XGS_POLICY_ABORT, _CONTINUE_PRECOPY or _STOP_AND_COPY. */
export type PolicyDecision = -1 | 0 | 1;

/** struct precopy_stats (xenguest.h), passed to the policy by value. */
export interface PrecopyStats {
  /** Live passes completed so far. */
  iteration: number;
  /** Pages (pfns) handed to the batcher so far: the sum of earlier dirty counts. */
  totalWritten: number;
  /** Pages dirty now; -1 when not known yet (between a pass and the next log-dirty read). */
  dirtyCount: number;
}

/** A precopy policy: called before and after every live pass, as xg_sr_save.c send_memory_live() does. */
export type PrecopyPolicy = (stats: PrecopyStats) => PolicyDecision;

/** The parameters of {@link simplePrecopyPolicy}. */
export interface PolicyParameters {
  /**
   * Stop after this many live passes (SPP_MAX_ITERATIONS).
   * @defaultValue 5
   */
  maxIterations?: number;
  /**
   * Stop when fewer than this many pages are dirty (SPP_TARGET_DIRTY_COUNT).
   * @defaultValue 50
   */
  targetDirtyCount?: number;
  /**
   * Also stop once more than `maxFactor` x p2m_size pages were sent: the
   * pre-4.6 saver's rule (DEF_MAX_FACTOR 3), absent from 4.17. Off unless set.
   */
  maxFactor?: number;
}

/** The parameters with their defaults filled in. */
export interface ResolvedPolicyParameters {
  maxIterations: number;
  targetDirtyCount: number;
  maxFactor: number | undefined;
}

function checkCount(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new XenStreamError("USAGE", 0, `${name} must be an integer 0..${max}, got ${describeValue(value)}`);
  }
}

/**
 * Fills in and checks policy parameters.
 *
 * @param parameters - the parameters (each optional)
 * @returns every parameter, defaults filled in
 * @throws {@link XenStreamError} `USAGE` naming a parameter out of range
 */
export function resolvePolicyParameters(parameters: PolicyParameters = {}): ResolvedPolicyParameters {
  const maxIterations = parameters.maxIterations ?? SPP_MAX_ITERATIONS;
  const targetDirtyCount = parameters.targetDirtyCount ?? SPP_TARGET_DIRTY_COUNT;
  checkCount("maxIterations", maxIterations, MAX_SIMULATED_ITERATIONS);
  checkCount("targetDirtyCount", targetDirtyCount, Number.MAX_SAFE_INTEGER);
  const maxFactor = parameters.maxFactor;
  if (maxFactor !== undefined && !(Number.isFinite(maxFactor) && maxFactor > 0)) {
    throw new XenStreamError("USAGE", 0, `maxFactor must be a positive number, got ${String(maxFactor)}`);
  }
  return { maxIterations, targetDirtyCount, maxFactor };
}

/**
 * Xen 4.17's simple_precopy_policy() (xg_sr_save.c) with its two constants
 * as parameters: stop and copy when the dirty count is known and below
 * `targetDirtyCount`, or when `iteration >= maxIterations`; with
 * `maxFactor`, also when `totalWritten > maxFactor * p2mSize`.
 *
 * @param parameters - the policy's parameters (defaults: Xen's)
 * @param p2mSize - the guest's p2m size, for `maxFactor`
 * @returns the policy
 * @throws {@link XenStreamError} `USAGE` for parameters out of range
 */
export function simplePrecopyPolicy(parameters: PolicyParameters = {}, p2mSize = 0): PrecopyPolicy {
  const { maxIterations, targetDirtyCount, maxFactor } = resolvePolicyParameters(parameters);
  return (stats) => {
    if (stats.dirtyCount >= 0 && stats.dirtyCount < targetDirtyCount) return XGS_POLICY_STOP_AND_COPY;
    if (stats.iteration >= maxIterations) return XGS_POLICY_STOP_AND_COPY;
    if (maxFactor !== undefined && stats.totalWritten > maxFactor * p2mSize) return XGS_POLICY_STOP_AND_COPY;
    return XGS_POLICY_CONTINUE_PRECOPY;
  };
}
