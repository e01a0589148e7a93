#!/usr/bin/env node
// The depositd command line: wiring only. Each command loads the config, does one thing, exits.
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command, Option } from "commander";
import { addressCodecFor, deriverFor } from "./chains/index.js";
import { createCommon, createLogger } from "./common.js";
import { ConfigError, type ResolvedConfig, loadConfig } from "./config/load.js";
import { openDatabase, migrateDatabase } from "./db/index.js";
import { startDaemon } from "./daemon.js";
import { createCatalog } from "./ledger/catalog.js";
import { createLedger } from "./ledger/index.js";
import { ProblemError } from "./errors.js";
import { AuditError, formatAudit, runAudit } from "./audit/index.js";
import { redeliverDead, redeliverEvent } from "./notify/redeliver.js";
import { PoolError, ensureDerived, importPoolFile, poolReuses, poolStatus } from "./pool/index.js";
import { type RateBook, createRateBook } from "./rates/index.js";
import type { ApiContext } from "./api/handlers.js";
import { buildOpenApi } from "./api/openapi.js";
import { type RawInput, invoke, routeById, routes } from "./api/routes.js";
import type { OrderJson } from "./api/schemas.js";

const program = new Command();
program
  .name("depositd")
  .description("Self-hosted deposit-address watcher: per-order addresses, chain watching, signed callbacks.")
  .version("0.1.0")
  .addOption(
    new Option("-c, --config <file>", "config file (YAML or JSON)")
      .default("config/depositd.yaml")
      .env("DEPOSITD_CONFIG"),
  )
  .showHelpAfterError();

function config(): ResolvedConfig {
  return loadConfig(program.opts<{ config: string }>().config);
}

function open(cfg: ResolvedConfig, rates?: RateBook) {
  // CLI commands print their own results; the ledger only logs warnings and worse
  const common = createCommon(cfg, { logger: createLogger("warn") });
  const db = openDatabase(cfg.database);
  const catalog = createCatalog(cfg, rates);
  return { common, db, catalog, ledger: createLedger(db, common, catalog) };
}

/** With rates.live, one pass over the markets now: a CLI create prices live pairs as serve does. */
async function liveRatesNow(cfg: ResolvedConfig): Promise<RateBook | undefined> {
  if (!cfg.rates.live) return undefined;
  const book = createRateBook({
    live: cfg.rates.live,
    assets: cfg.assets,
    hasStatic: (asset, currency) => cfg.rates.static[currency]?.[asset] !== undefined,
    now: Date.now,
    logger: createLogger("warn"),
  });
  await book.refresh();
  return book;
}

function print(v: unknown): void {
  console.log(JSON.stringify(v, null, 2));
}

