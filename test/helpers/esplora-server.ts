// A local Esplora REST server (the Blockstream esplora / mempool.space API shapes) backed by a
// regtest bitcoind, so the Esplora backend is tested against real chain data. Output values come
// from the raw transactions (bitcoinjs), not from the node's BTC floats.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Transaction } from "bitcoinjs-lib";
import type { BitcoindNode } from "./bitcoind.js";

export interface EsploraServer {
  /** base URL, e.g. http://127.0.0.1:PORT (what a chain config's `rpc` takes with backend: esplora) */
  url: string;
  /** every path requested, in order (tests count them) */
  requests: string[];
  stop(): Promise<void>;
}

const PAGE = 25;

class NotFound extends Error {}
class BadRequest extends Error {}

// Bitcoin Core scriptPubKey.type → Esplora scriptpubkey_type.
const SCRIPT_TYPES: Record<string, string> = {
  pubkeyhash: "p2pkh",
  scripthash: "p2sh",
  witness_v0_keyhash: "v0_p2wpkh",
  witness_v0_scripthash: "v0_p2wsh",
  witness_v1_taproot: "v1_p2tr",
  nulldata: "op_return",
  pubkey: "p2pk",
  multisig: "multisig",
  anchor: "anchor",
  nonstandard: "unknown",
  witness_unknown: "unknown",
};

interface CoreScript {
  hex: string;
  asm: string;
  type: string;
  address?: string;
}
interface CoreVin {
  txid?: string;
  vout?: number;
  coinbase?: string;
  scriptSig?: { hex: string; asm: string };
  txinwitness?: string[];
  sequence: number;
  prevout?: { value: number; scriptPubKey: CoreScript };
}
interface CoreTx {
  txid: string;
  version: number;
  locktime: number;
  size: number;
  weight: number;
  fee?: number;
  hex: string;
  vin: CoreVin[];
  vout: Array<{ n: number; scriptPubKey: CoreScript }>;
}
interface CoreBlock {
  hash: string;
  height: number;
  version: number;
  time: number;
  mediantime: number;
  nonce: number;
  bits: string;
  difficulty: number;
  merkleroot: string;
  size: number;
  weight: number;
  nTx: number;
  previousblockhash?: string;
  confirmations: number;
  nextblockhash?: string;
  tx: CoreTx[];
}

/** BTC as the node's JSON number → satoshi. Test-only (prevouts, fees); exact for every 8-decimal amount. */
function sats(btc: number): number {
  return Number(BigInt(btc.toFixed(8).replace(".", "")));
}

function scriptOf(s: CoreScript, value: number) {
  return {
    scriptpubkey: s.hex,
    scriptpubkey_asm: s.asm,
    scriptpubkey_type: SCRIPT_TYPES[s.type] ?? "unknown",
    ...(s.address ? { scriptpubkey_address: s.address } : {}),
    value,
  };
}

function esploraTx(tx: CoreTx, block: CoreBlock) {
  const decoded = Transaction.fromHex(tx.hex);
  return {
    txid: tx.txid,
    version: tx.version,
    locktime: tx.locktime,
    vin: tx.vin.map((vin) =>
      vin.coinbase !== undefined
        ? {
            txid: "0".repeat(64),
            vout: 4294967295,
            prevout: null,
            scriptsig: vin.coinbase,
            scriptsig_asm: "",
            witness: vin.txinwitness ?? [],
            is_coinbase: true,
            sequence: vin.sequence,
          }
        : {
            txid: vin.txid,
            vout: vin.vout,
            prevout: vin.prevout ? scriptOf(vin.prevout.scriptPubKey, sats(vin.prevout.value)) : null,
            scriptsig: vin.scriptSig?.hex ?? "",
            scriptsig_asm: vin.scriptSig?.asm ?? "",
            ...(vin.txinwitness ? { witness: vin.txinwitness } : {}),
            is_coinbase: false,
            sequence: vin.sequence,
          },
    ),
    vout: tx.vout.map((out) => scriptOf(out.scriptPubKey, Number(decoded.outs[out.n]!.value))),
    size: tx.size,
    weight: tx.weight,
    fee: tx.fee === undefined ? 0 : sats(tx.fee),
    status: { confirmed: true, block_height: block.height, block_hash: block.hash, block_time: block.time },
  };
}

function esploraHeader(b: Omit<CoreBlock, "tx">) {
  return {
    id: b.hash,
    height: b.height,
    version: b.version,
    timestamp: b.time,
    tx_count: b.nTx,
    size: b.size,
    weight: b.weight,
    merkle_root: b.merkleroot,
    previousblockhash: b.previousblockhash ?? null,
    mediantime: b.mediantime,
    nonce: b.nonce,
    bits: parseInt(b.bits, 16),
    difficulty: b.difficulty,
  };
}

export async function startEsploraServer(node: Pick<BitcoindNode, "rpc">): Promise<EsploraServer> {
  const requests: string[] = [];

  async function block(hash: string, verbosity: 1 | 3): Promise<CoreBlock> {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new BadRequest("Invalid hex string");
    try {
      return await node.rpc<CoreBlock>("getblock", [hash, verbosity]);
    } catch {
      throw new NotFound("Block not found");
    }
  }

  async function route(path: string): Promise<unknown> {
    let m: RegExpExecArray | null;
    if (path === "/blocks/tip/height") return String(await node.rpc<number>("getblockcount"));
    if (path === "/blocks/tip/hash") return node.rpc<string>("getbestblockhash");
    if ((m = /^\/block-height\/([0-9]+)$/.exec(path))) {
      try {
        return await node.rpc<string>("getblockhash", [Number(m[1])]);
      } catch {
        throw new NotFound("Block not found");
      }
    }
    if ((m = /^\/block\/([^/]+)$/.exec(path))) return esploraHeader(await block(m[1]!, 1));
    if ((m = /^\/block\/([^/]+)\/status$/.exec(path))) {
      const b = await block(m[1]!, 1);
      return { in_best_chain: b.confirmations >= 0, height: b.height, next_best: b.nextblockhash ?? null };
    }
    if ((m = /^\/block\/([^/]+)\/txids$/.exec(path))) return (await block(m[1]!, 1)).tx;
    if ((m = /^\/block\/([^/]+)\/txs(?:\/([0-9]+))?$/.exec(path))) {
      const start = Number(m[2] ?? 0);
      if (start % PAGE !== 0) throw new BadRequest(`start index must be a multipication of ${PAGE}`);
      const b = await block(m[1]!, 3);
      if (start >= b.tx.length) throw new NotFound("start index out of range");
      return b.tx.slice(start, start + PAGE).map((tx) => esploraTx(tx, b));
    }
    throw new NotFound("Not Found");
  }

  function answer(res: ServerResponse, status: number, body: unknown) {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
    res.end(text);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    requests.push(path);
    if (req.method !== "GET") return answer(res, 405, "Method Not Allowed");
    route(path).then(
      (body) => answer(res, 200, body),
      (e: Error) => answer(res, e instanceof NotFound ? 404 : e instanceof BadRequest ? 400 : 500, e.message),
    );
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
