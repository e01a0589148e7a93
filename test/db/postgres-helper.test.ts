import pg from "pg";
import { expect, it } from "vitest";
import { createTestDatabase } from "../helpers/postgres.js";

it("default: each file gets a fresh database on the run's PostgreSQL 15", async () => {
  const url = await createTestDatabase();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query<{ v: string; n: string }>(
    "SELECT current_setting('server_version_num') AS v, (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS n",
  );
  await c.end();
  expect(Number(r.rows[0]!.v)).toBeGreaterThanOrEqual(150000);
  expect(Number(r.rows[0]!.n)).toBe(0);
});
