// The fault suite's toolbox: the real daemon as a child process (`node dist/src/main.js serve`),
// a signature-checking receiver, a read-only look into the database, and the results table.
// DEPOSITD_CHAOS_FULL=1 (set by vitest.chaos.config.ts) selects the full sizes; `npm test` runs
// the reduced ones.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll } from "vitest";
import { PgDatabase } from "../../src/db/pg-sync.js";
import { freePort } from "../../src/dev/anvil.js";
import { verifySignature } from "../../src/notify/verify.js";
import { CALLBACK_SECRET, evmPoolText, rawConfig } from "../helpers/config.js";
import { type TokenChain, startTokenChain } from "../helpers/evm.js";
import { seededRandom } from "../helpers/flaky-proxy.js";

export const FULL = process.env.DEPOSITD_CHAOS_FULL === "1";
/** reduced size in `npm test`, full size in `npm run chaos` */
export const size = <T>(reduced: T, full: T): T => (FULL ? full : reduced);
/** one seed for the whole run; print it so a failing run can be replayed */
export const SEED = Number(process.env.DEPOSITD_CHAOS_SEED ?? 20261122);

export const MAIN = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
const SRC = fileURLToPath(new URL("../../src", import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(MAIN))
    throw new Error(
      `${MAIN} is missing: build first (npm test runs tsc in pretest; npm run chaos builds too)`,
    );
  // a stale build tests old code: say so loudly rather than quietly pass or fail
  if (statSync(join(SRC, "main.ts")).mtimeMs > statSync(MAIN).mtimeMs + 1000)
    console.warn("[chaos] dist/src/main.js is older than src/main.ts: run `npm run build` first");
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `depositd-${prefix}-`));
  // DEPOSITD_CHAOS_KEEP=1 keeps databases and daemon logs for a post-mortem
  const keep = process.env.DEPOSITD_CHAOS_KEEP === "1";
  if (keep) console.log(`[chaos] keeping ${dir}`);
  return { dir, remove: () => (keep ? undefined : rmSync(dir, { recursive: true, force: true })) };
}

export interface ChaosFixture {
  /** the token chain (anvil, kit, token), started before the file's tests */
  readonly chain: TokenChain;
  /** the merchant's receiver, started with the chain (unless receiverSeed is null) */
  readonly receiver: Receiver;
  readonly tmp: { dir: string; remove(): void };
  /** one more receiver, closed after the file */
  startReceiver(seed?: number): Promise<Receiver>;
  /** spawnDaemon, SIGKILLed after the file if still running */
  spawn(configPath: string, port: number, logFile?: string): DaemonProcess;
}

/**
 * What every chaos file starts from: a temp dir, a token chain and a receiver before its tests, and
 * after them every daemon it spawned killed and everything stopped and removed. `setup` runs before
 * the chain starts, `teardown` after it stopped (the disk test mounts and unmounts its filesystem).
 */
export function chaosFixture(
  name: string,
  opts: { receiverSeed?: number | null; setup?: () => void; teardown?: () => void } = {},
): ChaosFixture {
  const tmp = tempDir(name);
  let chain: TokenChain | undefined;
  let receiver: Receiver | undefined;
  const receivers: Receiver[] = [];
  const daemons = new Set<DaemonProcess>();
  const started = <T>(what: string, v: T | undefined): T => {
    if (v === undefined) throw new Error(`the chaos fixture's ${what} is not started (used outside a test?)`);
    return v;
  };
  const fixture: ChaosFixture = {
    get chain() {
      return started("chain", chain);
    },
    get receiver() {
      return started("receiver", receiver);
    },
    tmp,
    async startReceiver(seed = SEED) {
      const r = await startReceiver(seed);
      receivers.push(r);
      return r;
    },
    spawn(configPath, port, logFile) {
      const d = spawnDaemon(configPath, port, logFile);
      daemons.add(d);
      void d.exited.then(() => daemons.delete(d));
      return d;
    },
  };
  beforeAll(async () => {
    opts.setup?.();
    chain = await startTokenChain();
    if (opts.receiverSeed !== null) receiver = await fixture.startReceiver(opts.receiverSeed ?? SEED);
  });
  afterAll(async () => {
    for (const d of daemons) await d.kill("SIGKILL");
    for (const r of receivers) await r.close();
    await chain?.stop();
    opts.teardown?.();
    tmp.remove();
  });
  return fixture;
}

// ---------------------------------------------------------------------------------------------
// Config

export interface ChaosConfigArgs {
  dir: string;
  port: number;
  rpc: string[];
  token: string;
  startBlock: number;
  /** pool file with this many fresh addresses */
  poolSize: number;
  /** or exactly this pool (two daemons bound to the same addresses) */
  pool?: { text: string; addresses: string[] };
  dbPath?: string;
  /** instead of the SQLite file: this database config (PostgreSQL) */
  database?: Record<string, unknown>;
  ethConfirmations?: number;
  tokenConfirmations?: number;
  notify?: Record<string, unknown>;
  chain?: Record<string, unknown>;
}

