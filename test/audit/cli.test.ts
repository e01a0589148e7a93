// `depositd audit` through the built CLI (dist/src/main.js) as an operator runs it, on a real anvil
// and a real SQLite file: a payment deleted from the database makes it exit 1 naming the payment;
// --repair restores it with its events; a second audit exits 0; bad flags exit 2 with a clear error.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { openDatabase } from "../../src/db/index.js";
import type { MinedTx } from "../helpers/evm.js";
import { rawConfig } from "../helpers/config.js";
import { type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";

const main = join(process.cwd(), "dist", "src", "main.js");
const USDT = (n: number) => BigInt(n) * 1_000_000n;

let chain: TokenChain;
let dir: string;
let file: string;
let dbPath: string;
let tx: MinedTx;
let orderId: string;
let from: number;
let to: number;
let eventsBefore: string[];

function run(...args: string[]) {
  return spawnSync(process.execPath, [main, "--config", file, "audit", "--chain", "anvil", ...args], {
    encoding: "utf8",
  });
}
const range = () => ["--from", String(from), "--to", String(to)];
function events(): string[] {
  const db = openDatabase(dbPath);
  try {
    return db
      .prepare<[string], { type: string }>("SELECT type FROM events WHERE order_id = ? ORDER BY seq")
      .all(orderId)
      .map((e) => e.type);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  chain = await startTokenChain(USDT(1_000_000));
  dir = mkdtempSync(join(tmpdir(), "depositd-audit-cli-"));
  dbPath = join(dir, "d.sqlite");
  from = (await chain.kit.blockNumber()) + 1;
  const w = createEvmWatch({ rpc: [chain.anvil.url], token: chain.token, startBlock: from, dbPath });
  const o = w.createOrder({ merchant_order_id: "C-1", amount: "10" });
  orderId = o.id;
  tx = await chain.kit.sendToken(chain.token, o.options[0]!.address, USDT(10), chain.kit.accounts[1]!);
  await w.sync();
  expect(w.order(o.id).status).toBe("paid");
  to = w.ledger.cursor("anvil")!.next_block - 1;
  eventsBefore = events();
  w.db.prepare("DELETE FROM events WHERE payment_id IS NOT NULL").run();
  w.db.prepare("DELETE FROM payments").run();
  await w.close();
  // the operator's config: the same chain, assets and database
  file = join(dir, "depositd.yaml");
  writeFileSync(
    file,
    stringify(
      rawConfig({
        database: { path: dbPath, synchronous: "NORMAL" },
        chains: [
          {
            id: "anvil",
            kind: "evm",
            rpc: [chain.anvil.url],
            chain_id: 31337,
            start_block: from,
            request_timeout_ms: 2000,
            rpc_max_rps: 10_000,
            pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
          },
        ],
        assets: [
          { id: "ETH", chain: "anvil", decimals: 18, confirmations: 1 },
          { id: "USDT-ERC20", chain: "anvil", contract: chain.token, decimals: 6, confirmations: 1 },
        ],
      }),
    ),
  );
});
afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("depositd audit (CLI)", () => {
  it("error: a deleted payment exits 1 named; --repair restores it with its events; the next audit exits 0", () => {
    const first = run(...range());
    expect(first.status).toBe(1);
    expect(first.stdout).toContain("missing");
    expect(first.stdout).toContain(tx.hash);
    expect(first.stdout).toMatch(
      new RegExp(
        `audit anvil blocks ${from}\\.\\.${to} \\(\\d+\\) via 1 URL\\(s\\): MISMATCH — 1 on chain, 0 stored; missing 1`,
      ),
    );

    const repair = run(...range(), "--repair");
    expect(repair.status).toBe(0);
    expect(repair.stdout).toContain("; repaired 1");
    // the same events as when the watcher found it (payment.*, order.*), from the normal write path
    const after = events();
    for (const t of ["payment.seen", "payment.confirmed", "order.paid"]) expect(after).toContain(t);
    expect(after.filter((t) => t.startsWith("payment.")).length).toBe(
      eventsBefore.filter((t) => t.startsWith("payment.")).length,
    );

    const second = run(...range());
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(
      /MATCH — 1 on chain, 1 stored; missing 0, extra 0, mismatch 0, wrong_status 0/,
    );
    // the default range (oldest stored payment .. last scanned block) matches too
    const whole = run();
    expect(whole.status).toBe(0);
    expect(whole.stdout).toContain(": MATCH");
  });

  it("error: bad flags exit 2 with a message naming the problem", () => {
    const cases: [string[], RegExp][] = [
      [["--from", "abc"], /error: --from must be a block number, got "abc"/],
      [["--to", "-3"], /error: --to must be a block number, got "-3"/],
      [
        ["--from", String(from + 1), "--to", String(from)],
        new RegExp(`error: bad range --from ${from + 1} --to ${from}`),
      ],
      [
        ["--to", String(to + 1000)],
        new RegExp(`error: --to ${to + 1000} is past what the watcher has scanned \\(${to}\\)`),
      ],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
    }
    const unknown = spawnSync(process.execPath, [main, "--config", file, "audit", "--chain", "nope"], {
      encoding: "utf8",
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('error: unknown chain "nope"');
    const noChain = spawnSync(process.execPath, [main, "--config", file, "audit"], { encoding: "utf8" });
    expect(noChain.status).not.toBe(0);
    expect(noChain.stderr).toContain("required option '--chain <id>' not specified");
  });
});
