// A throw-away regtest bitcoind (Bitcoin Knots from Debian sid, run through sid's loader; see
// scripts/bitcoind.sh) on free 127.0.0.1 ports with a fresh datadir and a wallet.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../src/paths.js";

const repoRoot = packageRoot(); // from test/helpers or dist/test/helpers alike
const WALLET = "test";

export type AddressType = "legacy" | "p2sh-segwit" | "bech32" | "bech32m";

export interface BitcoindNode {
  /** http://user:pass@127.0.0.1:port — what a chain config's `rpc` takes */
  rpcUrl: string;
  /** the same URL without credentials, and the credentials apart ("user:pass") */
  rpcBase: string;
  auth: string;
  datadir: string;
  /** JSON-RPC call (numbers parsed as JS numbers: fine for tests, never for amounts in src/) */
  rpc<T = unknown>(method: string, params?: unknown[], wallet?: string): Promise<T>;
  /** the name of the wallet created at start (the default for wallet calls below) */
  wallet: string;
  /** a fresh address of the wallet; legacy = p2pkh, p2sh-segwit = p2sh-p2wpkh, bech32 = p2wpkh, bech32m = p2tr */
  newAddress(type?: AddressType): Promise<string>;
  /** mine `blocks` blocks (to `address`, default a wallet address); returns their hashes */
  mine(blocks: number, address?: string): Promise<string[]>;
  /** mine 101 blocks once so the wallet has spendable coins (≈ 1 s) */
  fund(): Promise<void>;
  /** pay `btc` (decimal string, exact) to `address` from the wallet; returns the txid (unconfirmed) */
  send(address: string, btc: string): Promise<string>;
  height(): Promise<number>;
  stop(): Promise<void>;
}

export interface BitcoindEnv {
  loader: string;
  libraryPath: string;
  bitcoind: string;
}

let envPromise: Promise<BitcoindEnv> | undefined;

/** Prepare (first run: download ≈ 20 MB from the machine's Debian mirror, ~10 s) or reuse the cached bitcoind. */
export function bitcoindEnv(): Promise<BitcoindEnv> {
  envPromise ??= (async () => {
    const { stdout } = await promisify(execFile)("bash", [join(repoRoot, "scripts/bitcoind.sh")], {
      cwd: repoRoot,
      timeout: 300_000,
      maxBuffer: 1 << 20,
    }).catch((e: Error & { stderr?: string }) => {
      throw new Error(`scripts/bitcoind.sh failed: ${e.stderr ?? e.message}`);
    });
    const vars = new Map<string, string>();
    for (const line of stdout.split("\n")) {
      const m = /^([A-Z_]+)="?(.*?)"?$/.exec(line.trim());
      if (m) vars.set(m[1]!, m[2]!);
    }
    const get = (k: string) => {
      const v = vars.get(k);
      if (!v) throw new Error(`scripts/bitcoind.sh did not print ${k}`);
      return v;
    };
    return {
      loader: get("BITCOIND_LOADER"),
      libraryPath: get("BITCOIND_LIBRARY_PATH"),
      bitcoind: get("BITCOIND"),
    };
  })();
  envPromise.catch(() => (envPromise = undefined));
  return envPromise;
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? ok(address.port) : fail(new Error("no port")),
      );
    });
  });
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startBitcoind(opts: { wallet?: boolean } = {}): Promise<BitcoindNode> {
  const env = await bitcoindEnv();
  const datadir = await mkdtemp(join(tmpdir(), "depositd-bitcoind-"));
  const user = "depositd";
  const password = randomBytes(12).toString("hex");
  const auth = `${user}:${password}`;

  let child: ChildProcess | undefined;
  let port = 0;
  let stderr = "";
  // A port picked free can be taken before bitcoind binds it; try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const args = [
      "--library-path",
      env.libraryPath,
      env.bitcoind,
      "-regtest",
      `-datadir=${datadir}`,
      `-rpcport=${port}`,
      "-rpcbind=127.0.0.1",
      "-rpcallowip=127.0.0.1",
      `-rpcuser=${user}`,
      `-rpcpassword=${password}`,
      "-server=1",
      "-listen=0",
      "-dnsseed=0",
      "-fixedseeds=0",
      "-discover=0",
      "-natpmp=0",
      "-printtoconsole=0",
      "-fallbackfee=0.0002",
      "-keypool=20",
      "-rpcthreads=8",
      "-rpcworkqueue=64",
    ];
    const proc = spawn(env.loader, args, { stdio: ["ignore", "ignore", "pipe"] });
    stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((ok) => proc.once("exit", (code) => ok(code)));
    running.add(proc);
    proc.once("exit", () => running.delete(proc));
    const ready = await waitReady(`http://127.0.0.1:${port}/`, auth, exited);
    if (ready) child = proc;
    else if (!/bind|address already in use/i.test(stderr)) break;
  }
  if (!child) {
    await rm(datadir, { recursive: true, force: true });
    throw new Error(`bitcoind did not start: ${stderr.trim() || "no output"}`);
  }

  const rpcBase = `http://127.0.0.1:${port}`;
  const rpc = async <T>(method: string, params: unknown[] = [], wallet?: string): Promise<T> =>
    rpcCall<T>(rpcBase + (wallet ? `/wallet/${encodeURIComponent(wallet)}` : "/"), auth, method, params);

  if (opts.wallet !== false) await rpc("createwallet", [WALLET]);
  let miningAddress: string | undefined;
  let funded = false;
  const proc = child;

  const node: BitcoindNode = {
    rpcUrl: `http://${auth}@127.0.0.1:${port}`,
    rpcBase,
    auth,
    datadir,
    wallet: WALLET,
    rpc,
    newAddress: (type = "bech32") => rpc<string>("getnewaddress", ["", type], WALLET),
    async mine(blocks, address) {
      miningAddress ??= await rpc<string>("getnewaddress", ["", "bech32"], WALLET);
      return rpc<string[]>("generatetoaddress", [blocks, address ?? miningAddress]);
    },
    async fund() {
      if (funded) return;
      await node.mine(101);
      funded = true;
    },
    // The amount goes out as a decimal string: Bitcoin Core parses it exactly.
    send: (address, btc) => rpc<string>("sendtoaddress", [address, btc], WALLET),
    height: () => rpc<number>("getblockcount"),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((ok) => proc.once("exit", () => ok()));
        await rpc("stop").catch(() => proc.kill("SIGTERM"));
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(datadir, { recursive: true, force: true });
    },
  };
  return node;
}

async function waitReady(url: string, auth: string, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !gone) {
    try {
      await rpcCall(url, auth, "getblockchaininfo", []);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return false;
}

async function rpcCall<T>(url: string, auth: string, method: string, params: unknown[]): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: "Basic " + Buffer.from(auth).toString("base64"),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const text = await res.text();
  let answer: { result?: T; error?: { code: number; message: string } | null };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error(`${method}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  if (answer.error)
    throw Object.assign(new Error(`${method}: ${answer.error.message}`), { code: answer.error.code });
  return answer.result as T;
}
