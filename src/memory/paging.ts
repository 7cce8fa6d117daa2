/**
 * x86 page-table walks (Intel SDM vol. 3A §4: 32-bit paging §4.3, PAE §4.4,
 * 4- and 5-level paging §4.5), written as a generator that asks for one
 * page-table entry at a time, so the same walk serves synchronous and
 * asynchronous page readers.
 *
 * PV guests: the saver rewrites every page-table entry from machine frames
 * to pfns (Xen tools/libs/guest/xg_sr_save_x86_pv.c: normalise_pagetable()),
 * so a walk over the stream's pages reads pfns where the guest had mfns.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";

/** The paging modes a walk knows. */
export type PagingMode = "none" | "32-bit" | "pae" | "4-level" | "5-level";

/** Control-register state a walk starts from. */
export interface PagingState {
  /** The paging mode. */
  mode: PagingMode;
  /** Physical address of the top-level table (cr3 with its flag bits cleared). */
  tableAddress: bigint;
  /** 32-bit paging only: CR4.PSE (4 MiB pages allowed). */
  pse?: boolean;
}

/** One page-table entry the walk needs: read `size` bytes at `address`. */
export interface EntryRequest {
  /** Guest-physical address of the entry. */
  address: bigint;
  /** 4 (32-bit paging) or 8. */
  size: 4 | 8;
  /** Paging level of the table (1 = page table ... 5 = PML5). */
  level: number;
}

/** Where a virtual address lives. */
export interface Translation {
  /** The virtual address asked for. */
  virtualAddress: bigint;
  /** Its guest-physical address. */
  physicalAddress: bigint;
  /** Size of the page mapping it: 4 KiB, 2 MiB, 4 MiB or 1 GiB. */
  pageSize: number;
  /** The entries read, top level first. */
  entries: bigint[];
}

const PRESENT = 1n;
const PAGE_SIZE_BIT = 1n << 7n;
/** Physical-address bits 51..12 of a PAE/long-mode entry. */
const ADDRESS_MASK_64 = 0x000f_ffff_ffff_f000n;
const ADDRESS_MASK_32 = 0xffff_f000n;
const MASK_64 = (1n << 64n) - 1n;

/**
 * Paging state from control registers, as the CPU decides it (SDM vol. 3A
 * §4.1.1): CR0.PG off -> none; CR4.PAE off -> 32-bit; EFER.LMA off -> PAE;
 * CR4.LA57 -> 5-level, else 4-level.
 *
 * @param registers - cr0, cr3, cr4, efer
 * @returns the paging state
 */
export function pagingStateOf(registers: { cr0: bigint; cr3: bigint; cr4: bigint; efer: bigint }): PagingState {
  const { cr0, cr3, cr4, efer } = registers;
  if ((cr0 & (1n << 31n)) === 0n) return { mode: "none", tableAddress: 0n };
  if ((cr4 & (1n << 5n)) === 0n) return { mode: "32-bit", tableAddress: cr3 & ADDRESS_MASK_32, pse: (cr4 & (1n << 4n)) !== 0n };
  if ((efer & (1n << 10n)) === 0n) return { mode: "pae", tableAddress: cr3 & 0xffff_ffe0n };
  return { mode: (cr4 & (1n << 12n)) !== 0n ? "5-level" : "4-level", tableAddress: cr3 & ADDRESS_MASK_64 };
}

function notPresent(virtualAddress: bigint, level: number, entry: bigint): XenStreamError {
  return new XenStreamError(
    "NOT_PRESENT",
    0,
    `virtual address 0x${virtualAddress.toString(16)} is not mapped: level-${level} entry 0x${entry.toString(16).padStart(16, "0")} is not present`,
  );
}

/**
 * Walks the tables for one virtual address. Yields each entry it needs and
 * expects the entry's value back; returns the translation.
 *
 * @param state - where the walk starts
 * @param virtualAddress - the address to translate
 * @returns the translation
 * @throws {@link XenStreamError} NOT_PRESENT for a non-present entry,
 * BAD_VALUE for an address the mode cannot map (non-canonical, or wider
 * than 32 bits outside long mode)
 */
