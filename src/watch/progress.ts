// How far each chain's watcher has got, in chain time, read from what it stored: the ledger
// judges deadlines by it (src/core/deadline.ts) and /healthz shows which orders wait for it.
import type { DB } from "../db/index.js";

export interface ScanProgress {
  /** time of the newest block scanned on the chain; null before the first scan */
  scannedTime(chain: string): number | null;
  /** orders past expires_at by the wall clock, still open because this chain has not passed it;
   *  bindings past late_until that wait for it */
  waiting(chain: string, now: number): { orders: number; bindings: number };
}

/** `reported(chain)`: the chain's watcher has completed a pass since this start; until then the
 *  chain counts as not scanned (the timer may run before the watchers). */
export function createScanProgress(db: DB, reported: (chain: string) => boolean = () => true): ScanProgress {
  const scanned = db
    .prepare<[string], number>(
      `SELECT b.timestamp FROM chain_cursors c
       JOIN chain_blocks b ON b.chain = c.chain AND b.number = c.next_block - 1
       WHERE c.chain = ?`,
    )
    .pluck();
  const orders = db
    .prepare<{ chain: string; now: number; scanned: number }, number>(
      `SELECT count(DISTINCT o.id) FROM orders o JOIN order_options op ON op.order_id = o.id
       WHERE op.chain = @chain AND o.status IN ('pending','processing','partially_paid')
         AND o.expires_at < @now AND o.expires_at >= @scanned`,
    )
    .pluck();
  const bindings = db
    .prepare<{ chain: string; now: number; scanned: number }, number>(
      `SELECT count(*) FROM bindings b JOIN orders o ON o.id = b.order_id
       WHERE b.chain = @chain AND b.released_at IS NULL AND o.late_until < @now AND o.late_until >= @scanned`,
    )
    .pluck();
  const scannedTime = (chain: string) => (reported(chain) ? (scanned.get(chain) ?? null) : null);
  return {
    scannedTime,
    waiting(chain, now) {
      const t = scannedTime(chain) ?? -8.64e15; // nothing scanned: everything past due waits
      return {
        orders: orders.get({ chain, now, scanned: t }) ?? 0,
        bindings: bindings.get({ chain, now, scanned: t }) ?? 0,
      };
    },
  };
}
