// The whole configuration as one zod schema. Every field has a .describe(): docs/config.md is
// generated from them (scripts/gen-config-doc.ts), so the docs cannot drift from the code.
import { z } from "zod";
import { DECIMAL, TOLERANCE } from "../core/amount.js";
import { PROVIDER_KINDS } from "../rates/providers.js";
import { CHAIN_KINDS, assetIssues, kindList } from "../chains/kinds.js";
import { httpUrl, secretRef } from "./fields.js";

const decimalString = z.string().regex(DECIMAL, 'must be a plain decimal string like "12.5"');
const toleranceString = z
  .string()
  .regex(TOLERANCE, 'must be a decimal string ("1.5") or a percentage ("0.5%")');
const assetId = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/, "must be upper-case letters, digits, . _ - (≤ 32)");
const chainId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be lower-case letters, digits, _ - (≤ 32)");
const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, "must be host:port, e.g. 127.0.0.1:8787");

const poolPurpose = z
  .enum(["orders", "accounts", "both"])
  .optional()
  .describe(
    "what this pool's addresses are bound to: orders, deposit accounts, or both (unset: both; low_water counts both)",
  );

const poolSchema = z
  .discriminatedUnion("source", [
    z
      .object({
        source: z.literal("static").describe("addresses from a file, one per line"),
        file: z
          .string()
          .min(1)
          .optional()
          .describe("pool file imported idempotently at start (and by `pool import`)"),
        cooldown_minutes: z
          .number()
          .int()
          .min(0)
          .default(4320)
          .describe("how long a released static address rests before it can be bound again"),
        low_water: z.number().int().min(0).default(10).describe("warn when fewer free addresses remain"),
        purpose: poolPurpose,
      })
      .strict(),
    z
      .object({
        source: z.literal("xpub").describe("addresses derived from a watch-only extended public key"),
        xpub: z
          .string()
          .min(1)
          .describe("account-level extended PUBLIC key (xpub/ypub/zpub/tpub/vpub); never a private key"),
        path: z
          .string()
          .regex(/^m(\/[0-9]+'?)*$/)
          .optional()
          .describe(
            "account path the key was exported at; the key must sit at its depth (and, when set, at its last step); addresses are <path>/0/i. Default: m/44'/60'/0' (EVM), m/44'/195'/0' (Tron), BIP44/49/84/86 by script, coin 0' mainnet or 1' otherwise (Bitcoin)",
          ),
        script: z
          .enum(["p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr"])
          .default("p2wpkh")
          .describe("bitcoin only: address type derived from the key"),
        lookahead: z
          .number()
          .int()
          .min(1)
          .max(100000)
          .default(100)
          .describe("addresses derived and watched ahead of use"),
        reuse: z
          .boolean()
          .default(false)
          .describe("allow a derived address to be bound again after its cooldown"),
        cooldown_minutes: z
          .number()
          .int()
          .min(0)
          .default(4320)
          .describe("rest time before reuse (only with reuse: true)"),
        low_water: z.number().int().min(0).default(10).describe("warn when fewer free addresses remain"),
        purpose: poolPurpose,
      })
      .strict(),
  ])
  .describe("where this chain's deposit addresses come from");

const chainCommon = {
  id: chainId.describe("operator's name for the chain (eth, bsc, tron, btc, anvil)"),
  rpc: z.array(httpUrl).min(1).describe("node URLs; several = failover in order"),
  poll_interval_ms: z
    .number()
    .int()
    .min(50)
    .max(600000)
    .default(2000)
    .describe("how often the head is polled"),
  reorg_depth: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe(`blocks kept to detect reorgs (${kindList((k) => `${k.reorgDepth} ${k.kind}`)})`),
  start_block: z
    .union([z.literal("latest"), z.number().int().min(0)])
    .default("latest")
    .describe("where a chain with no cursor starts scanning"),
  batch_size: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe("JSON-RPC batch size (providers cap it)"),
  blocks_per_scan: z
    .number()
    .int()
    .min(1)
    .max(10000)
    .default(500)
    .describe("blocks fetched and written per transaction"),
  max_lag_blocks: z
    .number()
    .int()
    .min(1)
    .default(50)
    .describe("/healthz fails when the cursor is further behind the head"),
  request_timeout_ms: z.number().int().min(100).default(15000).describe("per HTTP request to a node"),
  explorer_url: httpUrl
    .refine((s) => s.includes("{txid}"), "must contain {txid}")
    .optional()
    .describe("a block explorer's transaction page for the console's links: {txid} is replaced"),
  rpc_max_rps: z
    .number()
    .positive()
    .max(100000)
    .optional()
    .describe(
      "request budget per RPC URL, HTTP requests per second (a JSON-RPC batch is one); default 20, suited to free tiers",
    ),
  rpc_max_in_flight: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe("requests in flight per RPC URL at most; default 4"),
  rpc_max_response_bytes: z
    .number()
    .int()
    .min(65536)
    .optional()
    .describe(
      "larger answers are cut off and retried elsewhere, so a broken node cannot exhaust memory; default 134217728 (128 MiB: a batch of 100 full mainnet blocks is 20–40 MB)",
    ),
  genesis: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, "a 32-byte block hash in hex")
    .optional()
    .describe(
      "pin the chain's genesis block hash (EVM block 0 hash, Bitcoin getblockhash 0, Tron block 0 blockID); default: the one stored at first start",
    ),
  rpc_quorum: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "distinct rpc URLs that must agree on a batch (block hashes, transfers into watched addresses) before it is committed; default 1: the URL in use alone, the others failover (docs/trust.md)",
    ),
  audit: z
    .object({
      enabled: z
        .boolean()
        .default(false)
        .describe("re-verify stored blocks in the background (never repairs)"),
      lag_blocks: z
        .number()
        .int()
        .min(0)
        .default(100)
        .describe("a range is audited once it is this many blocks below the scanned head"),
      batch_blocks: z.number().int().min(1).max(10000).default(500).describe("blocks audited per pass"),
      interval_ms: z
        .number()
        .int()
        .min(50)
        .max(3600000)
        .default(60000)
        .describe("pause between passes once the audit cursor has caught up"),
    })
    .strict()
    .optional()
    .describe("background self-audit through the audit URLs (docs/trust.md); default off"),
  pool: poolSchema,
};

