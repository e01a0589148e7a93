// The weight gate that bounds full EVM blocks in flight: never more than its limit held at once,
// one piece always runs however heavy, a failure frees its weight, every piece finishes.
import { describe, expect, it } from "vitest";
import { createWeightGate } from "../../src/rpc/map-limit.js";

/** a promise settled by hand, to hold a piece in flight */
function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const ticks = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("createWeightGate", () => {
  it("holds at most its limit; a piece starts once enough weight is given back", async () => {
    const run = createWeightGate(10);
    const started: string[] = [];
    const holds = { a: deferred(), b: deferred(), c: deferred() };
    const piece = (name: keyof typeof holds, weight: number) =>
      run(weight, async () => {
        started.push(name);
        await holds[name].promise;
        return name;
      });
    const all = Promise.all([piece("a", 6), piece("b", 4), piece("c", 5)]);
    await ticks();
    expect(started).toEqual(["a", "b"]); // 6 + 4 = 10; c would make 15
    holds.b.resolve();
    await ticks();
    expect(started).toEqual(["a", "b"]); // 6 + 5 > 10: still waits for a
    holds.a.resolve();
    await ticks();
    expect(started).toEqual(["a", "b", "c"]);
    holds.c.resolve();
    expect(await all).toEqual(["a", "b", "c"]);
  });

  it("runs a piece heavier than the limit alone, never not at all", async () => {
    const run = createWeightGate(10);
    const started: string[] = [];
    const heavy = deferred();
    const first = run(100, async () => {
      started.push("heavy");
      await heavy.promise;
    });
    const second = run(1, async () => void started.push("light"));
    await ticks();
    expect(started).toEqual(["heavy"]);
    heavy.resolve();
    await Promise.all([first, second]);
    expect(started).toEqual(["heavy", "light"]);
  });

  it("gives back the weight of a piece that fails, and passes its error on", async () => {
    const run = createWeightGate(10);
    const failing = deferred();
    const bad = run(10, () => failing.promise);
    let later = false;
    const next = run(10, async () => {
      later = true;
    });
    await ticks();
    expect(later).toBe(false);
    failing.reject(new Error("node down"));
    await expect(bad).rejects.toThrow("node down");
    await next;
    expect(later).toBe(true);
  });
});
