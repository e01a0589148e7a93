// SQL the subsystems' statements modules share, and the database's own statements (SQLite).
import type { DB } from "./index.js";

/** A status set from core as an SQL IN-list (statuses are plain identifiers, checked). */
export function inList(statuses: Iterable<string>): string {
  const list = [...statuses];
  if (!list.every((s) => /^[a-z_]+$/.test(s))) throw new Error(`not a status: ${list.join(",")}`);
  return `(${list.map((s) => `'${s}'`).join(",")})`;
}

/** The write probe the daemon's timer runs (/healthz reports its last result). */
export function healthProbeStatement(db: DB) {
  return db.prepare<[{ at: number }]>(
    "INSERT INTO health_probe (id, at) VALUES (1, @at) ON CONFLICT (id) DO UPDATE SET at = @at",
  );
}

/** `prepare` run once per database: the statements module's accessor. */
export function perDatabase<S>(prepare: (db: DB) => S): (db: DB) => S {
  const cache = new WeakMap<DB, S>();
  return (db) => {
    let s = cache.get(db);
    if (!s) cache.set(db, (s = prepare(db)));
    return s;
  };
}
