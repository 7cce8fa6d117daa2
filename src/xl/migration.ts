/**
 * The messages of xl's migration protocol (tools/xl/xl_migrate.c,
 * xl_utils.h: migrate_receiver_banner, migrate_receiver_ready,
 * migrate_permission_to_go, migrate_report), as far as they share the
 * forward channel with the stream: after the libxl END the sender writes
 * `migrate_permission_to_go` with its NUL, 44 bytes (spec xl-header.md,
 * "xl migrate protocol" step 5).
 *
 * @module
 */

/** "domain is yours, you are cleared to unpause" and its NUL. */
export const MIGRATE_PERMISSION_TO_GO = /*@__PURE__*/ Uint8Array.from([..."domain is yours, you are cleared to unpause"].map((c) => c.charCodeAt(0)).concat(0));

/** What the bytes after a complete stream are. */
export interface StreamTrailer {
  /** Bytes after the stream. */
  length: number;
  /**
   * `"permission-to-go"`: exactly xl's 44-byte migrate_permission_to_go
   * message, as a live migration's forward channel carries it; `"data"`:
   * anything else (trailing garbage).
   */
  kind: "permission-to-go" | "data";
}

/**
 * Names the bytes after a complete stream.
 *
 * @param head - their first bytes (at least 45 when there are that many)
 * @param length - how many there are in all
 * @returns what they are
 */
export function classifyTrailer(head: Uint8Array, length: number): StreamTrailer {
  const message = MIGRATE_PERMISSION_TO_GO;
  const isMessage = length === message.length && head.length >= message.length && message.every((byte, i) => head[i] === byte);
  return { length, kind: isMessage ? "permission-to-go" : "data" };
}

/**
 * A one-line description of a trailer, for messages.
 *
 * @param trailer - a trailer from {@link classifyTrailer}
 * @returns the text, naming xl's migration message when it is one
 */
export function describeTrailer(trailer: StreamTrailer): string {
  return trailer.kind === "permission-to-go"
    ? `xl migration message after the stream: "domain is yours, you are cleared to unpause" (${trailer.length} bytes)`
    : `${trailer.length} byte${trailer.length === 1 ? "" : "s"} after the end of the stream`;
}
