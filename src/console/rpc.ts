// What the console shows per RPC URL: the last results of the daemon's own requests (the adapters'
// onRequest hook), kept in memory. Paths and credentials are not shown: a URL's path often holds a key.
import { redactUrl } from "../rpc/transport.js";

export interface RpcUrlState {
  url: string;
  /** throttled: its last answer was HTTP 429 (the transport waits out its Retry-After meanwhile) */
  state: "ok" | "failing" | "throttled" | "unused" | "quarantined";
  /** why it is quarantined (it served another chain) */
  reason: string | null;
  requests: number;
  /** failed requests, throttled ones included */
  errors: number;
  /** requests answered HTTP 429 */
  throttled: number;
  /** errors / requests over the last WINDOW requests */
  error_rate: number;
  last_error_at: number | null;
}

const WINDOW = 100;

type Outcome = "ok" | "failing" | "throttled";

export interface RpcLog {
  /** `throttled`: the URL answered HTTP 429 (rate limited) */
  record(chain: string, url: string, ok: boolean, now: number, throttled?: boolean): void;
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
  const logs = new Map<string, { ring: Outcome[]; lastErrorAt: number | null }>();
  // the transport reports URLs redacted (no credentials, no trailing slash): look config URLs up alike
  const key = (chain: string, url: string) => `${chain}\n${redactUrl(url)}`;
  return {
    record(chain, url, ok, now, throttled = false) {
      let l = logs.get(key(chain, url));
      if (!l) logs.set(key(chain, url), (l = { ring: [], lastErrorAt: null }));
      l.ring.push(ok ? "ok" : throttled ? "throttled" : "failing");
      if (l.ring.length > WINDOW) l.ring.shift();
      if (!ok) l.lastErrorAt = now;
    },
    states(chain, urls, quarantined = []) {
      return urls.map((url) => {
        const q = quarantined.find((x) => x.url === redactUrl(url));
        const l = logs.get(key(chain, url));
        const requests = l?.ring.length ?? 0;
        const errors = l ? l.ring.filter((o) => o !== "ok").length : 0;
        return {
          url: displayUrl(url),
          state: q ? "quarantined" : !l || requests === 0 ? "unused" : l.ring[requests - 1]!,
          reason: q?.reason ?? null,
          requests,
          errors,
          throttled: l ? l.ring.filter((o) => o === "throttled").length : 0,
          error_rate: requests ? errors / requests : 0,
          last_error_at: l?.lastErrorAt ?? null,
        };
      });
    },
  };
}
