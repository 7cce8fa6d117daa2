/**
 * Facts of an x86 PV guest that every writer of a PV stream needs, in one
 * place: the guest width and paging levels of a 64-bit guest (its
 * X86_PV_INFO) and the p2m frame geometry of X86_PV_P2M_FRAMES. Used by
 * the live-loop model's synthetic PV guest and by the testing PV stream
 * generator.
 *
 * @module
 * @internal
 */
import type { X86PvInfoRecord } from "./types.js";

/** guest_width of a 64-bit PV guest (xg_sr_common_x86_pv.c x86_pv_domain_info(): sizeof(unsigned long)). */
export const PV64_GUEST_WIDTH = 8;
/** pt_levels of a 64-bit PV guest: 4-level paging (x86_pv_domain_info()). */
export const PV64_PT_LEVELS = 4;

/**
 * The X86_PV_INFO record of a 64-bit PV guest, as write_x86_pv_info()
 * (xg_sr_save_x86_pv.c) writes it: width 8, levels 4, reserved zero.
 *
 * @returns a fresh record
 */
export function x86PvInfo64(): X86PvInfoRecord {
  return { type: "X86_PV_INFO", guestWidth: PV64_GUEST_WIDTH, ptLevels: PV64_PT_LEVELS, reserved: new Uint8Array(6) };
}

/**
 * p2m entries per p2m frame: `fpp = PAGE_SIZE / width` (xg_sr_save_x86_pv.c
 * map_p2m_tree(), map_p2m_list()).
 *
 * @param guestWidth - 4 or 8
 * @param pageSize - the page size (4096 on x86)
 * @returns entries per frame
 */
export function p2mEntriesPerFrame(guestWidth: number, pageSize: number): number {
  return pageSize / guestWidth;
}

/**
 * Number of p2m frames the saver lists for pfns 0..maxPfn:
 * `p2m_frames = max_pfn / fpp + 1` (xg_sr_save_x86_pv.c map_p2m_list();
 * map_p2m_tree()'s `(max_pfn + fpp) / fpp` is the same), which is what
 * the restorer demands for start 0 (xg_sr_restore_x86_pv.c
 * handle_x86_pv_p2m_frames()).
 *
 * @param maxPfn - the highest pfn (p2m_size - 1)
 * @param guestWidth - 4 or 8
 * @param pageSize - the page size
 * @returns the frame count
 */
export function p2mFrameCountFor(maxPfn: number, guestWidth: number, pageSize: number): number {
  return Math.floor(maxPfn / p2mEntriesPerFrame(guestWidth, pageSize)) + 1;
}
