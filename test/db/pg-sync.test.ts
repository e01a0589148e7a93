// The PostgreSQL handle with SQLite's shape (src/db/pg-sync.ts) on a real PostgreSQL 15: its units
// of work are all or nothing, also when the server ends the session in the middle of one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgDatabase, toPgPlaceholders } from "../../src/db/pg-sync.js";
import { createTestDatabase } from "../helpers/postgres.js";

describe("toPgPlaceholders", () => {
  it("default: ? and @name become $n; literals, comments and :: casts stay", () => {
    expect(toPgPlaceholders("SELECT ?, '?', x::int FROM t WHERE a = ? -- ?\n").text).toBe(
      "SELECT $1, '?', x::int FROM t WHERE a = $2 -- ?\n",
    );
    expect(toPgPlaceholders("UPDATE t SET a = @a WHERE b = @b OR a = @a")).toEqual({
      text: "UPDATE t SET a = $1 WHERE b = $2 OR a = $1",
      names: ["a", "b"],
    });
    expect(() => toPgPlaceholders("SELECT ?, @a")).toThrow(/mixed/);
  });
});

describe("PgDatabase", () => {
  let db: PgDatabase;
  let admin: PgDatabase;
  const count = () => admin.prepare("SELECT count(*)::int FROM t").pluck().get() as number;

  beforeAll(async () => {
    const url = await createTestDatabase();
    db = new PgDatabase({ url, password: undefined });
    admin = new PgDatabase({ url, password: undefined });
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)");
  });
  afterAll(() => {
    db.close();
    admin.close();
  });

  it("behavior: every answer is its own statement's, statement after statement (no wake-up taken for another's)", () => {
    // The connection thread used to post an answer, set a flag, then wake this thread: a wake-up
    // that came late woke the next statement's wait before its answer was there ("no answer …
    // in 0 ms"), and every answer after it went to the statement after its own (seen under load:
    // 3 instances on 2 cores). Answers now carry their request's id.
    const echo = db.prepare("SELECT ?::int8 AS v").pluck();
    const wrong: number[] = [];
    for (let i = 1; i <= 20_000; i++) if (echo.get(i) !== i) wrong.push(i);
    expect(wrong).toEqual([]);
  });

  it("behavior: a failed savepoint rolls back only its own writes", () => {
    admin.exec("TRUNCATE t");
    const insert = db.prepare("INSERT INTO t (id) VALUES (?)");
    db.transaction(() => {
      insert.run(1);
      expect(() => db.transaction(() => insert.run(1))()).toThrow(/duplicate key/);
      insert.run(2);
    })();
    expect(count()).toBe(2);
  });

  it("error: the server ends the session inside a transaction → nothing of it is committed; the next one reconnects", () => {
    admin.exec("TRUNCATE t");
    const insert = db.prepare("INSERT INTO t (id) VALUES (?)");
    const pid = db.prepare("SELECT pg_backend_pid()").pluck().get() as number;
    const errors: string[] = [];
    expect(() =>
      db.transaction(() => {
        insert.run(1);
        // what idle_in_transaction_session_timeout does to a paused instance: the session ends
        expect(admin.prepare("SELECT pg_terminate_backend(?, 5000)").pluck().get(pid)).toBe(true);
        // a caller that swallows the failure (a savepoint does) must not go on in autocommit on
        // a new connection: the first half of its work (its fence among it) is gone
        for (const id of [2, 3]) {
          try {
            insert.run(id);
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
      })(),
    ).toThrow(/connection/);
    expect(errors).toHaveLength(2);
    expect(count()).toBe(0);

    // the next unit of work runs on a new session
    db.transaction(() => insert.run(4))();
    expect(count()).toBe(1);
    expect(db.prepare("SELECT pg_backend_pid()").pluck().get()).not.toBe(pid);
  });
});
