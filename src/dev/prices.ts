// A local price server speaking the real response shapes of every market depositd asks
// (src/rates/*.ts), so `depositd dev` and the tests price orders without any network.
import { type Server, createServer } from "node:http";
import { COINGECKO_IDS } from "../rates/coingecko.js";

export type PriceServerMode = "ok" | "down" | "hang" | "html" | "error";

export interface PriceServer {
  url: string;
  /** "ETH/USD" → price text as the market would send it */
  prices: Map<string, string>;
  set(pair: string, price: string): void;
  /** ok; down: drops every connection; hang: never answers; html: an HTML error page with HTTP 200; error: the market's error shape */
  mode: PriceServerMode;
  requests: number;
  close(): Promise<void>;
}

const KRAKEN: Record<string, string> = { XBT: "BTC", XDG: "DOGE" };
const FIAT = new Set(["USD", "EUR", "GBP", "JPY", "CAD", "CHF"]);

export async function startPriceServer(o: {
  prices: Record<string, string>;
  /** the clock markets stamp their answers with (tests: the harness clock) */
  now: () => number;
  port?: number;
}): Promise<PriceServer> {
  const prices = new Map(Object.entries(o.prices));
  const find = (match: (base: string, quote: string) => boolean) => {
    for (const [pair, price] of prices) {
      const [base, quote] = pair.split("/") as [string, string];
      if (match(base, quote)) return { base, quote, price };
    }
    return undefined;
  };
  const seconds = () => String(Math.floor(o.now() / 1000));
  const ps: PriceServer = {
    url: "",
    prices,
    set: (pair, price) => void prices.set(pair, price),
    mode: "ok",
    requests: 0,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };

  function answer(path: string, q: URLSearchParams): { status: number; body: string } {
    const json = (status: number, v: unknown) => ({ status, body: JSON.stringify(v) });
    let m: RegExpExecArray | null;
    if ((m = /^\/v2\/prices\/([A-Z0-9]+)-([A-Z0-9]+)\/spot$/.exec(path))) {
      const hit = find((b, qq) => b === m![1] && qq === m![2]);
      if (!hit || ps.mode === "error")
        return json(404, { errors: [{ id: "not_found", message: "Invalid currency" }] });
      return json(200, { data: { amount: hit.price, base: hit.base, currency: hit.quote } });
    }
    if (path === "/0/public/Ticker") {
      const want = q.get("pair") ?? "";
      const hit = find((b, qq) => {
        const k = (s: string) => Object.entries(KRAKEN).find(([, v]) => v === s)?.[0] ?? s;
        return k(b) + k(qq) === want;
      });
      if (!hit || ps.mode === "error") return json(200, { error: ["EQuery:Unknown asset pair"] });
      const kb = Object.entries(KRAKEN).find(([, v]) => v === hit.base)?.[0] ?? hit.base;
      const key =
        FIAT.has(hit.quote) && (kb === "XBT" || kb === "ETH") ? `X${kb}Z${hit.quote}` : kb + hit.quote;
      const t = {
        a: [hit.price, "1", "1.000"],
        b: [hit.price, "1", "1.000"],
        c: [hit.price, "0.01000000"],
        v: ["10", "20"],
        p: [hit.price, hit.price],
        t: [100, 200],
        l: [hit.price, hit.price],
        h: [hit.price, hit.price],
        o: hit.price,
      };
      return json(200, { error: [], result: { [key]: t } });
    }
    if ((m = /^\/api\/v2\/ticker\/([a-z0-9]+)\/$/.exec(path))) {
      const hit = find((b, qq) => (b + qq).toLowerCase() === m![1]);
      if (!hit || ps.mode === "error") return { status: 404, body: "<html><body>Not found</body></html>" };
      const p = hit.price;
      return json(200, {
        timestamp: seconds(),
        open: p,
        high: p,
        low: p,
        last: p,
        volume: "10.0",
        vwap: p,
        bid: p,
        ask: p,
        open_24: p,
        percent_change_24: "0.00",
        pair: `${hit.base}/${hit.quote}`,
      });
    }
    if (path === "/api/v3/ticker/price") {
      const want = q.get("symbol") ?? "";
      const hit = find((b, qq) => b + qq === want);
      if (!hit || ps.mode === "error") return json(400, { code: -1121, msg: "Invalid symbol." });
      return json(200, { symbol: want, price: hit.price });
    }
    if (path === "/api/v3/simple/price") {
      const id = q.get("ids") ?? "";
      const vs = q.get("vs_currencies") ?? "";
      const hit = find((b, qq) => COINGECKO_IDS[b] === id && qq.toLowerCase() === vs);
      if (ps.mode === "error")
        return json(429, { status: { error_code: 429, error_message: "rate limited" } });
      if (!hit) return json(200, {});
      // CoinGecko sends JSON numbers: written here as the raw text, digits untouched
      return { status: 200, body: `{"${id}":{"${vs}":${hit.price},"last_updated_at":${seconds()}}}` };
    }
    return json(404, { error: "no such endpoint" });
  }

  const server: Server = createServer((req, res) => {
    ps.requests++;
    if (ps.mode === "down") {
      req.socket.destroy();
      return;
    }
    if (ps.mode === "hang") return; // closeAllConnections ends it
    if (ps.mode === "html") {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end("<!DOCTYPE html><html><body>Maintenance</body></html>");
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const { status, body } = answer(url.pathname, url.searchParams);
    res
      .writeHead(status, { "content-type": body.startsWith("<") ? "text/html" : "application/json" })
      .end(body);
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, "127.0.0.1", r));
  const addr = server.address();
  ps.url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  return ps;
}
