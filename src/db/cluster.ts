// Several instances on one PostgreSQL database: the leases that give each chain's watcher and the
// timer runner to exactly one instance (src/db/lease.ts), and the wake-ups that let every
// instance's delivery worker hear of events another instance wrote (LISTEN/NOTIFY). SQLite has
// one instance and none of this. The ledger's own connection (src/db/pg-sync.ts) is not used here:
// this runs on a small async pool of its own, so a lease is renewed while a write waits on a lock.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import type { Logger } from "pino";
import { type Lease, type LeaseKeeper, createLeaseKeeper } from "./lease.js";
import { type PostgresConfig, createPool } from "./postgres.js";

/** The channel every instance listens on; a NOTIFY after a write that appended events. */
export const EVENTS_CHANNEL = "depositd_events";

export interface Cluster {
  keeper: LeaseKeeper;
  /** tell every instance (this one too) that events are waiting */
  wake(): void;
  /** the first round of leases, then renewals every ttl/3, and the LISTEN connection */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  database: PostgresConfig;
  logger: Logger;
  roles: readonly string[];
  onAcquired(role: string, lease: Lease): void;
  onLost(role: string): void;
  /** another instance (or this one) wrote events */
  onWake(): void;
}

/** This instance's name in the lease rows: host, pid and a random tag (a restarted pid is new). */
export function instanceName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

export function createCluster(o: ClusterOptions): Cluster {
  const pool = createPool({ ...o.database, pool_size: 2 });
  pool.on("error", (e) => o.logger.warn({ err: e.message }, "lease connection failed; reconnecting"));
  const owner = instanceName();
  const log = o.logger.child({ instance: owner });
  let listener: pg.PoolClient | null = null;
  let stopped = false;
  let relisten: NodeJS.Timeout | null = null;
  let lastError = "";
  const keeper = createLeaseKeeper({
    pool,
    owner,
    ttlMs: o.database.lease_ttl_ms,
    roles: o.roles,
    onAcquired(role, lease) {
      log.info({ role, epoch: lease.epoch }, "lease acquired");
      o.onAcquired(role, lease);
    },
    onLost(role) {
      log.warn({ role }, "lease lost; this instance stops that work");
      o.onLost(role);
    },
    onError(err) {
      if (err.message !== lastError) log.warn({ err: err.message }, "lease round failed; retrying");
      lastError = err.message;
    },
  });

  async function listen(): Promise<void> {
    if (stopped) return;
    try {
      const c = await pool.connect();
      c.on("notification", (n) => {
        if (n.channel === EVENTS_CHANNEL) o.onWake();
      });
      c.on("error", () => {
        // the connection dropped: listen again (deliveries poll meanwhile)
        c.release(true);
        if (listener === c) listener = null;
        scheduleListen();
      });
      await c.query(`LISTEN ${EVENTS_CHANNEL}`);
      listener = c;
    } catch (e) {
      log.warn({ err: (e as Error).message }, "LISTEN failed; deliveries poll until it works again");
      scheduleListen();
    }
  }
  function scheduleListen(): void {
    if (stopped || relisten) return;
    relisten = setTimeout(() => {
      relisten = null;
      void listen();
    }, 1_000);
    relisten.unref();
  }

  return {
    keeper,
    wake() {
      pool.query(`NOTIFY ${EVENTS_CHANNEL}`).catch(() => o.onWake());
    },
    async start() {
      await keeper.round();
      keeper.start();
      await listen();
    },
    async stop() {
      stopped = true;
      if (relisten) clearTimeout(relisten);
      await keeper.stop();
      if (listener) {
        await listener.query(`UNLISTEN ${EVENTS_CHANNEL}`).catch(() => undefined);
        listener.release();
      }
      await pool.end();
    },
  };
}
