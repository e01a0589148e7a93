// A local stand-in for a java-tron full node's HTTP API, in the exact JSON shapes of the public
// docs (see /work/shared/fixtures/tron): hex 41-addresses in blocks, 20-byte addresses in logs,
// `{}` for a missing block, `[]` for no tx infos, `{"block":[…]}` lists, /walletsolidity/* twins.
// Transactions are real protobuf (raw_data_hex), txID = sha256 of it, signed with real keys;
// blockID = 8-byte number + sha256(header bytes)[8:]. Addresses come from tronweb, not from the
// code under test. Balances are not tracked: any account can send anything.
import { createHash } from "node:crypto";
import { type IncomingHttpHeaders, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SigningKey, Wallet, id as keccakText } from "ethers";
import { utils as tronUtils } from "tronweb";
import { TEST_EPOCH_MS } from "./config.js";

type Json = Record<string, unknown>;

export interface TronAccount {
  privateKey: string;
  /** base58 T… */
  address: string;
  /** 41… hex */
  hex: string;
}
/** who signs: an account, its private key (hex), or an ethers SigningKey */
export type TronSigner = TronAccount | string | SigningKey;

export type Trc20Result = "SUCCESS" | "FAILED" | "OUT_OF_ENERGY";
export interface Trc20Options {
  result?: Trc20Result;
  /** transferFrom by a router contract: the call goes to the router with unrelated call data,
   *  and the token's Transfer log is the second log of the transaction (index 1) */
  viaContract?: boolean;
  /** fault injection: keep the Transfer log in a failed execution's info (a lying node) */
  keepLogOnFailure?: boolean;
}

export interface TronTestChain {
  readonly head: number;
  readonly solid: number;
  /** how far the solidified head trails the head (default 19, as on mainnet) */
  solidLag: number;
  /** transactions waiting for the next mine() */
  readonly pending: number;
  newAccount(): TronAccount;
  /** a TRX TransferContract; `contractRet` is fault injection (real nodes only include SUCCESS) */
  transferTrx(from: TronSigner, to: string, sun: bigint | number, opts?: { contractRet?: string }): string;
  /** a TRC-20 transfer of `contract` (any T-address: the server plays the token) */
  transferTrc20(
    contract: string,
    from: TronSigner,
    to: string,
    amount: bigint | number,
    opts?: Trc20Options,
  ): string;
  /** a TRC-10 TransferAssetContract (never a deposit depositd watches) */
  transferTrc10(from: TronSigner, to: string, amount: bigint | number, assetName?: string): string;
  /** mine n blocks (default 1); the first takes every pending transaction. Returns the new head. */
  mine(n?: number): number;
  /** replace the top `depth` blocks by `length` (default depth) new ones with other hashes; with
   *  `readd` the dropped transactions go back to pending (so they land in the first new block) */
  reorg(depth: number, opts?: { readd?: boolean; length?: number }): number;
  /** the block JSON as served by getblockbynum (undefined above head) */
  blockJson(n: number): Json | undefined;
  /** the transaction infos of block n as served by gettransactioninfobyblocknum ([] above head) */
  infosJson(n: number): Json[];
  /** blockID of block n */
  blockId(n: number): string;
}

/** What an override may answer instead of JSON: a raw HTTP status and body. */
export interface RawReply {
  raw: true;
  status: number;
  body: string;
}
export type TronOverride = (body: Json, answer: () => unknown) => unknown;

export interface TronServer {
  url: string;
  chain: TronTestChain;
  /** every request received, in order */
  requests: Array<{ path: string; body: Json; headers: IncomingHttpHeaders }>;
  /** replace the answer of one path (e.g. "/wallet/getblockbylimitnext"); undefined removes it */
  override(path: string, fn: TronOverride | undefined): void;
  stop(): Promise<void>;
}

export function rawReply(status: number, body: string): RawReply {
  return { raw: true, status, body };
}

// ---------------------------------------------------------------------------------------------
// protobuf writer (proto3: zero/empty fields are omitted, fields written in number order)

