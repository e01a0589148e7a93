// Opaque keyset cursors for every list: the sort key and id of the last row of a page, as
// base64url JSON. The next page starts strictly after that key, so rows inserted meanwhile
// neither repeat nor shift a page (no OFFSET).

/** The cursor of a page whose last row has this sort key (sort columns first, the id last). */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The key in a cursor, or null when it is not one this API wrote with `arity` parts. */
export function decodeCursor(cursor: string, arity: number): (string | number)[] | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (!Array.isArray(key) || key.length !== arity) return null;
  const ok = key.every(
    (k) => (typeof k === "string" && k.length <= 256) || (typeof k === "number" && Number.isSafeInteger(k)),
  );
  return ok ? (key as (string | number)[]) : null;
}
