/** One row of the benchmark table written by `npm run bench`. */
export interface BenchRow {
  bench: string;
  metric: string;
  value: string;
  /** what the value is compared with, measured in the same run, where there is a yardstick */
  yardstick?: string;
  note?: string;
}

export type Bench = () => Promise<BenchRow[]>;
