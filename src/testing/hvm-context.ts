/**
 * fast-check arbitrary of HVM context blobs (the HVM_CONTEXT record body,
 * hvm-context-and-cpu.md §1), built byte by byte from descriptors and
 * bodies, independently of the library's HVM context codec, so that it can
 * test that codec.
 *
 * Two shapes:
 * - default: HEADER, then entries of any typecode (known, unknown 21+,
 *   vendor codes) with lengths drawn from every size Xen has written, plus
 *   shorter and longer ones, random body bytes, END, optional bytes after
 *   END. Framing is always valid, so the decoder accepts every blob.
 * - `restorable`: what Xen's hvm_save() writes for a domain of `vcpus`
 *   vCPUs, in its order (typecodes ascending, per-vCPU entries in vCPU
 *   order), with the field values the loaders check made valid; Xen 4.18+
 *   would load it (checkHvmContext finds nothing).
 *
 * @module
 */
import fc from "fast-check";
import { checkInteger } from "./records.js";

/** Constraints of {@link hvmContextBlob}. */
export interface HvmContextBlobConstraints {
  /**
   * Generate only what Xen's saver writes and its loader accepts.
   *
   * @defaultValue false
   */
  restorable?: boolean;
  /**
   * vCPU count (restorable blobs: one set of per-vCPU entries each;
   * otherwise the range of per-vCPU instances), 1..16.
   *
   * @defaultValue 2
   */
  vcpus?: number;
  /**
   * Most entries between HEADER and END (default blobs), 0..64.
   *
   * @defaultValue 12
   */
  maxEntries?: number;
}

/** One descriptor of a generated blob. */
export interface HvmContextBlobEntry {
  /** Position of the descriptor in `bytes`. */
  pos: number;
  typecode: number;
  instance: number;
  length: number;
}

/** A generated HVM context blob and the descriptors it was built from. */
export interface HvmContextBlob {
  bytes: Uint8Array;
  /** Every descriptor, HEADER first and END last. */
  entries: HvmContextBlobEntry[];
  /** Bytes after END. */
  trailing: number;
}

/** Body lengths Xen's savers have written, by typecode (save.h history). */
const SIZES: ReadonlyArray<readonly number[]> = [
  [0],
  [24],
  [1016, 1024, 1032],
  [8],
  [400],
  [24, 32],
  [1024],
  [16],
  [8],
  [8],
  [56],
  [16, 24],
  [1048],
  [8],
  [240],
  [16, 24, 32],
  [600, 856, 1088, 2696],
  [8, 16, 216],
  [8, 24, 32],
  [8],
  [24, 40, 152],
];
const PER_VCPU = new Set([2, 5, 6, 14, 16, 17, 18, 19, 20]);

interface Part {
  typecode: number;
  instance: number;
  body: Uint8Array;
}

function assemble(parts: readonly Part[], trailing: Uint8Array): HvmContextBlob {
  let size = trailing.length;
  for (const part of parts) size += 8 + part.body.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const entries: HvmContextBlobEntry[] = [];
  let pos = 0;
  for (const part of parts) {
    view.setUint16(pos, part.typecode, true);
    view.setUint16(pos + 2, part.instance, true);
    view.setUint32(pos + 4, part.body.length, true);
    entries.push({ pos, typecode: part.typecode, instance: part.instance, length: part.body.length });
    bytes.set(part.body, pos + 8);
    pos += 8 + part.body.length;
  }
  bytes.set(trailing, pos);
  return { bytes, entries, trailing: trailing.length };
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** A HEADER body: magic 0x54381286, version 1, changeset, cpuid, gtsc_khz (public/arch-x86/hvm/save.h). */
const headerBody = fc.tuple(u64, u32, u32).map(([changeset, cpuid, khz]) => {
  const body = new Uint8Array(24);
  const view = new DataView(body.buffer);
  view.setUint32(0, 0x5438_1286, true);
  view.setUint32(4, 1, true);
  view.setBigUint64(8, changeset, true);
  view.setUint32(16, cpuid, true);
  view.setUint32(20, khz, true);
  return body;
});

function anyEntry(vcpus: number): fc.Arbitrary<Part> {
  const typecode = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 2, max: 20 }) },
    { weight: 1, arbitrary: fc.integer({ min: 21, max: 34 }) },
    { weight: 1, arbitrary: fc.integer({ min: 35, max: 0xffff }) },
  );
  return typecode.chain((code) => {
    const known = SIZES[code];
    const max = known === undefined ? 64 : Math.max(...known) + 24;
    const length = known === undefined ? fc.integer({ min: 0, max }) : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.integer({ min: 0, max }) });
    const instance = PER_VCPU.has(code) ? fc.integer({ min: 0, max: vcpus - 1 }) : fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    return fc.record({ typecode: fc.constant(code), instance, body: length.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })) });
  });
}

/** Random bytes of `length` with `fix` applied (the fields a loader checks). */
function body(length: number, fix: (view: DataView, bytes: Uint8Array) => void = () => {}): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: length, maxLength: length }).map((bytes) => {
    const copy = bytes.slice();
    fix(new DataView(copy.buffer), copy);
    return copy;
  });
}

/** CR0 values hvm_load_cpu_ctxt() accepts: ET set, no reserved bits, PG only with PE. */
const cr0 = fc.constantFrom(0x11n, 0x8000_0011n, 0x8005_0033n, 0x6000_0010n);

/** MSRs hvm_load_cpu_msrs() restores on every Xen since 4.14 (PKRS left out: 4.18+). */
const LOADABLE = [0x48, 0x140, 0xd90, 0xda0, 0xc001_011f, 0xc001_1027, 0xc001_1019, 0xc001_101a, 0xc001_101b];

