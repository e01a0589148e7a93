// Which events to claim next. Scanning the whole outbox for each free slot would cost O(backlog) per
// delivery; instead a full scan fills per-host candidate lists (ids only, in due order) and cheap tail
// scans (rows due since the last scan) add new events. Claims re-check everything in SQL.
import { performance } from "node:perf_hooks";
import type { DeliveryStatements } from "./statements.js";

/** Rows one outbox scan reads at most. */
const SCAN_LIMIT = 200_000;
/** New events may carry a creation time a little before a scan that committed first: look back this far. */
const TAIL_SLACK_MS = 2_000;
/** Candidate event ids held in memory at most (ids only; bodies are read when claimed). */
const MAX_CANDIDATES = 100_000;

/** "scheme://authority/" as written in the URL, or null when no "/" ends the authority. */
export function originPrefix(url: string): string | null {
  const start = url.indexOf("//");
  if (start < 0) return null;
  const slash = url.indexOf("/", start + 2);
  return slash < 0 ? null : url.slice(0, slash + 1);
}

export interface Schedule {
  /**
   * Read due rows (all of them on a full scan, when asked or when wantFullScan says so; the tail, rows
   * due since the last scan, when `tail` (default true) or after wake()), then pick candidates for
   * the free slots, hosts in turn. Events without a URL are returned to be skipped. Rounds run after
   * every finished send; reading the tail only when something may have arrived keeps them O(sends).
   */
  plan(
    now: number,
    forceFull: boolean,
    tail?: boolean,
  ): { picks: { id: string; host: string }[]; skips: string[]; leftover: boolean };
  /** events were written: the next plan reads the outbox's tail even when `tail` is false */
  wake(): void;
  /** a claim given back unsent: the event is a candidate again (no scan would find it soon) */
  requeue(id: string, url: string): void;
  /** a claimed event's send started / ended (slots per host) */
  started(host: string): void;
  finished(host: string): void;
  /** sends in flight */
  active(): number;
}

