/**
 * The live loop of Xen 4.17's saver, step by step as xg_sr_save.c runs it
 * (send_domain_memory_live(): send_memory_live(), then
 * suspend_and_send_dirty()), over a modelled dirty bitmap:
 *
 * ```
 * stats = { iteration 0, total_written 0, dirty_count p2m_size }; bitmap = all pfns
 * for x = 1, 2, ...:
 *   decision = policy(stats)
 *   if dirty_count > 0 and decision != ABORT: send_dirty_pages(bitmap)   live pass
 *   if decision != CONTINUE: break
 *   stats = { iteration x, total_written += dirty_count, dirty_count -1 }
 *   if policy(stats) != CONTINUE: break
 *   bitmap = log-dirty CLEAN (pages dirtied while the pass was sent); dirty_count = its size
 * suspend; bitmap = log-dirty CLEAN FINAL; send_dirty_pages(bitmap)      stop-and-copy
 * ```
 *
 * So the full first pass is always sent live, even when the policy says
 * stop at once, and a stop decided on a known dirty count still sends that
 * set live before suspending. The time of a pass is its PAGE_DATA bytes
 * over the link bandwidth; the downtime is the stop-and-copy pass plus
 * the records after it (vCPU/HVM state, END, emulator state) over the
 * bandwidth. The final log-dirty set also holds the pages written while
 * the guest suspends (`suspendDirtyPages`, default 485 from the two real
 * captures' stop-and-copy passes; guides/live-loop.md), so an idle guest's
 * downtime is not 0.
 *
 * Deferred pages (the guest's `deferredPfns`, PV only): write_batch()
 * (xg_sr_save.c) defers a pfn whose mfn is INVALID_MFN (ballooned out) and
 * a page table whose normalise_page() fails with EAGAIN during a live
 * pass, writing it as an XTAB entry without data; suspend_and_send_dirty()
 * ORs `deferred_pages` into the final log-dirty bitmap. So in every live
 * pass a deferred pfn is in (pass 0 always; a later one when the dirty
 * model dirtied it) it is XTAB, and the stop-and-copy pass sends it with
 * its real type: XTAB again for a ballooned pfn, its L1TAB..L4TAB type and
 * data for a page table. The dirty counts the policy sees are log-dirty's
 * and leave the deferred pages out, as Xen's do.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { LibxcEncoder } from "../libxc/stream.js";
import { PageType, pageTypeHasData } from "../libxc/constants.js";
import { isBigEndianLibxl } from "../libxl/header.js";
import { encodeLibxlRecord } from "../libxl/stream.js";
import { containerParts } from "../savefile.js";
import { encodeXlHeader } from "../xl/header.js";
import { dirtySampler, unionPfns, type DirtyModel } from "./dirty.js";
import { Prng } from "./prng.js";
import { BATCH_SIZE, guestDomainType, type GuestImage } from "./guest.js";
import { MAX_SIMULATED_ITERATIONS, XGS_POLICY_ABORT, XGS_POLICY_CONTINUE_PRECOPY } from "./constants.js";
import {
  resolvePolicyParameters,
  simplePrecopyPolicy,
  type PolicyParameters,
  type PrecopyPolicy,
  type PrecopyStats,
  type ResolvedPolicyParameters,
} from "./policy.js";

/** Options of the loop model (and of {@link simulateMigration}). */
export interface LoopOptions {
  /** The guest to migrate. */
  guest: GuestImage;
  /**
   * How the guest dirties memory while it runs.
   * @defaultValue `{ kind: "idle" }`
   */
  dirty?: DirtyModel;
  /**
   * Link bandwidth in bytes per second.
   * @defaultValue 125000000 (1 Gbit/s)
   */
  bandwidth?: number;
  /**
   * The precopy policy: parameters of Xen's simple_precopy_policy() or a
   * policy function of your own.
   * @defaultValue Xen 4.17's: `{ maxIterations: 5, targetDirtyCount: 50 }`
   */
  policy?: PolicyParameters | PrecopyPolicy;
  /**
   * Seed of the dirty model.
   * @defaultValue 1
   */
  seed?: number;
  /**
   * Pages the guest and its backends write while it suspends, after the
   * last live pass and before the final log-dirty read
   * (XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL in suspend_and_send_dirty(),
   * xg_sr_save.c): the guest's own suspend path and the xenstore ring.
   * Added to the final pass, so even an idle guest has a downtime. The
   * pages: the xenstore ring (HVM_PARAM_STORE_PFN, when the guest's
   * HVM_PARAMS name a populated one) and a seeded choice of other
   * populated pages.
   * @defaultValue 485 — taken from the two real 4.17 captures, whose
   *   guests were idle when they suspended and whose stop-and-copy passes
   *   hold 477 (HVM) and 493 (PVH) pages, the xenstore ring among them
   *   (guides/live-loop.md); 0 for the `replay` dirty model, whose final
   *   set is already the capture's last pass
   */
  suspendDirtyPages?: number;
}

