/**
 * The live loop's numbers: Xen 4.17's precopy policy constants
 * (tools/include/xenguest.h XGS_POLICY_*; tools/libs/guest/xg_sr_save.c
 * SPP_*), the pre-4.6 saver's limits, and the simulator's own bound.
 * Re-exported whole by simulate/index.ts and src/constants.ts.
 *
 * @module
 */
/** XGS_POLICY_ABORT (xenguest.h): abandon the migration. */
export const XGS_POLICY_ABORT = -1;
/** XGS_POLICY_CONTINUE_PRECOPY (xenguest.h): run another live pass. */
export const XGS_POLICY_CONTINUE_PRECOPY = 0;
/** XGS_POLICY_STOP_AND_COPY (xenguest.h): suspend and send what is left. */
export const XGS_POLICY_STOP_AND_COPY = 1;
/** SPP_MAX_ITERATIONS (xg_sr_save.c): the default policy stops after this many live passes. */
export const SPP_MAX_ITERATIONS = 5;
/** SPP_TARGET_DIRTY_COUNT (xg_sr_save.c): the default policy stops when fewer pages than this are dirty. */
export const SPP_TARGET_DIRTY_COUNT = 50;
/**
 * DEF_MAX_ITERS of the pre-4.6 saver (Xen 4.5 tools/libxc/xc_domain_save.c):
 * "limit us to 30 times round loop". Not used by 4.17; a value for
 * `maxIterations` in what-if tables, which then run 4.17's loop with it
 * (not 4.5's loop, whose stop rule differed; guides/live-loop.md).
 */
export const LEGACY_DEF_MAX_ITERS = 29;
/**
 * DEF_MAX_FACTOR of the pre-4.6 saver (Xen 4.5 xc_domain_save.c): "never
 * send more than 3x p2m_size". Not used by 4.17 (nor by 4.6-4.9, which
 * took and ignored it; removed in 4.10 by commit f99b7b0637); a value for
 * `maxFactor` in what-if tables, which then run 4.17's loop with it.
 */
export const LEGACY_DEF_MAX_FACTOR = 3;
/** Upper bound on simulated loop iterations, whatever the policy says. */
export const MAX_SIMULATED_ITERATIONS = 10_000;
