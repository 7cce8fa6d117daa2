/**
 * The rule table: every rule of every profile, in reporting order.
 *
 * @module
 * @internal
 */
import type { Rule } from "../rule.js";
import { layoutRules } from "./layout.js";
import { libxlRules } from "./libxl.js";
import { referenceRules } from "./reference.js";
import { restoreRules } from "./restore.js";
import { xlRules } from "./xl.js";
import { containerRules } from "./container.js";
import { contentsRules } from "./contents.js";

/** Every rule; each declares the profiles it runs in. @internal */
export const RULES: readonly Rule[] = [...referenceRules, ...layoutRules, ...libxlRules, ...xlRules, ...restoreRules, ...contentsRules, ...containerRules];