/**
 * Default of {@link LoopOptions.suspendDirtyPages}: the mean of the two
 * captures' stop-and-copy passes, 477 (HVM) and 493 (PVH) pages.
 */
const DEFAULT_SUSPEND_DIRTY_PAGES = 485;
/** HVM_PARAM_STORE_PFN (xen/include/public/hvm/params.h): the xenstore ring's pfn. */
const HVM_PARAM_STORE_PFN = 1n;

/** One memory pass of a simulated migration. */
export interface PassReport {
  /** 0-based pass number. */
  index: number;
  /** `live` (guest running) or `stop-and-copy` (guest suspended). */
  phase: "live" | "stop-and-copy";
  /**
   * The dirty count the policy saw before the pass (the p2m size for pass
   * 0; for the stop-and-copy pass, the final log-dirty count, deferred
   * pfns not included).
   */
  dirtyCount: number;
  /** pfns in the pass's batches (XTAB holes and deferred pfns included). */
  pfns: number;
  /** Pages with data. */
  pages: number;
  /** PAGE_DATA records. */
  batches: number;
  /** Bytes of the pass's PAGE_DATA records. */
  bytes: number;
  /** Seconds the pass takes on the link. */
  seconds: number;
}

/** Why the live phase ended. */
export type StopReason = "target-dirty-count" | "max-iterations" | "max-factor" | "policy" | "abort";

/** What a simulated migration does, before any byte is written. */
export interface SimulationReport {
  /**
   * The domain header's guest type: `X86_PV` (PV guests) or `X86_HVM`
   * (HVM and PVH guests), Xen's DHDR_TYPE_* names.
   */
  domainType: "X86_PV" | "X86_HVM";
  /** Page size in bytes. */
  pageSize: number;
  /** pfns the saver walks. */
  p2mSize: number;
  /** Pages with data. */
  populatedPages: number;
  /**
   * pfns the saver defers in every live pass and sends in the
   * stop-and-copy pass (the guest's `deferredPfns`: ballooned pfns, page
   * tables that do not normalise while the guest runs).
   */
  deferredPages: number;
  /** The policy parameters (undefined values for a policy function). */
  parameters: Partial<ResolvedPolicyParameters>;
  /** Link bandwidth, bytes per second. */
  bandwidth: number;
  /** Every memory pass in order, the stop-and-copy pass last. */
  passes: PassReport[];
  /** Live passes (the full first pass included). */
  livePasses: number;
  /** Why the live phase ended. */
  stopReason: StopReason;
  /** The stats the policy was given when it ended the live phase. */
  decidingStats: PrecopyStats;
  /** True when the policy returned XGS_POLICY_ABORT: Xen fails the migration, no stream. */
  aborted: boolean;
  /** Bytes of PAGE_DATA over all passes. */
  memoryBytes: number;
  /** Bytes of the whole stream (xl header or container, to the last END and the container's chunks after it). */
  streamBytes: number;
  /**
   * Bytes sent while the guest is suspended: the stop-and-copy pass and
   * the records after it (a xenopsd container's chunks after the stream,
   * such as the device-model state, included).
   */
  downtimeBytes: number;
  /** Predicted downtime in seconds: downtimeBytes / bandwidth. */
  downtimeSeconds: number;
  /** Seconds from the first byte to the last. */
  totalSeconds: number;
}

/**
 * The loop's result: the report and each pass's pfns (undefined: all pfns
 * 0..p2mSize-1); every pass but the last is live, and in a live pass a
 * pfn of the guest's `deferredPfns` is an XTAB entry.
 */
