// Every test file's setup (vitest.config.ts): with DEPOSITD_TEST_DB=postgres, the run's PostgreSQL
// cluster and its migrated template database are ready before the file's first test config.
import { beforeAll } from "vitest";
import { prepareTestEngine } from "./helpers/postgres.js";

beforeAll(prepareTestEngine, 120_000);
