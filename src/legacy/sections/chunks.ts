/**
 * The chunk stream (legacy-stream.md §5, §5.2, §6): the chunk id that
 * starts each chunk, and the metadata chunks (VCPU_INFO, the HVM parameter
 * chunks, TSC_INFO, TOOLSTACK). Page batches are in batch.ts; the chunk
 * terminator leads to the tails.
 *
 * @module
 * @internal
 */
import type { ErrorCode } from "../../errors.js";
import type { HvmParam } from "../../libxc/types.js";
import { viewOf } from "../../wire/reader.js";
import {
  LEGACY_HVM_PARAM_CHUNKS,
  LEGACY_HVM_PARAM_PAYLOAD,
  LEGACY_MAX_BATCH,
  LEGACY_MAX_VCPU_ID,
  LEGACY_TSC_INFO_PAYLOAD,
  LegacyChunkId,
  legacyChunkName,
} from "../constants.js";
import type { LegacyParser, Step } from "../parser.js";
import { physmapToXenstore } from "../toolstack.js";

/** Chunk ids and metadata chunks. @internal */
export class Chunks {
  private readonly p: LegacyParser;
  /** Input offset of the current chunk's id. */
  offset = 0;
  /** The current chunk's id. */
  id = 0;
  private hvmParams: HvmParam[] = [];
  private maxVcpuId = 0;
  private toolstackLength = 0;

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** The step that reads the next chunk id. */
  first(): Step {
    return this.chunk;
  }

  /** Fails at the current chunk, naming it. */
  fail(code: ErrorCode, message: string): never {
    this.p.fail(code, this.offset, `${legacyChunkName(this.id)} chunk (id ${this.id}): ${message}`);
  }

  /** A chunk id (xc_domain_restore.c: pagebuf_get_one()). */
  private readonly chunk: Step = {
    reading: "a chunk id",
    need: () => 4,
    run: (bytes, offset) => {
      const p = this.p;
      const id = viewOf(bytes).getInt32(0, true);
      this.offset = offset;
      this.id = id;
      if (id > 0) {
        if (id > LEGACY_MAX_BATCH) this.fail("BAD_FIELD", `page batch of ${id} entries exceeds MAX_BATCH (${LEGACY_MAX_BATCH})`);
        p.batches.start(id, offset);
        return;
      }
      if (LEGACY_HVM_PARAM_CHUNKS.has(id)) {
        if (p.pv) this.fail("UNEXPECTED_RECORD", "HVM-only parameter chunk in a PV stream");
        p.go(this.hvmParam);
        return;
      }
      switch (id) {
        case LegacyChunkId.END:
          if (this.hvmParams.length > 0) {
            p.emitLibxc(offset, { type: "HVM_PARAMS", params: this.hvmParams });
            this.hvmParams = [];
          }
          p.go(p.pv ? p.pvTail.first() : p.hvmTail.first());
          return;
        case LegacyChunkId.ENABLE_VERIFY_MODE:
          // The verification batches that follow become ordinary PAGE_DATA.
          return;
        case LegacyChunkId.LAST_CHECKPOINT:
          return;
        case LegacyChunkId.VCPU_INFO:
          p.go(this.vcpuInfo);
          return;
        case LegacyChunkId.TSC_INFO:
          p.go(this.tscInfo);
          return;
        case LegacyChunkId.TOOLSTACK:
          p.go(this.toolstackSize);
          return;
        // B11: the reference gives up with "todo" on these four.
        case LegacyChunkId.TMEM:
        case LegacyChunkId.TMEM_EXTRA:
          return this.fail("UNSUPPORTED", "transcendent memory (tmem) cannot be converted: migration v2 has no tmem records");
        case LegacyChunkId.COMPRESSED_DATA:
          return this.fail(
            "UNSUPPORTED",
            "Remus compressed page data cannot be converted: expanding it needs the receiver's previous page contents",
          );
        case LegacyChunkId.ENABLE_COMPRESSION:
          return this.fail("UNSUPPORTED", "Remus checkpoint compression is not converted (checkpointed legacy streams are not supported)");
        default:
          return this.fail("UNKNOWN_RECORD", "unrecognised chunk id");
      }
    },
  };

