// Shape checks for TRON HTTP API answers and the transfer finders. Nothing from a node is trusted
// before it passes here: a malformed answer is a RetryableError (retry, maybe on another URL).
import { type BlockRef, type Transfer, type WatchedSet } from "../types.js";
import { RetryableError } from "../../errors.js";
import { tronHexToBase58 } from "./address.js";
import { decodeTransferContract, tronTxId } from "./raw-transaction.js";

/** keccak256("Transfer(address,address,uint256)") */
export const TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

export interface TronTx {
  txID: string;
  /** raw_data.contract[0].type: TransferContract, TriggerSmartContract, … */
  type: string;
  /** raw_data.contract[0].parameter.value */
  value: Record<string, unknown>;
  /** ret[0].contractRet; undefined when the node gave none */
  contractRet: string | undefined;
  rawDataHex: string | undefined;
}

export interface TronBlock {
  ref: BlockRef;
  txs: TronTx[];
}

export interface TronLog {
  /** 20-byte hex, lower case, without 41 */
  address: string;
  topics: string[];
  data: string;
}

export interface TronTxInfo {
  id: string;
  blockNumber: number;
  blockTimeStamp: number | undefined;
  /** receipt.result (SUCCESS, REVERT, OUT_OF_ENERGY, …); undefined for non-contract transactions */
  receiptResult: string | undefined;
  /** top-level result: "FAILED" on a failed execution, else absent */
  result: string | undefined;
  logs: TronLog[];
}

type Json = Record<string, unknown>;

