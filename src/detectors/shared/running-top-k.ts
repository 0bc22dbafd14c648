/**
 * The k largest values seen so far for each of many queries, updated block by block. Lets k-NN stream a bank
 * of any size past the queries with memory O(queries × k) instead of O(queries × bank).
 */
export class RunningTopK {
  /** [queries × k], unsorted within a row. */
  readonly values: Float64Array;
  /** Position of the smallest kept value of each query (the one a better candidate replaces). */
  private readonly minSlot: Int32Array;

  constructor(
    readonly queries: number,
    readonly k: number,
  ) {
    this.values = new Float64Array(queries * k).fill(-Infinity);
    this.minSlot = new Int32Array(queries);
  }

  /** The current k-th largest value of query q (−∞ until k values were offered). */
  threshold(q: number): number {
    return this.values[q * this.k + this.minSlot[q]!]!;
  }

  offer(q: number, value: number): void {
    const k = this.k;
    const base = q * k;
    if (value <= this.values[base + this.minSlot[q]!]!) return;
    this.values[base + this.minSlot[q]!] = value;
    let slot = 0;
    for (let s = 1; s < k; s++) if (this.values[base + s]! < this.values[base + slot]!) slot = s;
    this.minSlot[q] = slot;
  }

  /** Offers a [rows × queries] row-major block of similarities (bank rows × queries). */
  offerBlock(block: Float32Array, rows: number): void {
    const queries = this.queries;
    const k = this.k;
    const values = this.values;
    const minSlot = this.minSlot;
    for (let r = 0; r < rows; r++) {
      const offset = r * queries;
      for (let q = 0; q < queries; q++) {
        const value = block[offset + q]!;
        if (value > values[q * k + minSlot[q]!]!) this.offer(q, value);
      }
    }
  }
}
