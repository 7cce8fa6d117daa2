/**
 * The live-loop model: Xen 4.17's live migration simulated over a guest
 * image and a dirty model, producing a real stream and a report.
 *
 * @module
 */
export * from "./constants.js";
export { simplePrecopyPolicy, resolvePolicyParameters } from "./policy.js";
export type { PolicyDecision, PrecopyStats, PrecopyPolicy, PolicyParameters, ResolvedPolicyParameters } from "./policy.js";
export { guestFromSaveFile, syntheticGuest } from "./guest.js";
export type { GuestImage, StreamTemplate, SaveFileGuestOptions, SyntheticGuestOptions, SyntheticGuestType } from "./guest.js";
export type { DirtyModel, UniformDirtyModel, HotDirtyModel, ReplayDirtyModel, IdleDirtyModel } from "./dirty.js";
export { CaptureProfiler, captureProfile, withoutMigrateTrailer } from "./capture.js";
export type { CaptureProfile, CapturePass } from "./capture.js";
export { runLiveLoop } from "./loop.js";
export type { LoopOptions, LoopPlan, PassReport, SimulationReport, StopReason } from "./loop.js";
export { simulateMigration } from "./simulate.js";
export type { SimulationOptions, SimulatedMigration, SimulationChunkOptions } from "./simulate.js";
export { whatIf, whatIfGrid } from "./what-if.js";
export type { WhatIfVariant, WhatIfRow } from "./what-if.js";
