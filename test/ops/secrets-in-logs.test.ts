// The whole daemon, logging at trace level into memory, handles requests, callbacks and failing
// nodes; none of the secrets it was given may appear in what it logged or exposed in /metrics.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { printStatus } from "../../src/cli/status.js";
import { createCommon, createLogger } from "../../src/common.js";
import { validateConfig } from "../../src/config/load.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import { verifySignature } from "../../src/notify/verify.js";
import { evmPoolText } from "../helpers/config.js";

const API_KEY = "sk_live_apikey_SECRET_4242424242";
const WRONG_KEY = "sk_live_wrongkey_SECRET_1313131313";
const CALLBACK_SECRET = "whsec_callback_SECRET_abcdef0123456789";
const TRON_API_KEY = "tron-api-key-SECRET-77777777";
const BTC_PASSWORD = "btcRpcPasswordSECRET99";
// provider keys inside RPC URLs: a path key (Alchemy /v2/, Infura /v3/) and a query key
const RPC_PATH_KEY = "k3yInPathSECRET0123456789abcdef";
const RPC_QUERY_KEY = "queryKeySECRET5555";
const SECRETS = {
  RPC_PATH_KEY,
  RPC_QUERY_KEY,
  API_KEY,
  WRONG_KEY,
  CALLBACK_SECRET,
  TRON_API_KEY,
  BTC_PASSWORD,
  BTC_BASIC: Buffer.from(`btcuser:${BTC_PASSWORD}`).toString("base64"),
};

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 8000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("secrets never reach the logs", () => {
  const dir = mkdtempSync(join(tmpdir(), "depositd-secrets-"));
  let logText = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString("utf8");
      done();
    },
  });
  // a "node" that fails every request (so errors get logged) and remembers what it was sent
  const nodeHeaders: IncomingHttpHeaders[] = [];
  const node = createServer((req, res) => {
    nodeHeaders.push(req.headers);
    req.resume();
    // like providers that quote the request in their errors
    res.writeHead(500, { "content-type": "text/plain" }).end(`node exploded at ${req.url ?? ""}`);
  });
  // a callback receiver that fails the first attempt and acknowledges the next
  const received: { body: string; signature: string; status: number }[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const status = received.length === 0 ? 500 : 200;
      received.push({ body, signature: String(req.headers["depositd-signature"]), status });
      res.writeHead(status).end(status === 200 ? "ok" : "try again");
    });
  });
  let daemon: Daemon;
  let base = "";
  let hookUrl = "";
  let metricsText = "";
  let healthText = "";
  let statusText = "";
  let config: ReturnType<typeof validateConfig>;

  beforeAll(async () => {
    const nodePort = await listen(node);
    hookUrl = `http://127.0.0.1:${await listen(receiver)}/hook`;
    // secrets arrive the way systemd's LoadCredential= hands them over: as files
    writeFileSync(join(dir, "callback-secret"), `${CALLBACK_SECRET}\n`);
    writeFileSync(join(dir, "api-key.sha256"), createHash("sha256").update(API_KEY).digest("hex"));
    writeFileSync(join(dir, "eth.txt"), evmPoolText(3).text);
    config = validateConfig(
      {
        database: { path: join(dir, "depositd.sqlite"), synchronous: "NORMAL" },
        api: {
          listen: "127.0.0.1:0",
          keys: [{ name: "shop", sha256: { file: join(dir, "api-key.sha256") } }],
        },
        checkout: { listen: "127.0.0.1:0" },
        notify: {
          secrets: [{ id: "k1", value: { file: join(dir, "callback-secret") } }],
          allow_private_targets: true,
          timeout_ms: 2000,
          retry_schedule_s: [0.05, 0.1, 0.2],
        },
        rates: { static: { USD: { ETH: "3000", TRX: "0.25", BTC: "95000" } } },
        chains: [
          {
            id: "eth",
            kind: "evm",
            rpc: [`http://127.0.0.1:${nodePort}/v2/${RPC_PATH_KEY}?apikey=${RPC_QUERY_KEY}`],
            chain_id: 1,
            poll_interval_ms: 100,
            request_timeout_ms: 1000,
            pool: { source: "static", file: join(dir, "eth.txt"), low_water: 0 },
          },
          {
            id: "tron",
            kind: "tron",
            rpc: [`http://127.0.0.1:${nodePort}`],
            api_key: { env: "DEPOSITD_TEST_TRON_KEY" },
            poll_interval_ms: 100,
            request_timeout_ms: 1000,
            pool: {
              source: "xpub",
              xpub: "xpub6D1AabNHCupeiLM65ZR9UStMhJ1vCpyV4XbZdyhMZBiJXALQtmn9p42VTQckoHVn8WNqS7dqnJokZHAHcHGoaQgmv8D45oNUKx6DZMNZBCd",
              lookahead: 3,
              low_water: 0,
            },
          },
          {
            id: "btc",
            kind: "bitcoin",
            rpc: [`http://btcuser:${BTC_PASSWORD}@127.0.0.1:${nodePort}`],
            poll_interval_ms: 100,
            request_timeout_ms: 1000,
            pool: {
              source: "xpub",
              xpub: "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
              lookahead: 3,
              low_water: 0,
            },
          },
        ],
        assets: [
          { id: "ETH", chain: "eth", decimals: 18 },
          { id: "TRX", chain: "tron", decimals: 6 },
          { id: "BTC", chain: "btc", decimals: 8 },
        ],
        orders: { timer_interval_ms: 100 },
        log: { level: "trace" },
      },
      { DEPOSITD_TEST_TRON_KEY: TRON_API_KEY },
    );
    const common = createCommon(config, { logger: createLogger("trace", sink) });
    daemon = await startDaemon(common);
    base = `http://127.0.0.1:${daemon.address.port}`;
  });

  afterAll(async () => {
    await daemon?.stop();
    node.closeAllConnections();
    receiver.closeAllConnections();
    await Promise.all([new Promise((r) => node.close(r)), new Promise((r) => receiver.close(r))]);
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: unknown, key = API_KEY) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  };

  it("behavior: the API, callbacks, failing nodes and shutdown log no secret", async () => {
    // error paths first: a wrong key, bad JSON, a bad field, unknown and disallowed routes
    expect((await call("GET", "/v1/assets", undefined, WRONG_KEY)).status).toBe(401);
    expect((await call("POST", "/v1/orders", "{not json")).status).toBe(400);
    expect((await call("POST", "/v1/orders", { merchant_order_id: "S-1", amount: "-1" })).status).toBe(400);
    expect((await call("GET", "/v1/nope")).status).toBe(404);
    expect((await call("DELETE", "/v1/orders")).status).toBe(405);
    expect((await call("POST", "/v1/orders", { pad: "x".repeat(70_000) })).status).toBe(413);

    // the happy path: an order, cancelled, its callback failing once then delivered
    const created = await call("POST", "/v1/orders", {
      merchant_order_id: "S-1",
      amount: "1",
      currency: "USD",
      callback_url: hookUrl,
    });
    expect(created.status).toBe(201);
    expect((await call("POST", `/v1/orders/${created.body.id}/cancel`)).status).toBe(200);
    const delivered = await until("the callback to be delivered", async () => {
      const events = (await call("GET", `/v1/orders/${created.body.id}/events`)).body.events as any[];
      return events.find((e) => e.state === "delivered");
    });
    expect(delivered.delivery_attempts.map((a: any) => a.status_code)).toEqual([500, 200]);
    // the secret was used: the receiver can verify the signature with it
    expect(received.length).toBe(2);
    expect(verifySignature(received[1]!.body, received[1]!.signature, [CALLBACK_SECRET])).toBe(true);

    // the node was sent the tron API key and the bitcoin credentials, and failed on every call
    await until("the nodes to be asked with credentials", () =>
      nodeHeaders.some((h) => h["tron-pro-api-key"] === TRON_API_KEY) &&
      nodeHeaders.some((h) => h.authorization === `Basic ${SECRETS.BTC_BASIC}`)
        ? true
        : undefined,
    );
    await until("RPC failures to be logged", () =>
      logText.includes("rpc request failed") ? true : undefined,
    );

    const metrics = await fetch(`${base}/metrics`);
    metricsText = await metrics.text();
    expect(metricsText).toContain("depositd_rpc_requests_total");
    // the URL is a metrics label and in /healthz's last_error, redacted
    expect(metricsText).toContain('url="http://127.0.0.1:');
    expect(metricsText).toContain("/v2/***?apikey=***");
    await until("the eth chain's error in /healthz", async () => {
      healthText = await (await fetch(`${base}/healthz`)).text();
      return healthText.includes("node exploded at /v2/***") ? true : undefined;
    });
    // `depositd status` prints from the same config and database
    const printed: string[] = [];
    const spy = vi
      .spyOn(console, "log")
      .mockImplementation((...a: unknown[]) => void printed.push(a.join(" ")));
    const table = vi
      .spyOn(console, "table")
      .mockImplementation((t: unknown) => void printed.push(JSON.stringify(t)));
    try {
      printStatus(config);
    } finally {
      spy.mockRestore();
      table.mockRestore();
    }
    statusText = printed.join("\n");
    expect(statusText).toContain("eth");

    // anything logging request headers is covered by the redaction paths
    createLogger("trace", sink).info({ req: { headers: { authorization: `Bearer ${API_KEY}` } } }, "probe");

    await daemon.stop();

    // the log is real: it holds the events an operator reads
    for (const line of [
      "merchant API listening",
      "order created",
      "rpc request failed",
      "stopped cleanly",
      "probe",
    ])
      expect(logText, line).toContain(line);
    expect(logText.split("\n").filter(Boolean).length).toBeGreaterThan(10);
    for (const l of logText.split("\n").filter(Boolean)) JSON.parse(l); // pino JSON, one object a line

    expect(logText).toContain("/v2/***?apikey=***"); // the URL is logged, redacted
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(logText.includes(secret), `${name} in the log`).toBe(false);
      expect(metricsText.includes(secret), `${name} in /metrics`).toBe(false);
      expect(healthText.includes(secret), `${name} in /healthz`).toBe(false);
      expect(statusText.includes(secret), `${name} in depositd status`).toBe(false);
    }
  });
});
