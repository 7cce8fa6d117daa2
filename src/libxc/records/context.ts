/**
 * What a libxc record codec needs to know about its stream.
 *
 * @module
 * @internal
 */

/** @internal */
export interface LibxcCodecContext {
  /** Page size in bytes, 2^page_shift from the domain header. */
  pageSize: number;
}
