// Payments for accounting (GET /v1/exports/payments, `depositd export payments`): each payment with
// its order, amounts in base units and as a decimal, and the rate locked for its asset, as CSV or
// NDJSON. Read in keyset chunks of a prepared statement and yielded chunk by chunk, so memory stays
// flat however many rows match, and the connection is free between chunks (a better-sqlite3
// iterator would hold it for the whole download).
import { formatAmount } from "../core/amount.js";
import type { DB } from "../db/index.js";
import { iso } from "../time.js";
import { EXPORT_CHUNK, type PaymentExportRow, exportStatements } from "./statements.js";

export { EXPORT_CHUNK };

export const EXPORT_COLUMNS = [
  "payment_id",
  "order_id",
  "merchant_order_id",
  "chain",
  "asset",
  "address",
  "amount_base",
  "amount",
  "txid",
  "index",
  "block_number",
  "block_time",
  "status",
  "created_at",
  "currency",
  "rate",
] as const;
export type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | number | null>;

export interface ExportQuery {
  /** the key name whose orders' payments these are; null: every payment (an operator) */
  owner: string | null;
  /** created_at ≥ from (ms) */
  from: number;
  /** created_at < to (ms) */
  to: number;
  format: "csv" | "ndjson";
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvField(v: string | number | null): string {
  if (v === null) return "";
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(values: readonly (string | number | null)[]): string {
  return values.map(csvField).join(",") + "\r\n";
}

/**
 * The export as text chunks (one per EXPORT_CHUNK rows, the CSV header first). `decimalsOf`
 * formats base units of an asset; `onRead` is told how many rows each read returned.
 */
export async function* exportPayments(
  db: DB,
  q: ExportQuery,
  decimalsOf: (asset: string) => number,
  onRead?: (rows: number) => void,
): AsyncGenerator<string> {
  const s = exportStatements(db);
  const st = q.owner === null ? s.all : s.merchant;
  if (q.format === "csv") yield csvLine(EXPORT_COLUMNS);
  let after: [number, string] = [q.from - 1, "~"];
  for (;;) {
    const rows = st.all({
      afterCreated: after[0],
      afterId: after[1],
      to: q.to,
      ...(q.owner === null ? {} : { merchant: q.owner }),
    });
    onRead?.(rows.length);
    if (rows.length === 0) return;
    let out = "";
    for (const r of rows) {
      const row = view(r, decimalsOf(r.asset));
      out += q.format === "csv" ? csvLine(EXPORT_COLUMNS.map((c) => row[c])) : JSON.stringify(row) + "\n";
    }
    yield out;
    if (rows.length < EXPORT_CHUNK) return;
    const last = rows.at(-1)!;
    after = [last.created_at, last.id];
  }
}

function view(r: PaymentExportRow, decimals: number): ExportRow {
  return {
    payment_id: r.id,
    order_id: r.order_id,
    merchant_order_id: r.merchant_order_id,
    chain: r.chain,
    asset: r.asset,
    address: r.address,
    amount_base: r.amount,
    amount: formatAmount(BigInt(r.amount), decimals),
    txid: r.txid,
    index: r.idx,
    block_number: r.block_number,
    block_time: r.block_time === null ? null : iso(r.block_time),
    status: r.status,
    created_at: iso(r.created_at),
    currency: r.currency,
    rate: r.rate,
  };
}
