// An HTTP proxy in front of a JSON-RPC node that breaks answers at random (seeded, so a failing
// run can be replayed). Every breakage is detectable by a careful client: it never turns a
// right answer into a plausible wrong one.
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type FlakyMode = "drop" | "delay" | "429" | "502" | "truncate" | "corrupt";

export interface FlakyProxy {
  url: string;
  /** requests seen, forwarded, and how many times each mode struck */
  stats: Record<string, number>;
  setFailRate(rate: number): void;
  stop(): Promise<void>;
}

/** mulberry32: small, fast, good enough for choosing failures */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALL_MODES: FlakyMode[] = ["drop", "delay", "429", "502", "truncate", "corrupt"];

export async function startFlakyProxy(
  target: string,
  opts: { seed: number; failRate: number; modes?: FlakyMode[]; maxDelayMs?: number },
): Promise<FlakyProxy> {
  const random = seededRandom(opts.seed);
  const modes = opts.modes?.length ? opts.modes : ALL_MODES;
  const maxDelay = opts.maxDelayMs ?? 300;
  let failRate = opts.failRate;
  const stats: Record<string, number> = { requests: 0, forwarded: 0 };
  for (const m of modes) stats[m] = 0;
  const sockets = new Set<Socket>();

  function pick<T>(items: readonly T[]): T {
    return items[Math.floor(random() * items.length)]!;
  }

  // Structural corruptions only: invalid JSON, a lost batch item, a renamed result key.
  function corrupt(body: string): string {
    const kind = Math.floor(random() * 3);
    if (kind === 0) return body.slice(0, -1) + "}{";
    if (kind === 1) {
      try {
        const parsed: unknown = JSON.parse(body);
        if (Array.isArray(parsed) && parsed.length > 0) {
          parsed.splice(Math.floor(random() * parsed.length), 1);
          return JSON.stringify(parsed);
        }
      } catch {
        // fall through
      }
    }
    return body.replaceAll('"result"', '"resu1t"');
  }

  async function forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; text: string }> {
    const url = target.replace(/\/$/, "") + (req.url && req.url !== "/" ? req.url : "");
    const res = await fetch(url, {
      method: req.method ?? "POST",
      headers: { "content-type": req.headers["content-type"] ?? "application/json" },
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    stats.forwarded!++;
    return { status: res.status, text: await res.text() };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    stats.requests!++;
    const mode = random() < failRate ? pick(modes) : undefined;
    if (mode) stats[mode] = (stats[mode] ?? 0) + 1;

    switch (mode) {
      case "drop":
        req.socket.destroy();
        return;
      case "429":
        res.writeHead(429, { "content-type": "application/json", "retry-after": "0" });
        res.end('{"error":"rate limited"}');
        return;
      case "502":
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>502 Bad Gateway</html>");
        return;
      case "delay":
        await new Promise((r) => setTimeout(r, 1 + Math.floor(random() * maxDelay)));
        break;
    }
    const answer = await forward(req, body);
    let text = answer.text;
    if (mode === "truncate") text = text.slice(0, Math.floor(text.length * random() * 0.9));
    if (mode === "corrupt") text = corrupt(text);
    res.writeHead(answer.status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    setFailRate(rate: number) {
      failRate = rate;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface RpcItem {
  method: string;
  params: unknown[];
}
export interface RpcAnswer {
  result?: unknown;
  error?: { code: number; message: string };
}

/** A proxy that lets a test rewrite individual JSON-RPC answers (batches included), e.g. to
 *  play a node without eth_getBlockReceipts or one that returns nonsense. */
export async function startTamperProxy(
  target: string,
  tamper: (call: RpcItem, answer: RpcAnswer) => RpcAnswer,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      const upstream = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer: unknown = JSON.parse(await upstream.text());
      const calls = JSON.parse(body) as unknown;
      const one = (
        call: { id: unknown; method: string; params?: unknown[] },
        a: RpcAnswer & { id: unknown },
      ) => {
        const changed = tamper(
          { method: call.method, params: call.params ?? [] },
          { result: a.result, error: a.error },
        );
        return changed.error
          ? { jsonrpc: "2.0", id: a.id, error: changed.error }
          : { jsonrpc: "2.0", id: a.id, result: changed.result };
      };
      let out: unknown;
      if (Array.isArray(calls) && Array.isArray(answer)) {
        const byId = new Map((answer as (RpcAnswer & { id: unknown })[]).map((a) => [a.id, a]));
        out = (calls as { id: unknown; method: string; params?: unknown[] }[]).map((c) =>
          one(c, byId.get(c.id)!),
        );
      } else {
        out = one(
          calls as { id: unknown; method: string; params?: unknown[] },
          answer as RpcAnswer & { id: unknown },
        );
      }
      const text = JSON.stringify(out);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
