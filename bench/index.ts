import type { Bench } from "./types.js";

type Register = (name: string, load: () => Promise<{ run: Bench }>) => void;

/** Every benchmark, by name (`npm run bench -- NAME` runs one). */
export function registerAll(register: Register): void {
  register("create-order", () => import("./create-order.bench.js"));
  register("evm-fetch", () => import("./evm-fetch.bench.js"));
  register("watch", () => import("./watch.bench.js"));
  register("evm-dense", () => import("./evm-dense.bench.js"));
  register("deliver", () => import("./deliver.bench.js"));
  register("bitcoin", () => import("./bitcoin.bench.js"));
  register("console", () => import("./console.bench.js"));
  register("checkout", () => import("./checkout.bench.js"));
  register("trust", () => import("./trust.bench.js"));
  register("tron", () => import("./tron.bench.js"));
  register("rpc-cost", () => import("./rpc-cost.bench.js"));
  register("instances", () => import("./instances.bench.js"));
}
