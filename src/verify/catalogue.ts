/**
 * The rule table as data, for documentation and tooling.
 *
 * @module
 */
import { RULES } from "./rules/index.js";
import type { AnyFindingCode, Profile, Severity } from "./types.js";

/** One verifier rule, described. */
export interface VerifyRuleInfo {
  /** Stable rule name. */
  name: string;
  /** The code its findings carry (a finding may use a more specific one). */
  code: AnyFindingCode;
  /** Severity per profile; absent = the rule does not run in that profile. */
  severity: Partial<Record<Profile, Severity>>;
  /** What it checks and on whose authority. */
  description: string;
}

/**
 * Lists every rule of the verifier.
 *
 * @returns the rules, in the order they run
 *
 * @example
 * ```ts
 * import { verifyRules } from "xen-migration-stream";
 * verifyRules().filter((rule) => rule.severity.spec === undefined).length > 0; //=> true (restore-only rules)
 * ```
 */
export function verifyRules(): VerifyRuleInfo[] {
  return RULES.map((rule) => ({ name: rule.name, code: rule.code, severity: { ...rule.severity }, description: rule.description }));
}
