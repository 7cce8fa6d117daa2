/**
 * Page-aligned byte buffers for the read-into path (see read-into.ts: the
 * placement of bytes within a page matters to read(2)'s copy speed).
 *
 * @module
 * @internal
 */

/** The platform page size assumed for placement. @internal */
export const PAGE = 4096;

const WASM_PAGE = 65536;
type WasmMemory = new (size: { initial: number; maximum: number }) => { buffer: ArrayBuffer };

/**
 * `size` zeroed bytes starting on a page boundary when the platform allows
 * it. A WebAssembly memory is mapped whole pages at a time; an ArrayBuffer
 * comes from malloc, whose address within a page depends on the heap's
 * history (16 bytes past a page boundary for a fresh mmap, anything after
 * the allocator has raised its mmap threshold). Without WebAssembly, or when
 * its address space is exhausted, a plain Uint8Array is as good as it gets.
 * @internal
 */
export function pageAlignedBytes(size: number): Uint8Array {
  const pages = Math.ceil(size / WASM_PAGE);
  const Memory = (globalThis as { WebAssembly?: { Memory?: WasmMemory } }).WebAssembly?.Memory;
  if (Memory !== undefined && pages <= 65536) {
    try {
      return new Uint8Array(new Memory({ initial: pages, maximum: pages }).buffer, 0, size);
    } catch {
      // no address space for another wasm memory: a plain buffer below
    }
  }
  return new Uint8Array(size);
}