program
  .command("serve")
  .description("run the daemon: API, watchers, callback delivery")
  .action(async () => {
    const cfg = config();
    const common = createCommon(cfg);
    const daemon = await startDaemon(common);
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      common.logger.info({ signal }, "signal received");
      daemon.stop().then(
        () => process.exit(0),
        (e: unknown) => {
          common.logger.error({ err: (e as Error).message }, "unclean shutdown");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGHUP", () => common.logger.info("SIGHUP: logs go to stdout (journald); nothing to reopen"));
  });

program
  .command("migrate")
  .description("apply pending database migrations (SQLite or PostgreSQL, as configured)")
  .action(async () => {
    const applied = await migrateDatabase(config().database);
    console.log(applied.length ? `applied migrations: ${applied.join(", ")}` : "database is up to date");
  });

program
  .command("migrate-to-postgres")
  .description(
    "copy the config's SQLite database (depositd stopped) into an empty PostgreSQL database in one transaction, verified by row counts and checksums; exit 0 only when every table matches",
  )
  .requiredOption("--to <url>", "postgres://user@host:port/database, without the password")
  .option("--password-file <file>", "the password's file (else PGPASSWORD, else none)")
  .option("--verify-only", "copy nothing: compare an earlier copy with the SQLite file again")
  .action(async (o: { to: string; passwordFile?: string; verifyOnly?: boolean }) => {
    const { runMigrateToPostgres } = await import("./cli/migrate-to-postgres.js");
    process.exitCode = await runMigrateToPostgres(config(), o);
  });

program
  .command("audit")
  .description(
    "rescan a block range (through another RPC URL than the watcher's when there is one) and compare it with the ledger; exit 0 only when it matches",
  )
  .requiredOption("--chain <id>", "chain id")
  .option("--from <n>", "first block (default: the chain's oldest stored payment)")
  .option("--to <m>", "last block (default: the last block the watcher scanned)")
  .option("--rpc <url>", "audit through this URL")
  .option("--repair", "record what is missing through the normal write path (events and all)")
  .action(async (opts: { chain: string; from?: string; to?: string; rpc?: string; repair?: boolean }) => {
    const cfg = config();
    const block = (v: string | undefined, flag: string) => {
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw new AuditError(`${flag} must be a block number, got "${v}"`);
      return Number(v);
    };
    const deps = open(cfg);
    try {
      const report = await runAudit(deps, {
        chain: opts.chain,
        from: block(opts.from, "--from"),
        to: block(opts.to, "--to"),
        rpc: opts.rpc,
        repair: opts.repair,
      });
      const { rows, summary } = formatAudit(report);
      if (rows.length) console.table(rows);
      console.log(summary);
      const unrepaired = report.findings.length - report.repaired;
      process.exitCode = unrepaired === 0 && (report.findings.length === 0 || opts.repair) ? 0 : 1;
    } finally {
      deps.db.close();
    }
  });

const configCmd = program.command("config").description("configuration tools");
configCmd
  .command("check")
  .description("validate the config file and print every problem as path: message")
  .action(() => {
    const cfg = config();
    console.log(`config ok: ${cfg.chains.length} chain(s), ${cfg.assets.length} asset(s)`);
  });

const pool = program.command("pool").description("address pools");
pool
  .command("import")
  .description("import a static pool file (one address per line, # comments); a bad line rejects the file")
  .requiredOption("--chain <id>", "chain id")
  .argument("<file>", "pool file")
  .action((file: string, opts: { chain: string }) => {
    const cfg = config();
    const chain = cfg.chains.find((c) => c.id === opts.chain);
    if (!chain) throw new PoolError(`unknown chain "${opts.chain}"`);
    if (chain.pool.source !== "static")
      throw new PoolError(`chain ${chain.id} has an ${chain.pool.source} pool; import needs a static one`);
    const db = openDatabase(cfg.database);
    const r = importPoolFile(
      db,
      chain.id,
      addressCodecFor(chain),
      readFileSync(file, "utf8"),
      Date.now(),
      file,
    );
    db.close();
    console.log(`imported ${r.added} new address(es) into ${chain.id} (${r.existing} already present)`);
  });
pool
  .command("status")
  .description("free / bound / resting addresses per chain, and the next xpub index")
  .action(() => {
    const cfg = config();
    const db = openDatabase(cfg.database);
    const rows = cfg.chains.map((c) => ({
      ...poolStatus(db, c.id, Date.now(), poolReuses(c.pool)),
      low_water: c.pool.low_water,
    }));
    db.close();
    console.table(rows);
  });
pool
  .command("derive")
  .description("print addresses derived from the chain's xpub (check them against your wallet)")
  .requiredOption("--chain <id>", "chain id")
  .option("--count <n>", "how many", "10")
  .option("--from <i>", "first index", "0")
  .option("--store", "also derive and store the configured lookahead")
  .action((opts: { chain: string; count: string; from: string; store?: boolean }) => {
    const cfg = config();
    const chain = cfg.chains.find((c) => c.id === opts.chain);
    if (!chain) throw new PoolError(`unknown chain "${opts.chain}"`);
    const deriver = deriverFor(chain);
    if (!deriver || chain.pool.source !== "xpub") throw new PoolError(`chain ${chain.id} has no xpub pool`);
    const from = Number(opts.from);
    const count = Number(opts.count);
    if (!Number.isInteger(from) || from < 0 || !Number.isInteger(count) || count < 1 || count > 100000) {
      throw new PoolError("--from must be ≥ 0 and --count 1–100000");
    }
    for (let i = from; i < from + count; i++) console.log(`${i}\t${deriver.derive(i).display}`);
    if (opts.store) {
      const db = openDatabase(cfg.database);
      ensureDerived(db, chain.id, deriver, chain.pool.lookahead, Date.now());
      db.close();
    }
  });

const orders = program
  .command("orders")
  .description("orders, straight from the database (same rules as the API)");
const merchantOpt = () =>
  new Option("--merchant <name>", "API key name the order belongs to (default: the first key)");

/** Runs one API operation on the database directly: the API's handler and schemas, no HTTP. */
async function api(operationId: string, o: { merchant?: string }, input: Omit<RawInput, "caller">) {
  const { out, close } = await invokeLocal(operationId, o, input);
  close();
  return out.body;
}

async function invokeLocal(
  operationId: string,
  o: { merchant?: string },
  input: Omit<RawInput, "caller">,
  caller?: { name: string; role: "merchant" | "operator" },
) {
  const cfg = config();
  const rates = operationId === "createOrder" ? await liveRatesNow(cfg) : undefined;
  const { common, db, catalog, ledger } = open(cfg, rates);
  const ctx: ApiContext = {
    db,
    ledger,
    catalog,
    common,
    log: common.logger,
    createOrder: async (merchant, body) => ledger.createOrder(merchant, body, common.now()),
    health: () => {
      throw new Error("health is the daemon's, not the CLI's");
    },
    openapi: () => JSON.stringify(buildOpenApi(routes)),
  };
  // the CLI is the operator: it sees every order; new orders belong to --merchant
  const out = await invoke(routeById(operationId), ctx, {
    caller: {
      name: o.merchant ?? cfg.api.keys[0]!.name,
      role: "operator",
      scopes: ["read", "write"],
      ...caller,
    },
    ...input,
  });
  return { out, close: () => db.close() };
}

orders
  .command("create")
  .description("create an order (POST /v1/orders)")
  .addOption(merchantOpt())
  .requiredOption("--id <merchant_order_id>", "your order id")
  .requiredOption("--amount <decimal>", "amount, e.g. 12.5")
  .requiredOption("--currency <code>", "asset id or currency with configured rates")
  .requiredOption("--callback <url>", "callback URL")
  .option("--assets <ids>", "comma-separated asset ids")
  .option("--valid-minutes <n>", "validity")
  .action(async (o: Record<string, string | undefined>) => {
    const body = {
      merchant_order_id: o.id,
      amount: o.amount,
      currency: o.currency,
      callback_url: o.callback,
      ...(o.assets ? { assets: o.assets.split(",") } : {}),
      ...(o.validMinutes ? { valid_minutes: Number(o.validMinutes) } : {}),
    };
    print(await api("createOrder", o, { body }));
  });
orders
  .command("show")
  .description("one order with its payments (GET /v1/orders/{id})")
  .addOption(merchantOpt())
  .argument("<id>", "order id (ord_…)")
  .action(async (id: string, o: { merchant?: string }) =>
    print(await api("getOrder", o, { params: { id } })),
  );
for (const [name, operationId, what] of [
  ["cancel", "cancelOrder", "cancel an order that is not paid"],
  ["accept", "acceptOrder", "settle an underpaid order by hand as paid"],
] as const) {
  orders
    .command(name)
    .description(`${what} (POST /v1/orders/{id}/${name})`)
    .addOption(merchantOpt())
    .argument("<id>", "order id")
    .action(async (id: string, o: { merchant?: string }) =>
      print(await api(operationId, o, { params: { id } })),
    );
}
orders
  .command("list")
  .description("newest orders first (GET /v1/orders)")
  .addOption(merchantOpt())
  .option("--status <s>", "only this status")
  .option("--limit <n>", "how many (1–1000)", "20")
  .action(async (o: { merchant?: string; status?: string; limit: string }) => {
    const r = (await api("listOrders", o, {
      query: { limit: o.limit, ...(o.status ? { status: o.status } : {}) },
    })) as { orders: OrderJson[] };
    console.table(
      r.orders.map((x) => ({
        id: x.id,
        merchant_order_id: x.merchant_order_id,
        status: x.status,
        amount: `${x.amount} ${x.currency}`,
        paid: x.paid_amount,
        created_at: x.created_at,
      })),
    );
  });

program
  .command("export")
  .description("exports for accounting")
  .command("payments")
  .description("payments with their order, amounts and locked rate to stdout (GET /v1/exports/payments)")
  .option("--from <time>", "first seen at or after (RFC 3339)")
  .option("--to <time>", "first seen before (RFC 3339)")
  .option("--format <f>", "csv or ndjson", "csv")
  .option("--merchant <name>", "only the payments of this key name's orders (default: every payment)")
  .action(async (o: { from?: string; to?: string; format: string; merchant?: string }) => {
    const query = { format: o.format, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) };
    const { out, close } = await invokeLocal(
      "exportPayments",
      {},
      { query },
      o.merchant ? { name: o.merchant, role: "merchant" } : undefined,
    );
    // chunk by chunk, waiting for stdout to drain (a pipe into a slow consumer stays flat in memory)
    await pipeline(Readable.from(out.stream!), process.stdout, { end: false });
    close();
  });

program
  .command("events")
  .description("callback events")
  .command("redeliver")
  .description("queue one event (by id) or every dead event since a time for delivery again")
  .argument("[id]", "event id (evt_…)")
  .option("--dead", "all dead events")
  .option("--since <time>", "with --dead: RFC 3339 time or a duration like 24h", "24h")
  .action((id: string | undefined, o: { dead?: boolean; since: string }) => {
    const cfg = config();
    const db = openDatabase(cfg.database);
    if (id) {
      if (!redeliverEvent(db, id, Date.now()))
        throw new ProblemError("not_found", `event ${id} not found or has no URL`);
      console.log(`queued ${id}`);
    } else if (o.dead) {
      const m = /^([0-9]+)([smhd])$/.exec(o.since);
      const since = m
        ? Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as "s" | "m" | "h" | "d"]
        : Date.parse(o.since);
      if (!Number.isFinite(since))
        throw new ProblemError("validation", "--since must be RFC 3339 or like 24h");
      console.log(`queued ${redeliverDead(db, since, Date.now())} dead event(s)`);
    } else {
      throw new ProblemError("validation", "give an event id or --dead");
    }
    db.close();
  });