export interface LoopPlan {
  report: SimulationReport;
  passPfns: Array<Uint32Array | undefined>;
  /**
   * One byte per pfn below p2mSize, 1 for a pfn sent as XTAB in a live
   * pass (the guest's `deferredPfns`); undefined when there are none.
   */
  liveXtab: Uint8Array | undefined;
}

const DEFAULT_BANDWIDTH = 125_000_000;

/** Bytes of one PAGE_DATA record with `pfns` entries of which `pages` carry data. */
function pageDataBytes(pfns: number, pages: number, pageSize: number): number {
  // Record header 8, count + reserved 8, 8 per pfn, then the pages: always a multiple of 8.
  return 16 + 8 * pfns + pages * pageSize;
}

/**
 * The type of `pfn`'s entry in a pass: its own, or XTAB in a live pass
 * that defers it (`liveXtab`, as write_batch() writes a deferred pfn).
 * @internal
 */
export function passEntryType(guest: GuestImage, pfn: number, liveXtab: Uint8Array | undefined): number {
  return liveXtab !== undefined && liveXtab[pfn] === 1 ? PageType.XTAB : (guest.types[pfn] as number);
}

/**
 * Batches, data pages and bytes of a pass over `pfns` (undefined: every
 * pfn); `liveXtab` for a live pass of a guest with deferred pfns.
 */
function measurePass(guest: GuestImage, pfns: Uint32Array | undefined, liveXtab: Uint8Array | undefined): { pfns: number; pages: number; batches: number; bytes: number } {
  const { pageSize } = guest;
  if (pfns !== undefined && liveXtab === undefined && guest.deferredPfns === undefined) {
    // Dirty passes of a guest without deferred pfns hold populated pages only: every entry carries data.
    const batches = Math.ceil(pfns.length / BATCH_SIZE);
    return { pfns: pfns.length, pages: pfns.length, batches, bytes: 16 * batches + pfns.length * (8 + pageSize) };
  }
  const count = pfns === undefined ? guest.p2mSize : pfns.length;
  let pages = 0;
  let bytes = 0;
  let batches = 0;
  for (let start = 0; start < count; start += BATCH_SIZE) {
    const end = Math.min(count, start + BATCH_SIZE);
    let withData = 0;
    for (let i = start; i < end; i++) if (pageTypeHasData(passEntryType(guest, pfns === undefined ? i : (pfns[i] as number), liveXtab))) withData++;
    pages += withData;
    bytes += pageDataBytes(end - start, withData, pageSize);
    batches++;
  }
  return { pfns: count, pages, batches, bytes };
}

/** The guest's deferred pfns as one flag byte per pfn, or undefined when it has none. */
function liveXtabOf(guest: GuestImage): Uint8Array | undefined {
  const deferred = guest.deferredPfns;
  if (deferred === undefined || deferred.length === 0) return undefined;
  const flags = new Uint8Array(guest.p2mSize);
  let previous = -1;
  for (const pfn of deferred) {
    if (pfn >= guest.p2mSize || pfn <= previous) {
      throw new XenStreamError("USAGE", 0, `guest.deferredPfns must ascend strictly below p2mSize ${guest.p2mSize}, got pfn ${pfn} after ${previous}`);
    }
    flags[pfn] = 1;
    previous = pfn;
  }
  return flags;
}

/** Bytes before the first PAGE_DATA and after the last one. */
function stateBytes(guest: GuestImage): { head: number; tail: number } {
  const t = guest.template;
  const encoder = new LibxcEncoder(t.imageHeader, t.domainHeader);
  let head = LibxcEncoder.headersSize;
  let tail = 0;
  for (const record of t.head) head += encoder.record(record).length;
  for (const record of t.tail) tail += encoder.record(record).length;
  const littleEndian = t.libxlHeader === undefined || !isBigEndianLibxl(t.libxlHeader);
  if (t.format === "libxl") {
    head += 16 + 8; // libxl header + LIBXC_CONTEXT
    for (const record of t.libxlBefore) head += encodeLibxlRecord(record, littleEndian).length;
    for (const record of t.libxlAfter) tail += encodeLibxlRecord(record, littleEndian).length;
  }
  if (t.xl !== undefined) head += encodeXlHeader(t.xl).length;
  // A container's part after the stream (xenopsd's device-model and other blobs, End_of_image) is
  // written after the libxc END, while the guest is suspended: part of the downtime.
  const container = containerParts(t.container);
  return { head: head + container.before, tail: tail + container.after };
}

