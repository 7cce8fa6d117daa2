/**
 * One seeded pseudo-random generator for the generators, the mutators, the
 * fuzz engine and the tests.
 *
 * @module
 */

/**
 * The seeded PRNG of the testing kit and of the tests (splitmix32): small,
 * deterministic, no Node built-ins. The sequence of a seed is fixed: the
 * legacy generator's seeds replay across versions.
 */
export class Prng {
  private state: number;

  /**
   * A generator at the start of `seed`'s sequence.
   *
   * @param seed - any integer (taken modulo 2^32)
   */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /**
   * The next number of the sequence.
   *
   * @returns a u32
   */
  u32(): number {
    let z = (this.state = (this.state + 0x9e37_79b9) | 0);
    z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /**
   * A number in [0, 1).
   *
   * @returns the next u32 divided by 2^32
   */
  next(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /**
   * Integer in `0..n-1`.
   *
   * @param n - how many values (at least 1)
   * @returns the integer
   */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Integer in `min..max` (inclusive).
   *
   * @param min - the smallest value
   * @param max - the largest value
   * @returns the integer
   */
  int(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /**
   * True with probability `p`.
   *
   * @param p - the probability, 0 to 1
   * @returns the outcome
   */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * One element of `items`.
   *
   * @param items - a non-empty list
   * @returns an element, each equally likely
   */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  /**
   * Fills `bytes` with random bytes.
   *
   * @param bytes - the array to fill
   * @returns `bytes`
   */
  fill(bytes: Uint8Array): Uint8Array {
    const words = Math.floor(bytes.length / 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < words; i++) view.setUint32(4 * i, this.u32(), true);
    for (let i = 4 * words; i < bytes.length; i++) bytes[i] = this.u32() & 0xff;
    return bytes;
  }

  /**
   * `length` random bytes.
   *
   * @param length - how many
   * @returns a new array
   */
  bytes(length: number): Uint8Array {
    return this.fill(new Uint8Array(length));
  }
}


/** The legacy generator's name for {@link Prng} (the same class). */
export const LegacyPrng = Prng;
/** The legacy generator's name for {@link Prng}. */
export type LegacyPrng = Prng;