  /** VCPU_INFO: int max_vcpu_id, then u64 bitmap[max_vcpu_id / 64 + 1]. */
  private readonly vcpuInfo: Step = {
    reading: "a VCPU_INFO chunk",
    need: () => 4,
    run: (bytes) => {
      const maxId = viewOf(bytes).getInt32(0, true);
      if (maxId > LEGACY_MAX_VCPU_ID) this.fail("BAD_FIELD", `max_vcpu_id ${maxId} exceeds ${LEGACY_MAX_VCPU_ID}`);
      // C and Python disagree on the bitmap size of a negative id (truncating
      // vs flooring division); no writer produces one.
      if (maxId < 0) this.fail("BAD_FIELD", `max_vcpu_id ${maxId} is negative`);
      if (this.p.onlineVcpus !== undefined) this.fail("UNEXPECTED_RECORD", "a second VCPU_INFO chunk");
      this.maxVcpuId = maxId;
      this.p.go(this.vcpuBitmap);
    },
  };

  private readonly vcpuBitmap: Step = {
    reading: "a VCPU_INFO chunk",
    need: () => 8 * (Math.floor(this.maxVcpuId / 64) + 1),
    run: (bytes) => {
      const maxId = this.maxVcpuId;
      const view = viewOf(bytes);
      const online: number[] = [];
      for (let word = 0; word < bytes.length / 8; word++) {
        for (let half = 0; half < 2; half++) {
          let bits = view.getUint32(8 * word + 4 * half, true);
          for (let bit = 0; bits !== 0; bit++, bits >>>= 1) {
            if ((bits & 1) === 0) continue;
            const id = 64 * word + 32 * half + bit;
            // The reference would take such a bit as an online vCPU, the
            // restorer would ignore it: the two read different tails.
            if (id > maxId) this.fail("BAD_FIELD", `vCPU ${id} is marked online above max_vcpu_id ${maxId}`);
            online.push(id);
          }
        }
      }
      this.p.onlineVcpus = online;
      this.p.go(this.chunk);
    },
  };

  /** An HVM parameter chunk: u32 pad (ignored, as by the reference and the restorer), u64 value. */
  private readonly hvmParam: Step = {
    reading: "an HVM parameter chunk",
    need: () => LEGACY_HVM_PARAM_PAYLOAD,
    run: (bytes) => {
      const value = viewOf(bytes).getBigUint64(4, true);
      this.hvmParams.push({ index: BigInt(LEGACY_HVM_PARAM_CHUNKS.get(this.id) as number), value });
      this.p.go(this.chunk);
    },
  };

  /** TSC_INFO, in legacy order: mode u32, nsec u64, khz u32, incarnation u32. */
  private readonly tscInfo: Step = {
    reading: "a TSC_INFO chunk",
    need: () => LEGACY_TSC_INFO_PAYLOAD,
    run: (bytes) => {
      const view = viewOf(bytes);
      this.p.emitLibxc(this.offset, {
        type: "X86_TSC_INFO",
        mode: view.getUint32(0, true),
        khz: view.getUint32(12, true),
        nsec: view.getBigUint64(4, true),
        incarnation: view.getUint32(16, true),
      });
      this.p.go(this.chunk);
    },
  };

  private readonly toolstackSize: Step = {
    reading: "a TOOLSTACK chunk's size",
    need: () => 4,
    run: (bytes, offset) => {
      const p = this.p;
      const size = viewOf(bytes).getUint32(0, true);
      if (size === 0 || !p.libxl) {
        // libxc output discards the data unread, as the reference does.
        p.skip(size, this.chunk);
        return;
      }
      const max = p.settings.maxRecordLength;
      if (size > max) p.fail("RECORD_TOO_LARGE", offset, `TOOLSTACK chunk: ${size} bytes of data exceed the maximum ${max}`);
      this.toolstackLength = size;
      p.go(this.toolstackData);
    },
  };

  /** libxl output: the toolstack data become xenstore pairs (legacy-stream.md §9). */
  private readonly toolstackData: Step = {
    reading: "a TOOLSTACK chunk's data",
    need: () => this.toolstackLength,
    run: (bytes, offset) => {
      const p = this.p;
      // Copied: the pairs live until after the tail.
      p.xenstore.push(...physmapToXenstore(bytes.slice(), p.layout?.width ?? 64, offset));
      p.go(this.chunk);
    },
  };
}