function restorableParts(vcpus: number): fc.Arbitrary<Part[]> {
  const vcpu = (id: number) =>
    fc.record({
      cpu: fc.tuple(fc.constantFrom(1024, 1032), cr0).chain(([length, value]) =>
        body(length, (view) => {
          view.setBigUint64(656, value, true);
          if (length === 1032) view.setUint32(1028, 0, true);
        }),
      ),
      lapic: body(24),
      lapicRegs: body(1024),
      mtrr: body(240),
      xsave: fc.option(
        fc.constantFrom([3n, 600], [7n, 856]).chain(([accum, length]) =>
          body(length as number, (view, bytes) => {
            view.setBigUint64(0, accum as bigint, true);
            view.setBigUint64(8, (accum as bigint) & 3n, true);
            view.setBigUint64(16, accum as bigint, true);
            view.setBigUint64(536, (accum as bigint) & view.getBigUint64(536, true), true);
            bytes.fill(0, 544, 600); // xcomp_bv and the reserved words
          }),
        ),
        { nil: undefined },
      ),
      viridian: fc.option(body(216, (_view, bytes) => bytes.fill(0, 9, 16)), { nil: undefined }),
      vmce: body(32),
      tscAdjust: body(8),
      msrs: fc.option(
        fc.array(fc.tuple(fc.constantFrom(...LOADABLE), u64), { minLength: 1, maxLength: 3 }).map((list) => {
          const bytes = new Uint8Array(8 + 16 * list.length);
          const view = new DataView(bytes.buffer);
          view.setUint32(0, list.length, true);
          list.forEach(([index, value], i) => {
            view.setUint32(8 + 16 * i, index, true);
            view.setBigUint64(16 + 16 * i, value, true);
          });
          return bytes;
        }),
        { nil: undefined },
      ),
    }).map((v) => ({ id, ...v }));
  const domain = fc.record({
    pics: fc.option(fc.tuple(body(8), body(8)), { nil: undefined }),
    ioapic: fc.option(body(400), { nil: undefined }),
    pciIrq: body(16),
    isaIrq: body(8),
    pciLink: body(8),
    pit: fc.option(body(56), { nil: undefined }),
    rtc: fc.option(body(24), { nil: undefined }),
    hpet: fc.option(body(1048), { nil: undefined }),
    pmtimer: fc.option(body(8), { nil: undefined }),
    viridian: fc.option(body(32), { nil: undefined }),
  });
  return fc.tuple(domain, fc.tuple(...Array.from({ length: vcpus }, (_, id) => vcpu(id)))).map(([d, cpus]) => {
    const parts: Part[] = [];
    const perVcpu = (typecode: number, pick: (v: (typeof cpus)[number]) => Uint8Array | undefined): void => {
      for (const v of cpus) {
        const b = pick(v);
        if (b !== undefined) parts.push({ typecode, instance: v.id, body: b });
      }
    };
    const perDomain = (typecode: number, b: Uint8Array | undefined): void => {
      if (b !== undefined) parts.push({ typecode, instance: 0, body: b });
    };
    // hvm_save(): typecodes ascending; per-vCPU handlers once per vCPU.
    perVcpu(2, (v) => v.cpu);
    if (d.pics !== undefined) parts.push({ typecode: 3, instance: 0, body: d.pics[0] }, { typecode: 3, instance: 1, body: d.pics[1] });
    perDomain(4, d.ioapic);
    perVcpu(5, (v) => v.lapic);
    perVcpu(6, (v) => v.lapicRegs);
    perDomain(7, d.pciIrq);
    perDomain(8, d.isaIrq);
    perDomain(9, d.pciLink);
    perDomain(10, d.pit);
    perDomain(11, d.rtc);
    perDomain(12, d.hpet);
    perDomain(13, d.pmtimer);
    perVcpu(14, (v) => v.mtrr);
    perDomain(15, d.viridian);
    perVcpu(16, (v) => v.xsave);
    perVcpu(17, (v) => v.viridian);
    perVcpu(18, (v) => v.vmce);
    perVcpu(19, (v) => v.tscAdjust);
    perVcpu(20, (v) => v.msrs);
    return parts;
  });
}

/**
 * Arbitrary HVM context blobs with the descriptors they were built from
 * (see the module comment for the two shapes).
 *
 * @param constraints - {@link HvmContextBlobConstraints}
 * @returns an arbitrary of {@link HvmContextBlob}
 * @throws RangeError for a constraint out of range, naming the arbitrary
 */
export function hvmContextBlob(constraints: HvmContextBlobConstraints = {}): fc.Arbitrary<HvmContextBlob> {
  checkInteger("hvmContextBlob", "vcpus", constraints.vcpus, 1, 16);
  checkInteger("hvmContextBlob", "maxEntries", constraints.maxEntries, 0, 64);
  const vcpus = constraints.vcpus ?? 2;
  const end: Part = { typecode: 0, instance: 0, body: new Uint8Array(0) };
  if (constraints.restorable === true) {
    return fc.tuple(headerBody, restorableParts(vcpus)).map(([header, parts]) => assemble([{ typecode: 1, instance: 0, body: header }, ...parts, end], new Uint8Array(0)));
  }
  return fc
    .tuple(
      headerBody,
      fc.array(anyEntry(vcpus), { maxLength: constraints.maxEntries ?? 12 }),
      fc.record({ instance: fc.integer({ min: 0, max: 0xffff }), body: fc.uint8Array({ maxLength: 8 }) }),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([header, parts, last, trailing]) =>
      assemble([{ typecode: 1, instance: 0, body: header }, ...parts, { typecode: 0, instance: last.instance, body: last.body }], trailing),
    );
}
