// Opaque list cursors shared by every paged answer: the sort key of the last row of a page, as
// base64url JSON. Pure; a cursor that does not decode to `arity` strings/numbers is refused.

/** The cursor for a page that ended at the row with this sort key. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The sort key a cursor carries, or null when it is not a cursor of this shape. */
export function decodeCursor(cursor: string, arity: number): (string | number)[] | null {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return null;
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
