// One page of a list (src/core/paging.ts cursors): read limit + 1 rows after the cursor's key; the
// extra row only says whether a next page exists.
import { decodeCursor, encodeCursor } from "../core/paging.js";
import { ProblemError } from "../errors.js";

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export type KeyPart = "string" | "number";

/** The key in a cursor, checked against the list's key shape; a bad cursor is a 400 naming `cursor`. */
export function cursorKey(
  cursor: string | undefined,
  shape: readonly KeyPart[],
): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor, shape.length);
  if (!key || !key.every((k, i) => typeof k === shape[i]))
    throw new ProblemError("validation", "the query is not valid", [
      { path: "cursor", message: "not a cursor of this list (pass next_cursor back unchanged)" },
    ]);
  return key;
}

/** The first `limit` rows as views, and the cursor after the last of them when more rows follow. */
export function paged<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => (string | number)[],
  view: (row: R) => T,
): { items: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
