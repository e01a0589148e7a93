// A JSON-RPC proxy that rewrites chosen answers of a real node (singles and batches): a node that
// lacks a method, or one that lies by leaving a log out. `rewrite` sees each call with the node's
// answer and returns the answer to give (the same object: unchanged).
import { type IncomingMessage, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RpcItem {
  jsonrpc: "2.0";
  id: number | string;
  method: string;
  params?: unknown[];
}
export interface RpcReply {
  jsonrpc: "2.0";
  id: number | string;
  result?: unknown;
  error?: { code: number; message: string };
}

export interface RpcProxy {
  url: string;
  /** calls seen, by method */
  calls: Record<string, number>;
  /** HTTP requests seen */
  requests: number;
  setRewrite(rewrite: ((call: RpcItem, reply: RpcReply) => RpcReply) | null): void;
  stop(): Promise<void>;
}

export async function startRpcProxy(
  target: string,
  rewrite: ((call: RpcItem, reply: RpcReply) => RpcReply) | null = null,
): Promise<RpcProxy> {
  let current = rewrite;
  const calls: Record<string, number> = {};
  const sockets = new Set<Socket>();
  const proxy: RpcProxy = {
    url: "",
    calls,
    requests: 0,
    setRewrite: (r) => void (current = r),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  async function handle(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    proxy.requests++;
    const body = JSON.parse(text) as RpcItem | RpcItem[];
    const items = Array.isArray(body) ? body : [body];
    for (const i of items) calls[i.method] = (calls[i.method] ?? 0) + 1;
    const res = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: text,
    });
    const answer = (await res.json()) as RpcReply | RpcReply[];
    const replies = Array.isArray(answer) ? answer : [answer];
    const byId = new Map(items.map((i) => [i.id, i]));
    const out = replies.map((r) => {
      const call = byId.get(r.id);
      return call && current ? current(call, r) : r;
    });
    return JSON.stringify(Array.isArray(answer) ? out : out[0]);
  }
  const server = createServer((req, res) => {
    handle(req).then(
      (text) => res.writeHead(200, { "content-type": "application/json" }).end(text),
      () => res.writeHead(502).end(),
    );
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** the answer of a node that does not have the method */
export const missingMethod = (call: RpcItem): RpcReply => ({
  jsonrpc: "2.0",
  id: call.id,
  error: { code: -32601, message: `the method ${call.method} does not exist/is not available` },
});
