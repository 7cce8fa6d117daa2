/**
 * Value types every record layer shares: what a decoded record may carry
 * besides its fields, and the record the layer does not define.
 *
 * @module
 */

/** Properties every record value may carry. */
export interface RecordCommon {
  /**
   * Non-zero record padding, exactly as received. Present only when some
   * padding byte was not zero (Xen's restore code never reads padding, so
   * the decoder keeps it rather than failing). The encoder writes it back;
   * when absent it writes zeros.
   */
  padding?: Uint8Array;
}

/**
 * Bytes after the fields a record defines. Present only when non-empty, on
 * records whose body Xen's restore code accepts longer than the spec says
 * (signalling records with a body, X86_PV_INFO longer than 8 bytes, ...).
 */
export interface RecordExtra {
  extra?: Uint8Array;
}

/**
 * A record the layer does not define: any optional record (type bit 31),
 * or a mandatory one when the decoder was told to keep them.
 */
export interface UnknownRecord extends RecordCommon {
  type: "UNKNOWN";
  /** The record type as found. */
  typeId: number;
  /** The body, as found. */
  body: Uint8Array;
}
