/**
 * A small seeded pseudo-random generator for the live-loop model
 * (mulberry32: 32-bit state, period 2^32, good enough for sampling dirty
 * pages and filling synthetic pages; not cryptographic). Deterministic:
 * the same seed gives the same sequence on every platform.
 *
 * @module
 * @internal
 */

/** A seeded generator of uniform 32-bit values and floats in [0, 1). */
export class Prng {
  private state: number;

  /** @param seed - any integer; only its low 32 bits are used */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next uniform u32. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b_79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** The next uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4_294_967_296;
  }

  /** An independent generator derived from this seed and `stream` (for per-pass sampling). */
  static derive(seed: number, stream: number): Prng {
    // Mix the two words so that neighbouring (seed, stream) pairs do not correlate.
    const mixed = Math.imul((seed >>> 0) ^ 0x9e37_79b9, 0x85eb_ca6b) ^ Math.imul((stream >>> 0) + 0x632b_e5ab, 0xc2b2_ae35);
    return new Prng(mixed >>> 0);
  }
}
