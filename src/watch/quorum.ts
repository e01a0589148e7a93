// rpc_quorum (docs/trust.md): a ChainAdapter made of one single-URL adapter per RPC URL. A batch is
// returned to the watcher (and so committed) only when `size` distinct, identity-checked URLs
// agree on it: one URL serves the full scan, the others a cheaper Agreement (the kind's
// agreement(), else a scan) that is compared with it. Disagreement throws RetryableError: the
// watcher retries with backoff and its lag grows, nothing is committed.
import type { Logger } from "pino";
import type {
  Agreement,
  BlockRef,
  ChainAdapter,
  Heads,
  QuorumStatus,
  ScanResult,
  Transfer,
  WatchedSet,
} from "../chains/types.js";
import type { ChainConfig } from "../config/schema.js";
import { NonRetryableError, RetryableError } from "../errors.js";
import { redactUrl } from "../rpc/transport.js";

export interface QuorumMember {
  /** redacted (src/rpc/transport.ts redactUrl): it goes to logs, metrics and /healthz */
  url: string;
  /** an adapter over this URL alone */
  adapter: ChainAdapter;
}

export interface QuorumArgs {
  chain: string;
  size: number;
  members: QuorumMember[];
  logger?: Logger;
  now: () => number;
  /** each URL named as dissenting, once per disagreement (metrics) */
  onDisagreement?: (url: string) => void;
}

export class QuorumDisagreementError extends RetryableError {
  override name = "QuorumDisagreementError";
}

/** The first URL's scan as an Agreement. */
export function agreementOf(scan: ScanResult): Agreement {
  return { blocks: scan.blocks.map((b) => ({ number: b.number, hash: b.hash })), transfers: scan.transfers };
}

const transferKey = (t: Transfer) =>
  `${t.txid}:${t.index}:${t.asset}:${t.address}:${t.amount}:${t.block?.hash ?? "mempool"}`;

/**
 * Where two answers for the same range differ, in words; null when they agree. Compared: the
 * block numbers and hashes, then per block the set of transfers (txid, index, asset, address,
 * amount, block hash) — leaving out transfers found a way either side left `unchecked`.
 */
export function compareAgreement(a: Agreement, b: Agreement): string | null {
  const hashes = new Map(b.blocks.map((x) => [x.number, x.hash]));
  if (a.blocks.length !== b.blocks.length) return `${a.blocks.length} blocks against ${b.blocks.length}`;
  for (const x of a.blocks) {
    const other = hashes.get(x.number);
    if (other === undefined) return `block ${x.number} is missing`;
    if (other !== x.hash) return `block ${x.number} is ${x.hash} against ${other}`;
  }
  const skip = new Set([...(a.unchecked ?? []), ...(b.unchecked ?? [])]);
  const byBlock = (ts: Transfer[]) => {
    const m = new Map<number, Set<string>>();
    for (const t of ts) {
      if (t.via !== undefined && skip.has(t.via)) continue;
      const n = t.block?.number ?? -1;
      let set = m.get(n);
      if (!set) m.set(n, (set = new Set()));
      set.add(transferKey(t));
    }
    return m;
  };
  const ta = byBlock(a.transfers);
  const tb = byBlock(b.transfers);
  const numbers = [...new Set([...ta.keys(), ...tb.keys()])].sort((x, y) => x - y);
  for (const n of numbers) {
    const sa = ta.get(n) ?? new Set<string>();
    const sb = tb.get(n) ?? new Set<string>();
    const onlyA = [...sa].filter((k) => !sb.has(k));
    const onlyB = [...sb].filter((k) => !sa.has(k));
    if (onlyA.length || onlyB.length) {
      const name = (ks: string[]) => ks.map((k) => k.split(":").slice(0, 2).join(":")).join(", ");
      return (
        `block ${n}: ${sa.size} transfer(s) against ${sb.size}` +
        (onlyA.length ? `; only in the first: ${name(onlyA)}` : "") +
        (onlyB.length ? `; only in the second: ${name(onlyB)}` : "")
      );
    }
  }
  return null;
}

/**
 * Who dissents, given the first URL's answer and which of the others agree with it: the minority;
 * with as many on each side (two URLs), both are named — two answers alone cannot say which lies.
 */
export function dissenters(primary: string, verdicts: { url: string; agrees: boolean }[]): string[] {
  const agree = [primary, ...verdicts.filter((v) => v.agrees).map((v) => v.url)];
  const disagree = verdicts.filter((v) => !v.agrees).map((v) => v.url);
  if (disagree.length === 0) return [];
  if (agree.length > disagree.length) return disagree;
  if (agree.length < disagree.length) return agree;
  return [...agree, ...disagree];
}

