// Bitcoin catch-up on a real regtest bitcoind: 1,000 blocks holding 5,000 payments to 5,000 watched
// addresses (derived from a tpub, as an xpub pool would), stored through the watcher and ledger.
// Reports blocks/s and RPC HTTP requests per block.
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ecc from "@bitcoinerlab/secp256k1";
import { BIP32Factory } from "bip32";
import { networks } from "bitcoinjs-lib";
import { pino } from "pino";
import { createBitcoinAdapter } from "../src/chains/bitcoin/adapter.js";
import { createBitcoinAddressCodec, createBitcoinDeriver } from "../src/chains/bitcoin/address.js";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { openDatabase } from "../src/db/index.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { importPoolFile } from "../src/pool/index.js";
import { createWatcher } from "../src/watch/index.js";
import { startBitcoind } from "../test/helpers/bitcoind.js";
import type { BenchRow } from "./types.js";

const BLOCKS = 1000;
const PER_BLOCK = 5;

export async function run(): Promise<BenchRow[]> {
  const node = await startBitcoind();
  const dir = mkdtempSync(join(tmpdir(), "depositd-btc-bench-"));
  try {
    await node.fund();
    const tpub = BIP32Factory(ecc)
      .fromSeed(randomBytes(32), networks.testnet)
      .derivePath("m/84'/1'/0'")
      .neutered()
      .toBase58();
    const deriver = createBitcoinDeriver(tpub, "p2wpkh", "regtest");
    const addresses = Array.from({ length: BLOCKS * PER_BLOCK }, (_, i) => deriver.derive(i).canonical);
    const start = (await node.height()) + 1;
    const t0 = performance.now();
    for (let b = 0; b < BLOCKS; b++) {
      const outputs = Object.fromEntries(
        addresses.slice(b * PER_BLOCK, (b + 1) * PER_BLOCK).map((a) => [a, "0.00010000"]),
      );
      await node.rpc("sendmany", ["", outputs], node.wallet);
      await node.mine(1);
    }
    const buildS = (performance.now() - t0) / 1000;
    const head = await node.height();

    const config = validateConfig(
      {
        database: { path: join(dir, "b.sqlite"), synchronous: "FULL" },
        api: { keys: [{ name: "shop", sha256: "0".repeat(64) }] },
        notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
        chains: [
          {
            id: "btc",
            kind: "bitcoin",
            backend: "core",
            network: "regtest",
            rpc: [node.rpcUrl],
            start_block: start,
            rpc_max_rps: 100_000, // a local node: no free-tier budget (the default, 20/s, is for providers)
            pool: { source: "static", low_water: 0 },
          },
        ],
        assets: [{ id: "BTC", chain: "btc", decimals: 8, confirmations: 1 }],
        log: { level: "silent" },
      },
      {},
    );
    const common = createCommon(config, { logger: pino({ level: "silent" }) });
    const db = openDatabase(config.database);
    const catalog = createCatalog(config);
    const ledger = createLedger(db, common, catalog);
    importPoolFile(db, "btc", createBitcoinAddressCodec("regtest"), addresses.join("\n"), Date.now());
    let requests = 0;
    const adapter = createBitcoinAdapter({
      chain: config.chains[0] as never,
      assets: catalog.assetsOfChain("btc"),
      onRequest: () => requests++,
    });
    const watcher = createWatcher({ chain: config.chains[0]!, adapter, ledger, common });
    const t1 = performance.now();
    for (;;) {
      const r = await watcher.runOnce();
      if (!r || r.to >= head) break;
    }
    const ms = performance.now() - t1;
    const stored = db.prepare("SELECT count(*) FROM payments").pluck().get() as number;
    await watcher.stop();
    db.close();
    if (stored !== BLOCKS * PER_BLOCK)
      throw new Error(`stored ${stored} payments, expected ${BLOCKS * PER_BLOCK}`);
    const blocks = head - start + 1;
    return [
      {
        bench: "bitcoin",
        metric: `catch-up ${blocks} regtest blocks, ${stored} payments stored (core backend)`,
        value: `${(ms / 1000).toFixed(2)} s = ${((blocks / ms) * 1000).toFixed(0)} blocks/s`,
        note: `5,000 watched p2wpkh addresses from a tpub; chain built in ${buildS.toFixed(0)} s (not timed)`,
      },
      {
        bench: "bitcoin",
        metric: "RPC HTTP requests per block (core backend)",
        value: (requests / blocks).toFixed(3),
        note: `${requests} requests: getblockhash batched, getblock verbosity 2 at most 10 per request`,
      },
    ];
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
