// A local anvil node from the @foundry-rs/anvil npm package: `depositd dev` and the tests start it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { NonRetryableError } from "../errors.js";
import { createJsonRpc } from "../rpc/jsonrpc.js";

/** Path of the anvil binary shipped in node_modules (linux x64 package). */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve("@foundry-rs/anvil-linux-amd64/package.json");
  } catch {
    throw new NonRetryableError("anvil not found: install @foundry-rs/anvil-linux-amd64 (linux x64 only)");
  }
  const bin = join(dirname(pkg), "bin", "anvil");
  if (!existsSync(bin)) throw new NonRetryableError(`anvil binary missing at ${bin}`);
  return bin;
}

export interface AnvilOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default: a free port */
  port?: number;
  chainId?: number;
  /** seconds between blocks; default: mine on every transaction */
  blockTime?: number;
  /** extra command-line arguments */
  args?: string[];
  /** how long to wait for the node to answer (default 15 s) */
  readyTimeoutMs?: number;
}

export interface AnvilProcess {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/** Start anvil and wait until it answers eth_chainId. */
export async function spawnAnvil(opts: AnvilOptions = {}): Promise<AnvilProcess> {
  const host = opts.host ?? "127.0.0.1";
  // A port picked this way can be taken before anvil binds it; try a few times.
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    try {
      return await spawnOn(host, port, opts);
    } catch (e) {
      if (opts.port !== undefined || attempt >= 2) throw e;
    }
  }
}

async function spawnOn(host: string, port: number, opts: AnvilOptions): Promise<AnvilProcess> {
  const args = ["--host", host, "--port", String(port), "--silent"];
  if (opts.chainId !== undefined) args.push("--chain-id", String(opts.chainId));
  if (opts.blockTime !== undefined) args.push("--block-time", String(opts.blockTime));
  args.push(...(opts.args ?? []));
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code) => {
      exited = code;
      resolve();
    });
  });
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const stop = async () => {
    if (exited !== undefined) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  const probe = createJsonRpc({ chain: "anvil", urls: [url], timeoutMs: 1000, tries: 1 });
  try {
    while (Date.now() < deadline) {
      if (exited !== undefined)
        throw new NonRetryableError(`anvil exited (${exited}) before it was ready: ${stderr.trim()}`);
      try {
        await probe.call("eth_chainId");
        return { url, port, child, stop };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await probe.close();
  }
  await stop();
  throw new NonRetryableError(
    `anvil did not answer on ${url} within ${opts.readyTimeoutMs ?? 15_000} ms: ${stderr.trim()}`,
  );
}
