// The timer pass: expire orders past their validity, end bindings past their late window.
import { deadlineClock } from "../core/deadline.js";
import type { LedgerContext } from "./context.js";
import type { Settlement } from "./settle.js";
import { EXPIRE_BATCH } from "./statements.js";

export function createTimers(ctx: LedgerContext, settle: Settlement) {
  const { db, s, catalog } = ctx;
  const cooldownMs = (chain: string): number => (catalog.chain(chain)?.pool.cooldown_minutes ?? 0) * 60_000;

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
        s.release.run(now, b.id);
        s.restAddress.run(now + cooldownMs(b.chain), b.chain, b.address);
        released++;
      }
    }
    return released;
  }

  const tick = db.transaction((now: number) => ({ expired: expireDue(now), released: releaseDue(now) }));
  return { tick };
}
