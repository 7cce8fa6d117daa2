/**
 * The libxc record table: type id -> { name, decode, encode }.
 *
 * @module
 * @internal
 */
import { CodecTable } from "../wire/record.js";
import type { RecordCodec } from "../wire/codec.js";
import { checkpointCodec, endCodec, staticDataEndCodec, verifyCodec } from "./records/signal.js";
import { pageDataCodec } from "./records/page-data.js";
import {
  vcpuBasicCodec,
  vcpuExtendedCodec,
  vcpuMsrsCodec,
  vcpuXsaveCodec,
  x86PvInfoCodec,
  x86PvP2mFramesCodec,
} from "./records/x86-pv.js";
import { hvmContextCodec, sharedInfoCodec, toolstackCodec } from "./records/blob.js";
import { tscInfoCodec } from "./records/tsc-info.js";
import { cpuidPolicyCodec, dirtyPfnListCodec, hvmParamsCodec, msrPolicyCodec } from "./records/arrays.js";
import type { LibxcCodecContext } from "./records/context.js";
import type { LibxcRecord } from "./types.js";

const codecs = [
  endCodec,
  pageDataCodec,
  x86PvInfoCodec,
  x86PvP2mFramesCodec,
  vcpuBasicCodec,
  vcpuExtendedCodec,
  vcpuXsaveCodec,
  sharedInfoCodec,
  tscInfoCodec,
  hvmContextCodec,
  hvmParamsCodec,
  toolstackCodec,
  vcpuMsrsCodec,
  verifyCodec,
  checkpointCodec,
  dirtyPfnListCodec,
  staticDataEndCodec,
  cpuidPolicyCodec,
  msrPolicyCodec,
] as unknown as readonly RecordCodec<LibxcRecord, LibxcCodecContext>[];

/** @internal */
export const libxcTable = /*@__PURE__*/ new CodecTable<LibxcRecord, LibxcCodecContext>("libxc", codecs);