function malformed(where: string, what: string): RetryableError {
  return new RetryableError(`malformed answer (${where}): ${what}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(v: unknown, where: string, what: string): Json {
  if (!isObject(v)) throw malformed(where, `${what} is not an object`);
  return v;
}

function hash32(v: unknown, where: string, what: string): string {
  if (typeof v !== "string" || !/^[0-9a-fA-F]{64}$/.test(v))
    throw malformed(where, `${what} is not a 32-byte hex hash`);
  return v.toLowerCase();
}

function int(v: unknown, where: string, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw malformed(where, `${what} is not a non-negative integer`);
  return v;
}

/** A block from getnowblock / getblockbynum / getblockbylimitnext; null for `{}` (no such block). */
export function parseTronBlock(raw: unknown, where: string): TronBlock | null {
  const b = obj(raw, where, "block");
  if (Object.keys(b).length === 0) return null;
  const id = hash32(b.blockID, where, "blockID");
  const header = obj(obj(b.block_header, where, "block_header").raw_data, where, "block_header.raw_data");
  // protobuf JSON omits zero values: only the genesis block has no number
  const number = header.number === undefined ? 0 : int(header.number, where, "block number");
  const parentHash = hash32(header.parentHash, where, "parentHash");
  const timestamp = int(header.timestamp, where, "timestamp");
  // a blockID starts with the block number as 8 bytes: a cheap check that id and header belong together
  if (parseInt(id.slice(0, 16), 16) !== number)
    throw malformed(where, `blockID ${id} does not carry number ${number}`);
  const where2 = `${where} block ${number}`;
  const txsRaw = b.transactions ?? [];
  if (!Array.isArray(txsRaw)) throw malformed(where2, "transactions is not a list");
  const txs = txsRaw.map((t, i) => parseTx(t, `${where2} tx ${i}`));
  return { ref: { number, hash: id, parentHash, timestamp }, txs };
}

function parseTx(raw: unknown, where: string): TronTx {
  const t = obj(raw, where, "transaction");
  const txID = hash32(t.txID, where, "txID");
  const rawData = obj(t.raw_data, where, "raw_data");
  const contracts = rawData.contract;
  if (!Array.isArray(contracts) || contracts.length === 0)
    throw malformed(where, "raw_data.contract is not a non-empty list");
  const c = obj(contracts[0], where, "contract[0]");
  if (typeof c.type !== "string") throw malformed(where, "contract[0].type is not a string");
  const value = obj(
    obj(c.parameter, where, "contract[0].parameter").value,
    where,
    "contract[0].parameter.value",
  );
  let contractRet: string | undefined;
  if (t.ret !== undefined) {
    if (!Array.isArray(t.ret)) throw malformed(where, "ret is not a list");
    const r0: unknown = t.ret[0];
    if (r0 !== undefined) {
      const cr = obj(r0, where, "ret[0]").contractRet;
      if (cr !== undefined && typeof cr !== "string")
        throw malformed(where, "ret[0].contractRet is not a string");
      contractRet = cr;
    }
  }
  const hex = t.raw_data_hex;
  if (hex !== undefined && typeof hex !== "string") throw malformed(where, "raw_data_hex is not a string");
  return { txID, type: c.type, value, contractRet, rawDataHex: hex };
}

/** The `{"block":[…]}` answer of getblockbylimitnext (`{}` when it has none). */
export function parseBlockList(raw: unknown, where: string): TronBlock[] {
  const o = obj(raw, where, "answer");
  if (o.block === undefined) return [];
  if (!Array.isArray(o.block)) throw malformed(where, "block is not a list");
  return o.block.map((b, i) => {
    const parsed = parseTronBlock(b, `${where} [${i}]`);
    if (!parsed) throw malformed(where, `block [${i}] is empty`);
    return parsed;
  });
}

/** The answer of gettransactioninfobyblocknum: a list (`[]` for a block without transactions). */
export function parseTransactionInfos(raw: unknown, where: string): TronTxInfo[] {
  // some node versions answer {} instead of [] for a block without transactions
  if (isObject(raw) && Object.keys(raw).length === 0) return [];
  if (!Array.isArray(raw)) throw malformed(where, "transaction infos are not a list");
  return raw.map((r, i) => parseTxInfo(r, `${where} info ${i}`));
}

export function parseTxInfo(raw: unknown, where: string): TronTxInfo {
  const t = obj(raw, where, "transaction info");
  const id = hash32(t.id, where, "id");
  const blockNumber = int(t.blockNumber, where, "blockNumber");
  const blockTimeStamp =
    t.blockTimeStamp === undefined ? undefined : int(t.blockTimeStamp, where, "blockTimeStamp");
  const receipt = t.receipt === undefined ? {} : obj(t.receipt, where, "receipt");
  if (receipt.result !== undefined && typeof receipt.result !== "string")
    throw malformed(where, "receipt.result is not a string");
  if (t.result !== undefined && typeof t.result !== "string")
    throw malformed(where, "result is not a string");
  const logsRaw = t.log ?? [];
  if (!Array.isArray(logsRaw)) throw malformed(where, "log is not a list");
  const logs = logsRaw.map((l, i) => parseLog(l, `${where} log ${i}`));
  return { id, blockNumber, blockTimeStamp, receiptResult: receipt.result, result: t.result, logs };
}

function parseLog(raw: unknown, where: string): TronLog {
  const l = obj(raw, where, "log");
  if (typeof l.address !== "string" || !/^(41)?[0-9a-fA-F]{40}$/.test(l.address)) {
    throw malformed(where, "address is not a 20-byte hex address");
  }
  const topics = l.topics ?? [];
  if (!Array.isArray(topics) || !topics.every((x) => typeof x === "string" && /^[0-9a-fA-F]{64}$/.test(x))) {
    throw malformed(where, "topics are not 32-byte hex words");
  }
  const data = l.data ?? "";
  if (typeof data !== "string" || !/^([0-9a-fA-F]{2})*$/.test(data))
    throw malformed(where, "data is not hex");
  return {
    address: l.address.slice(-40).toLowerCase(),
    topics: (topics as string[]).map((x) => x.toLowerCase()),
    data: data.toLowerCase(),
  };
}

/** Transactions whose execution can emit TRC-20 Transfer logs. */
export function runsContract(tx: TronTx): boolean {
  return tx.type === "TriggerSmartContract" || tx.type === "CreateSmartContract";
}

function blockOf(ref: BlockRef): Transfer["block"] {
  return { number: ref.number, hash: ref.hash, timestamp: ref.timestamp };
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * TRX deposits: successful TransferContract transactions into watched addresses. The amount comes
 * from the JSON and, when the node sent raw_data_hex, must agree with the signed bytes (which are
 * also the only exact source above 2^53 sun).
 */
export function findTrxTransfers(block: TronBlock, watched: WatchedSet, asset: string): Transfer[] {
  const out: Transfer[] = [];
  block.txs.forEach((tx, i) => {
    if (tx.type !== "TransferContract" || tx.contractRet !== "SUCCESS") return;
    const where = `block ${block.ref.number} tx ${i}`;
    const toHex = tx.value.to_address;
    if (typeof toHex !== "string" || !/^41[0-9a-fA-F]{40}$/.test(toHex))
      throw malformed(where, "to_address is not 41… hex");
    const address = tronHexToBase58(toHex);
    if (!watched.has(address)) return;
    const json = tx.value.amount;
    if (typeof json !== "number" || !Number.isInteger(json))
      throw malformed(where, "amount is not an integer");
    let amount = Number.isSafeInteger(json) ? BigInt(json) : undefined;
    if (tx.rawDataHex !== undefined) {
      if (tronTxId(tx.rawDataHex) !== tx.txID)
        throw malformed(where, "txID is not the sha256 of raw_data_hex");
      let signed: { to: string; amount: bigint } | null;
      try {
        signed = decodeTransferContract(tx.rawDataHex);
      } catch (e) {
        throw malformed(where, `raw_data_hex: ${(e as Error).message}`);
      }
      if (
        !signed ||
        signed.to !== toHex.toLowerCase() ||
        (amount !== undefined && signed.amount !== amount)
      ) {
        throw malformed(where, "raw_data and raw_data_hex disagree");
      }
      amount = signed.amount;
    }
    if (amount === undefined)
      throw malformed(where, "amount above 2^53 without raw_data_hex to read it exactly");
    if (amount <= 0n || amount > INT64_MAX) return;
    out.push({
      txid: tx.txID,
      index: 0,
      via: "transaction",
      asset,
      address,
      amount,
      block: blockOf(block.ref),
    });
  });
  return out;
}

/**
 * TRC-20 deposits: Transfer logs of configured token contracts into watched addresses, from
 * successful executions only. `tokens` maps 20-byte lower-case contract hex to asset id.
 * Call data is never read: transferFrom, contracts calling the token and padding quirks make it lie.
 */
export function findTrc20Transfers(
  block: TronBlock,
  infos: TronTxInfo[],
  tokens: ReadonlyMap<string, string>,
  watched: WatchedSet,
): Transfer[] {
  const where = `transaction infos of block ${block.ref.number}`;
  const txIds = new Set(block.txs.map((t) => t.txID));
  const infoIds = new Set<string>();
  for (const info of infos) {
    // infos from another fork or another block: refuse rather than mis-attribute
    if (info.blockNumber !== block.ref.number)
      throw malformed(where, `info ${info.id} is for block ${info.blockNumber}`);
    if (info.blockTimeStamp !== undefined && info.blockTimeStamp !== block.ref.timestamp) {
      throw malformed(where, `info ${info.id} has another block timestamp`);
    }
    if (!txIds.has(info.id))
      throw malformed(where, `info ${info.id} is not a transaction of block ${block.ref.hash}`);
    infoIds.add(info.id);
  }
  for (const tx of block.txs) {
    if (runsContract(tx) && !infoIds.has(tx.txID))
      throw malformed(where, `no info for contract call ${tx.txID}`);
  }
  const out: Transfer[] = [];
  for (const info of infos) {
    if (info.receiptResult !== "SUCCESS" || info.result === "FAILED") continue;
    info.logs.forEach((log, index) => {
      const asset = tokens.get(log.address);
      if (asset === undefined || log.topics.length !== 3 || log.topics[0] !== TRANSFER_TOPIC) return;
      const to = log.topics[2]!;
      // an ABI-encoded address is zero-padded; anything else is not a standard Transfer event
      if (!to.startsWith("000000000000000000000000") || log.data.length !== 64) return;
      const address = tronHexToBase58(to.slice(24));
      if (!watched.has(address)) return;
      const amount = BigInt("0x" + log.data);
      if (amount === 0n) return;
      out.push({ txid: info.id, index, via: "log", asset, address, amount, block: blockOf(block.ref) });
    });
  }
  return out;
}
