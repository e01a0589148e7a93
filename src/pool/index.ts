// Address pools: static files imported idempotently, xpub pools derived ahead. Every pool
// address is watched; binding to orders happens in the ledger's create transaction.
import type { AddressCodec, AddressDeriver } from "../chains/types.js";
import { InvalidAddressError } from "../chains/types.js";
import type { ChainConfig } from "../config/schema.js";
import type { DB } from "../db/index.js";
import { DepositdError } from "../errors.js";
import { poolStatements } from "./statements.js";

/** Whether a pool hands an address out again after its binding ended (static pools always do). */
export function poolReuses(pool: ChainConfig["pool"]): boolean {
  return pool.source === "static" || pool.reuse;
}

export class PoolError extends DepositdError {
  override name = "PoolError";
}

/**
 * Every line of a pool file (one address per line, `#` comments, blank lines ok) as an address;
 * a bad line rejects the whole file, naming each one as `source:line`.
 */
export function parsePoolFile(
  codec: AddressCodec,
  text: string,
  source = "file",
): { canonical: string; display: string }[] {
  const parsed: { canonical: string; display: string }[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) return;
    try {
      const a = codec.parse(line);
      if (seen.has(a.canonical)) {
        problems.push(`${source}:${i + 1}: duplicate address ${line}`);
        return;
      }
      seen.add(a.canonical);
      parsed.push(a);
    } catch (e) {
      const why = e instanceof InvalidAddressError ? e.message : `invalid address (${(e as Error).message})`;
      problems.push(`${source}:${i + 1}: ${why}: "${line.slice(0, 100)}"`);
    }
  });
  if (problems.length)
    throw new PoolError(`pool file rejected, nothing imported:\n  ${problems.slice(0, 50).join("\n  ")}`);
  return parsed;
}

/** Validate a whole pool file (parsePoolFile), then insert the new addresses in one transaction. */
export function importPoolFile(
  db: DB,
  chain: string,
  codec: AddressCodec,
  text: string,
  now: number,
  source = "file",
): { added: number; existing: number } {
  const parsed = parsePoolFile(codec, text, source);
  const s = poolStatements(db);
  const state = s.state.get(chain);
  if (state && state.source !== "static")
    throw new PoolError(`chain ${chain} has an ${state.source} pool, not a static one`);
  return db.transaction(() => {
    s.initStatic.run(chain);
    s.lockState.get(chain);
    let added = 0;
    for (const a of parsed) added += s.insertStatic.run(chain, a.canonical, a.display, now).changes;
    return { added, existing: parsed.length - added };
  })();
}

/**
 * Derive xpub addresses until `lookahead` unused ones exist, persisting the next index, so any
 * address that may be handed out is already watched. The first address is stored and checked
 * at every start: a changed key or path is refused rather than silently mixed in.
 */
export function ensureDerived(
  db: DB,
  chain: string,
  deriver: AddressDeriver,
  lookahead: number,
  now: number,
): number {
  const first = deriver.derive(0);
  const s = poolStatements(db);
  return db.transaction(() => {
    const state = s.lockState.get(chain);
    if (state && state.source !== "xpub")
      throw new PoolError(`chain ${chain} already has a ${state.source} pool`);
    if (state?.first_address && state.first_address !== first.canonical) {
      throw new PoolError(
        `chain ${chain}: the configured xpub derives ${first.display} at index 0, but this database's pool started ` +
          `with ${state.first_address}; refusing to mix two keys in one pool`,
      );
    }
    if (!state) s.initXpub.run(chain, first.canonical);
    let next = state?.next_index ?? 0;
    const unused = s.unused.get(chain)!.n;
    let added = 0;
    for (let free = unused; free < lookahead; free++, next++, added++) {
      const a = next === 0 ? first : deriver.derive(next);
      s.insertDerived.run(chain, a.canonical, a.display, next, now);
    }
    s.setNextIndex.run(next, chain);
    return added;
  })();
}

export interface PoolStatus {
  chain: string;
  source: string | null;
  total: number;
  free: number;
  bound: number;
  resting: number;
  next_index: number | null;
}

/**
 * A pool's counts from the counters the database keeps (0005_counters.sql) plus its resting
 * addresses, read from their own index: no scan of the pool, whatever its size.
 */
export function poolStatus(db: DB, chain: string, now: number, reuse: boolean): PoolStatus {
  const s = poolStatements(db);
  const counts = s.counts.get(chain) ?? { total: 0, bound: 0, used_unbound: 0 };
  const resting = s.resting.get(chain, now)!.n;
  const state = s.state.get(chain);
  // without reuse a used address never comes back, resting or not; with reuse only resting ones wait
  const unavailable = reuse ? resting : counts.used_unbound;
  return {
    chain,
    source: state?.source ?? null,
    total: counts.total,
    free: counts.total - counts.bound - unavailable,
    bound: counts.bound,
    resting,
    next_index: state?.source === "xpub" ? state.next_index : null,
  };
}
