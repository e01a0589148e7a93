// The fetch around every market: one GET, a size cap and a timeout, the body parsed from its text
// (numbers stay text), the price checked, the market's timestamp checked for freshness.
import { marketPrice } from "../core/rates.js";
import { type JsonObject, JsonTextError, parseJsonText } from "./json.js";
import { type MarketPair, type ProviderSpec, RateSourceError } from "./types.js";

const MAX_BODY = 64 * 1024;

export function stringField(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new RateSourceError(`"${key}" is missing or not a string`);
  return v;
}

export interface ProviderQuote {
  /** plain decimal text */
  price: string;
  at: number;
}

export interface RateProvider {
  kind: string;
  url: string;
  /** whether this market can quote the pair (with the allowed USD proxies) */
  supports(pair: MarketPair): boolean;
  /** ask the market now; throws RateSourceError for anything that is not a fresh, sane price */
  quote(
    pair: MarketPair,
    ctx: { now: () => number; maxAgeMs: number; timeoutMs: number },
  ): Promise<ProviderQuote>;
}

export function createProvider(
  spec: ProviderSpec,
  url: string | undefined,
  usdProxies: readonly string[],
): RateProvider {
  const base = (url ?? spec.defaultUrl).replace(/\/+$/, "");
  return {
    kind: spec.kind,
    url: base,
    supports: (pair) => spec.path(pair, usdProxies) !== undefined,
    async quote(pair, ctx) {
      const path = spec.path(pair, usdProxies);
      if (path === undefined)
        throw new RateSourceError(`${spec.kind} does not quote ${pair.base}/${pair.quote}`);
      let text: string;
      try {
        const res = await fetch(base + path, {
          headers: { accept: "application/json", "user-agent": "depositd" },
          signal: AbortSignal.timeout(ctx.timeoutMs),
          redirect: "error",
        });
        text = await readCapped(res);
        if (!res.ok) throw new RateSourceError(`HTTP ${res.status}: ${text.slice(0, 120)}`);
      } catch (e) {
        if (e instanceof RateSourceError) throw e;
        throw new RateSourceError(`request failed: ${(e as Error).message}`, { cause: e });
      }
      let body;
      try {
        body = parseJsonText(text);
      } catch (e) {
        // an HTML error page with HTTP 200 lands here
        if (e instanceof JsonTextError)
          throw new RateSourceError(`${e.message} (${text.slice(0, 40).trim()}…)`);
        throw e;
      }
      const parsed = spec.parse(body, pair, usdProxies);
      let price: string;
      try {
        price = marketPrice(parsed.price);
      } catch (e) {
        throw new RateSourceError((e as Error).message);
      }
      const now = ctx.now();
      if (parsed.at !== null) {
        if (parsed.at < now - ctx.maxAgeMs)
          throw new RateSourceError(
            `stale: the market's price is ${Math.round((now - parsed.at) / 1000)} s old`,
          );
        if (parsed.at > now + ctx.maxAgeMs)
          throw new RateSourceError(
            `the market's timestamp is ${Math.round((parsed.at - now) / 1000)} s in the future`,
          );
      }
      return { price, at: parsed.at ?? now };
    },
  };
}

async function readCapped(res: Response): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY) throw new RateSourceError(`answer too large (${declared} bytes)`);
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY) {
      await reader.cancel();
      throw new RateSourceError(`answer larger than ${MAX_BODY} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