const chainSchema = z
  .discriminatedUnion("kind", [
    z.object({ ...chainCommon, ...CHAIN_KINDS.evm.fields }).strict(),
    z.object({ ...chainCommon, ...CHAIN_KINDS.tron.fields }).strict(),
    z.object({ ...chainCommon, ...CHAIN_KINDS.bitcoin.fields }).strict(),
  ])
  .describe("one watched network");

const assetSchema = z
  .object({
    id: assetId.describe("operator-chosen asset id: ETH, USDT-ERC20, TRX, USDT-TRC20, BTC"),
    chain: chainId.describe("id of the chain it lives on"),
    contract: z.string().min(1).optional().describe("token contract; absent for the chain's native coin"),
    decimals: z.number().int().min(0).max(36).describe("base units per whole unit, as a power of ten"),
    confirmations: z
      .union([z.number().int().min(1).max(10000), z.literal("solidified")])
      .default(1)
      .describe("blocks (head − block + 1) before a payment counts; tron may say solidified"),
    enabled: z.boolean().default(true).describe("offered to new orders"),
    symbol: z
      .string()
      .regex(/^[A-Z0-9]{1,15}$/, "must be upper-case letters and digits (≤ 15)")
      .optional()
      .describe("market symbol for live rates (default: the id before its first '-', USDT-TRC20 → USDT)"),
  })
  .strict();

