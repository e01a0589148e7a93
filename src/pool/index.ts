// Address pools: static files imported idempotently, xpub pools derived ahead. Every pool
// address is watched; binding to orders happens in the ledger's create transaction.
import type { AddressCodec, AddressDeriver } from "../chains/types.js";
import { InvalidAddressError } from "../chains/types.js";
import type { DB } from "../db/index.js";
import { DepositdError } from "../errors.js";

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
  const state = db
    .prepare<[string], { source: string }>("SELECT source FROM pool_state WHERE chain = ?")
    .get(chain);
  if (state && state.source !== "static")
    throw new PoolError(`chain ${chain} has an ${state.source} pool, not a static one`);
  const insert = db.prepare(
    `INSERT INTO pool_addresses (chain, address, display, source, created_at) VALUES (?, ?, ?, 'static', ?)
     ON CONFLICT (chain, address) DO NOTHING`,
  );
  return db.transaction(() => {
    db.prepare(
      "INSERT INTO pool_state (chain, source) VALUES (?, 'static') ON CONFLICT (chain) DO NOTHING",
    ).run(chain);
    let added = 0;
    for (const a of parsed) added += insert.run(chain, a.canonical, a.display, now).changes;
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
  return db.transaction(() => {
    const state = db
      .prepare<[string], { source: string; first_address: string | null; next_index: number }>(
        "SELECT source, first_address, next_index FROM pool_state WHERE chain = ?",
      )
      .get(chain);
    if (state && state.source !== "xpub")
      throw new PoolError(`chain ${chain} already has a ${state.source} pool`);
    if (state?.first_address && state.first_address !== first.canonical) {
      throw new PoolError(
        `chain ${chain}: the configured xpub derives ${first.display} at index 0, but this database's pool started ` +
          `with ${state.first_address}; refusing to mix two keys in one pool`,
      );
    }
    if (!state) {
      db.prepare(
        "INSERT INTO pool_state (chain, source, first_address, next_index) VALUES (?, 'xpub', ?, 0)",
      ).run(chain, first.canonical);
    }
    let next = state?.next_index ?? 0;
    const unused = db
      .prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM pool_addresses WHERE chain = ? AND used = 0",
      )
      .get(chain)!.n;
    const insert = db.prepare(
      `INSERT INTO pool_addresses (chain, address, display, source, derivation_index, created_at)
       VALUES (?, ?, ?, 'xpub', ?, ?)`,
    );
    let added = 0;
    for (let free = unused; free < lookahead; free++, next++, added++) {
      const a = next === 0 ? first : deriver.derive(next);
      insert.run(chain, a.canonical, a.display, next, now);
    }
    db.prepare("UPDATE pool_state SET next_index = ? WHERE chain = ?").run(next, chain);
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
  const counts = db
    .prepare<[string], { total: number; bound: number; used_unbound: number }>(
      "SELECT total, bound, used_unbound FROM pool_counts WHERE chain = ?",
    )
    .get(chain) ?? { total: 0, bound: 0, used_unbound: 0 };
  const resting = db
    .prepare<[string, number], { n: number }>(
      "SELECT count(*) AS n FROM pool_addresses WHERE chain = ? AND bound = 0 AND rest_until > ?",
    )
    .get(chain, now)!.n;
  const state = db
    .prepare<[string], { source: string; next_index: number }>(
      "SELECT source, next_index FROM pool_state WHERE chain = ?",
    )
    .get(chain);
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
