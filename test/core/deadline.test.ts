// The outage-aware deadline rule as a table: wall clock and scanned block times of each chain.
import { describe, expect, it } from "vitest";
import { deadlineClock, deadlinePassed } from "../../src/core/deadline.js";

const D = 1_000_000; // the deadline

describe("deadlinePassed", () => {
  const table: [string, number, (number | null)[], boolean][] = [
    ["wall clock before the deadline, chain past it", D - 1, [D + 5], false],
    ["wall clock past, chain scanned past", D + 1, [D + 1], true],
    ["wall clock past, chain still behind (outage, lag)", D + 3_600_000, [D - 1], false],
    ["a block stamped exactly at the deadline may still hold on-time payments", D + 10, [D], false],
    ["wall clock exactly at the deadline", D, [D + 10], false],
    ["nothing scanned yet on the chain (watcher not reported)", D + 10, [null], false],
    ["no chain involved: the wall clock alone", D + 1, [], true],
    ["two chains, one behind: waits for the slower", D + 100, [D + 50, D - 50], false],
    ["two chains, both past", D + 100, [D + 50, D + 1], true],
    ["two chains, one never scanned", D + 100, [D + 50, null], false],
    [
      "a chain whose block clock runs ahead of the wall clock does not hurry the deadline",
      D - 1,
      [D + 7_200_000],
      false,
    ],
  ];
  it.each(table)("%s", (_name, now, scanned, passed) => {
    expect(deadlinePassed(D, now, scanned)).toBe(passed);
  });

  it("deadlineClock is the minimum of the wall clock and every scanned time", () => {
    expect(deadlineClock(10, [20, 5, 30])).toBe(5);
    expect(deadlineClock(10, [20])).toBe(10);
    expect(deadlineClock(10, [null, 20])).toBe(-Infinity);
  });
});