const liveRatesSchema = z
  .object({
    providers: z
      .array(
        z
          .object({
            kind: z
              .enum(PROVIDER_KINDS)
              .describe("which market: coinbase, kraken, bitstamp, binance, coingecko"),
            url: httpUrl.optional().describe("base URL instead of the market's own (a proxy; tests)"),
          })
          .strict(),
      )
      .min(1)
      .describe("public market APIs asked for prices; each kind at most once"),
    currencies: z
      .array(z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like USD"))
      .min(1)
      .default(["USD"])
      .describe("quote currencies priced live: every enabled asset is priced in each of them"),
    min_sources: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe("fewer fresh, agreeing sources → no rate (and no order in that pair)"),
    max_spread: z
      .string()
      .regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?%$/, 'must be a percentage like "1%"')
      .default("1%")
      .describe("a source further than this from the median is dropped"),
    max_age_seconds: z
      .number()
      .int()
      .min(5)
      .max(3600)
      .default(60)
      .describe("a source's price older than this is not fresh"),
    refresh_seconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(15)
      .describe("how often every pair is asked of every market, in the background"),
    usd_proxies: z
      .array(z.string().regex(/^[A-Z0-9]{1,15}$/))
      .default([])
      .describe(
        "stablecoins whose markets may stand for USD where a market has no USD pair (Binance: ETHUSDT); " +
          "default none, because a stablecoin is not a dollar (USDC traded at 0.87 in March 2023)",
      ),
  })
  .strict()
  .describe("live exchange rates: the median of several markets, refreshed in the background");

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
  .refine((u) => {
    try {
      return new URL(u).password === "";
    } catch {
      return false;
    }
  }, "must be a valid URL without a password (put it in database.password)");

const databaseSchema = z
  .discriminatedUnion(
    "engine",
    [
      z
        .object({
          engine: z
            .literal("sqlite")
            .default("sqlite")
            .describe("the embedded default: one file, nothing to run"),
          path: z
            .string()
            .min(1)
            .default("./data/depositd.sqlite")
            .describe("SQLite file (WAL mode); :memory: for tests"),
          synchronous: z.enum(["FULL", "NORMAL"]).default("FULL").describe("SQLite synchronous pragma"),
        })
        .strict(),
      z
        .object({
          engine: z
            .literal("postgres")
            .describe(
              "PostgreSQL ≥ 15: several instances on one database, one watcher per chain among them (docs/scaling.md)",
            ),
          url: postgresUrl.describe(
            "postgres://user@host:port/database (a unix socket: postgres://user@%2Frun%2Fpostgresql/database)",
          ),
          pool_size: z
            .number()
            .int()
            .min(1)
            .max(100)
            .default(10)
            .describe(
              "connections of `depositd migrate` and `migrate-to-postgres`; a running instance uses one for the ledger and two for leases and LISTEN",
            ),
          lease_ttl_ms: z
            .number()
            .int()
            .min(500)
            .max(600_000)
            .default(10_000)
            .describe(
              "how long a chain's watcher (and the timer runner) stays with an instance that stopped renewing; renewed every third of it and inside every write",
            ),
          password: secretRef
            .optional()
            .describe("the database user's password (none: trust, peer or .pgpass)"),
        })
        .strict(),
    ],
    {
      error: (iss) =>
        iss.code === "invalid_union" ? 'must be "sqlite" (the default) or "postgres"' : undefined,
    },
  )
  .default({ engine: "sqlite", path: "./data/depositd.sqlite", synchronous: "FULL" })
  .describe("where the state lives");

