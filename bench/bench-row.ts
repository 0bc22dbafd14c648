/** One line of BENCHMARKS.md: advood's figure next to a reference measured in the same run. */
export interface BenchRow {
  name: string;
  unit: string;
  advood: number;
  reference: number;
  referenceName: string;
  note?: string;
}
