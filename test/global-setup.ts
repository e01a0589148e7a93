// Once per `vitest run`: a folder for the run's PostgreSQL cluster (started by the first test file
// that asks for a database, test/helpers/postgres.ts), stopped and removed at the end.
import type { TestProject } from "vitest/node";
import { makePostgresDir, removePostgresDir } from "./helpers/pg-cluster.js";

export default function setup(project: TestProject): () => void {
  const dir = makePostgresDir();
  project.provide("postgresDir", dir);
  return () => removePostgresDir(dir);
}
