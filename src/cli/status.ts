// `depositd status`: one screen for an operator, read straight from the database.
import type { ResolvedConfig } from "../config/load.js";
import { openDatabase } from "../db/index.js";
import { countStatements } from "../ledger/statements.js";
import { outboxToolStatements } from "../notify/statements.js";
import { poolReuses, poolStatus } from "../pool/index.js";
import { watchStatements } from "../watch/statements.js";

export function printStatus(cfg: ResolvedConfig, now = Date.now()): void {
  const db = openDatabase(cfg.database);
  const where = cfg.database.engine === "sqlite" ? cfg.database.path : db.name;
  console.log(`depositd status — ${new Date(now).toISOString()} — ${where}\n`);
  const cursors = watchStatements(db).cursorPass;
  console.log("chains");
  console.table(
    cfg.chains.map((c) => {
      const cur = cursors.get(c.id);
      const scanned = cur ? cur.next_block - 1 : null;
      return {
        chain: c.id,
        kind: c.kind,
        head: cur?.head ?? null,
        scanned,
        lag_blocks: cur && scanned !== null ? Math.max(0, cur.head - scanned) : null,
        last_pass: cur ? new Date(cur.updated_at).toISOString() : "never",
      };
    }),
  );
  console.log("pools");
  console.table(
    cfg.chains.map((c) => ({
      ...poolStatus(db, c.id, now, poolReuses(c.pool)),
      low_water: c.pool.low_water,
    })),
  );
  const outbox = outboxToolStatements(db).outboxByState.all();
  console.log("outbox");
  console.table(
    outbox.map((o) => ({
      state: o.state,
      events: o.n,
      oldest: o.oldest ? new Date(o.oldest).toISOString() : null,
    })),
  );
  const orders = countStatements(db).ordersCreatedSince.all(now - 86_400_000);
  console.log("orders created in the last 24 h");
  console.table(orders);
  db.close();
}
