// The RPC transport against local HTTP servers that misbehave the way providers do: a body far
// too large, 429 with Retry-After, a request budget, keys in URLs. Time is asserted from the
// server's side (when requests arrived), never as a bound on how long the test took.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createTransport, redactUrl, retryAfterMs, urlSecrets } from "../../src/rpc/transport.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const ok = (res: ServerResponse) =>
  res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":1,"result":"0x1"}');

describe("response bodies are capped", () => {
  it("error: a node answering a 100 MiB body is cut off at rpc_max_response_bytes; the next answer is used", async () => {
    const MiB = 1024 * 1024;
    let sent = 0;
    let huge = 1;
    let closedEarly = false;
    const url = await serve((_req, res) => {
      if (huge-- <= 0) return ok(res);
      res.writeHead(200, { "content-type": "application/json" }); // no content-length: streamed
      const chunk = Buffer.alloc(MiB, 0x61);
      res.on("close", () => (closedEarly = sent < 100 * MiB));
      const pump = () => {
        while (sent < 100 * MiB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const rssBefore = process.memoryUsage().rss;
    const t = createTransport({
      chain: "c",
      urls: [url],
      timeoutMs: 10_000,
      maxResponseBytes: 8 * MiB,
      tries: 1,
    });
    try {
      await expect(t.post("", { jsonrpc: "2.0", id: 1, method: "eth_chainId" })).rejects.toThrow(
        /larger than rpc_max_response_bytes \(8388608 bytes\); cut off/,
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(closedEarly).toBe(true); // the client hung up: the rest was never read
      expect(sent).toBeLessThan(100 * MiB);
      // still working: the next request is answered
      await expect(t.post("", { jsonrpc: "2.0", id: 1, method: "eth_chainId" })).resolves.toMatchObject({
        result: "0x1",
      });
      // what was read is bounded by the cap, not by what the node sent
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * MiB);
    } finally {
      await t.close();
    }
  });

  it("error: a declared content-length over the cap is refused before reading", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(200 * 1024 * 1024) });
      res.write("[");
    });
    const t = createTransport({
      chain: "c",
      urls: [url],
      timeoutMs: 5_000,
      maxResponseBytes: 65536,
      tries: 1,
    });
    try {
      await expect(t.post("", {})).rejects.toThrow(/larger than rpc_max_response_bytes/);
    } finally {
      await t.close();
    }
  });
});

describe("429 and 503 Retry-After", () => {
  it("behavior: Retry-After: 2 on a 429 — the next request arrives at least 2 s after it, measured by the node", async () => {
    const arrivals: number[] = [];
    let answered429At = 0;
    const url = await serve((_req, res) => {
      arrivals.push(performance.now());
      if (arrivals.length === 1) {
        res.writeHead(429, { "content-type": "application/json", "retry-after": "2" });
        res.end('{"error":"rate limited"}', () => (answered429At = performance.now()));
        return;
      }
      ok(res);
    });
    const t = createTransport({ chain: "c", urls: [url], timeoutMs: 5_000 });
    try {
      await expect(t.post("", { jsonrpc: "2.0", id: 1, method: "m" })).resolves.toMatchObject({
        result: "0x1",
      });
      expect(arrivals).toHaveLength(2);
      expect(arrivals[1]! - answered429At).toBeGreaterThanOrEqual(2000);
    } finally {
      await t.close();
    }
  });

  it("behavior: with a failover URL the waiting one is skipped, not waited for", async () => {
    const first: number[] = [];
    const second: number[] = [];
    const a = await serve((_req, res) => {
      first.push(performance.now());
      res.writeHead(503, { "retry-after": "60" }).end("busy");
    });
    const b = await serve((_req, res) => {
      second.push(performance.now());
      ok(res);
    });
    const t = createTransport({ chain: "c", urls: [a, b], timeoutMs: 5_000 });
    try {
      await t.post("", {});
      expect([first.length, second.length]).toEqual([1, 1]);
      expect(second[0]! - first[0]!).toBeLessThan(2_000); // a backoff step, not the 60 s
    } finally {
      await t.close();
    }
  });

  it("retryAfterMs reads seconds and HTTP dates, caps them, ignores nonsense", () => {
    const now = Date.parse("2026-11-22T10:00:00.000Z");
    expect(retryAfterMs("2", now)).toBe(2000);
    expect(retryAfterMs("0.5", now)).toBe(500);
    expect(retryAfterMs("Sun, 22 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(retryAfterMs("Sun, 22 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("86400", now)).toBe(300_000);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe("per-URL budget", () => {
  it("behavior: rpc_max_rps spaces requests after the burst; rpc_max_in_flight bounds concurrency (seen by the node)", async () => {
    const arrivals: number[] = [];
    let inFlight = 0;
    let maxSeen = 0;
    const url = await serve((_req, res) => {
      arrivals.push(performance.now());
      maxSeen = Math.max(maxSeen, ++inFlight);
      setTimeout(() => {
        inFlight--;
        ok(res);
      }, 20);
    });
    const t = createTransport({ chain: "c", urls: [url], timeoutMs: 5_000, maxRps: 10, maxInFlight: 2 });
    try {
      await Promise.all(Array.from({ length: 20 }, () => t.post("", {})));
      expect(maxSeen).toBeLessThanOrEqual(2);
      // a burst of 10, then 10 per second: the 20th request cannot arrive before ~0.9 s after the first
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(900);
    } finally {
      await t.close();
    }
  });
});

describe("secrets in RPC URLs", () => {
  const KEY = "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH";
  const table: [string, string][] = [
    [`https://eth-mainnet.g.alchemy.com/v2/${KEY}`, "https://eth-mainnet.g.alchemy.com/v2/***"],
    ["https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/v3/***"],
    ["https://x.quiknode.pro/5f4dcc3b5aa765d61d8327deb882cf99/", "https://x.quiknode.pro/***"],
    [
      "https://rpc.ankr.com/eth/8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
      "https://rpc.ankr.com/eth/***",
    ],
    [
      "https://api.example.com/rpc?apikey=SECRET123&chain=1",
      "https://api.example.com/rpc?apikey=***&chain=***",
    ],
    ["http://user:hunter2hunter2@127.0.0.1:8332", "http://127.0.0.1:8332"],
    ["https://api.trongrid.io", "https://api.trongrid.io"],
    ["http://127.0.0.1:8545/ext/bc/C/rpc", "http://127.0.0.1:8545/ext/bc/C/rpc"],
    ["https://eth-mainnet.g.alchemy.com/v2/demo", "https://eth-mainnet.g.alchemy.com/v2/demo"],
  ];
  it.each(table)("redactUrl(%s) = %s", (url, safe) => {
    expect(redactUrl(url)).toBe(safe);
    for (const s of urlSecrets(url)) expect(redactUrl(url)).not.toContain(s);
  });

  it("behavior: a node echoing the URL's key in its error body does not leak it into the error", async () => {
    const url = await serve((req, res) => res.writeHead(401).end(`invalid key in ${req.url ?? ""}`));
    const t = createTransport({
      chain: "c",
      urls: [`${url}/v2/${KEY}?apikey=${KEY}x`],
      timeoutMs: 2_000,
      tries: 1,
    });
    try {
      const err = (await t.post("", {}).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/HTTP 401/);
      expect(err.message).not.toContain(KEY);
      expect(t.current).not.toContain(KEY);
    } finally {
      await t.close();
    }
  });
});