/** Writes a full daemon config (JSON) and its pool file; returns the config path and the pool. */
export function writeDaemonConfig(a: ChaosConfigArgs): { path: string; dbPath: string; pool: string[] } {
  const pool = a.pool ?? evmPoolText(a.poolSize);
  const poolFile = join(a.dir, "pool.txt");
  writeFileSync(poolFile, pool.text);
  const dbPath = a.dbPath ?? join(a.dir, "depositd.sqlite");
  const base = rawConfig();
  const raw = {
    ...base,
    database: a.database ?? { path: dbPath, synchronous: "FULL" },
    api: { ...(base.api as object), listen: `127.0.0.1:${a.port}` },
    notify: {
      ...(base.notify as object),
      timeout_ms: 1000,
      retry_schedule_s: [0.1, 0.2, 0.4, 0.8, 1, 1, 1, 1, 1, 1],
      ...a.notify,
    },
    orders: { valid_minutes: 30, late_window_minutes: 60, underpaid_tolerance: "0", timer_interval_ms: 200 },
    chains: [
      {
        id: "anvil",
        kind: "evm",
        rpc: a.rpc,
        chain_id: 31337,
        poll_interval_ms: 50,
        rpc_max_rps: 10_000, // a local anvil: no free-tier budget to respect
        start_block: a.startBlock,
        request_timeout_ms: 2000,
        max_lag_blocks: 5,
        pool: { source: "static", file: poolFile, cooldown_minutes: 10, low_water: 0 },
        ...a.chain,
      },
    ],
    assets: [
      { id: "ETH", chain: "anvil", decimals: 18, confirmations: a.ethConfirmations ?? 1 },
      {
        id: "USDT-ERC20",
        chain: "anvil",
        contract: a.token,
        decimals: 6,
        confirmations: a.tokenConfirmations ?? 1,
      },
    ],
    log: { level: "info" },
  };
  const path = join(a.dir, "depositd.json");
  writeFileSync(path, JSON.stringify(raw, null, 2));
  return { path, dbPath, pool: pool.addresses };
}

// ---------------------------------------------------------------------------------------------
// The daemon as a child process

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface DaemonProcess {
  base: string;
  child: ChildProcess;
  /** resolves when the API listens; rejects if the process exits first */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  logs: LogLine[];
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const API_KEY = "test-key-0123456789";

/** Spawns `depositd serve`; does not wait for it (crash tests kill it during start-up too). */
export function spawnDaemon(configPath: string, port: number, logFile?: string): DaemonProcess {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN, "serve", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  const logs: LogLine[] = [];
  let stderr = "";
  let buffered = "";
  let alive = true;
  let onReady!: () => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => ((onReady = res), (onFail = rej)));
  ready.catch(() => undefined); // callers that never await it must not see an unhandled rejection
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (logFile) appendFileSync(logFile, line + "\n");
      try {
        const entry = JSON.parse(line) as LogLine;
        if (logs.length < 20_000) logs.push(entry);
        if (entry.msg === "merchant API listening") onReady();
      } catch {
        // not JSON: keep it with stderr
        stderr = (stderr + line + "\n").slice(-8000);
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      alive = false;
      onFail(
        new Error(`daemon exited (code ${code}, signal ${signal}) before it listened: ${stderr.trim()}`),
      );
      resolve({ code, signal });
    }),
  );
  return {
    base: `http://127.0.0.1:${port}`,
    child,
    ready,
    exited,
    alive: () => alive,
    logs,
    stderr: () => stderr,
    async kill(signal = "SIGKILL") {
      if (!alive) return;
      child.kill(signal);
      const timer = signal === "SIGKILL" ? undefined : setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface ApiAnswer {
  status: number;
  body: any;
}

/** One API call; `null` when the daemon is not there (connection refused/reset: it was killed). */
export async function apiCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<ApiAnswer | null> {
  try {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text
    }
    return { status: res.status, body: json };
  } catch {
    return null;
  }
}

/** Retries a call until the daemon answers (it may be restarting). */
export async function apiRetry(
  base: () => string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<ApiAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await apiCall(base(), method, path, body);
    if (r && r.status !== 503) return r;
    if (Date.now() > deadline) throw new Error(`${method} ${path}: no answer within ${timeoutMs} ms`);
    await sleep(40);
  }
}

// ---------------------------------------------------------------------------------------------
// The merchant's receiver

export type ReceiverMode = "up" | "down" | "error" | { flap: number };

export interface Delivery {
  id: string;
  attempt: number;
  seq: number | null;
  at: number;
  answered: number | null;
}

export interface Receiver {
  url: string;
  /** first body seen per event id */
  bodies: Map<string, string>;
  /** event ids acknowledged with 2xx */
  acked: Set<string>;
  /** every request, in arrival order */
  deliveries: Delivery[];
  /** event ids that arrived with two different bodies */
  conflicts: string[];
  /** requests whose signature or headers did not check out */
  badSignatures: number;
  setMode(mode: ReceiverMode): Promise<void>;
  close(): Promise<void>;
}

