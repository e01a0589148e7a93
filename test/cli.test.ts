// The command line as an operator uses it: the compiled CLI (npm test builds first).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { freePort } from "../src/dev/anvil.js";
import { API_KEY, evmPoolText, rawConfig } from "./helpers/config.js";

const main = join(process.cwd(), "dist", "src", "main.js");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "depositd-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [main, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("depositd CLI", () => {
  it("default: --help lists the commands", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    for (const c of ["serve", "migrate", "config", "pool", "orders", "events", "dev", "status"])
      expect(r.stdout).toContain(c);
  });

  it("error: config check prints every problem as path: message and exits non-zero", () => {
    const bad = rawConfig({
      api: { listen: "nowhere", keys: [] },
      chains: [{ id: "eth", kind: "evm", rpc: ["ftp://x"], chain_id: 1, pool: { source: "static" } }],
      assets: [{ id: "ETH", chain: "nope", decimals: 18 }],
    });
    const file = join(dir, "bad.yaml");
    writeFileSync(file, stringify(bad));
    const r = run(["--config", file, "config", "check"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("api.listen: must be host:port");
    expect(r.stderr).toContain("api.keys: ");
    expect(r.stderr).toContain("chains[0].rpc[0]: must be an http(s) URL");
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("error: a secret from a missing environment variable is named", () => {
    const cfg = rawConfig({
      notify: { secrets: [{ id: "k1", value: { env: "DEPOSITD_TEST_UNSET_SECRET" } }] },
    });
    const file = join(dir, "env.yaml");
    writeFileSync(file, stringify(cfg));
    const r = run(["--config", file, "config", "check"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      "notify.secrets[0].value: environment variable DEPOSITD_TEST_UNSET_SECRET is not set",
    );
    const ok = run(["--config", file, "config", "check"], {
      DEPOSITD_TEST_UNSET_SECRET: "a-long-enough-secret-value",
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("config ok");
  });

  it("error: serve refuses a bad config the same way", () => {
    const file = join(dir, "bad2.yaml");
    writeFileSync(file, "chains: 3\n");
    const r = run(["--config", file, "serve"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("chains: ");
  });

  it("behavior: migrate applies once; orders create/show/list/cancel/accept work on the database", () => {
    const db = join(dir, "m.sqlite");
    const pool = join(dir, "pool.txt");
    writeFileSync(pool, evmPoolText(2).text);
    const base = rawConfig();
    const file = join(dir, "m.yaml");
    writeFileSync(
      file,
      stringify({
        ...base,
        database: { path: db },
        chains: [{ ...(base.chains as object[])[0]!, pool: { source: "static", file: pool } }],
      }),
    );
    expect(run(["--config", file, "migrate"]).stdout).toContain("applied migrations: 1");
    expect(run(["--config", file, "migrate"]).stdout).toContain("up to date");
    expect(run(["--config", file, "pool", "import", "--chain", "anvil", pool]).stdout).toContain(
      "imported 2 new address(es)",
    );
    const created = run([
      "--config",
      file,
      "orders",
      "create",
      "--id",
      "C-1",
      "--amount",
      "12.5",
      "--currency",
      "USD",
      "--callback",
      "http://127.0.0.1:9/cb",
    ]);
    expect(created.status).toBe(0);
    const order = JSON.parse(created.stdout) as { id: string; status: string };
    expect(order.status).toBe("pending");
    expect(JSON.parse(run(["--config", file, "orders", "show", order.id]).stdout)).toMatchObject({
      id: order.id,
      payments: [],
    });
    expect(run(["--config", file, "orders", "list"]).stdout).toContain("C-1");
    expect(JSON.parse(run(["--config", file, "orders", "cancel", order.id]).stdout).status).toBe("cancelled");
    // accept goes through the same handler and ledger rule as POST /v1/orders/{id}/accept
    const accept = run(["--config", file, "orders", "accept", order.id]);
    expect(accept.status).toBe(1);
    expect(accept.stderr).toContain("can be accepted (order is cancelled)");
    const bad = run([
      "--config",
      file,
      "orders",
      "create",
      "--id",
      "C-2",
      "--amount",
      "1e3",
      "--currency",
      "USD",
      "--callback",
      "http://127.0.0.1:9/cb",
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("amount: must be a decimal string");
    expect(run(["--config", file, "status"]).stdout).toMatch(/pools[\s\S]*anvil/);
  });

  it("behavior: serve answers /healthz, then SIGTERM drains and exits 0", async () => {
    const port = await freePort();
    const base = rawConfig();
    const file = join(dir, "s.yaml");
    writeFileSync(
      file,
      stringify({
        ...base,
        database: { path: join(dir, "s.sqlite") },
        api: { ...(base.api as object), listen: `127.0.0.1:${port}` },
        log: { level: "info" },
      }),
    );
    const child: ChildProcess = spawn(process.execPath, [main, "--config", file, "serve"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      let health: Response | undefined;
      for (let i = 0; i < 100 && !health; i++) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 50));
      }
      // the chain's node (127.0.0.1:1) is down: the daemon stays up and reports it
      expect(health!.status).toBe(503);
      const body = (await health!.json()) as { checks: Record<string, { ok: boolean }> };
      expect(body.checks.database!.ok).toBe(true);
      expect(body.checks["chain:anvil"]!.ok).toBe(false);
      const r = await fetch(`http://127.0.0.1:${port}/v1/orders?limit=1`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(r.status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(out).toContain("stopped cleanly");
      expect(out).not.toContain(API_KEY);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

it("default: the package entry works as `npx depositd`", () => {
  const out = execFileSync("npx", ["--no-install", "depositd", "--version"], { encoding: "utf8" });
  expect(out.trim()).toBe("0.1.0");
});
