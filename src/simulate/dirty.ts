/**
 * Dirty models: which pages a running guest writes while a pass is being
 * sent, i.e. what the next log-dirty read (xg_sr_save.c
 * send_memory_live(): xc_logdirty_control(XEN_DOMCTL_SHADOW_OP_CLEAN))
 * returns. Only pages with data can be dirtied: log-dirty tracks
 * populated frames, so the passes after the first carry no XTAB entries
 * (as in both real captures), except a PV guest's deferred page tables,
 * which the saver writes as XTAB in every live pass (loop.ts); a
 * ballooned pfn has no frame and is never dirtied.
 *
 * Every set is a deterministic function of (seed, interval index, seconds).
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import type { CaptureProfile } from "./capture.js";
import { SPP_MAX_ITERATIONS } from "./constants.js";
import { Prng } from "./prng.js";

/** Pages written at random, each write to a uniformly chosen page. */
export interface UniformDirtyModel {
  kind: "uniform";
  /** Page writes per second (distinct pages dirtied grow as 1 - e^(-writes/pages)). */
  pagesPerSecond: number;
}

/** A hot working set written often, the rest rarely. */
export interface HotDirtyModel {
  kind: "hot";
  /** Pages in the hot set (chosen by seed among the populated pages, the same for every pass). */
  hotPages: number;
  /** Writes per second into the hot set. */
  hotPagesPerSecond: number;
  /**
   * Writes per second into the other pages.
   * @defaultValue 0
   */
  coldPagesPerSecond?: number;
}

/**
 * The dirty sets of a real capture, pass by pass: the interval after live
 * pass i dirties exactly the pages the capture sent in its pass i+1;
 * the stop-and-copy pass adds the capture's last pass. Seconds play no role.
 */
export interface ReplayDirtyModel {
  kind: "replay";
  /** The capture's pass structure ({@link captureProfile}). */
  capture: CaptureProfile;
  /**
   * Past the capture's live passes: `empty` (the guest went quiet), `repeat`
   * (the last live set again) or `auto`: `repeat` when the capture ran
   * into SPP_MAX_ITERATIONS (its live phase had not converged), `empty`
   * when it stopped earlier (it had).
   * @defaultValue "auto"
   */
  afterCapture?: "auto" | "repeat" | "empty";
}

/** A guest that writes nothing while migrating. */
export interface IdleDirtyModel {
  kind: "idle";
}

/** How the guest dirties memory during the live passes. */
export type DirtyModel = UniformDirtyModel | HotDirtyModel | ReplayDirtyModel | IdleDirtyModel;

/** A dirty model bound to one guest. */
export interface DirtySampler {
  /** The pages dirtied in interval `interval` (1 = while live pass 0 was sent) of `seconds`, ascending. */
  dirty(interval: number, seconds: number): Uint32Array;
  /** The pages the final (suspended) log-dirty read returns after interval `interval`. */
  final(interval: number, seconds: number): Uint32Array;
}

const EMPTY = /*@__PURE__*/ new Uint32Array(0);

function checkRate(name: string, value: number | undefined): number {
  const rate = value ?? 0;
  if (!Number.isFinite(rate) || rate < 0) throw new XenStreamError("USAGE", 0, `${name} must be a finite number >= 0, got ${describeValue(value)}`);
  return rate;
}

/**
 * Picks each of `pages` with probability 1 - e^(-writes / pages.length),
 * by geometric skipping (cost proportional to the pages picked).
 */
function sample(pages: Uint32Array, writes: number, prng: Prng, out: number[]): void {
  const n = pages.length;
  if (n === 0 || writes <= 0) return;
  const q = -Math.expm1(-writes / n);
  if (q >= 1 - 1e-12) {
    for (let i = 0; i < n; i++) out.push(pages[i] as number);
    return;
  }
  const logMiss = Math.log1p(-q);
  let i = -1;
  for (;;) {
    const u = prng.nextFloat();
    i += 1 + Math.floor(Math.log1p(-u) / logMiss);
    if (i >= n) return;
    out.push(pages[i] as number);
  }
}

function sorted(values: number[]): Uint32Array {
  const out = Uint32Array.from(values);
  out.sort();
  return out;
}

