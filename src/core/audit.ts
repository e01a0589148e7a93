// The self-audit's judgement (issue 16): what a rescan of blocks [from, to] found against what the
// ledger stored for the same blocks. Pure; src/audit/ fetches and loads, then asks here.
import type { Transfer } from "../chains/types.js";

export interface StoredPayment {
  id: string;
  txid: string;
  idx: number;
  asset: string;
  address: string;
  amount: string;
  block_number: number | null;
  block_hash: string | null;
  status: "seen" | "confirmed" | "reverted";
}

export type AuditKind = "missing" | "extra" | "mismatch" | "wrong_status";

export interface AuditFinding {
  kind: AuditKind;
  txid: string;
  index: number;
  asset: string;
  block: number | null;
  /** the stored payment's id, when there is one */
  payment: string | null;
  detail: string;
  /** missing: the transfer the rescan found (what --repair records) */
  transfer?: Transfer;
}

const keyOf = (txid: string, index: number, asset: string) => `${txid}:${index}:${asset}`;

/**
 * `found`: the transfers the rescan returned; `canonical`: block number → hash for every block of
 * the range; `stored`: the ledger's payments whose block is in the range.
 */
export function compareRange(
  found: readonly Transfer[],
  stored: readonly StoredPayment[],
  canonical: ReadonlyMap<number, string>,
): AuditFinding[] {
  const out: AuditFinding[] = [];
  const byKey = new Map(stored.map((p) => [keyOf(p.txid, p.idx, p.asset), p]));
  const seen = new Set<string>();
  for (const t of found) {
    const k = keyOf(t.txid, t.index, t.asset);
    seen.add(k);
    const p = byKey.get(k);
    const at = { txid: t.txid, index: t.index, asset: t.asset, block: t.block?.number ?? null };
    if (!p) {
      out.push({ kind: "missing", ...at, payment: null, detail: `${t.amount} to ${t.address}`, transfer: t });
      continue;
    }
    if (p.amount !== t.amount.toString() || p.address !== t.address)
      out.push({
        kind: "mismatch",
        ...at,
        payment: p.id,
        detail: `stored ${p.amount} to ${p.address}, on chain ${t.amount} to ${t.address}`,
      });
    else if (p.status === "reverted" || p.block_hash !== t.block?.hash)
      out.push({
        kind: "wrong_status",
        ...at,
        payment: p.id,
        detail: `stored ${p.status} in block ${p.block_hash}, on chain in canonical block ${t.block?.hash}`,
      });
  }
  for (const p of stored) {
    if (p.status === "reverted" || seen.has(keyOf(p.txid, p.idx, p.asset))) continue;
    const at = { txid: p.txid, index: p.idx, asset: p.asset, block: p.block_number, payment: p.id };
    const hash = p.block_number === null ? undefined : canonical.get(p.block_number);
    if (hash !== undefined && hash !== p.block_hash)
      out.push({
        kind: "wrong_status",
        ...at,
        detail: `stored ${p.status} in block ${p.block_hash}, which is no longer canonical (${hash})`,
      });
    else
      out.push({
        kind: "extra",
        ...at,
        detail: `stored ${p.status} ${p.amount} to ${p.address}, not on chain`,
      });
  }
  return out;
}
