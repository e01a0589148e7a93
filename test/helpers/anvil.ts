// One anvil per test file: start it in beforeAll, snapshot/revert between tests, stop in afterAll.
import { spawnAnvil } from "../../src/dev/anvil.js";

export interface TestAnvil {
  url: string;
  port: number;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export async function startAnvil(
  opts: { chainId?: number; blockTime?: number; args?: string[] } = {},
): Promise<TestAnvil> {
  const node = await spawnAnvil(opts);
  let id = 1;
  return {
    url: node.url,
    port: node.port,
    async rpc<T>(method: string, params: unknown[] = []): Promise<T> {
      const res = await fetch(node.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: id++, method, params }),
      });
      const body = (await res.json()) as { result?: T; error?: { message: string; code: number } };
      if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
      return body.result as T;
    },
    stop: node.stop,
  };
}
