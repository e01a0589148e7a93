// How far each chain's watcher has got, in chain time, read from what it stored: the ledger
// judges deadlines by it (src/core/deadline.ts) and /healthz shows which orders wait for it.
import type { DB } from "../db/index.js";
import { watchStatements } from "./statements.js";

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
  const q = watchStatements(db);
  const scannedTime = (chain: string) => (reported(chain) ? (q.scannedTime.get(chain) ?? null) : null);
  return {
    scannedTime,
    waiting(chain, now) {
      const t = scannedTime(chain) ?? -8.64e15; // nothing scanned: everything past due waits
      return {
        orders: q.waitingOrders.get({ chain, now, scanned: t }) ?? 0,
        bindings: q.waitingBindings.get({ chain, now, scanned: t }) ?? 0,
      };
    },
  };
}