export function* walk(state: PagingState, virtualAddress: bigint): Generator<EntryRequest, Translation, bigint> {
  if (typeof virtualAddress !== "bigint" || virtualAddress < 0n || virtualAddress > MASK_64) {
    throw new XenStreamError("USAGE", 0, `virtualAddress must be a bigint in 0..2^64-1, got ${String(virtualAddress)}`);
  }
  const entries: bigint[] = [];
  const done = (physicalAddress: bigint, pageSize: number): Translation => ({ virtualAddress, physicalAddress, pageSize, entries });
  switch (state.mode) {
    case "none":
      if (virtualAddress > 0xffff_ffffn) throw outOfRange(virtualAddress, "32 bits with paging off");
      return done(virtualAddress, 4096);
    case "32-bit": {
      if (virtualAddress > 0xffff_ffffn) throw outOfRange(virtualAddress, "32 bits");
      const pde = yield { address: state.tableAddress + ((virtualAddress >> 22n) & 0x3ffn) * 4n, size: 4, level: 2 };
      entries.push(pde);
      if ((pde & PRESENT) === 0n) throw notPresent(virtualAddress, 2, pde);
      if (state.pse === true && (pde & PAGE_SIZE_BIT) !== 0n) {
        // PSE-36: PDE bits 20:13 are physical-address bits 39:32 (SDM table 4-4).
        const base = (pde & 0xffc0_0000n) | (((pde >> 13n) & 0xffn) << 32n);
        return done(base | (virtualAddress & 0x3f_ffffn), 4 << 20);
      }
      const pte = yield { address: (pde & ADDRESS_MASK_32) + ((virtualAddress >> 12n) & 0x3ffn) * 4n, size: 4, level: 1 };
      entries.push(pte);
      if ((pte & PRESENT) === 0n) throw notPresent(virtualAddress, 1, pte);
      return done((pte & ADDRESS_MASK_32) | (virtualAddress & 0xfffn), 4096);
    }
    case "pae": {
      if (virtualAddress > 0xffff_ffffn) throw outOfRange(virtualAddress, "32 bits");
      const pdpte = yield { address: state.tableAddress + (virtualAddress >> 30n) * 8n, size: 8, level: 3 };
      entries.push(pdpte);
      if ((pdpte & PRESENT) === 0n) throw notPresent(virtualAddress, 3, pdpte);
      return yield* lowerLevels(pdpte & ADDRESS_MASK_64, virtualAddress, entries);
    }
    case "4-level":
    case "5-level": {
      const levels = state.mode === "5-level" ? 5 : 4;
      const topBit = BigInt(levels * 9 + 11);
      // Canonical: bits 63..topBit all equal to bit topBit (SDM §3.3.7.1).
      const upper = virtualAddress >> topBit;
      if (upper !== 0n && upper !== (1n << (64n - topBit)) - 1n) {
        throw outOfRange(virtualAddress, `a canonical ${levels * 9 + 12}-bit address`);
      }
      let table = state.tableAddress;
      for (let level = levels; level > 3; level--) {
        const entry = yield { address: table + ((virtualAddress >> BigInt(12 + 9 * (level - 1))) & 0x1ffn) * 8n, size: 8, level };
        entries.push(entry);
        if ((entry & PRESENT) === 0n) throw notPresent(virtualAddress, level, entry);
        table = entry & ADDRESS_MASK_64;
      }
      const pdpte = yield { address: table + ((virtualAddress >> 30n) & 0x1ffn) * 8n, size: 8, level: 3 };
      entries.push(pdpte);
      if ((pdpte & PRESENT) === 0n) throw notPresent(virtualAddress, 3, pdpte);
      if ((pdpte & PAGE_SIZE_BIT) !== 0n) {
        return done((pdpte & 0x000f_ffff_c000_0000n) | (virtualAddress & 0x3fff_ffffn), 1 << 30);
      }
      return yield* lowerLevels(pdpte & ADDRESS_MASK_64, virtualAddress, entries);
    }
  }
}

/** The page directory and page table of PAE and long-mode walks. */
function* lowerLevels(directory: bigint, virtualAddress: bigint, entries: bigint[]): Generator<EntryRequest, Translation, bigint> {
  const pde = yield { address: directory + ((virtualAddress >> 21n) & 0x1ffn) * 8n, size: 8, level: 2 };
  entries.push(pde);
  if ((pde & PRESENT) === 0n) throw notPresent(virtualAddress, 2, pde);
  if ((pde & PAGE_SIZE_BIT) !== 0n) {
    return { virtualAddress, physicalAddress: (pde & 0x000f_ffff_ffe0_0000n) | (virtualAddress & 0x1f_ffffn), pageSize: 2 << 20, entries };
  }
  const pte = yield { address: (pde & ADDRESS_MASK_64) + ((virtualAddress >> 12n) & 0x1ffn) * 8n, size: 8, level: 1 };
  entries.push(pte);
  if ((pte & PRESENT) === 0n) throw notPresent(virtualAddress, 1, pte);
  return { virtualAddress, physicalAddress: (pte & ADDRESS_MASK_64) | (virtualAddress & 0xfffn), pageSize: 4096, entries };
}

function outOfRange(virtualAddress: bigint, what: string): XenStreamError {
  return new XenStreamError("BAD_VALUE", 0, `virtual address 0x${virtualAddress.toString(16)} is not ${what}`);
}