const dev = program
  .command("dev")
  .description("the embedded default: local EVM node (anvil), test token, dev config and pool, demo flow")
  .option("--dir <dir>", "where the dev config, state and database go", ".dev")
  .option("--port <port>", "API port", "8787")
  .option("--no-demo", "skip the demo order")
  .option("--exit-after-demo", "stop after the demo (CI)")
  .action(async (o: { dir: string; port: string; demo: boolean; exitAfterDemo?: boolean }) => {
    const { runDev } = await import("./dev/index.js");
    await runDev({ dir: o.dir, port: Number(o.port), demo: o.demo, exitAfterDemo: o.exitAfterDemo });
    if (o.exitAfterDemo) process.exit(0);
  });
dev
  .command("pay")
  .description("pay from the dev node's funded account")
  .requiredOption("--to <address>", "deposit address")
  .requiredOption("--asset <id>", "ETH or USDT-DEV")
  .requiredOption("--amount <decimal>", "amount, e.g. 5")
  .option("--dir <dir>", "the dev folder", ".dev")
  .action(async (o: { to: string; asset: string; amount: string; dir: string }) => {
    const { runDevPay } = await import("./dev/index.js");
    await runDevPay(o);
  });

program
  .command("status")
  .description("one screen for an operator: chains, pools, outbox, orders in the last 24 h")
  .action(async () => {
    const { printStatus } = await import("./cli/status.js");
    printStatus(config());
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(2);
  }
  if (e instanceof AuditError) {
    // a usage error (unknown chain, bad range): 2, apart from 1 = findings remain
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  if (e instanceof ProblemError || e instanceof PoolError) {
    console.error(`error: ${e.message}`);
    // the API's field problems, one per line, as config check prints them
    if (e instanceof ProblemError) for (const f of e.errors ?? []) console.error(`  ${f.path}: ${f.message}`);
    process.exit(1);
  }
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
