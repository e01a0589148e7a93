// rates.live and assets[].symbol: the keys operators rely on, their defaults, and bad values named.
import { describe, expect, it } from "vitest";
import { type ConfigError, validateConfig } from "../../src/config/load.js";
import { marketSymbol } from "../../src/config/schema.js";
import { rawConfig } from "../helpers/config.js";

const withLive = (live: Record<string, unknown>) =>
  rawConfig({ rates: { static: { USD: { "USDT-ERC20": "1" } }, live } });
const problems = (raw: unknown): string[] => {
  try {
    validateConfig(raw, {});
    return [];
  } catch (e) {
    return (e as ConfigError).problems;
  }
};

describe("rates.live config", () => {
  it("default: the documented defaults", () => {
    const cfg = validateConfig(withLive({ providers: [{ kind: "coinbase" }, { kind: "kraken" }] }), {});
    expect(cfg.rates.live).toEqual({
      providers: [{ kind: "coinbase" }, { kind: "kraken" }],
      currencies: ["USD"],
      min_sources: 2,
      max_spread: "1%",
      max_age_seconds: 60,
      refresh_seconds: 15,
      usd_proxies: [],
    });
  });
  it("default: the issue's example, with a url", () => {
    const cfg = validateConfig(
      withLive({
        providers: [
          { kind: "coinbase" },
          { kind: "kraken", url: "https://api.kraken.com" },
          { kind: "bitstamp" },
        ],
        min_sources: 2,
        max_spread: "1%",
        max_age_seconds: 60,
        refresh_seconds: 15,
      }),
      {},
    );
    expect(cfg.rates.live?.providers[1]).toEqual({ kind: "kraken", url: "https://api.kraken.com" });
  });
  it("default: no rates.live at all is still valid (static only)", () => {
    expect(validateConfig(rawConfig(), {}).rates.live).toBeUndefined();
  });
  it.each([
    [{ providers: [] }, "rates.live.providers: "],
    [{ providers: [{ kind: "bitfinex" }] }, "rates.live.providers[0].kind: "],
    [
      { providers: [{ kind: "coinbase", url: "ftp://x" }] },
      "rates.live.providers[0].url: must be an http(s) URL",
    ],
    [
      { providers: [{ kind: "coinbase" }, { kind: "coinbase" }] },
      'rates.live.providers[1].kind: provider "coinbase" is listed twice',
    ],
    [
      { providers: [{ kind: "coinbase" }], min_sources: 2 },
      "rates.live.min_sources: 2 sources needed but only 1",
    ],
    [
      { providers: [{ kind: "coinbase" }], min_sources: 1, max_spread: "1" },
      'rates.live.max_spread: must be a percentage like "1%"',
    ],
    [
      { providers: [{ kind: "coinbase" }], min_sources: 1, refresh_seconds: 60 },
      "rates.live.refresh_seconds: must be less than max_age_seconds",
    ],
    [
      { providers: [{ kind: "coinbase" }], min_sources: 1, currencies: ["usd"] },
      "rates.live.currencies[0]: must be an ISO 4217 code",
    ],
    [
      { providers: [{ kind: "coinbase" }], min_sources: 1, currencies: ["ETH"] },
      'rates.live.currencies[0]: "ETH" is an asset id',
    ],
    [{ providers: [{ kind: "coinbase" }], min_sources: 1, surprise: 1 }, "rates.live: "],
  ])("error: %j → %s", (live, message) => {
    expect(problems(withLive(live)).join("\n")).toContain(message);
  });
});

describe("assets[].symbol", () => {
  it.each([
    [{ id: "ETH" }, "ETH"],
    [{ id: "USDT-TRC20" }, "USDT"],
    [{ id: "USDC-ERC20-BRIDGED" }, "USDC"],
    [{ id: "WETH-ARB", symbol: "ETH" }, "ETH"],
  ])("default: %j trades as %s", (asset, symbol) => expect(marketSymbol(asset)).toBe(symbol));
  it("error: a lower-case symbol is named by path", () => {
    const raw = rawConfig();
    (raw.assets as Record<string, unknown>[])[0]!.symbol = "eth";
    expect(problems(raw).join("\n")).toContain("assets[0].symbol: must be upper-case");
  });
});
