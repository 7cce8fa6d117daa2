/**
 * Guest memory out of save files: page index, reads, page-table walks and
 * memory images. Re-exports only.
 *
 * @module
 */
export { MemoryIndexer } from "./layout.js";
export type { GuestKind, MemoryIndexOptions, MemoryLayout, SavedVcpu } from "./layout.js";
export { PageIndex } from "./page-index.js";
export type { PfnRun } from "./page-index.js";
export { walk, pagingStateOf } from "./paging.js";
export type { EntryRequest, PagingMode, PagingState, Translation } from "./paging.js";
export { savedRegisters } from "./registers.js";
export type { VcpuRegisters } from "./registers.js";
export { GuestMemory, AsyncGuestMemory } from "./guest-memory.js";
export type { AddressSpaceOptions, GuestMemoryOptions, RandomAccessSource } from "./guest-memory.js";
export { MemoryImageBuilder } from "./image.js";
export type { MemoryImageFormat, MemoryImageOptions, MemoryMap, MemoryMapRun, PlaceBytes } from "./image.js";
