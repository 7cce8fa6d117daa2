/**
 * The one chunked-decode helper of the tests: push a stream to a fresh
 * push decoder in pieces, collect the events, end it (and collect the
 * events the end completes: a legacy stream in a container may complete
 * only with the input).
 */

/** A push decoder (LibxcDecoder, LibxlDecoder, SaveFileDecoder). */
export interface PushDecoderLike<E> {
  push(chunk: Uint8Array): E[];
  end(): E[];
}

/** Decodes `bytes` split at `cuts` (sorted offsets) with a fresh decoder from `make`, then ends it. */
export function decodeSplit<E>(make: () => PushDecoderLike<E>, bytes: Uint8Array, cuts: readonly number[]): E[] {
  const decoder = make();
  const events: E[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...decoder.push(bytes.subarray(start, cut)));
    start = cut;
  }
  events.push(...decoder.end());
  return events;
}

/** The cut points of `length` bytes pushed `size` bytes at a time. */
export function cutsEvery(length: number, size: number): number[] {
  const cuts: number[] = [];
  for (let pos = size; pos < length; pos += size) cuts.push(pos);
  return cuts;
}
