// Live rates: every (asset, currency) pair the config can price is asked of every market in the
// background; creates only read the decision (never wait on a market). Static rates win.
import type { Logger } from "pino";
import { type Ratio, parseRate } from "../core/amount.js";
import {
  type RateDecision,
  type RateRules,
  type SourceQuote,
  decideRate,
  parseSpread,
} from "../core/rates.js";
import type { AssetConfig, LiveRatesConfig } from "../config/schema.js";
import { marketSymbol } from "../config/schema.js";
import { type ProviderQuote, type RateProvider, createProvider } from "./provider.js";
import { PROVIDERS } from "./providers.js";
import type { MarketPair } from "./types.js";

export type { RateDecision } from "../core/rates.js";

/** A rate as an order locks it. */
export interface LockedRate {
  text: string;
  ratio: Ratio;
  /** the markets behind it, each with the price it quoted */
  sources: { source: string; price: string }[];
  /** the oldest source's time, ms */
  at: number;
}

export interface LivePair {
  asset: string;
  currency: string;
  market: MarketPair;
}

export interface ProviderState {
  kind: string;
  url: string;
  requests: number;
  errors: number;
  lastOkAt: number | null;
  /** pairs whose last attempt failed, with the error */
  failing: Record<string, string>;
}

export interface RateBook {
  pairs: readonly LivePair[];
  isLive(asset: string, currency: string): boolean;
  /** the fresh, agreed rate of a pair now, or undefined (cheap: read on every create) */
  priceOf(asset: string, currency: string): LockedRate | undefined;
  /** the full decision for a pair now (GET /v1/rates, health, metrics) */
  decision(asset: string, currency: string): RateDecision | undefined;
  providers(): ProviderState[];
  /** ask every market for every pair once; never throws */
  refresh(): Promise<void>;
  start(): void;
  stop(): void;
}

export interface RateBookArgs {
  live: LiveRatesConfig;
  assets: readonly AssetConfig[];
  /** pairs a static rate prices are never asked live */
  hasStatic(asset: string, currency: string): boolean;
  now: () => number;
  logger: Logger;
  /** one request to a market finished (metrics) */
  onRequest?: (provider: string, ok: boolean, ms: number) => void;
}

const key = (asset: string, currency: string) => `${asset}/${currency}`;

export function createRateBook(a: RateBookArgs): RateBook {
  const log = a.logger.child({ mod: "rates" });
  const live = a.live;
  const rules: RateRules = {
    minSources: live.min_sources,
    maxSpread: parseSpread(live.max_spread),
    maxAgeMs: live.max_age_seconds * 1000,
  };
  const providers: RateProvider[] = live.providers.map((p) =>
    createProvider(PROVIDERS[p.kind], p.url, live.usd_proxies),
  );
  const pairs: LivePair[] = [];
  for (const asset of a.assets) {
    if (!asset.enabled) continue;
    for (const currency of live.currencies) {
      if (a.hasStatic(asset.id, currency)) continue;
      pairs.push({ asset: asset.id, currency, market: { base: marketSymbol(asset), quote: currency } });
    }
  }
  const livePairs = new Set(pairs.map((p) => key(p.asset, p.currency)));
  /** latest good quote per pair and market */
  const quotes = new Map<string, Map<string, ProviderQuote>>();
  const state = new Map<string, ProviderState>(
    providers.map((p) => [
      p.kind,
      { kind: p.kind, url: p.url, requests: 0, errors: 0, lastOkAt: null, failing: {} },
    ]),
  );
  /** decision cache: valid until new quotes arrive or the first used quote could age out */
  const cache = new Map<
    string,
    { decision: RateDecision; locked?: LockedRate; from: number; until: number }
  >();
  const timeoutMs = Math.min(10_000, live.refresh_seconds * 1000);

  function decide(k: string, now: number) {
    const c = cache.get(k);
    if (c && now >= c.from && now <= c.until) return c;
    const qs: SourceQuote[] = [...(quotes.get(k) ?? new Map<string, ProviderQuote>())].map(([source, q]) => ({
      source,
      ...q,
    }));
    const decision = decideRate(qs, rules, now);
    const considered = qs.filter((q) => q.at >= now - rules.maxAgeMs && q.at <= now + rules.maxAgeMs);
    const until = considered.length ? Math.min(...considered.map((q) => q.at + rules.maxAgeMs)) : Infinity;
    const next = {
      decision,
      from: now,
      until,
      locked: decision.ok
        ? {
            text: decision.rate,
            ratio: parseRate(decision.rate),
            sources: decision.sources.map((s) => ({ source: s.source, price: s.price })),
            at: decision.at,
          }
        : undefined,
    };
    cache.set(k, next);
    return next;
  }

  async function ask(p: RateProvider, pair: LivePair): Promise<void> {
    const st = state.get(p.kind)!;
    const k = key(pair.asset, pair.currency);
    const t0 = performance.now();
    st.requests++;
    try {
      const q = await p.quote(pair.market, { now: a.now, maxAgeMs: rules.maxAgeMs, timeoutMs });
      a.onRequest?.(p.kind, true, performance.now() - t0);
      let m = quotes.get(k);
      if (!m) quotes.set(k, (m = new Map()));
      m.set(p.kind, q);
      cache.delete(k);
      st.lastOkAt = a.now();
      if (st.failing[k] !== undefined) {
        delete st.failing[k];
        log.info({ provider: p.kind, pair: k }, "rate provider answers again");
      }
    } catch (e) {
      a.onRequest?.(p.kind, false, performance.now() - t0);
      st.errors++;
      const message = (e as Error).message;
      // logged once per change of state, not once per attempt
      if (st.failing[k] === undefined)
        log.warn(
          { provider: p.kind, pair: k, err: message },
          "rate provider failing; its last price ages out",
        );
      st.failing[k] = message;
    }
  }

  /** each market's pass in flight: one market that hangs never holds up the others' refresh */
  const running = new Map<string, Promise<void>>();
  function pass(p: RateProvider): Promise<void> {
    let r = running.get(p.kind);
    if (!r) {
      // one request at a time per market: public APIs rate-limit bursts (Kraken: about 1/s)
      r = (async () => {
        for (const pair of pairs) if (p.supports(pair.market)) await ask(p, pair);
      })().finally(() => running.delete(p.kind));
      running.set(p.kind, r);
    }
    return r;
  }
  let timer: NodeJS.Timeout | null = null;
  const book: RateBook = {
    pairs,
    isLive: (asset, currency) => livePairs.has(key(asset, currency)),
    priceOf(asset, currency) {
      const k = key(asset, currency);
      return livePairs.has(k) ? decide(k, a.now()).locked : undefined;
    },
    decision(asset, currency) {
      const k = key(asset, currency);
      return livePairs.has(k) ? decide(k, a.now()).decision : undefined;
    },
    providers: () => [...state.values()].map((s) => ({ ...s, failing: { ...s.failing } })),
    refresh() {
      // a market whose previous pass is still running is not asked again until it ends
      return Promise.all(providers.map(pass)).then(() => undefined);
    },
    start() {
      if (timer || pairs.length === 0) return;
      void book.refresh();
      timer = setInterval(() => void book.refresh(), live.refresh_seconds * 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
  return book;
}
