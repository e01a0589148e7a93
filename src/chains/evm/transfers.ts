// Answers turned into transfers: ERC-20 Transfer logs, and native coin moved by call frames
// (native_internal: trace). Shapes are checked as they are read, through the actions' checks.
import type { Transfer, WatchedSet } from "../types.js";
import { ADDRESS, type EvmActions, type FetchedBlock, WORD } from "./actions.js";

/** keccak256("Transfer(address,address,uint256)") */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
/** frame types that move value to `to`; DELEGATECALL, STATICCALL and CALLCODE move none to another account */
const VALUE_FRAMES = new Set(["CALL", "CREATE", "CREATE2", "SELFDESTRUCT"]);

/**
 * The native transfers into watched addresses of one transaction's call tree. A frame counts only
 * when it and every frame above it (the top-level call included) did not revert. Its index is the
 * frame's depth-first position in the call tree: stable for the same block, never 0 (frame 0 is the
 * transaction itself, found by the block scan).
 */
export function tracedTransfers(
  rpc: EvmActions,
  root: Record<string, unknown>,
  txid: string,
  b: FetchedBlock,
  watched: WatchedSet,
  asset: string,
): Transfer[] {
  const bad: (what: string) => never = rpc.bad;
  const out: Transfer[] = [];
  // depth-first, pre-order, without recursion (call trees go 1024 deep)
  const stack: { f: Record<string, unknown>; ok: boolean }[] = [{ f: root, ok: true }];
  for (let position = 0; stack.length; position++) {
    const { f, ok: above } = stack.pop()!;
    // a frame with an error reverted, and with it everything it called
    const ok = above && (f.error === undefined || f.error === null);
    const type = typeof f.type === "string" ? f.type.toUpperCase() : bad(`frame type in ${txid}`);
    if (position > 0 && ok && VALUE_FRAMES.has(type) && f.value !== undefined && f.value !== null) {
      const value = rpc.quantity(f.value, `frame value in ${txid}`);
      const to = f.to;
      if (typeof to !== "string" || !ADDRESS.test(to)) bad(`frame to in ${txid}`);
      const address = to.toLowerCase();
      if (value > 0n && watched.has(address))
        out.push({
          txid,
          index: position,
          via: "trace",
          asset,
          address,
          amount: value,
          block: { number: b.ref.number, hash: b.ref.hash, timestamp: b.ref.timestamp },
        });
    }
    if (f.calls === undefined || f.calls === null) continue;
    if (!Array.isArray(f.calls)) bad(`frame calls in ${txid} is not an array`);
    for (let j = f.calls.length - 1; j >= 0; j--)
      stack.push({ f: rpc.object(f.calls[j], `frame in ${txid}`), ok });
  }
  return out;
}

/** A Transfer log into a watched address, or null when it is not one (or pays nothing). */
export function logTransfer(
  rpc: EvmActions,
  raw: unknown,
  at: {
    /** the first block asked for: `blocks[0]` */
    from: number;
    blocks: FetchedBlock[];
    watched: WatchedSet;
    /** contract (lower-case) → asset id */
    tokens: Map<string, string>;
    warn: (fields: object, msg: string) => void;
  },
): Transfer | null {
  const { from, blocks, watched, tokens } = at;
  const bad: (what: string) => never = rpc.bad;
  const incomplete: (what: string) => never = rpc.incomplete;
  const l = rpc.object(raw, "log");
  if (l.removed === true) return null;
  if (typeof l.address !== "string" || !ADDRESS.test(l.address)) bad("log address");
  const asset = tokens.get(l.address.toLowerCase());
  if (!asset) return null; // the node ignored the address filter: not ours
  if (!Array.isArray(l.topics) || !l.topics.every((t) => typeof t === "string" && WORD.test(t)))
    bad("log topics");
  const topics = l.topics as string[];
  // 3 topics = ERC-20 Transfer; ERC-721 has 4 and the same topic0.
  if (topics.length !== 3 || topics[0]!.toLowerCase() !== TRANSFER_TOPIC) return null;
  const blockNumber = rpc.smallInt(l.blockNumber, "log blockNumber");
  const block = blocks[blockNumber - from];
  if (!block || block.ref.number !== blockNumber)
    bad(`log of block ${blockNumber} outside the range asked for`);
  if (rpc.hash(l.blockHash, "log blockHash") !== block.ref.hash)
    incomplete(
      `a log of block ${blockNumber} names another block hash (reorg during fetch, or a stale index)`,
    );
  const txid = rpc.hash(l.transactionHash, "log transactionHash");
  const index = rpc.smallInt(l.logIndex, "log logIndex");
  const address = "0x" + topics[2]!.slice(26).toLowerCase();
  if (!watched.has(address)) return null;
  if (typeof l.data !== "string" || !WORD.test(l.data)) {
    // A token that does not follow ERC-20 here cannot be trusted for an amount.
    at.warn({ txid, index, asset }, "Transfer log without a 32-byte amount ignored");
    return null;
  }
  const amount = BigInt(l.data);
  if (amount === 0n) return null; // zero-value transfers pay nothing (address-poisoning spam)
  return {
    txid,
    index,
    via: "log",
    asset,
    address,
    amount,
    block: { number: block.ref.number, hash: block.ref.hash, timestamp: block.ref.timestamp },
  };
}
