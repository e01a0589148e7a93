import { it } from "vitest";
import { run } from "../../bench/deliver.bench.js";
it("bench", async () => {
  const rows = await run();
  console.log("BENCH", JSON.stringify(rows, null, 1));
}, 300_000);
