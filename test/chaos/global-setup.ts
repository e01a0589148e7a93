// Global setup of `npm run chaos`: build dist/ (the suite runs the compiled daemon), then, after the
// run, turn the rows the scenarios recorded into the table in bench/CHAOS.md.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { ChaosRow } from "./harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export default function setup(): () => void {
  const started = Date.now();
  try {
    execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.json"], {
      cwd: root,
      stdio: "pipe",
    });
  } catch (e) {
    // type errors elsewhere still emit JavaScript; only a missing entry point stops the run
    console.warn(
      `[chaos] tsc reported errors:\n${String((e as { stdout?: Buffer }).stdout ?? "").slice(0, 2000)}`,
    );
  }
  execFileSync(process.execPath, [`${root}/scripts/postbuild.mjs`], { cwd: root });
  if (!existsSync(`${root}/dist/src/main.js`)) throw new Error("build failed: dist/src/main.js missing");
  const file = process.env.DEPOSITD_CHAOS_RESULTS!;
  rmSync(file, { force: true });

  return () => {
    if (!existsSync(file)) return;
    const rows = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ChaosRow & { seed: number; full: boolean });
    rmSync(file, { force: true });
    const order = ["crash", "RPC", "merchant", "disk", "fuzz: merchant", "fuzz: config", "fuzz: pool"];
    rows.sort(
      (a, b) =>
        order.findIndex((o) => a.scenario.startsWith(o)) - order.findIndex((o) => b.scenario.startsWith(o)),
    );
    const esc = (v: unknown) => String(v).replaceAll("|", "\\|");
    const table = [
      "| scenario | faults injected | checked | events delivered | mismatches | seconds |",
      "|---|---|---|---|---|---|",
      ...rows.map(
        (r) =>
          `| ${[r.scenario, r.faults, r.checked, r.delivered, r.mismatches, r.seconds].map(esc).join(" | ")} |`,
      ),
    ].join("\n");
    const text = [
      "# Fault suite results (`npm run chaos`)",
      "",
      `Generated ${new Date().toISOString()} on ${cpus().length} cores, seed ${rows[0]?.seed ?? "?"} ` +
        `(replay with DEPOSITD_CHAOS_SEED), total ${Math.round((Date.now() - started) / 1000)} s including the build.`,
      "What each row proves, and where: docs/security.md and test/chaos/, test/fuzz/.",
      "",
      table,
      "",
    ].join("\n");
    writeFileSync(`${root}/bench/CHAOS.md`, text);
    console.log(`\n${table}\n\n[chaos] written to bench/CHAOS.md`);
  };
}
