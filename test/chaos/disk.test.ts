// Disk trouble: the database lives on a 4 MiB tmpfs that we fill up. The daemon answers creates with
// 503 `unavailable`, keeps nothing half written, never exits, and recovers by itself once space
// returns. Needs root for mount(8): as root, chmod does not stop SQLite, and `mount -o remount,ro`
// is refused ("busy") while the daemon holds the database open, so a full filesystem is the fault.
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../src/dev/anvil.js";
import {
  SEED,
  apiCall,
  chaosFixture,
  integrityCheck,
  recordResult,
  sleep,
  waitFor,
  withDb,
  writeDaemonConfig,
} from "./harness.js";
import { acceptCreated, createBody, createCustomer, planOrders } from "./shop.js";

let mounted = false;

function mount(args: string[]): void {
  execFileSync("mount", args, { stdio: "pipe" });
}

const fx = chaosFixture("disk", {
  setup() {
    mkdirSync(mnt);
    try {
      mount(["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mnt]);
      mounted = true;
    } catch (e) {
      throw new Error(
        `the disk test needs a small filesystem: mount -t tmpfs failed (${(e as Error).message.split("\n")[0]}). ` +
          "Run the suite as root (or in a container with CAP_SYS_ADMIN).",
      );
    }
  },
  teardown() {
    if (!mounted) return;
    try {
      execFileSync("umount", [mnt], { stdio: "pipe" });
    } catch {
      execFileSync("umount", ["-l", mnt], { stdio: "pipe" });
    }
  },
});
const mnt = join(fx.tmp.dir, "small");

/** Writes a file until the filesystem is full; returns its path. */
function fill(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(16 * 1024, 7);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  return path;
}

describe("disk trouble", () => {
  it("behavior: a full database filesystem → 503 on create, nothing half written, recovery without restart", async () => {
    const { anvil, kit, token } = fx.chain;
    const { receiver, tmp } = fx;
    const started = Date.now();
    const port = await freePort();
    const cfg = writeDaemonConfig({
      dir: tmp.dir,
      dbPath: join(mnt, "depositd.sqlite"),
      port,
      rpc: [anvil.url],
      token,
      startBlock: (await kit.blockNumber()) + 1,
      poolSize: 3000,
    });
    const daemon = fx.spawn(cfg.path, port, join(tmp.dir, "daemon.log"));
    await daemon.ready;
    const customer = createCustomer(anvil, kit, token);
    const plans = planOrders(2500, SEED + 9, "disk").map((o) => ({
      ...o,
      kind: "exact" as const,
      validMinutes: 30,
    }));
    let next = 0;
    const create = async () => {
      const o = plans[next++]!;
      return { o, r: (await apiCall(daemon.base, "POST", "/v1/orders", createBody(o, receiver.url)))! };
    };

    // Healthy first.
    const first = await create();
    acceptCreated(first.o, first.r);

    // 1. The disk fills up. Creates go on until SQLite cannot grow its files any more.
    const filler = fill(mnt);
    const refused: string[] = [];
    let accepted = 1;
    for (let i = 0; i < 2000 && refused.length < 5; i++) {
      const { o, r } = await create();
      if (r.status === 201) {
        acceptCreated(o, r);
        accepted++;
      } else {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ type: "urn:depositd:problem:unavailable", status: 503 });
        refused.push(o.key);
      }
    }
    expect(refused.length).toBe(5);
    // a payment arrives meanwhile: the watcher cannot store it yet, and must not skip it
    await customer.pay(first.o);
    await sleep(500);
    expect(daemon.alive()).toBe(true);
    const fullHealth = await apiCall(daemon.base, "GET", "/healthz");
    // reads still work
    const read = await apiCall(daemon.base, "GET", `/v1/orders/${first.o.id}`);
    expect(read?.status).toBe(200);
    for (const key of refused) {
      const r = await apiCall(daemon.base, "GET", `/v1/orders?merchant_order_id=${key}`);
      expect(r?.status).toBe(404);
    }

    // 2. Space returns: the same creates now succeed, the payment is recorded — no restart.
    rmSync(filler);
    const retried = await apiCall(
      daemon.base,
      "POST",
      "/v1/orders",
      createBody(
        plans.find((p) => p.key === refused[0])!,
        receiver.url,
      ),
    );
    expect(retried?.status).toBe(201);
    accepted++;
    await waitFor(
      "the payment made while the disk was full to be counted",
      async () => (await apiCall(daemon.base, "GET", `/v1/orders/${first.o.id}`))?.body?.status === "paid",
      30_000,
      100,
    );

    expect(daemon.alive()).toBe(true);
    await daemon.kill("SIGTERM");
    expect((await daemon.exited).code).toBe(0);

    // Nothing half written: every order has its options and exactly one live binding, every bound
    // pool address belongs to one of them, and nothing refused left a row behind.
    expect(integrityCheck(cfg.dbPath)).toBe("ok");
    const counts = withDb(cfg.dbPath, (db) => ({
      orders: db.prepare("SELECT count(*) FROM orders").pluck().get(),
      incomplete: db
        .prepare(
          `SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM order_options WHERE order_id = o.id) != 2
             OR (SELECT count(*) FROM bindings WHERE order_id = o.id AND released_at IS NULL) != 1`,
        )
        .pluck()
        .get(),
      bindings: db.prepare("SELECT count(*) FROM bindings").pluck().get(),
      bound: db.prepare("SELECT count(*) FROM pool_addresses WHERE bound = 1").pluck().get(),
      refusedLeft: db
        .prepare("SELECT count(*) FROM orders WHERE merchant_order_id IN (SELECT value FROM json_each(?))")
        .pluck()
        .get(JSON.stringify(refused.slice(1))),
    }));
    recordResult({
      scenario: "disk full",
      faults: `tmpfs 4 MiB filled after ${accepted - 2} orders; ${refused.length} creates refused (503); /healthz while full ${fullHealth?.status}`,
      checked: `${counts.orders} orders, integrity ok`,
      delivered: "-",
      mismatches: (counts.incomplete as number) + (counts.refusedLeft as number),
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(counts).toEqual({
      orders: accepted,
      incomplete: 0,
      bindings: accepted,
      bound: accepted,
      refusedLeft: 0,
    });
  });
});
