// Live status for open checkout pages: ONE in-process stream of ledger commits fans out to every
// page's server-sent-event connection. A commit loads each changed order once (not once per page);
// a new chain head re-renders, from memory, only orders with a payment still confirming on it.
import type { Lang } from "./i18n.js";
import type { CheckoutData, CheckoutStore } from "./store.js";
import { type CheckoutState, type ViewContext, checkoutState } from "./view.js";

export interface StreamClient {
  orderId: string;
  ip: string;
  lang: Lang;
  langInUrl: boolean;
  option: string | undefined;
  /** write one SSE frame; false when the socket is gone */
  write(frame: string): void;
}

export interface LiveHub {
  /** register an open page; returns its removal */
  add(client: StreamClient, data: CheckoutData): () => void;
  onCommit(c: { orders: string[]; chain?: string; head?: number }): void;
  /** the SSE frame for a client right now (sent when it connects) */
  frame(client: StreamClient, data: CheckoutData): string;
  streams(): number;
  streamsOf(ip: string): number;
  close(): void;
}

export interface LiveOptions {
  store: CheckoutStore;
  context: (heads: ViewContext["heads"]) => ViewContext;
  render: (state: CheckoutState, lang: Lang, langInUrl: boolean) => string;
  heartbeatMs?: number;
}

interface Watched {
  data: CheckoutData;
  clients: Set<StreamClient>;
  /** last frame per rendering key: a head that changes nothing visible sends nothing */
  last: Map<string, string>;
}

export function createLiveHub(o: LiveOptions): LiveHub {
  const orders = new Map<string, Watched>();
  const perIp = new Map<string, number>();
  const heads = o.store.heads();
  let total = 0;

  const key = (c: StreamClient) => `${c.lang}|${c.langInUrl ? 1 : 0}|${c.option ?? ""}`;

  function frameFor(c: StreamClient, data: CheckoutData): string {
    const state = checkoutState(data, o.context(heads), c.option);
    const payload = {
      status: state.order.status,
      done: state.done,
      html: o.render(state, c.lang, c.langInUrl),
    };
    return `data: ${JSON.stringify(payload)}\n\n`;
  }

  function push(w: Watched, onlyChanged: boolean): void {
    const frames = new Map<string, string>();
    for (const c of w.clients) {
      const k = key(c);
      let f = frames.get(k);
      if (f === undefined) {
        f = frameFor(c, w.data);
        frames.set(k, f);
      }
      if (onlyChanged && w.last.get(k) === f) continue;
      c.write(f);
    }
    for (const [k, f] of frames) w.last.set(k, f);
  }

  const beat = setInterval(() => {
    for (const w of orders.values()) for (const c of w.clients) c.write(": keep-alive\n\n");
  }, o.heartbeatMs ?? 25_000);
  beat.unref();

  return {
    add(client, data) {
      let w = orders.get(client.orderId);
      if (!w) orders.set(client.orderId, (w = { data, clients: new Set(), last: new Map() }));
      w.clients.add(client);
      total++;
      perIp.set(client.ip, (perIp.get(client.ip) ?? 0) + 1);
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        total--;
        const n = (perIp.get(client.ip) ?? 1) - 1;
        if (n) perIp.set(client.ip, n);
        else perIp.delete(client.ip);
        const cur = orders.get(client.orderId);
        cur?.clients.delete(client);
        if (cur && cur.clients.size === 0) orders.delete(client.orderId);
      };
    },
    onCommit(c) {
      if (c.chain !== undefined && c.head !== undefined) {
        const prev = heads.get(c.chain);
        heads.set(c.chain, { head: c.head, solid: prev?.solid ?? null });
      }
      const changed = new Set<string>();
      for (const id of c.orders) {
        const w = orders.get(id);
        if (!w) continue;
        const data = o.store.byId(id);
        if (!data) continue;
        w.data = data;
        changed.add(id);
        push(w, false);
      }
      if (c.chain === undefined) return;
      // confirmations grow with the head: only pages with a mined, unconfirmed payment on this chain
      for (const [id, w] of orders) {
        if (changed.has(id)) continue;
        if (
          w.data.payments.some((p) => p.chain === c.chain && p.status === "seen" && p.block_number !== null)
        )
          push(w, true);
      }
    },
    frame: frameFor,
    streams: () => total,
    streamsOf: (ip) => perIp.get(ip) ?? 0,
    close() {
      clearInterval(beat);
      orders.clear();
    },
  };
}