/** The pfns with data, ascending. */
export function populatedPfns(guest: GuestImage): Uint32Array {
  const out = new Uint32Array(guest.populatedPages);
  let n = 0;
  for (let pfn = 0; pfn < guest.p2mSize; pfn++) if (pageTypeHasData(guest.types[pfn] as number)) out[n++] = pfn;
  return out;
}

/**
 * The pages written while the guest suspends: the xenstore ring when the
 * guest's HVM_PARAMS name a populated one, then `count - 1` (or `count`)
 * other populated pages chosen by seed; ascending.
 */
function suspendDirtySet(guest: GuestImage, populated: Uint32Array, count: number, seed: number): Uint32Array {
  const k = Math.min(count, populated.length);
  if (k === 0) return new Uint32Array(0);
  const chosen = new Set<number>();
  for (const record of guest.template.tail) {
    if (record.type !== "HVM_PARAMS") continue;
    for (const param of record.params) {
      const pfn = Number(param.value);
      if (param.index === HVM_PARAM_STORE_PFN && pfn < guest.p2mSize && pageTypeHasData(guest.types[pfn] as number)) chosen.add(pfn);
    }
  }
  const prng = Prng.derive(seed, 0x7375_7370); // "susp"
  const n = populated.length;
  if (2 * k > n) {
    // Selection sampling: each page with the probability of the picks still needed.
    let need = k - chosen.size;
    let left = n - chosen.size; // candidates not seen yet (the ring, already chosen, is none)
    for (let i = 0; i < n && need > 0; i++) {
      const pfn = populated[i] as number;
      if (chosen.has(pfn)) continue;
      if (prng.nextFloat() * left < need) {
        chosen.add(pfn);
        need--;
      }
      left--;
    }
  } else {
    while (chosen.size < k) chosen.add(populated[Math.floor(prng.nextFloat() * n)] as number);
  }
  const out = Uint32Array.from(chosen);
  out.sort();
  return out;
}

function checkBandwidth(value: number | undefined): number {
  const bandwidth = value ?? DEFAULT_BANDWIDTH;
  if (!Number.isFinite(bandwidth) || bandwidth <= 0) throw new XenStreamError("USAGE", 0, `bandwidth must be a positive number of bytes per second, got ${describeValue(value)}`);
  return bandwidth;
}

/**
 * Runs the live loop over the guest and dirty model: the pass structure
 * and report, without writing the stream.
 *
 * @param options - guest, dirty model, bandwidth, policy, seed
 * @param populated - the guest's populated pfns, when already known
 * @returns the report and the pfns of every pass
 * @throws {@link XenStreamError} `USAGE` for options out of range or a
 *   policy that does not stop within MAX_SIMULATED_ITERATIONS iterations
 */