export const configSchema = z
  .object({
    database: databaseSchema,
    api: z
      .object({
        listen: listenAddress.default("127.0.0.1:8787").describe("host:port of the merchant API"),
        keys: z
          .array(
            z
              .object({
                name: z.string().min(1).max(64).describe("who holds the key; orders are scoped to it"),
                sha256: z
                  .union([z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex chars"), secretRef])
                  .describe("sha256 hex of the bearer key (never the key itself)"),
                role: z
                  .enum(["merchant", "operator"])
                  .default("merchant")
                  .describe(
                    "merchant: sees and changes only its own orders; operator: sees every order, owns " +
                      "unattributed payments (list, assign), can redeliver any event and signs in to /console",
                  ),
                scopes: z
                  .array(z.enum(["read", "write"]))
                  .min(1)
                  .default(["read", "write"])
                  .describe("read: GET endpoints; write: create, cancel, accept, assign, redeliver"),
              })
              .strict(),
          )
          .min(1)
          .describe("API keys, stored hashed"),
        max_body_bytes: z
          .number()
          .int()
          .min(1024)
          .max(1048576)
          .default(65536)
          .describe("larger request bodies get 413"),
        console_session_minutes: z
          .number()
          .int()
          .min(1)
          .max(1440)
          .default(30)
          .describe("an operator console sign-in lasts this long (then sign in again)"),
      })
      .strict()
      .describe("the merchant HTTP API"),
    notify: z
      .object({
        secrets: z
          .array(
            z
              .object({
                id: z.string().min(1).describe("a name for this secret (rotation, logs)"),
                value: secretRef,
              })
              .strict(),
          )
          .min(1)
          .max(2)
          .describe("callback signing secrets; two while rotating (both sign)"),
        allow_private_targets: z
          .boolean()
          .default(false)
          .describe("allow callback URLs on loopback/private networks"),
        unattributed_url: httpUrl.optional().describe("where payment.unattributed events go"),
        timeout_ms: z.number().int().min(100).max(120000).default(10000).describe("per delivery attempt"),
        retry_schedule_s: z
          .array(z.number().min(0))
          .min(1)
          .default([10, 60, 300, 1800, 7200, 21600, 43200, 86400])
          .describe("delays between attempts (±20% jitter); after the last the event is dead"),
        concurrency: z.number().int().min(1).max(1000).default(32).describe("deliveries in flight"),
        per_host_concurrency: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(8)
          .describe("deliveries in flight per receiver host"),
      })
      .strict()
      .describe("signed callbacks to the shop"),
    orders: z
      .object({
        valid_minutes: z
          .number()
          .int()
          .min(1)
          .max(10080)
          .default(30)
          .describe("default validity of a new order"),
        late_window_minutes: z
          .number()
          .int()
          .min(0)
          .max(525600)
          .default(1440)
          .describe("how long after expiry/settlement the address stays bound"),
        underpaid_tolerance: toleranceString.default("0").describe("default underpaid tolerance"),
        overpaid_tolerance: toleranceString.default("0").describe("default overpaid tolerance"),
        timer_interval_ms: z
          .number()
          .int()
          .min(50)
          .default(5000)
          .describe("how often expiry and late-window ends are checked"),
      })
      .strict()
      .default({
        valid_minutes: 30,
        late_window_minutes: 1440,
        underpaid_tolerance: "0",
        overpaid_tolerance: "0",
        timer_interval_ms: 5000,
      })
      .describe("order defaults and timers"),
    rates: z
      .object({
        static: z
          .record(z.string().regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/), z.record(assetId, decimalString))
          .default({})
          .describe("CURRENCY → { ASSET: price of 1 asset in the currency }"),
        decimals: z
          .record(z.string(), z.number().int().min(0).max(18))
          .default({})
          .describe("fraction digits of fiat currencies (default 2)"),
        live: liveRatesSchema.optional(),
      })
      .strict()
      .default({ static: {}, decimals: {} })
      .describe("prices for orders in currencies other than the asset paid"),
    checkout: z
      .object({
        enabled: z.boolean().default(true).describe("serve the customer's payment page"),
        listen: listenAddress
          .default("127.0.0.1:8788")
          .describe(
            "host:port of the checkout page's own listener (separate from the API, so the API can stay on loopback)",
          ),
        public_url: httpUrl
          .optional()
          .describe(
            "base URL customers reach the page at (behind a proxy); default http://<checkout.listen>",
          ),
        brand: z
          .object({
            name: z.string().min(1).max(80).default("depositd").describe("shop name in the page header"),
            color: z
              .string()
              .regex(/^#[0-9a-fA-F]{6}$/, "must be #rrggbb")
              .default("#1d4ed8")
              .describe("accent colour (#rrggbb)"),
            logo_file: z
              .string()
              .regex(/\.(png|svg|jpe?g|webp)$/i, "must be a .png, .svg, .jpg or .webp file")
              .optional()
              .describe("logo image read at start and served by depositd itself (no third-party request)"),
          })
          .strict()
          .default({ name: "depositd", color: "#1d4ed8" })
          .describe("what the customer sees of the shop"),
        qr: z
          .enum(["uri", "address"])
          .default("uri")
          .describe("QR content: a payment URI with the amount (BIP21, EIP-681), or the bare address"),
        tron_qr: z
          .enum(["address", "tip17"])
          .default("address")
          .describe(
            "Tron QR content: the bare address (every Tron wallet reads it) or tron:ADDR?amount= (TIP-17)",
          ),
        metadata_keys: z
          .array(z.string().min(1).max(64))
          .max(20)
          .default([])
          .describe("order metadata keys shown on the page (none by default)"),
        frame_ancestors: z
          .array(
            z
              .string()
              .regex(
                /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/,
                "must be an origin like https://shop.example",
              ),
          )
          .max(20)
          .default([])
          .describe("origins allowed to embed the page in an iframe (CSP frame-ancestors); none by default"),
        default_language: z
          .enum(["en", "zh", "es"])
          .default("en")
          .describe("when Accept-Language names none we have"),
        trust_proxy: z
          .array(z.string().regex(/^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/, "must be an IP address or CIDR"))
          .max(20)
          .default([])
          .describe(
            "reverse proxies (IPs/CIDRs) whose X-Forwarded-For names the customer, for the per-IP limits; none by default",
          ),
        rate_limit_per_minute: z
          .number()
          .int()
          .min(1)
          .max(100000)
          .default(240)
          .describe("requests per client IP per minute on the public routes (429 after)"),
        max_streams_per_ip: z
          .number()
          .int()
          .min(1)
          .max(100000)
          .default(20)
          .describe("open live-status streams (SSE) per client IP"),
        max_streams: z
          .number()
          .int()
          .min(1)
          .max(1000000)
          .default(20000)
          .describe("open live-status streams in total"),
        network_labels: z
          .record(chainId, z.string().min(1).max(40))
          .default({})
          .describe(
            "chain id → network name shown to customers (default from the chain kind and EIP-155 id)",
          ),
        asset_labels: z
          .record(assetId, z.string().min(1).max(20))
          .default({})
          .describe("asset id → symbol shown to customers (default: the id up to its first '-')"),
      })
      .strict()
      .default({
        enabled: true,
        listen: "127.0.0.1:8788",
        brand: { name: "depositd", color: "#1d4ed8" },
        qr: "uri",
        tron_qr: "address",
        metadata_keys: [],
        frame_ancestors: [],
        trust_proxy: [],
        default_language: "en",
        rate_limit_per_minute: 240,
        max_streams_per_ip: 20,
        max_streams: 20000,
        network_labels: {},
        asset_labels: {},
      })
      .describe("the customer's checkout page (src/checkout/)"),
    chains: z.array(chainSchema).min(1).describe("watched networks"),
    assets: z.array(assetSchema).min(1).describe("payable assets"),
    log: z
      .object({
        level: z
          .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
          .default("info")
          .describe("pino log level (JSON lines on stdout)"),
      })
      .strict()
      .default({ level: "info" })
      .describe("logging"),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const chainIds = new Set<string>();
    cfg.chains.forEach((c, i) => {
      if (chainIds.has(c.id))
        ctx.addIssue({ code: "custom", path: ["chains", i, "id"], message: `duplicate chain id "${c.id}"` });
      chainIds.add(c.id);
      // a quorum counts distinct URLs: the same node twice would be one node agreeing with itself
      const urls = new Set(c.rpc.map((u) => u.replace(/\/+$/, "")));
      if ((c.rpc_quorum ?? 1) > urls.size)
        ctx.addIssue({
          code: "custom",
          path: ["chains", i, "rpc_quorum"],
          message: `rpc_quorum ${c.rpc_quorum} needs at least ${c.rpc_quorum} distinct rpc URLs; chain "${c.id}" has ${urls.size}`,
        });
    });
    const assetIds = new Set<string>();
    const natives = new Set<string>();
    cfg.assets.forEach((a, i) => {
      if (assetIds.has(a.id))
        ctx.addIssue({ code: "custom", path: ["assets", i, "id"], message: `duplicate asset id "${a.id}"` });
      assetIds.add(a.id);
      const chain = cfg.chains.find((c) => c.id === a.chain);
      if (!chain) {
        ctx.addIssue({ code: "custom", path: ["assets", i, "chain"], message: `unknown chain "${a.chain}"` });
        return;
      }
      if (!a.contract) {
        if (natives.has(a.chain))
          ctx.addIssue({
            code: "custom",
            path: ["assets", i],
            message: `chain "${a.chain}" already has a native asset`,
          });
        natives.add(a.chain);
      }
      for (const issue of assetIssues(chain.kind, a))
        ctx.addIssue({ code: "custom", path: ["assets", i, issue.field], message: issue.message });
    });
    for (const [currency, table] of Object.entries(cfg.rates.static)) {
      for (const asset of Object.keys(table)) {
        if (!assetIds.has(asset))
          ctx.addIssue({
            code: "custom",
            path: ["rates", "static", currency, asset],
            message: `unknown asset "${asset}"`,
          });
      }
    }
    const live = cfg.rates.live;
    if (live) {
      const kinds = new Set<string>();
      live.providers.forEach((p, i) => {
        // the median counts markets: the same market twice would be two votes for one price
        if (kinds.has(p.kind))
          ctx.addIssue({
            code: "custom",
            path: ["rates", "live", "providers", i, "kind"],
            message: `provider "${p.kind}" is listed twice`,
          });
        kinds.add(p.kind);
      });
      if (live.min_sources > live.providers.length)
        ctx.addIssue({
          code: "custom",
          path: ["rates", "live", "min_sources"],
          message: `${live.min_sources} sources needed but only ${live.providers.length} provider(s) configured`,
        });
      if (live.refresh_seconds >= live.max_age_seconds)
        ctx.addIssue({
          code: "custom",
          path: ["rates", "live", "refresh_seconds"],
          message: `must be less than max_age_seconds (${live.max_age_seconds}), or every rate goes stale between refreshes`,
        });
      live.currencies.forEach((c, i) => {
        if (assetIds.has(c))
          ctx.addIssue({
            code: "custom",
            path: ["rates", "live", "currencies", i],
            message: `"${c}" is an asset id; an order in an asset's own currency needs no rate`,
          });
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type DatabaseConfig = Config["database"];
export type ChainConfig = Config["chains"][number];
export type AssetConfig = Config["assets"][number];
export type LiveRatesConfig = NonNullable<Config["rates"]["live"]>;

/** The market symbol of an asset: its `symbol`, else its id before the first '-'. */
export function marketSymbol(asset: Pick<AssetConfig, "id" | "symbol">): string {
  return asset.symbol ?? asset.id.split("-")[0]!;
}
export type PoolConfig = ChainConfig["pool"];
export type ChainKind = ChainConfig["kind"];
