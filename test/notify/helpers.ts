// Shared fixtures for the notify tests: a minimal valid config, orders/events rows written with SQL,
// and real HTTP receivers on 127.0.0.1 that record what arrived.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ResolvedConfig } from "../../src/config/load.js";
import type { DB } from "../../src/db/index.js";
import { testCommon, testConfig as sharedTestConfig } from "../helpers/config.js";

export const SECRET = "whsec_test_secret_0123456789abcdef";
export const OLD_SECRET = "whsec_old_secret_fedcba9876543210";

/** The shared test config with these tests' callback secret and a short retry schedule. */
export function testConfig(notify: Record<string, unknown> = {}): ResolvedConfig {
  return sharedTestConfig({
    notify: {
      secrets: [{ id: "k1", value: SECRET }],
      allow_private_targets: true,
      timeout_ms: 1000,
      retry_schedule_s: [0.05, 0.15, 0.4],
      ...notify,
    },
  });
}

export { testCommon };

export function insertOrder(db: DB, id: string, callbackUrl: string, at = Date.now()): void {
  db.prepare(
    `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
       underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at, expires_at, late_until)
     VALUES (?, 'shop', ?, 'pending', '10000', 'USD', 2, '0', '0', ?, 'h', ?, ?, ?, ?)`,
  ).run(id, `m-${id}`, callbackUrl, at, at, at + 1_800_000, at + 90_000_000);
}

export interface TestEvent {
  id: string;
  orderId: string | null;
  seq: number | null;
  type?: string;
  url: string | null;
  at?: number;
}

/** The compact JSON the daemon signs, shaped like a real callback body. */
export function eventBody(e: TestEvent): string {
  return JSON.stringify({
    id: e.id,
    type: e.type ?? "order.paid",
    seq: e.seq,
    created_at: new Date(e.at ?? 0).toISOString(),
    order: e.orderId
      ? { id: e.orderId, status: "paid", amount: "100", currency: "USD", metadata: { note: "ünïcødé ✓" } }
      : null,
    payment: { id: "pay_1", chain: "anvil", amount: "1000000000000000000", asset: "ETH" },
  });
}

/** Inserts events the way the rest of the daemon does: pending (skipped when url is NULL), due at creation. */
export function insertEvents(db: DB, events: TestEvent[]): void {
  const stmt = db.prepare(
    `INSERT INTO events (id, order_id, seq, type, payment_id, url, body, state, attempts, next_attempt_at, lease_until, created_at)
     VALUES (@id, @orderId, @seq, @type, 'pay_1', @url, @body, @state, 0, @at, 0, @at)`,
  );
  db.transaction(() => {
    for (const e of events) {
      const at = e.at ?? Date.now();
      stmt.run({
        id: e.id,
        orderId: e.orderId,
        seq: e.seq,
        type: e.type ?? "order.paid",
        url: e.url,
        body: eventBody({ ...e, at }),
        state: e.url === null ? "skipped" : "pending",
        at,
      });
    }
  })();
}

export interface Received {
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
  server: Server;
}

export type Answer = (req: Received, res: ServerResponse, index: number) => void | Promise<void>;

/** A real HTTP receiver; `answer` decides the response (default 200 "ok"). */
export async function startReceiver(
  answer: Answer = (_r, res) => void res.end("ok"),
  path = "/hook",
): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      received.push(r);
      void Promise.resolve(answer(r, res, received.length - 1)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function eventRow(
  db: DB,
  id: string,
): { state: string; attempts: number; next_attempt_at: number; lease_until: number } {
  return db
    .prepare("SELECT state, attempts, next_attempt_at, lease_until FROM events WHERE id = ?")
    .get(id) as {
    state: string;
    attempts: number;
    next_attempt_at: number;
    lease_until: number;
  };
}

export function attemptsOf(
  db: DB,
  id: string,
): {
  attempt: number;
  started_at: number;
  latency_ms: number;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
}[] {
  return db
    .prepare("SELECT * FROM delivery_attempts WHERE event_id = ? ORDER BY attempt")
    .all(id) as ReturnType<typeof attemptsOf>;
}
