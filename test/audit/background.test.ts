// The background audit (audit.enabled) in the daemon, on a real anvil: a payment deleted from the
// database is found missing by the next pass, reported at GET /v1/audit (operators only), as a
// /healthz warning and in the depositd_audit_* metrics — and not repaired. The cursor persists;
// `depositd audit --repair` over the range restores the payment and clears the finding.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditFindingsSource } from "../../src/audit/background.js";
import { runAudit } from "../../src/audit/index.js";
import { loadAudit } from "../../src/console/data.js";
import { auditStatements } from "../../src/audit/statements.js";
import { createCommon } from "../../src/common.js";
import { validateConfig } from "../../src/config/load.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import { API_KEY, OPERATOR_KEY, evmPoolText, rawConfig } from "../helpers/config.js";
import { type TokenChain, startTokenChain } from "../helpers/evm.js";

const USDT = (n: number) => BigInt(n) * 1_000_000n;

describe("background audit", () => {
  let chain: TokenChain;
  let daemon: Daemon;
  let startBlock: number;
  let common: ReturnType<typeof createCommon>;
  const dir = mkdtempSync(join(tmpdir(), "depositd-bg-audit-"));
  const pool = evmPoolText(3);

  beforeAll(async () => {
    chain = await startTokenChain(USDT(1_000_000));
    startBlock = (await chain.kit.blockNumber()) + 1;
    writeFileSync(join(dir, "pool.txt"), pool.text);
    const config = validateConfig(
      rawConfig({
        database: { path: join(dir, "d.sqlite"), synchronous: "NORMAL" },
        rates: { static: { USD: { "USDT-ERC20": "1" } } },
        chains: [
          {
            id: "anvil",
            kind: "evm",
            rpc: [chain.anvil.url],
            chain_id: 31337,
            start_block: startBlock,
            poll_interval_ms: 50,
            request_timeout_ms: 2000,
            rpc_max_rps: 10_000,
            audit: { enabled: true, lag_blocks: 2, batch_blocks: 1000 },
            pool: { source: "static", file: join(dir, "pool.txt"), low_water: 0 },
          },
        ],
        assets: [{ id: "USDT-ERC20", chain: "anvil", contract: chain.token, decimals: 6, confirmations: 1 }],
        log: { level: "silent" },
      }),
      {},
    );
    common = createCommon(config, { logger: pino({ level: "silent" }) });
    daemon = await startDaemon(common, {
      manualWatchers: true,
      manualAudit: true,
      noDelivery: true,
      noTimers: true,
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = () => `http://127.0.0.1:${daemon.address.port}`;
  const get = async (path: string, key?: string) => {
    const r = await fetch(base() + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  async function sync(): Promise<void> {
    const w = daemon.watchers.get("anvil")!;
    for (let i = 0; i < 50; i++) if ((await w.runOnce())?.caughtUp) return;
    throw new Error("watcher did not catch up");
  }

  it("error: a deleted payment is found missing, reported (API, /healthz warning, metrics) and not repaired", async () => {
    const latest = await chain.anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    const order = daemon.ledger.createOrder(
      "shop",
      {
        merchant_order_id: "B-1",
        amount: "10",
        currency: "USDT-ERC20",
        callback_url: "http://127.0.0.1:9/cb",
      },
      Number(latest.timestamp) * 1000,
    ).order;
    const tx = await chain.kit.sendToken(
      chain.token,
      order.options[0]!.address,
      USDT(10),
      chain.kit.accounts[1]!,
    );
    await chain.kit.mine(3);
    // nothing is due while the range is not lag_blocks below the scanned head
    expect(await daemon.audit.runOnce("anvil")).toBeNull();
    await sync();
    expect(daemon.ledger.getOrder("shop", order.id)!.status).toBe("paid");
    daemon.db.prepare("DELETE FROM events WHERE payment_id IS NOT NULL").run();
    daemon.db.prepare("DELETE FROM payments").run();

    const scanned = daemon.ledger.cursor("anvil")!.next_block - 1;
    const r = (await daemon.audit.runOnce("anvil"))!;
    expect(r.from).toBe(startBlock);
    expect(r.to).toBe(scanned - 2);
    expect(r.findings).toEqual([
      expect.objectContaining({
        kind: "missing",
        txid: tx.hash,
        index: tx.logIndexes[0],
        block: tx.blockNumber,
      }),
    ]);
    // the cursor is stored past the batch; the next pass has nothing due
    expect(auditStatements(daemon.db).cursor.get("anvil")).toMatchObject({
      next_block: scanned - 1,
      blocks_audited: scanned - 2 - startBlock + 1,
      last_error: null,
    });
    expect(await daemon.audit.runOnce("anvil")).toBeNull();
    // it never repairs by itself
    expect(daemon.ledger.orderPayments("shop", order.id)).toEqual([]);

    const ops = await get("/v1/audit", OPERATOR_KEY);
    expect(ops.status).toBe(200);
    expect(ops.body).toEqual({
      chains: [
        {
          chain: "anvil",
          enabled: true,
          next_block: scanned - 1,
          blocks_audited: scanned - 2 - startBlock + 1,
          last_run_at: expect.any(String) as string,
          last_error: null,
          counts: { missing: 1, extra: 0, mismatch: 0, wrong_status: 0 },
          findings: [
            {
              kind: "missing",
              txid: tx.hash,
              index: tx.logIndexes[0],
              asset: "USDT-ERC20",
              block: tx.blockNumber,
              payment_id: null,
              detail: expect.stringContaining("10000000 to") as string,
              found_at: expect.any(String) as string,
            },
          ],
        },
      ],
    });
    const merchant = await get("/v1/audit", API_KEY);
    expect(merchant.status).toBe(403);
    expect(JSON.stringify(merchant.body)).not.toContain(tx.hash);
    expect((await get("/v1/audit?chain=nope", OPERATOR_KEY)).status).toBe(400);

    const health = await get("/healthz");
    const checks = health.body.checks as Record<string, { ok: boolean; detail: { warnings: string[] } }>;
    expect(checks.audit!.ok).toBe(true); // a warning, not a failure
    expect(checks.audit!.detail.warnings).toEqual([
      "anvil: 1 audit finding(s) (missing 1); see GET /v1/audit",
    ]);
    expect(health.status).toBe(200);

    // the console's overview reads the same store
    expect(loadAudit(auditFindingsSource(daemon.db))).toMatchObject({
      enabled: true,
      total: 1,
      counts: [{ kind: "missing", n: 1 }],
      recent: [{ chain: "anvil", finding: { kind: "missing", txid: tx.hash, block: tx.blockNumber } }],
      cursors: [{ chain: "anvil", next_block: scanned - 1, last_error: null }],
    });

    const metrics = await (await fetch(base() + "/metrics")).text();
    expect(metrics).toContain(`depositd_audit_findings_total{chain="anvil",kind="missing"} 1`);
    expect(metrics).toContain(`depositd_audit_blocks_total{chain="anvil"} ${scanned - 2 - startBlock + 1}`);
    expect(metrics).toContain(`depositd_audit_cursor{chain="anvil"} ${scanned - 1}`);
    expect(metrics).toContain(`depositd_audit_open_findings{chain="anvil",kind="missing"} 1`);

    // an operator repairs the range (depositd audit --repair): the payment is back, the finding cleared
    const repaired = await runAudit(
      { db: daemon.db, common, catalog: daemon.catalog, ledger: daemon.ledger },
      { chain: "anvil", from: startBlock, to: scanned - 2, repair: true },
    );
    expect(repaired.repaired).toBe(1);
    expect(daemon.ledger.orderPayments("shop", order.id)).toHaveLength(1);
    const after = await get("/v1/audit", OPERATOR_KEY);
    expect((after.body.chains as { counts: Record<string, number>; findings: unknown[] }[])[0]).toMatchObject(
      {
        counts: { missing: 0, extra: 0, mismatch: 0, wrong_status: 0 },
        findings: [],
      },
    );
    const healthAfter = await get("/healthz");
    expect(
      (healthAfter.body.checks as Record<string, { detail: { warnings: string[] } }>).audit!.detail.warnings,
    ).toEqual([]);
  });
});