export function runLiveLoop(options: LoopOptions, populated: Uint32Array = populatedPfns(options.guest)): LoopPlan {
  const { guest } = options;
  const bandwidth = checkBandwidth(options.bandwidth);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new XenStreamError("USAGE", 0, `seed must be an integer, got ${String(seed)}`);
  const custom = typeof options.policy === "function" ? options.policy : undefined;
  const parameters = custom === undefined ? resolvePolicyParameters(options.policy as PolicyParameters | undefined) : undefined;
  const policy = custom ?? simplePrecopyPolicy(options.policy as PolicyParameters | undefined, guest.p2mSize);
  const dirtyModel = options.dirty ?? { kind: "idle" };
  const sampler = dirtySampler(dirtyModel, populated, seed);
  const suspendDirtyPages = options.suspendDirtyPages ?? (dirtyModel.kind === "replay" ? 0 : DEFAULT_SUSPEND_DIRTY_PAGES);
  if (!Number.isSafeInteger(suspendDirtyPages) || suspendDirtyPages < 0) {
    throw new XenStreamError("USAGE", 0, `suspendDirtyPages must be an integer >= 0, got ${describeValue(options.suspendDirtyPages)}`);
  }

  const liveXtab = liveXtabOf(guest);
  const passes: PassReport[] = [];
  const passPfns: Array<Uint32Array | undefined> = [];
  const addPass = (phase: PassReport["phase"], pfns: Uint32Array | undefined, dirtyCount: number): number => {
    const measured = measurePass(guest, pfns, phase === "live" ? liveXtab : undefined);
    const seconds = measured.bytes / bandwidth;
    passes.push({ index: passes.length, phase, dirtyCount, ...measured, seconds });
    passPfns.push(pfns);
    return seconds;
  };

  const stats: PrecopyStats = { iteration: 0, totalWritten: 0, dirtyCount: guest.p2mSize };
  let bitmap: Uint32Array | undefined = undefined; // undefined: bitmap_set(all)
  let shadowDirty = guest.p2mSize; // xc_shadow_op_stats_t.dirty_count
  let lastSeconds = 0;
  let interval = 0;
  let decision: number;
  let stopReason: StopReason = "policy";
  let decidingStats: PrecopyStats = { ...stats };
  const reason = (s: PrecopyStats): StopReason => {
    if (parameters === undefined) return "policy";
    if (s.dirtyCount >= 0 && s.dirtyCount < parameters.targetDirtyCount) return "target-dirty-count";
    if (s.iteration >= parameters.maxIterations) return "max-iterations";
    return "max-factor";
  };
  for (let x = 1; ; x++) {
    if (x > MAX_SIMULATED_ITERATIONS) {
      throw new XenStreamError("USAGE", 0, `the precopy policy did not stop within ${MAX_SIMULATED_ITERATIONS} iterations`);
    }
    decidingStats = { ...stats };
    decision = policy({ ...decidingStats });
    if (shadowDirty > 0 && decision !== XGS_POLICY_ABORT) lastSeconds = addPass("live", bitmap, stats.dirtyCount);
    else lastSeconds = 0;
    if (decision !== XGS_POLICY_CONTINUE_PRECOPY) {
      stopReason = decision === XGS_POLICY_ABORT ? "abort" : reason(stats);
      break;
    }
    stats.iteration = x;
    stats.totalWritten += stats.dirtyCount;
    stats.dirtyCount = -1;
    decidingStats = { ...stats };
    decision = policy({ ...decidingStats });
    if (decision !== XGS_POLICY_CONTINUE_PRECOPY) {
      stopReason = decision === XGS_POLICY_ABORT ? "abort" : reason(stats);
      break;
    }
    interval++;
    bitmap = sampler.dirty(interval, lastSeconds);
    shadowDirty = bitmap.length;
    stats.dirtyCount = bitmap.length;
  }
  const aborted = decision === XGS_POLICY_ABORT;
  const livePasses = passes.length;
  let downtimeSeconds = 0;
  const state = stateBytes(guest);
  if (!aborted) {
    interval++;
    // suspend_and_send_dirty(): the final log-dirty bitmap ORed with deferred_pages.
    const finalDirty = unionPfns(sampler.final(interval, lastSeconds), suspendDirtySet(guest, populated, suspendDirtyPages, seed));
    const finalPfns = liveXtab === undefined ? finalDirty : unionPfns(finalDirty, guest.deferredPfns as Uint32Array);
    addPass("stop-and-copy", finalPfns, finalDirty.length);
  }
  const memoryBytes = passes.reduce((sum, pass) => sum + pass.bytes, 0);
  const finalBytes = aborted ? 0 : (passes[passes.length - 1] as PassReport).bytes;
  const downtimeBytes = aborted ? 0 : finalBytes + state.tail;
  downtimeSeconds = downtimeBytes / bandwidth;
  const streamBytes = state.head + memoryBytes + state.tail;
  const report: SimulationReport = {
    domainType: guestDomainType(guest),
    pageSize: guest.pageSize,
    p2mSize: guest.p2mSize,
    populatedPages: guest.populatedPages,
    deferredPages: guest.deferredPfns?.length ?? 0,
    parameters: parameters ?? {},
    bandwidth,
    passes,
    livePasses,
    stopReason,
    decidingStats,
    aborted,
    memoryBytes,
    streamBytes,
    downtimeBytes,
    downtimeSeconds,
    totalSeconds: streamBytes / bandwidth,
  };
  return { report, passPfns, liveXtab };
}