/** A merchant endpoint on 127.0.0.1 that verifies every signature with src/notify/verify.ts. */
export async function startReceiver(seed = SEED): Promise<Receiver> {
  const random = seededRandom(seed);
  const port = await freePort();
  let mode: ReceiverMode = "up";
  const bodies = new Map<string, string>();
  const acked = new Set<string>();
  const deliveries: Delivery[] = [];
  const conflicts: string[] = [];
  let badSignatures = 0;
  const sockets = new Set<Socket>();

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const id = String(req.headers["depositd-event-id"] ?? "");
      const sig = String(req.headers["depositd-signature"] ?? "");
      let parsedId: unknown;
      try {
        parsedId = (JSON.parse(raw) as { id?: unknown }).id;
      } catch {
        parsedId = undefined;
      }
      if (!verifySignature(raw, sig, [CALLBACK_SECRET]) || parsedId !== id) badSignatures++;
      const seen = bodies.get(id);
      if (seen === undefined) bodies.set(id, raw);
      else if (seen !== raw && !conflicts.includes(id)) conflicts.push(id);
      const seqHeader = req.headers["depositd-event-seq"];
      const d: Delivery = {
        id,
        attempt: Number(req.headers["depositd-attempt"] ?? 0),
        seq: seqHeader === undefined ? null : Number(seqHeader),
        at: Date.now(),
        answered: null,
      };
      deliveries.push(d);
      const fail = mode === "error" || (typeof mode === "object" && random() < mode.flap);
      d.answered = fail ? 503 : 200;
      if (!fail) acked.add(id);
      res.writeHead(d.answered, { "content-type": "text/plain" }).end(fail ? "not now" : "ok");
    });
  }

  let server: Server | null = null;
  async function open(): Promise<void> {
    if (server) return;
    const s = createServer(handle);
    s.on("connection", (c: Socket) => {
      sockets.add(c);
      c.on("close", () => sockets.delete(c));
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    server = s;
  }
  async function shut(): Promise<void> {
    const s = server;
    if (!s) return;
    server = null;
    for (const c of sockets) c.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await open();

  return {
    url: `http://127.0.0.1:${port}/hooks/depositd`,
    bodies,
    acked,
    deliveries,
    conflicts,
    get badSignatures() {
      return badSignatures;
    },
    async setMode(m) {
      mode = m;
      if (m === "down") await shut();
      else await open();
    },
    close: shut,
  };
}

// ---------------------------------------------------------------------------------------------
// Looking into the database the daemon wrote (read-only; the daemon may still run)

/** A SQLite file, or a PostgreSQL database several daemons share (the failover test). */
export type DbTarget = string | { url: string };

export function openReadonly(target: DbTarget): Database.Database {
  if (typeof target !== "string")
    return new PgDatabase({ url: target.url, password: undefined }) as unknown as Database.Database;
  const db = new Database(target, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return db;
}

export function withDb<T>(dbPath: DbTarget, fn: (db: Database.Database) => T): T {
  const db = openReadonly(dbPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function integrityCheck(dbPath: string): string {
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

export interface EventRow {
  id: string;
  order_id: string | null;
  seq: number | null;
  type: string;
  url: string | null;
  body: string;
  state: string;
  attempts: number;
}

export function allEvents(dbPath: DbTarget): EventRow[] {
  return withDb(dbPath, (db) =>
    db
      .prepare<[], EventRow>(
        "SELECT id, order_id, seq, type, url, body, state, attempts FROM events ORDER BY created_at, id",
      )
      .all(),
  );
}

/** Every event with somewhere to go reached the receiver with exactly the stored bytes. */
export function undeliveredEvents(dbPath: DbTarget, r: Receiver): EventRow[] {
  return allEvents(dbPath).filter(
    (e) => e.url !== null && (!r.acked.has(e.id) || r.bodies.get(e.id) !== e.body),
  );
}

/** Per order, seq runs 1..n without gaps. Returns the orders where it does not. */
export function seqGaps(events: EventRow[]): string[] {
  const byOrder = new Map<string, number[]>();
  for (const e of events)
    if (e.order_id) byOrder.set(e.order_id, [...(byOrder.get(e.order_id) ?? []), e.seq ?? -1]);
  const bad: string[] = [];
  for (const [order, seqs] of byOrder) {
    seqs.sort((a, b) => a - b);
    if (seqs.some((s, i) => s !== i + 1)) bad.push(order);
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------
// Results: one row per scenario, printed, and collected into bench/CHAOS.md by the full run

export interface ChaosRow {
  scenario: string;
  /** what was done to the daemon: kills, faults, outages … */
  faults: string;
  checked: string;
  delivered: number | string;
  mismatches: number;
  seconds: number;
}

export function recordResult(row: ChaosRow): void {
  const line = { ...row, full: FULL, seed: SEED };
  console.log(`[chaos] ${JSON.stringify(line)}`);
  const file = process.env.DEPOSITD_CHAOS_RESULTS;
  if (file) appendFileSync(file, JSON.stringify(line) + "\n");
}