function varint(value: bigint): Buffer {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
function pbVarint(no: number, v: bigint | number | undefined): Buffer {
  if (v === undefined || BigInt(v) === 0n) return Buffer.alloc(0);
  return Buffer.concat([varint(BigInt(no << 3)), varint(BigInt(v))]);
}
function pbBytes(no: number, bytes: Buffer | undefined): Buffer {
  if (!bytes || bytes.length === 0) return Buffer.alloc(0);
  return Buffer.concat([varint(BigInt((no << 3) | 2)), varint(BigInt(bytes.length)), bytes]);
}
function hexBytes(v: unknown): Buffer | undefined {
  return typeof v === "string" ? Buffer.from(v, "hex") : undefined;
}
function num(v: unknown): bigint | number | undefined {
  return typeof v === "number" || typeof v === "bigint" ? v : undefined;
}

const CONTRACT_TYPES: Record<string, { no: number; encode: (v: Json) => Buffer }> = {
  TransferContract: {
    no: 1,
    encode: (v) =>
      Buffer.concat([
        pbBytes(1, hexBytes(v.owner_address)),
        pbBytes(2, hexBytes(v.to_address)),
        pbVarint(3, num(v.amount)),
      ]),
  },
  TransferAssetContract: {
    no: 2,
    encode: (v) =>
      Buffer.concat([
        pbBytes(1, hexBytes(v.asset_name)),
        pbBytes(2, hexBytes(v.owner_address)),
        pbBytes(3, hexBytes(v.to_address)),
        pbVarint(4, num(v.amount)),
      ]),
  },
  TriggerSmartContract: {
    no: 31,
    encode: (v) =>
      Buffer.concat([
        pbBytes(1, hexBytes(v.owner_address)),
        pbBytes(2, hexBytes(v.contract_address)),
        pbVarint(3, num(v.call_value)),
        pbBytes(4, hexBytes(v.data)),
        pbVarint(5, num(v.call_token_value)),
        pbVarint(6, num(v.token_id)),
      ]),
  },
};

/** Protobuf bytes (hex) of a transaction's raw_data JSON, as java-tron serialises Transaction.raw. */
export function encodeRawTransaction(raw: Json): string {
  const contracts = (raw.contract as Json[]).map((c) => {
    const spec = CONTRACT_TYPES[c.type as string];
    if (!spec) throw new Error(`tron-server: cannot encode contract type ${String(c.type)}`);
    const param = c.parameter as Json;
    const any = Buffer.concat([
      pbBytes(1, Buffer.from(param.type_url as string)),
      pbBytes(2, spec.encode(param.value as Json)),
    ]);
    return pbBytes(11, Buffer.concat([pbVarint(1, spec.no), pbBytes(2, any)]));
  });
  return Buffer.concat([
    pbBytes(1, hexBytes(raw.ref_block_bytes)),
    pbBytes(4, hexBytes(raw.ref_block_hash)),
    pbVarint(8, num(raw.expiration)),
    pbBytes(10, hexBytes(raw.data)),
    ...contracts,
    pbVarint(14, num(raw.timestamp)),
    pbVarint(18, num(raw.fee_limit)),
  ]).toString("hex");
}

function encodeBlockHeader(raw: Json): Buffer {
  return Buffer.concat([
    pbVarint(1, num(raw.timestamp)),
    pbBytes(2, hexBytes(raw.txTrieRoot)),
    pbBytes(3, hexBytes(raw.parentHash)),
    pbVarint(7, num(raw.number)),
    pbBytes(9, hexBytes(raw.witness_address)),
    pbVarint(10, num(raw.version)),
  ]);
}

// ---------------------------------------------------------------------------------------------

function sha256(bytes: Buffer | string): Buffer {
  return createHash("sha256")
    .update(typeof bytes === "string" ? Buffer.from(bytes, "hex") : bytes)
    .digest();
}

/** JSON text where bigint values are written as exact integer literals (as java-tron prints int64). */
function toJsonText(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== "bigint") return v;
    marks.push(v.toString());
    return `\u0000big${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
}

/** Plain JSON number when exact, else a bigint printed as exact digits. */
function int64(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function signerKey(s: TronSigner): SigningKey {
  if (s instanceof SigningKey) return s;
  const pk = typeof s === "string" ? s : s.privateKey;
  return new SigningKey(pk.startsWith("0x") ? pk : "0x" + pk);
}
const hexOfKeyMemo = new Map<string, string>();
function hexOfKey(key: SigningKey): string {
  const memo = hexOfKeyMemo.get(key.privateKey);
  if (memo !== undefined) return memo;
  const hex = tronUtils.address
    .toHex(tronUtils.address.fromPrivateKey(key.privateKey.slice(2)) as string)
    .toLowerCase();
  hexOfKeyMemo.set(key.privateKey, hex);
  return hex;
}
/** any T… or 41… address → 41… hex (through tronweb) */
function toHex41(address: string): string {
  const hex = (address.startsWith("T") ? tronUtils.address.toHex(address) : address).toLowerCase();
  if (!/^41[0-9a-f]{40}$/.test(hex)) throw new Error(`tron-server: not a Tron address: ${address}`);
  return hex;
}
function word(hex: string): string {
  return hex.padStart(64, "0");
}
/** A 65-byte stand-in of the signature's shape (never verified by a reader): no elliptic curve math. */
function standInSignature(txID: string): string {
  const a = sha256(txID);
  return a.toString("hex") + sha256(a).toString("hex") + "1b";
}
function sign(key: SigningKey, txID: string, standIn = false): string {
  if (standIn) return standInSignature(txID);
  const sig = key.sign("0x" + txID);
  return sig.r.slice(2) + sig.s.slice(2) + sig.yParity.toString(16).padStart(2, "0");
}

interface PendingTx {
  json: Json;
  /** the info as gettransactioninfobyblocknum serves it, once the block is known */
  info: (blockNumber: number, blockTimeStamp: number) => Json;
}
interface StoredBlock {
  id: string;
  json: Json;
  txs: PendingTx[];
  infos: Json[];
}

const TRANSFER_TOPIC = keccakText("Transfer(address,address,uint256)").slice(2);

function createChain(opts: {
  solidLag: number;
  initialBlocks: number;
  clock?: () => number;
  standInSignatures?: boolean;
}): TronTestChain {
  const standIn = opts.standInSignatures === true;
  // the test's clock, never the machine's: a block stamped from Date.now() next to a test pinned
  // to a fixed date is "after expiry" on every later day
  const clock = opts.clock ?? (() => TEST_EPOCH_MS);
  const witnesses = [0, 1, 2].map(() => new SigningKey(Wallet.createRandom().privateKey));
  const blocks: StoredBlock[] = [];
  let pending: PendingTx[] = [];
  let forkEpoch = 0;
  let seq = 0;

  function makeBlock(number: number, parent: StoredBlock | undefined, txs: PendingTx[]): StoredBlock {
    const prevTs = parent
      ? (parent.json.block_header as Json & { raw_data: Json }).raw_data.timestamp
      : undefined;
    // genesis sits `initialBlocks` slots before the test's clock, so the initial blocks end at "now"
    const base =
      typeof prevTs === "number"
        ? prevTs + 3000
        : Math.floor((clock() - opts.initialBlocks * 3000) / 3000) * 3000;
    const timestamp = Math.max(base, clock());
    const witness = witnesses[(number + forkEpoch) % witnesses.length]!;
    const txIds = txs.map((t) => t.json.txID as string);
    const raw: Json = {
      // protobuf JSON omits zero values: the genesis block has no number
      ...(number === 0 ? {} : { number }),
      txTrieRoot: txIds.length
        ? sha256(Buffer.concat(txIds.map((t) => Buffer.from(t, "hex")))).toString("hex")
        : "0".repeat(64),
      witness_address: hexOfKey(witness),
      parentHash: parent ? parent.id : sha256(Buffer.from("depositd tron test genesis")).toString("hex"),
      version: 30,
      timestamp,
    };
    const headerHash = sha256(encodeBlockHeader(raw));
    const id = number.toString(16).padStart(16, "0") + headerHash.subarray(8).toString("hex");
    const json: Json = {
      blockID: id,
      block_header: { raw_data: raw, witness_signature: sign(witness, headerHash.toString("hex"), standIn) },
      // real nodes omit the list for an empty block
      ...(txs.length ? { transactions: txs.map((t) => t.json) } : {}),
    };
    return { id, json, txs, infos: txs.map((t) => t.info(number, timestamp)) };
  }

  function headBlock(): StoredBlock {
    return blocks[blocks.length - 1]!;
  }

  function mine(n = 1): number {
    for (let i = 0; i < n; i++) {
      const parent = blocks[blocks.length - 1];
      blocks.push(makeBlock(blocks.length, parent, pending));
      pending = [];
    }
    return blocks.length - 1;
  }

  function addTx(
    key: SigningKey,
    type: keyof typeof CONTRACT_TYPES,
    value: Json,
    extra: {
      fee_limit?: number;
      contractRet: string;
      info: (blockNumber: number, blockTimeStamp: number, txID: string) => Json;
    },
  ): string {
    const head = headBlock();
    const headTs = (head.json.block_header as { raw_data: Json }).raw_data.timestamp as number;
    const raw_data: Json = {
      contract: [{ parameter: { value, type_url: `type.googleapis.com/protocol.${type}` }, type }],
      ref_block_bytes: (blocks.length - 1).toString(16).padStart(4, "0").slice(-4),
      ref_block_hash: head.id.slice(16, 32),
      expiration: headTs + 60_000,
      ...(extra.fee_limit ? { fee_limit: extra.fee_limit } : {}),
      timestamp: headTs + ++seq, // also keeps identical transfers apart
    };
    const raw_data_hex = encodeRawTransaction(raw_data);
    const txID = sha256(raw_data_hex).toString("hex");
    const json: Json = {
      ret: [{ contractRet: extra.contractRet }],
      signature: [sign(key, txID, standIn)],
      txID,
      raw_data,
      raw_data_hex,
    };
    pending.push({ json, info: (n, ts) => extra.info(n, ts, txID) });
    return txID;
  }

  function plainInfo(n: number, ts: number, id: string): Json {
    return {
      id,
      fee: 267000,
      blockNumber: n,
      blockTimeStamp: ts,
      contractResult: [""],
      receipt: { net_fee: 267000 },
    };
  }

  function newAccount(): TronAccount {
    const w = Wallet.createRandom();
    const hex = hexOfKey(w.signingKey);
    return { privateKey: w.privateKey, address: tronUtils.address.fromHex(hex), hex };
  }

  let solidLag = opts.solidLag;
  mine(opts.initialBlocks + 1);

  return {
    get head() {
      return blocks.length - 1;
    },
    get solid() {
      return Math.max(0, blocks.length - 1 - solidLag);
    },
    get solidLag() {
      return solidLag;
    },
    set solidLag(v: number) {
      solidLag = v;
    },
    get pending() {
      return pending.length;
    },
    newAccount,
    transferTrx(from, to, sun, o = {}) {
      const key = signerKey(from);
      const value = { amount: int64(BigInt(sun)), owner_address: hexOfKey(key), to_address: toHex41(to) };
      return addTx(key, "TransferContract", value, {
        contractRet: o.contractRet ?? "SUCCESS",
        info: plainInfo,
      });
    },
    transferTrc10(from, to, amount, assetName = "1002000") {
      const key = signerKey(from);
      const value = {
        amount: int64(BigInt(amount)),
        asset_name: Buffer.from(assetName).toString("hex"),
        owner_address: hexOfKey(key),
        to_address: toHex41(to),
      };
      return addTx(key, "TransferAssetContract", value, { contractRet: "SUCCESS", info: plainInfo });
    },
    transferTrc20(contract, from, to, amount, o = {}) {
      const result = o.result ?? "SUCCESS";
      const token = toHex41(contract);
      const fromKey = signerKey(from);
      const fromHex = hexOfKey(fromKey);
      const toHex = toHex41(to);
      const value = BigInt(amount);
      const transferLog = {
        address: token.slice(2),
        topics: [TRANSFER_TOPIC, word(fromHex.slice(2)), word(toHex.slice(2))],
        data: word(value.toString(16)),
      };
      let signer = fromKey;
      let called = token;
      let data = "a9059cbb" + word(toHex.slice(2)) + word(value.toString(16));
      let logs: Json[] = [transferLog];
      let internal: Json[] | undefined;
      if (o.viaContract) {
        // an operator calls a router, which moves the payer's tokens with transferFrom: the call
        // data names neither the real recipient nor the real amount
        const router = toHex41(newAccount().hex);
        signer = signerKey(newAccount());
        called = router;
        data =
          "38ed1739" + word((value * 2n + 1n).toString(16)) + word("0") + word(hexOfKey(signer).slice(2));
        logs = [
          {
            address: router.slice(2),
            topics: [keccakText("Routed(address)").slice(2), word(fromHex.slice(2))],
            data: "",
          },
          transferLog,
        ];
        internal = [
          {
            hash: sha256(Buffer.from(data)).toString("hex"),
            caller_address: router,
            transferTo_address: token,
            callValueInfo: [{}],
            note: "63616c6c",
          },
        ];
      }
      const contractRet = result === "SUCCESS" ? "SUCCESS" : result === "FAILED" ? "REVERT" : "OUT_OF_ENERGY";
      const info = (n: number, ts: number, id: string): Json => {
        const ok = result === "SUCCESS";
        // the shape of the docs' Nile USDT info: energy paid by the token's deployer, no fee
        return {
          id,
          blockNumber: n,
          blockTimeStamp: ts,
          contractResult: [ok ? word("1") : ""],
          contract_address: called,
          receipt: {
            origin_energy_usage: ok ? 29650 : 10000,
            energy_usage_total: ok ? 29650 : 10000,
            net_usage: 345,
            result: contractRet,
          },
          ...(ok || o.keepLogOnFailure ? { log: logs } : {}),
          ...(ok
            ? {}
            : {
                result: "FAILED",
                resMessage: Buffer.from(
                  result === "FAILED" ? "REVERT opcode executed" : "Not enough energy",
                ).toString("hex"),
              }),
          ...(internal ? { internal_transactions: internal } : {}),
        };
      };
      const tx = { owner_address: hexOfKey(signer), contract_address: called, data };
      return addTx(signer, "TriggerSmartContract", tx, { fee_limit: 100_000_000, contractRet, info });
    },
    mine,
    reorg(depth, o = {}) {
      if (depth < 1 || depth >= blocks.length)
        throw new Error(`tron-server: cannot reorg ${depth} of ${blocks.length} blocks`);
      const dropped = blocks.splice(blocks.length - depth);
      forkEpoch++;
      if (o.readd) pending = [...dropped.flatMap((b) => b.txs), ...pending];
      return mine(o.length ?? depth);
    },
    blockJson: (n) => blocks[n]?.json,
    infosJson: (n) => blocks[n]?.infos ?? [],
    blockId(n) {
      const b = blocks[n];
      if (!b) throw new Error(`tron-server: no block ${n}`);
      return b.id;
    },
  };
}

function storedBlocks(chain: TronTestChain, upTo: number, from: number, to: number): Json[] {
  const out: Json[] = [];
  for (let n = from; n < to && n <= upTo; n++) out.push(chain.blockJson(n)!);
  return out;
}

/**
 * Start the test node on 127.0.0.1 (a free port). Options: `solidLag` (default 19),
 * `initialBlocks` mined at start after genesis (default 30), `clock` for block timestamps
 * (each block is max(previous + 3 s, clock()); default the harness epoch, never the machine's clock).
 * `standInSignatures` (benches building 100,000s of transactions): 65 bytes of the signature's
 * shape derived from the txID instead of ECDSA; nothing reading the chain verifies them.
 */
export async function startTronServer(
  opts: { solidLag?: number; initialBlocks?: number; clock?: () => number; standInSignatures?: boolean } = {},
): Promise<TronServer> {
  const chain = createChain({
    solidLag: opts.solidLag ?? 19,
    initialBlocks: opts.initialBlocks ?? 30,
    clock: opts.clock,
    standInSignatures: opts.standInSignatures,
  });
  const requests: TronServer["requests"] = [];
  const overrides = new Map<string, TronOverride>();

  function answer(path: string, body: Json): unknown {
    const solidity = path.startsWith("/walletsolidity/");
    const top = solidity ? chain.solid : chain.head;
    const method = path.replace(/^\/wallet(solidity)?\//, "");
    const n = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" ? Number(v) : 0);
    switch (method) {
      case "getnowblock":
        return chain.blockJson(top);
      case "getblockbynum": {
        const num = n(body.num);
        return num <= top ? (chain.blockJson(num) ?? {}) : {};
      }
      case "getblockbyid": {
        for (let i = 0; i <= top; i++) if (chain.blockId(i) === body.value) return chain.blockJson(i);
        return {};
      }
      case "getblockbylimitnext": {
        const start = n(body.startNum);
        const end = n(body.endNum);
        if (start < 0 || end <= start || end - start > 100) return {};
        const list = storedBlocks(chain, top, start, end);
        return list.length ? { block: list } : {};
      }
      case "gettransactioninfobyblocknum": {
        const num = n(body.num);
        return num <= top ? chain.infosJson(num) : [];
      }
      case "gettransactioninfobyid":
      case "gettransactionbyid": {
        for (let i = 0; i <= top; i++) {
          const json = chain.blockJson(i)!;
          const txs = (json.transactions ?? []) as Json[];
          const k = txs.findIndex((t) => t.txID === body.value);
          if (k >= 0) return method === "gettransactionbyid" ? txs[k] : chain.infosJson(i)[k];
        }
        return {};
      }
      default:
        return undefined;
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const path = (req.url ?? "/").split("?")[0]!;
        let body: Json = {};
        const text = Buffer.concat(chunks).toString();
        try {
          body = text ? (JSON.parse(text) as Json) : {};
        } catch {
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(toJsonText({ Error: "invalid json body" }));
          return;
        }
        requests.push({ path, body, headers: req.headers });
        const normal = () => answer(path, body);
        const fn = overrides.get(path);
        const out = fn ? await fn(body, normal) : normal();
        if (out === undefined) {
          res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
        } else if (typeof out === "object" && out !== null && (out as RawReply).raw === true) {
          const r = out as RawReply;
          res.writeHead(r.status, { "content-type": "application/json" }).end(r.body);
        } else {
          res.writeHead(200, { "content-type": "application/json" }).end(toJsonText(out));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    chain,
    requests,
    override(path, fn) {
      if (fn) overrides.set(path, fn);
      else overrides.delete(path);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
