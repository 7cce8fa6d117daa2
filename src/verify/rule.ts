/**
 * The shape of a verifier rule and of the context it reports through.
 *
 * A rule is a small object folded over the decoded events: `check` runs for
 * the events named in `on`, with the state as it was *before* the event
 * (so "seen X yet?" means "earlier in the stream"); `finish` runs once when
 * the stream completed. Rules report through the context, which fills in
 * the location of the current event.
 *
 * @module
 * @internal
 */
import type { Layer } from "../errors.js";
import { LIBXC_RECORD_NAMES, LIBXC_REGISTRY, type LibxcPlacement } from "../libxc/codec.js";
import { LIBXL_RECORD_NAMES, LIBXL_REGISTRY, type LibxlPlacement } from "../libxl/codec.js";
import type { SaveFileEvent } from "../savefile.js";
import type { AnyFindingCode, Profile, Severity } from "./types.js";
import type { VerifyState } from "./state.js";

/**
 * Event keys a rule subscribes to: `"<layer>:<kind>"` for headers
 * (`"xl:header"`, `"libxl:header"`, `"libxc:imageHeader"`,
 * `"libxc:domainHeader"`), `"<layer>:<RECORD_TYPE>"` for records
 * (`"libxc:PAGE_DATA"`, `"libxl:UNKNOWN"`), `"<layer>:record"` for every
 * record of a layer.
 */
export type EventKey = string;

/** Overrides of a single report. */
export interface ReportOptions {
  /** Absolute offset of the offending field (default: the event's offset). */
  offset?: number;
  /** Severity (default: the rule's, for the current profile). */
  severity?: Severity;
  /** Code (default: the rule's). */
  code?: AnyFindingCode;
  /** Layer (default: the event's; findings made at the end have none unless given). */
  layer?: Layer;
}

/** What a rule reports through. */
export interface RuleContext {
  /** Records a finding at the current event. */
  report(message: string, options?: ReportOptions): void;
}

/** One verifier rule. */
export interface Rule {
  /** Short stable name, for documentation and tests. */
  readonly name: string;
  /** The finding code it reports (a report may override it). */
  readonly code: AnyFindingCode;
  /** Severity per profile; a profile without an entry does not run the rule. */
  readonly severity: Readonly<Partial<Record<Profile, Severity>>>;
  /** One sentence: what it checks and on whose authority. */
  readonly description: string;
  /** Events it checks. */
  readonly on?: readonly EventKey[];
  check?(event: SaveFileEvent, state: VerifyState, context: RuleContext): void;
  /** Runs once after the stream completed (END, or a checkpoint boundary). */
  finish?(state: VerifyState, context: RuleContext): void;
}

/** Severity for both profiles. @internal */
export const BOTH_ERROR = { spec: "error", restore: "error" } as const;
/** @internal */
export const BOTH_WARNING = { spec: "warning", restore: "warning" } as const;
/** @internal */
export const BOTH_INFO = { spec: "info", restore: "info" } as const;
/** Only in the restore profile. @internal */
export const RESTORE_ERROR = { restore: "error" } as const;

/** The dispatch key of an event. @internal */
export function eventKey(event: SaveFileEvent): EventKey {
  return event.kind === "record" ? `${event.layer}:${event.record.type}` : `${event.layer}:${event.kind}`;
}

/** Body offset of a record event (header is 8 bytes). @internal */
export function bodyOffset(event: { offset: number }): number {
  return event.offset + 8;
}

/** The event keys of the libxc records whose registry placement passes `test`. @internal */
export function libxcKeysWhere(test: (placement: LibxcPlacement) => boolean): EventKey[] {
  return LIBXC_RECORD_NAMES.filter((name) => test(LIBXC_REGISTRY[name].appears)).map((name) => `libxc:${name}`);
}

/** The event keys of the libxl records whose registry placement passes `test`. @internal */
export function libxlKeysWhere(test: (placement: LibxlPlacement) => boolean): EventKey[] {
  return LIBXL_RECORD_NAMES.filter((name) => test(LIBXL_REGISTRY[name].appears)).map((name) => `libxl:${name}`);
}

/** The PV vCPU records (registry: `perVcpu`). @internal */
export const VCPU_RECORD_KEYS: readonly EventKey[] = /*@__PURE__*/ libxcKeysWhere((at) => at.perVcpu === true);

/** The emulator records (registry: `deviceModel`). @internal */
export const EMULATOR_RECORD_KEYS: readonly EventKey[] = /*@__PURE__*/ libxlKeysWhere((at) => at.deviceModel === true);
