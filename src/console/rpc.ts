// What the console shows per RPC URL: the last results of the daemon's own requests (the adapters'
// onRequest hook), kept in memory. Paths and credentials are not shown: a URL's path often holds a key.
import { redactUrl } from "../rpc/transport.js";

export interface RpcUrlState {
  url: string;
  state: "ok" | "failing" | "unused" | "quarantined";
  /** why it is quarantined (it served another chain) */
  reason: string | null;
  requests: number;
  errors: number;
  /** errors / requests over the last WINDOW requests */
  error_rate: number;
  last_error_at: number | null;
}

const WINDOW = 100;

export interface RpcLog {
  record(chain: string, url: string, ok: boolean, now: number): void;
  /** `quarantined`: the adapter's quarantined URLs (redacted), from /healthz's chain detail */
  states(
    chain: string,
    urls: readonly string[],
    quarantined?: { url: string; reason: string }[],
  ): RpcUrlState[];
}

/** scheme://host[:port] plus "/…" when the URL had a path or query (which may hold an API key) */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const more = (u.pathname !== "/" && u.pathname !== "") || u.search ? "/…" : "";
    return `${u.protocol}//${u.host}${more}`;
  } catch {
    return "(invalid URL)";
  }
}

export function createRpcLog(): RpcLog {
  const logs = new Map<string, { ring: boolean[]; lastErrorAt: number | null }>();
  // the transport reports URLs redacted (no credentials, no trailing slash): look config URLs up alike
  const key = (chain: string, url: string) => `${chain}\n${redactUrl(url)}`;
  return {
    record(chain, url, ok, now) {
      let l = logs.get(key(chain, url));
      if (!l) logs.set(key(chain, url), (l = { ring: [], lastErrorAt: null }));
      l.ring.push(ok);
      if (l.ring.length > WINDOW) l.ring.shift();
      if (!ok) l.lastErrorAt = now;
    },
    states(chain, urls, quarantined = []) {
      return urls.map((url) => {
        const q = quarantined.find((x) => x.url === redactUrl(url));
        const l = logs.get(key(chain, url));
        const requests = l?.ring.length ?? 0;
        const errors = l ? l.ring.filter((ok) => !ok).length : 0;
        return {
          url: displayUrl(url),
          state: q
            ? "quarantined"
            : !l || requests === 0
              ? "unused"
              : l.ring[requests - 1]
                ? "ok"
                : "failing",
          reason: q?.reason ?? null,
          requests,
          errors,
          error_rate: requests ? errors / requests : 0,
          last_error_at: l?.lastErrorAt ?? null,
        };
      });
    },
  };
}