export function createSchedule(
  s: DeliveryStatements,
  limits: { concurrency: number; perHost: number },
): Schedule {
  const { perHost } = limits;
  let active = 0;
  const hostActive = new Map<string, number>();
  const candidates = new Map<string, string[]>();
  const candidateIds = new Set<string>();
  const hostHasMore = new Set<string>(); // a scan left rows of this host out because its list was full
  const candidatesPerHost = Math.max(4096, perHost * 64);
  let horizon = -1; // every due row up to here has been seen by a scan
  let woken = true;
  let lastFullScanAt = -Infinity;
  let fullScanCostMs = 0;
  const prefixesByHost = new Map<string, Set<string>>();
  const hostOfUrl = new Map<string, string>();

  function hostOf(url: string): string {
    let h = hostOfUrl.get(url);
    if (h === undefined) {
      try {
        h = new URL(url).host.toLowerCase();
      } catch {
        h = "(invalid url)";
      }
      if (hostOfUrl.size > 10_000) hostOfUrl.clear();
      hostOfUrl.set(url, h);
    }
    return h;
  }

  /** Adds one due row to its host's list; false when the host's list is full. */
  function offer(id: string, url: string): boolean {
    const host = hostOf(url);
    let ids = candidates.get(host);
    if (!ids) candidates.set(host, (ids = []));
    if (ids.length >= candidatesPerHost) {
      hostHasMore.add(host);
      return false;
    }
    ids.push(id);
    candidateIds.add(id);
    const prefix = originPrefix(url);
    let prefixes = prefixesByHost.get(host);
    if (!prefixes) prefixesByHost.set(host, (prefixes = new Set()));
    if (prefix && prefixes.size < 50) prefixes.add(prefix);
    return true;
  }

  /** URL prefixes of the hosts whose lists are full: the scan filters them out in SQL. */
  function excludedPrefixes(): string {
    const excluded: string[] = [];
    for (const [host, ids] of candidates) {
      if (ids.length < candidatesPerHost) continue;
      for (const prefix of prefixesByHost.get(host) ?? []) excluded.push(prefix);
    }
    return JSON.stringify(excluded);
  }

  /**
   * Reads due rows into the candidate lists. A full scan starts at the oldest due row; a tail scan only
   * looks at rows due since the last scan. A host whose list fills up is filtered out in SQL from then on.
   */
  function scanOutbox(now: number, full: boolean, skips: string[]): void {
    const t0 = performance.now();
    if (full) {
      hostHasMore.clear();
      for (const [host, ids] of candidates) if (ids.length >= candidatesPerHost) hostHasMore.add(host);
    }
    let from = full || horizon < 0 ? -1 : horizon - TAIL_SLACK_MS;
    let budget = SCAN_LIMIT;
    let complete = false;
    let restartedAt = -Infinity;
    scanning: while (budget > 0) {
      const limit = budget;
      let read = 0;
      let skippedInRow = 0;
      for (const row of s.selectDue.iterate({ from, now, excluded: excludedPrefixes(), limit })) {
        read++;
        from = row.next_attempt_at;
        if (row.url === null) {
          skips.push(row.id);
          continue;
        }
        if (candidateIds.has(row.id)) continue;
        if (candidateIds.size >= MAX_CANDIDATES) break scanning;
        if (offer(row.id, row.url)) {
          skippedInRow = 0;
          continue;
        }
        // rows of a host that filled up during this query: re-query with it filtered out in SQL
        if (++skippedInRow >= 256 && from > restartedAt) {
          restartedAt = from;
          budget -= read;
          continue scanning;
        }
      }
      complete = read < limit; // the query ran dry before its limit
      break;
    }
    horizon = complete ? now : Math.max(horizon, from);
    if (full) {
      lastFullScanAt = now;
      fullScanCostMs = performance.now() - t0;
    }
  }

  /** Full scans cost O(backlog): run them when a busy host ran out of candidates, and now and then. */
  function wantFullScan(now: number): boolean {
    if (horizon < 0) return true;
    const since = now - lastFullScanAt;
    if (since >= Math.max(2_000, fullScanCostMs * 50)) return true; // expired leases of crashed workers
    if (since < Math.max(10, fullScanCostMs * 5)) return false;
    for (const host of hostHasMore) {
      if ((candidates.get(host)?.length ?? 0) === 0 && (hostActive.get(host) ?? 0) < perHost) return true;
    }
    return false;
  }

  /** Candidates for the free slots, hosts in turn; hosts just served go to the back. */
  function pick(globalFree: number): { picks: { id: string; host: string }[]; leftover: boolean } {
    const picks: { id: string; host: string }[] = [];
    const served: string[] = [];
    let leftover = false;
    for (const [host, ids] of candidates) {
      if (ids.length === 0) {
        candidates.delete(host);
        continue;
      }
      const free = Math.min(globalFree, perHost - (hostActive.get(host) ?? 0));
      if (free < ids.length) leftover = true;
      if (free <= 0) continue;
      const taken = ids.splice(0, free);
      for (const id of taken) {
        candidateIds.delete(id);
        picks.push({ id, host });
      }
      served.push(host);
      globalFree -= taken.length;
      if (globalFree <= 0) break;
    }
    // so that a full global limit cannot always favour the same hosts
    for (const host of served) {
      const ids = candidates.get(host);
      candidates.delete(host);
      if (ids && ids.length > 0) candidates.set(host, ids);
    }
    return { picks, leftover };
  }

  return {
    plan(now, forceFull, tail = true) {
      const globalFree = limits.concurrency - active;
      if (globalFree <= 0) return { picks: [], skips: [], leftover: true };
      const skips: string[] = [];
      const full = forceFull || wantFullScan(now);
      if (full || tail || woken) {
        woken = false;
        scanOutbox(now, full, skips);
      }
      return { ...pick(globalFree), skips };
    },
    wake() {
      woken = true;
    },
    requeue(id, url) {
      if (!candidateIds.has(id)) offer(id, url);
    },
    started(host) {
      active++;
      hostActive.set(host, (hostActive.get(host) ?? 0) + 1);
    },
    finished(host) {
      active--;
      const n = (hostActive.get(host) ?? 1) - 1;
      if (n <= 0) hostActive.delete(host);
      else hostActive.set(host, n);
    },
    active: () => active,
  };
}
