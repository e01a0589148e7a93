// The one JSON-RPC client against a local HTTP server that answers the way nodes do: batches in any
// order, a node error for one call among good ones, numbers kept as text, a whole batch refused.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type JsonRpcTransportOptions, RpcError, createJsonRpc } from "../../src/rpc/jsonrpc.js";

interface Req {
  id: number;
  method: string;
  params: unknown[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** `answer` gets the parsed body; what it returns is sent as the raw JSON text. Bodies are recorded. */
async function node(
  answer: (body: Req | Req[]) => string,
): Promise<{ url: string; bodies: (Req | Req[])[] }> {
  const bodies: (Req | Req[])[] = [];
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Req | Req[];
      bodies.push(body);
      res.writeHead(200, { "content-type": "application/json" }).end(answer(body));
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, bodies };
}

/** every call answered with its method's result, the batch reversed (nodes may reorder) */
const echo = (results: Record<string, string>) => (body: Req | Req[]) => {
  const one = (r: Req) =>
    r.method in results
      ? `{"jsonrpc":"2.0","id":${r.id},"result":${results[r.method]}}`
      : `{"jsonrpc":"2.0","id":${r.id},"error":{"code":-32601,"message":"Method not found"}}`;
  return Array.isArray(body) ? `[${body.map(one).reverse().join(",")}]` : one(body);
};

const client = (url: string, opts: Partial<JsonRpcTransportOptions>) =>
  createJsonRpc({ chain: "c", urls: [url], timeoutMs: 5_000, tries: 1, ...opts });

describe("createJsonRpc", () => {
  it("default: batch splits into requests of batchSize and returns results in call order", async () => {
    const n = await node(echo({ a: '"0x1"', b: '"0x2"', c: '"0x3"' }));
    const rpc = client(n.url, { batchSize: 2 });
    try {
      const calls = ["a", "b", "c", "a", "b"].map((method) => ({ method, params: [] }));
      expect(await rpc.batch(calls)).toEqual(["0x1", "0x2", "0x3", "0x1", "0x2"]);
      expect(n.bodies.map((b) => (Array.isArray(b) ? b.length : 1))).toEqual([2, 2, 1]);
    } finally {
      await rpc.close();
    }
  });

  it("behavior: outcomes gives a node error for one call without failing its neighbours", async () => {
    const n = await node(echo({ a: '"0x1"' }));
    const rpc = client(n.url, {});
    try {
      expect(
        await rpc.outcomes([
          { method: "a", params: [] },
          { method: "missing", params: [] },
        ]),
      ).toEqual([
        { ok: true, result: "0x1" },
        { ok: false, code: -32601, message: "Method not found" },
      ]);
      expect(await rpc.outcomes([])).toEqual([]);
      expect(n.bodies).toHaveLength(1); // no request for no calls
    } finally {
      await rpc.close();
    }
  });

  it("error: batch and call throw RpcError with the node's code", async () => {
    const n = await node(echo({ a: '"0x1"' }));
    const rpc = client(n.url, {});
    try {
      const err = await rpc
        .batch([
          { method: "a", params: [] },
          { method: "missing", params: [] },
        ])
        .catch((e) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: -32601, message: "missing: Method not found (-32601)" });
      await expect(rpc.call("missing")).rejects.toMatchObject({ code: -32601 });
      expect(await rpc.call("a")).toBe("0x1");
    } finally {
      await rpc.close();
    }
  });

  it('args: numbers "text" keeps every number as its decimal text, ids and codes included', async () => {
    const n = await node((body) => {
      const r = (body as Req[])[0]!;
      return `[{"result":{"value":0.50000000,"n":20999999.99999999},"error":null,"id":${r.id}}]`;
    });
    const rpc = client(n.url, { numbers: "text", callAsBatch: true });
    try {
      expect(await rpc.call("getblock")).toEqual({ value: "0.50000000", n: "20999999.99999999" });
      expect(Array.isArray(n.bodies[0])).toBe(true); // callAsBatch: a batch of one
    } finally {
      await rpc.close();
    }
  });

  it("error: an answer that is not the batch asked for", async () => {
    let answer = '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}';
    const n = await node(() => answer);
    const rpc = client(n.url, {});
    const calls = [{ method: "a", params: [] }];
    try {
      await expect(rpc.batch(calls)).rejects.toMatchObject({
        code: -32600,
        message: "batch: batch too large (-32600)",
      });
      answer = '{"jsonrpc":"2.0","id":1,"result":"0x1"}';
      await expect(rpc.batch(calls)).rejects.toThrow("batch: answer is not an array");
      answer = '[{"jsonrpc":"2.0","id":999,"result":"0x1"}]';
      await expect(rpc.batch(calls)).rejects.toThrow("a: missing from batch answer");
      answer = '[{"jsonrpc":"2.0","id":"4"}]'; // an id as text is not ours when numbers are numbers
      await expect(rpc.batch(calls)).rejects.toThrow("a: missing from batch answer");
      answer = '{"jsonrpc":"2.0","id":12345,"result":"0x1"}';
      await expect(rpc.call("a")).rejects.toThrow("a: answer id does not match");
    } finally {
      await rpc.close();
    }
  });

  it("error: no URL at all is refused at construction", () => {
    expect(() => createJsonRpc({ chain: "c", urls: [], timeoutMs: 1_000 })).toThrow("chain c: no RPC URL");
  });

  it("behavior: coalesce: batch calls of one tick share full requests; each caller gets its own results and its own errors", async () => {
    const n = await node(echo({ a: '"0x1"', b: '"0x2"', c: '"0x3"' }));
    const rpc = client(n.url, { batchSize: 4, coalesce: true });
    try {
      const first = rpc.batch([
        { method: "a", params: [] },
        { method: "b", params: [] },
        { method: "c", params: [] },
      ]);
      const second = rpc.batch([
        { method: "c", params: [] },
        { method: "b", params: [] },
      ]);
      const failing = rpc.batch([{ method: "nope", params: [] }]);
      await expect(failing).rejects.toThrow(/nope: Method not found/);
      expect(await first).toEqual(["0x1", "0x2", "0x3"]);
      expect(await second).toEqual(["0x3", "0x2"]);
      // 6 calls of three callers in two requests of at most 4, not three requests
      expect(n.bodies.map((b) => (Array.isArray(b) ? b.length : 1))).toEqual([4, 2]);
      // a later tick is a new request
      expect(await rpc.batch([{ method: "a", params: [] }])).toEqual(["0x1"]);
      expect(n.bodies).toHaveLength(3);
    } finally {
      await rpc.close();
    }
  });

  it("error: coalesce: a request that fails rejects every caller with calls in it, and only those", async () => {
    let requests = 0;
    const n = await node((body) => {
      requests++;
      // the second request's answer is not JSON-RPC at all
      return requests === 2 ? "{}" : echo({ a: '"0x1"' })(body);
    });
    const rpc = client(n.url, { batchSize: 2, coalesce: true });
    try {
      const one = rpc.batch([
        { method: "a", params: [] },
        { method: "a", params: [] },
      ]);
      const two = rpc.batch([{ method: "a", params: [] }]);
      const three = rpc.batch([{ method: "a", params: [] }]);
      expect(await one).toEqual(["0x1", "0x1"]);
      await expect(two).rejects.toThrow(RpcError);
      await expect(three).rejects.toThrow(RpcError);
      expect(requests).toBe(2);
    } finally {
      await rpc.close();
    }
  });
});
