/**
 * `xen-migration-stream/testing`: fast-check arbitraries of valid streams
 * (fast-check is an optional peer dependency, imported only here).
 *
 * @packageDocumentation
 */
export { libxcStream, libxlStream, xlSaveFile, pageDataRecord, LIBXC_RECORD_TYPE_IDS } from "./arbitraries.js";
export type { Encoded, GuestKind, StreamConstraints, LibxlStreamConstraints, RecordContext } from "./arbitraries.js";
