// The timer pass: expire orders past their validity, end bindings past their late window.
import { deadlineClock } from "../core/deadline.js";
import { foldCounters } from "../db/counters.js";
import { TIMER_ROLE } from "../db/lease.js";
import { engineOf } from "../db/pg-sync.js";
import type { LedgerContext } from "./context.js";
import type { Settlement } from "./settle.js";
import { EXPIRE_BATCH } from "./statements.js";

/** End one binding (an order's or an account's): a static or reusing address rests for its cooldown. */
export function releaseBinding(
  ctx: LedgerContext,
  b: { id: number; chain: string; address: string },
  now: number,
): void {
  const cooldownMs = (ctx.catalog.chain(b.chain)?.pool.cooldown_minutes ?? 0) * 60_000;
  ctx.s.release.run(now, b.id);
  ctx.s.restAddress.run(now + cooldownMs, b.chain, b.address);
}

export function createTimers(ctx: LedgerContext, settle: Settlement) {
  const { db, s } = ctx;

  // Orders past expiry that stay open (an on-time payment still confirming) must not starve the
  // rest: each pass continues after the last order it looked at, and wraps around.
  let expireCursor = { afterExp: -1, afterId: "" };

  /** Recompute the open orders past expires_at (core decides: expired, or still confirming); returns how many expired. */
  function expireDue(now: number): number {
    let expired = 0;
    const due = s.dueToExpire.all({ now, ...expireCursor });
    for (const { id } of due) {
      if (settle.recompute(id, now).status === "expired") expired++;
    }
    const last = due.at(-1);
    expireCursor =
      due.length === EXPIRE_BATCH && last
        ? { afterExp: last.expires_at, afterId: last.id }
        : { afterExp: -1, afterId: "" };
    return expired;
  }

  /** End the bindings of settled or closed orders past late_until; a static address rests for its cooldown. */
  function releaseDue(now: number): number {
    let released = 0;
    const scanned = ctx.hooks.scannedTime;
    for (const chain of ctx.common.config.chains) {
      // a binding ends once its chain's scan, not only the clock, is past late_until
      const until = scanned ? deadlineClock(now, [scanned(chain.id)]) : now;
      for (const b of s.dueToRelease.all(chain.id, until)) {
        releaseBinding(ctx, b, now);
        released++;
      }
    }
    return released;
  }

  const tick = db.transaction((now: number) => {
    ctx.hooks.fence?.(TIMER_ROLE);
    return { expired: expireDue(now), released: releaseDue(now) };
  });
  // its own transaction (a fold that fails takes no expiry with it); SQLite has nothing to fold
  const fold =
    engineOf(db) === "postgres"
      ? db.transaction(() => {
          ctx.hooks.fence?.(TIMER_ROLE);
          return foldCounters(db);
        })
      : () => 0;
  return { tick, fold };
}