export function createQuorumAdapter(args: QuorumArgs): ChainAdapter {
  const { chain, size, members, logger } = args;
  if (size < 2 || members.length < size)
    throw new NonRetryableError(`chain ${chain}: rpc_quorum ${size} needs ${size} RPC URLs`);
  const first = members[0]!.adapter;
  /** per member: initialized, or found unusable (quarantined) for good */
  const ready = members.map(() => false);
  const unusable = new Map<number, string>();
  let genesis: string | undefined;
  /** the member serving full scans; moves on after its failure or a disagreement */
  let primary = 0;
  const status = new Map<string, QuorumStatus["urls"][number]>(
    members.map((m) => [m.url, { url: m.url, disagreements: 0, last_at: null, last: null }]),
  );
  let disagreeing: string | null = null;

  function usableCount(): number {
    return members.length - unusable.size;
  }
  function checkEnough(): void {
    if (usableCount() >= size) return;
    throw new NonRetryableError(
      `chain ${chain}: rpc_quorum ${size} cannot be reached: only ${usableCount()} of ${members.length} RPC URLs are usable (` +
        [...unusable].map(([i, why]) => `${members[i]!.url}: ${why}`).join("; ") +
        ")",
    );
  }

  /** init member i with the genesis in use; false when it cannot answer now */
  async function ensure(i: number): Promise<boolean> {
    if (ready[i]) return true;
    if (unusable.has(i)) return false;
    const m = members[i]!;
    try {
      const g = (await m.adapter.init(genesis === undefined ? {} : { genesis })).genesis;
      genesis ??= g;
      ready[i] = true;
      return true;
    } catch (e) {
      if (e instanceof NonRetryableError && (m.adapter.quarantined?.().length ?? 0) > 0) {
        unusable.set(i, (e as Error).message);
        checkEnough();
        return false;
      }
      if (e instanceof NonRetryableError) throw e;
      logger?.warn({ chain, url: m.url, err: (e as Error).message }, "quorum URL not ready");
      return false;
    }
  }

  /** the members in asking order: the primary first, then the next ones */
  function order(): number[] {
    const out: number[] = [];
    for (let k = 0; k < members.length; k++) {
      const i = (primary + k) % members.length;
      if (!unusable.has(i)) out.push(i);
    }
    return out;
  }

  /** `count` answers from distinct members (in order, skipping `except`); throws when fewer answer */
  async function ask<T>(
    what: string,
    count: number,
    fn: (a: ChainAdapter) => Promise<T>,
    except?: number,
  ): Promise<{ i: number; value: T }[]> {
    const queue = order().filter((i) => i !== except);
    const answers: { i: number; value: T }[] = [];
    const errors: string[] = [];
    while (answers.length < count && queue.length) {
      const round = queue.splice(0, count - answers.length);
      const settled = await Promise.allSettled(
        round.map(async (i) => {
          if (!(await ensure(i))) throw new RetryableError("not ready (identity check pending or failed)");
          return fn(members[i]!.adapter);
        }),
      );
      settled.forEach((s, k) => {
        const i = round[k]!;
        if (s.status === "fulfilled") answers.push({ i, value: s.value });
        else {
          const err = s.reason as Error;
          if (err instanceof NonRetryableError && (members[i]!.adapter.quarantined?.().length ?? 0) > 0) {
            unusable.set(i, err.message);
            checkEnough();
          } else if (err instanceof NonRetryableError) throw err;
          errors.push(`${members[i]!.url}: ${err.message}`);
        }
      });
    }
    if (answers.length < count)
      throw new RetryableError(
        `chain ${chain}: rpc_quorum ${size}: ${what} answered by ${answers.length} of the ${count} URLs needed (${errors.join("; ")})`,
      );
    return answers;
  }

  function disagree(what: string, urls: string[], detail: string): never {
    const at = args.now();
    for (const url of urls) {
      const s = status.get(url)!;
      s.disagreements++;
      s.last_at = at;
      s.last = `${what}: ${detail}`;
      args.onDisagreement?.(url);
    }
    disagreeing = `${what}: ${urls.join(" / ")} disagree: ${detail}`;
    logger?.warn(
      { chain, dissenting: urls, what, detail },
      "RPC QUORUM DISAGREEMENT: nothing committed; waiting and asking again",
    );
    // the next try is served by the next URL: a lying first URL does not keep the chain stuck
    primary = (primary + 1) % members.length;
    throw new QuorumDisagreementError(`chain ${chain}: ${disagreeing}`);
  }

  const adapter: ChainAdapter = {
    kind: first.kind,
    chain: first.chain,

    async init(known) {
      genesis = known?.genesis;
      // at first start the genesis is learned from the first URL, as without a quorum
      if (genesis === undefined && !(await ensure(0)))
        throw new RetryableError(`chain ${chain}: genesis not known yet; waiting for the first RPC URL`);
      await ask("the identity check", size, async () => undefined);
      return { genesis: genesis! };
    },

    quarantined: () => members.flatMap((m) => m.adapter.quarantined?.() ?? []),

    async heads(): Promise<Heads> {
      // the head is the lowest among the quorum: a block is scanned once every member has it
      const all = await ask("the head", size, (a) => a.heads());
      const head = Math.min(...all.map((x) => x.value.head));
      const solids = all.map((x) => x.value.solid);
      return solids.every((s) => s !== undefined)
        ? { head, solid: Math.min(...(solids as number[])) }
        : { head };
    },

    async block(number: number): Promise<BlockRef | null> {
      const all = await ask(`block ${number}`, size, (a) => a.block(number));
      if (all.some((x) => x.value === null)) return null;
      const ref = all[0]!.value!;
      const verdicts = all
        .slice(1)
        .map((x) => ({ url: members[x.i]!.url, agrees: x.value!.hash === ref.hash }));
      if (verdicts.some((v) => !v.agrees))
        disagree(
          `block ${number}`,
          dissenters(members[all[0]!.i]!.url, verdicts),
          all.map((x) => `${members[x.i]!.url} ${x.value!.hash}`).join(", "),
        );
      // agreed again: a tip check passes on a quiet chain long before its next block is scanned
      if (disagreeing?.startsWith("block ")) disagreeing = null;
      return ref;
    },

    async scan(from: number, to: number, watched: WatchedSet): Promise<ScanResult> {
      const [served] = await ask(`the scan of ${from}..${to}`, 1, (a) => a.scan(from, to, watched));
      const full = served!;
      const mine = agreementOf(full.value);
      const others = await ask(
        `the agreement on ${from}..${to}`,
        size - 1,
        async (a) =>
          a.agreement ? a.agreement(from, to, watched) : agreementOf(await a.scan(from, to, watched)),
        full.i,
      );
      const differences = others.map((o) => ({
        url: members[o.i]!.url,
        diff: compareAgreement(mine, o.value),
      }));
      const bad = differences.filter((d) => d.diff !== null);
      if (bad.length)
        disagree(
          `blocks ${from}..${to}`,
          dissenters(
            members[full.i]!.url,
            differences.map((d) => ({ url: d.url, agrees: d.diff === null })),
          ),
          bad.map((d) => `${members[full.i]!.url} vs ${d.url}: ${d.diff}`).join("; "),
        );
      disagreeing = null;
      return full.value;
    },

    quorum: () => ({ size, urls: [...status.values()].map((s) => ({ ...s })), disagreeing }),

    stats() {
      const out = { incompleteAnswers: 0, bloomFalsePositives: 0 };
      for (const m of members) {
        const s = m.adapter.stats?.();
        if (!s) continue;
        out.incompleteAnswers += s.incompleteAnswers;
        out.bloomFalsePositives += s.bloomFalsePositives;
      }
      return out;
    },
    async close() {
      await Promise.all(members.map((m) => m.adapter.close?.()));
    },
  };
  // optional work stays the first URL's (mempool transactions are unconfirmed and never final)
  if (first.mempool) adapter.mempool = (watched) => members[order()[0]!]!.adapter.mempool!(watched);
  return adapter;
}

/** The chain's quorum adapter: one adapter per RPC URL, made by `make` from the chain with that URL alone. */
export function quorumAdapterFor(
  chain: ChainConfig,
  make: (c: ChainConfig) => ChainAdapter,
  opts: Omit<QuorumArgs, "chain" | "size" | "members">,
): ChainAdapter {
  return createQuorumAdapter({
    ...opts,
    chain: chain.id,
    size: chain.rpc_quorum ?? 1,
    members: chain.rpc.map((url) => ({ url: redactUrl(url), adapter: make({ ...chain, rpc: [url] }) })),
  });
}
