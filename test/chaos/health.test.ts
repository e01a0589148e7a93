// /healthz while the node is gone: the watcher's last known lag is stale, so a chain whose watcher
// has not completed a pass for a while must be reported failing (found by the RPC chaos run).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Daemon, silentLimitMs, startDaemon } from "../../src/daemon.js";
import { type TestAnvil, startAnvil } from "../helpers/anvil.js";
import { clock, evmPoolText, testCommon, testConfig } from "../helpers/config.js";
import { type FlakyProxy, startFlakyProxy } from "../helpers/flaky-proxy.js";
import { tempDir } from "./harness.js";

let anvil: TestAnvil;
let proxy: FlakyProxy;
let daemon: Daemon | undefined;
const tmp = tempDir("health");

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 31337 });
  proxy = await startFlakyProxy(anvil.url, { seed: 1, failRate: 0, modes: ["502"] });
});
afterAll(async () => {
  await daemon?.stop();
  await proxy?.stop();
  await anvil?.stop();
  tmp.remove();
});

describe("/healthz during an RPC outage", () => {
  it("behavior: a chain whose node stopped answering turns unhealthy after the silence limit, and healthy again after", async () => {
    const poolFile = join(tmp.dir, "pool.txt");
    writeFileSync(poolFile, evmPoolText(3).text);
    const config = testConfig({
      database: { path: join(tmp.dir, "d.sqlite"), synchronous: "NORMAL" },
      chains: [
        {
          id: "anvil",
          kind: "evm",
          rpc: [proxy.url],
          chain_id: 31337,
          poll_interval_ms: 100,
          start_block: 0,
          request_timeout_ms: 500,
          pool: { source: "static", file: poolFile, low_water: 0 },
        },
      ],
    });
    const time = clock(Date.now());
    daemon = await startDaemon(testCommon(config, time.now), {
      manualWatchers: true,
      noDelivery: true,
      noTimers: true,
    });
    const watcher = daemon.watchers.get("anvil")!;
    const chainCheck = () => daemon!.health().checks["chain:anvil"]!;

    await watcher.runOnce();
    expect(chainCheck().ok).toBe(true);

    proxy.setFailRate(1);
    await anvil.rpc("anvil_mine", ["0x5"]);
    await expect(watcher.runOnce()).rejects.toThrow();
    time.advance(silentLimitMs(100) - 1);
    expect(chainCheck().ok).toBe(true); // one failed pass is not an outage yet
    time.advance(2);
    expect(chainCheck()).toMatchObject({ ok: false, detail: { silent_ms: silentLimitMs(100) + 1 } });
    expect(daemon.health().ok).toBe(false);

    proxy.setFailRate(0);
    await watcher.runOnce();
    expect(chainCheck()).toMatchObject({ ok: true, detail: { silent_ms: 0, lag_blocks: 0 } });
  });
});
