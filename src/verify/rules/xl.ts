/**
 * The xl header's rules (xl-header.md §1): flags, byte order and the
 * stored configuration.
 *
 * @module
 * @internal
 */
import { XlMandatoryFlag } from "../../xl/constants.js";
import type { Rule } from "../rule.js";

/** xl header (xl-header.md §1): flags and the stored configuration. */
const xlHeader: Rule = {
  name: "xl-header",
  code: "XL_HEADER",
  severity: { spec: "warning", restore: "error" },
  description: "xl header: STREAMv2 set for a v2 stream (else xl runs the legacy converter; error in restore), no optional flags, a JSON config that parses, native (little-endian) byte order.",
  on: ["xl:header"],
  check(event, _state, context) {
    if (event.layer !== "xl") return;
    const { header } = event;
    if (header.byteOrder === "big") {
      context.report("big-endian xl header: xl on x86 refuses it (\"File has wrong byte order\")", { code: "BIG_ENDIAN", offset: 32 });
    }
    if ((header.mandatoryFlags & XlMandatoryFlag.STREAMV2) === 0) {
      context.report("xl header without the STREAMv2 flag: xl would treat the stream as legacy and run the converter on it", {
        offset: 36,
      });
    }
    if (header.optionalFlags !== 0) {
      context.report(`xl optional_flags 0x${header.optionalFlags.toString(16)}: none are defined (xl ignores them)`, {
        offset: 40,
        severity: "warning",
      });
    }
  },
};

/** A JSON config that does not parse (checked after the state read it). */
const xlConfig: Rule = {
  name: "xl-config",
  code: "XL_HEADER",
  severity: { spec: "warning", restore: "warning" },
  description: "xl header with the JSON flag: the stored config parses as JSON (else xl restore needs a config file).",
  finish(state, context) {
    const xl = state.xl;
    if (xl === undefined || (xl.mandatoryFlags & XlMandatoryFlag.JSON) === 0) return;
    if (xl.config === undefined || xl.config.length === 0) context.report("xl JSON flag set but no config stored", { offset: 48, layer: "xl" });
    else if (!state.xlConfigParsed) context.report("xl stored config does not parse as JSON", { offset: 52, layer: "xl" });
  },
};

/** The xl header rules. @internal */
export const xlRules: readonly Rule[] = [xlHeader, xlConfig];
