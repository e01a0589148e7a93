// `depositd orders create` with rates.live: the compiled CLI asks the markets once, then prices
// like serve does (npm test builds first). The CLI runs on its own clock, so the market does too.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type PriceServer, startPriceServer } from "../../src/dev/prices.js";
import { evmPoolText, rawConfig } from "../helpers/config.js";

const main = join(process.cwd(), "dist", "src", "main.js");
let dir: string;
let market: PriceServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "depositd-rates-cli-"));
  market = await startPriceServer({ prices: { "ETH/USD": "3000" }, now: Date.now });
});
afterAll(async () => {
  await market.close();
  rmSync(dir, { recursive: true, force: true });
});

/** async: the market answers from this process while the CLI runs */
async function run(args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, [main, ...args], { encoding: "utf8" });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe("CLI orders create with live rates", () => {
  it("behavior: a live pair is priced from the markets; none fresh → rates_unavailable, nothing bound", async () => {
    const pool = join(dir, "pool.txt");
    writeFileSync(pool, evmPoolText(2).text);
    const base = rawConfig();
    const file = join(dir, "live.yaml");
    const write = (url: string) =>
      writeFileSync(
        file,
        stringify({
          ...base,
          database: { path: join(dir, "live.sqlite") },
          chains: [{ ...(base.chains as object[])[0]!, pool: { source: "static", file: pool } }],
          rates: {
            static: { USD: { "USDT-ERC20": "1" } },
            live: { providers: [{ kind: "coinbase", url }], min_sources: 1 },
          },
        }),
      );
    write(market.url);
    expect((await run(["--config", file, "migrate"])).code).toBe(0);
    expect((await run(["--config", file, "pool", "import", "--chain", "anvil", pool])).code).toBe(0);
    const create = (id: string) =>
      run(
        ["--config", file, "orders", "create", "--id", id, "--amount", "30", "--currency", "USD"].concat([
          "--callback",
          "http://127.0.0.1:9/cb",
          "--assets",
          "ETH,USDT-ERC20",
        ]),
      );
    const ok = await create("CL-1");
    expect(ok.stderr).toBe("");
    const order = JSON.parse(ok.stdout) as { options: Record<string, unknown>[] };
    expect(order.options).toMatchObject([
      {
        asset: "ETH",
        rate: "3000",
        amount_due: "0.01",
        rate_sources: [{ source: "coinbase", price: "3000" }],
      },
      { asset: "USDT-ERC20", rate: "1", rate_sources: [{ source: "static", price: "1" }] },
    ]);

    // the market is gone (nothing listens there): the listed ETH needs a rate, so the create fails
    write("http://127.0.0.1:9/");
    const refused = await create("CL-2");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/rates_unavailable|no fresh rate for ETH\/USD/);
    const shown = await run(["--config", file, "orders", "list"]);
    expect(shown.stdout).toContain("CL-1");
    expect(shown.stdout).not.toContain("CL-2");
  });
});