/**
 * The union of two ascending pfn lists, ascending (bitmap_or of two dirty
 * bitmaps, e.g. the final one and deferred_pages); one of them itself when
 * the other is empty.
 * @internal
 */
export function unionPfns(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    if (x <= y) {
      out[n++] = x;
      i++;
      if (x === y) j++;
    } else {
      out[n++] = y;
      j++;
    }
  }
  return out.subarray(0, n);
}

/**
 * Binds a dirty model to a guest's populated pages.
 *
 * @param model - the model
 * @param populated - the pfns with data, ascending
 * @param seed - seed of the sampling
 * @returns the sampler
 * @throws {@link XenStreamError} `USAGE` for a model out of range
 */
export function dirtySampler(model: DirtyModel, populated: Uint32Array, seed: number): DirtySampler {
  switch (model.kind) {
    case "idle":
      return { dirty: () => EMPTY, final: () => EMPTY };
    case "uniform": {
      const rate = checkRate("pagesPerSecond", model.pagesPerSecond);
      const dirty = (interval: number, seconds: number): Uint32Array => {
        const out: number[] = [];
        sample(populated, rate * seconds, Prng.derive(seed, interval), out);
        return Uint32Array.from(out);
      };
      return { dirty, final: dirty };
    }
    case "hot": {
      const hotRate = checkRate("hotPagesPerSecond", model.hotPagesPerSecond);
      const coldRate = checkRate("coldPagesPerSecond", model.coldPagesPerSecond);
      if (!Number.isSafeInteger(model.hotPages) || model.hotPages < 0) {
        throw new XenStreamError("USAGE", 0, `hotPages must be an integer >= 0, got ${String(model.hotPages)}`);
      }
      const hotCount = Math.min(model.hotPages, populated.length);
      // The hot set: a seeded choice of hotCount pages (selection sampling keeps it ascending).
      const pick = new Prng(Prng.derive(seed, 0x686f_7421).nextU32());
      const hot: number[] = [];
      const cold: number[] = [];
      let need = hotCount;
      for (let i = 0; i < populated.length; i++) {
        const left = populated.length - i;
        if (need > 0 && pick.nextFloat() * left < need) {
          hot.push(populated[i] as number);
          need--;
        } else cold.push(populated[i] as number);
      }
      const hotPages = Uint32Array.from(hot);
      const coldPages = Uint32Array.from(cold);
      const dirty = (interval: number, seconds: number): Uint32Array => {
        const prng = Prng.derive(seed, interval);
        const out: number[] = [];
        sample(hotPages, hotRate * seconds, prng, out);
        sample(coldPages, coldRate * seconds, prng, out);
        return sorted(out);
      };
      return { dirty, final: dirty };
    }
    case "replay": {
      const passes = model.capture.passes;
      const mode = model.afterCapture ?? "auto";
      if (mode !== "auto" && mode !== "repeat" && mode !== "empty") {
        throw new XenStreamError("USAGE", 0, `afterCapture must be "auto", "repeat" or "empty", got ${String(mode)}`);
      }
      // Capture passes: 0 = the full first pass, 1..m = live dirty passes, m+1 = stop-and-copy.
      const allowed = new Set<number>(populated);
      const keep = (pfns: Uint32Array | undefined): Uint32Array => (pfns === undefined ? EMPTY : Uint32Array.from(pfns).filter((pfn) => allowed.has(pfn)));
      const live = passes.slice(1, Math.max(1, passes.length - 1)).map((pass) => keep(pass.dirtyPfns));
      const last = passes.length >= 2 ? keep(passes[passes.length - 1]?.dirtyPfns) : EMPTY;
      const m = live.length;
      const repeat = mode === "repeat" || (mode === "auto" && m + 1 >= SPP_MAX_ITERATIONS);
      const dirty = (interval: number): Uint32Array => {
        if (interval <= m) return live[interval - 1] as Uint32Array;
        return repeat && m > 0 ? (live[m - 1] as Uint32Array) : EMPTY;
      };
      return {
        dirty,
        final: (interval) => (interval <= m ? unionPfns(dirty(interval), last) : last),
      };
    }
    default: {
      const kind: unknown = (model as { kind?: unknown }).kind;
      throw new XenStreamError("USAGE", 0, `dirty model kind must be uniform, hot, replay or idle, got ${String(kind)}`);
    }
  }
}
