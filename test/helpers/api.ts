import { createApi } from "../../src/api/server.js";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import type { ResolvedConfig } from "../../src/config/load.js";
import { openDatabase } from "../../src/db/index.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { importPoolFile } from "../../src/pool/index.js";
import { API_KEY, evmPoolText, testCommon } from "./config.js";

/** The ledger and merchant API over a real SQLite database, without watchers. */
export async function startApi(
  config: ResolvedConfig,
  opts: { pool?: number; now?: () => number; dbPath?: string; synchronous?: "FULL" | "NORMAL" } = {},
) {
  const common = testCommon(config, opts.now);
  const db = openDatabase(opts.dbPath ?? config.database, { synchronous: opts.synchronous ?? "NORMAL" });
  const catalog = createCatalog(config);
  const ledger = createLedger(db, common, catalog);
  const pool = evmPoolText(opts.pool ?? 10);
  importPoolFile(db, "anvil", createEvmAddressCodec(), pool.text, common.now());
  // every answer is checked against its documented schema: an undocumented field is a 500
  const api = createApi({
    db,
    ledger,
    catalog,
    common,
    health: () => ({ ok: true, checks: {} }),
    checkResponses: true,
  });
  const { port } = await api.listen();
  const base = `http://127.0.0.1:${port}`;
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, type: res.headers.get("content-type"), body: json };
  }
  return {
    db,
    ledger,
    common,
    api,
    base,
    pool: pool.addresses,
    call,
    async close() {
      await api.close();
      db.close();
    },
  };
}
