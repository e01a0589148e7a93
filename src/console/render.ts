// The console's pages as HTML strings (server-rendered; see docs/console.md for why).
import type { OrderHit } from "./statements.js";
import { ORDER_STATUSES } from "../core/reconcile.js";
import type {
  AuditView,
  FilteredOrders,
  RatesView,
  HostGroup,
  InboxRow,
  JobProgress,
  Overview,
  OrderPage,
  StatusBuckets,
} from "./data.js";
import { CHAIN_SCAN, HOUR, LAG_WINDOW_MS, REDELIVER_MAX } from "./data.js";
import { STATUS_COLORS, barChart, lineChart, stackedBars } from "./chart.js";
import { type Html, html } from "./html.js";

export interface Frame {
  css: string;
  js: string;
  /** null on the sign-in page */
  csrf: string | null;
  operator: string | null;
  now: number;
}

type Section = "overview" | "orders" | "deliveries" | "inbox" | "login";

const NAV: [Section, string, string][] = [
  ["overview", "/console/overview", "Overview"],
  ["orders", "/console/orders", "Orders"],
  ["deliveries", "/console/deliveries", "Deliveries"],
  ["inbox", "/console/inbox", "Unattributed"],
];

export function csrfField(f: Frame): Html {
  return html`<input type="hidden" name="csrf" value="${f.csrf ?? ""}" />`;
}

/** `refresh`: the script reloads <main> in place every 10 s (true) or every `refresh` ms */
export function layout(
  f: Frame,
  section: Section,
  title: string,
  body: Html,
  refresh: boolean | number = false,
): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · depositd console</title>
        <link rel="stylesheet" href="${f.css}" />
        <script src="${f.js}" defer></script>
      </head>
      <body>
        <header>
          <span class="brand">depositd console</span>
          ${
            f.csrf
              ? html`<nav aria-label="Sections">
                    ${NAV.map(
                      ([s, href, label]) =>
                        html`<a href="${href}" ${s === section ? html` aria-current="page"` : ""}
                          >${label}</a
                        >`,
                    )}
                  </nav>
                  <form method="post" action="/console/logout">
                    ${csrfField(f)}<button type="submit">Sign out ${f.operator ?? ""}</button>
                  </form>`
              : ""
          }
        </header>
        <main id="main" ${refresh ? html` data-refresh="${refresh === true ? 10000 : refresh}"` : ""}>
          ${body}
        </main>
      </body>
    </html>`.text;
}

export function ago(ms: number | null): string {
  if (ms === null) return "never";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** an ISO timestamp without milliseconds, "T" as a space: shorter, still unambiguous (UTC) */
const when = (isoText: string) => isoText.replace(/\.\d{3}Z$/, "Z").replace("T", " ");
const iso = (ms: number) => when(new Date(ms).toISOString());

/**
 * A labelled table in a region that scrolls sideways on a narrow screen (the page itself never
 * does); `fit`: inside a card, wrapping before it scrolls.
 */
function dataTable(t: {
  label: string;
  fit?: boolean;
  cls?: string;
  head: readonly string[];
  rows: readonly Html[];
}): Html {
  return html`<div class="scroll${t.fit ? " fit" : ""}" role="region" aria-label="${t.label}" tabindex="0">
    <table${t.cls ? html` class="${t.cls}"` : ""}>
      <thead>
        <tr>
          ${t.head.map((h) => html`<th>${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${t.rows}
      </tbody>
    </table>
  </div>`;
}

function stateBadge(state: string): Html {
  const cls =
    state === "ok" || state === "delivered" || state === "paid" || state === "confirmed"
      ? "ok"
      : state === "behind" ||
          state === "failing" ||
          state === "throttled" ||
          state === "unpriced" ||
          state === "pending" ||
          state === "seen"
        ? "warn"
        : state === "stopped" ||
            state === "dead" ||
            state === "reverted" ||
            state === "quarantined" ||
            state === "findings"
          ? "bad"
          : "neutral";
  return html`<span class="badge ${cls}">${state}</span>`;
}

export function renderLogin(f: Frame, message: string | null, notice: string | null): string {
  return layout(
    f,
    "login",
    "Sign in",
    html`<div class="login card">
      <h1>Sign in</h1>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
      ${message ? html`<p class="error" role="alert">${message}</p>` : ""}
      <form method="post" action="/console/login">
        <label for="key">Operator API key</label>
        <input id="key" name="key" type="password" autocomplete="current-password" required maxlength="512" />
        <p><button type="submit">Sign in</button></p>
      </form>
      <p class="muted">
        Only keys with <code>role: operator</code> in <code>api.keys</code> open the console.
      </p>
    </div>`,
  );
}

export function renderOverview(f: Frame, o: Overview, rates: RatesView, audit: AuditView): string {
  const from = o.now - LAG_WINDOW_MS;
  const body = html`<h1>Overview</h1>
    <h2>Chains</h2>
    <div class="grid chains">
      ${o.chains.map(
        (c) =>
          html`<section class="card" aria-labelledby="chain-${c.id}" data-chain="${c.id}">
            <h2 id="chain-${c.id}">${c.id} <span class="muted">${c.kind}</span> ${stateBadge(c.state)}</h2>
            ${c.reason ? html`<p class="muted">${c.reason}</p>` : ""}
            <dl class="kv">
              <dt>Head</dt>
              <dd>${c.head ?? "—"}</dd>
              <dt>Scanned</dt>
              <dd>${c.scanned ?? "—"}</dd>
              <dt>Lag</dt>
              <dd>${c.lag_blocks ?? "—"} blocks · ${c.lag_seconds ?? "—"} s</dd>
              ${
                c.last_error
                  ? html`<dt>Last error</dt>
                      <dd class="mono">${c.last_error}</dd>`
                  : ""
              }
              <dt>Pool</dt>
              <dd>
                ${c.pool.free} free · ${c.pool.bound} bound · ${c.pool.resting} resting
                ${c.pool.low ? html`<span class="badge bad">below low water ${c.pool.low_water}</span>` : html`<span class="muted">(low water ${c.pool.low_water})</span>`}
              </dd>
            </dl>
            ${lineChart(
              c.samples.map((s) => ({ at: s.at, value: s.lag_seconds })),
              from,
              o.now,
              `${c.id} lag over the last ${LAG_WINDOW_MS / HOUR} hours`,
              "s",
            )}
            ${dataTable({
              label: `${c.id} RPC URLs`,
              fit: true,
              cls: "rpc",
              head: ["RPC URL", "State", "Error rate", "Last error"],
              rows: c.rpc.map(
                (r) =>
                  html`<tr data-url="${r.url}">
                    <td class="mono">${r.url}</td>
                    <td>
                      ${stateBadge(r.state)}${r.reason ? html` <span class="muted">${r.reason}</span>` : ""}
                    </td>
                    <td class="num">
                      ${Math.round(r.error_rate * 100)}%
                      <span class="muted"
                        >${r.errors}/${r.requests}${r.throttled ? ` · ${r.throttled}×429` : ""}</span
                      >
                    </td>
                    <td>${r.last_error_at === null ? "—" : ago(o.now - r.last_error_at) + " ago"}</td>
                  </tr>`,
              ),
            })}
          </section>`,
      )}
    </div>
    <div class="grid">
      <section class="card" aria-labelledby="outbox-h">
        <h2 id="outbox-h">Outbox</h2>
        <dl class="kv">
          <dt>Pending</dt>
          <dd>${o.outbox.pending}</dd>
          <dt>Oldest pending</dt>
          <dd>${o.outbox.oldest_pending_ms === null ? "—" : ago(o.outbox.oldest_pending_ms)}</dd>
          <dt>Dead</dt>
          <dd>
            ${o.outbox.dead} ${o.outbox.dead ? html`<a href="/console/deliveries">see deliveries</a>` : ""}
          </dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="orders-h">
        <h2 id="orders-h">Orders by status</h2>
        <dl class="kv">
          ${
            o.orders.length
              ? o.orders.map(
                  (r) =>
                    html`<dt><a href="/console/orders?status=${r.status}">${r.status}</a></dt>
                      <dd>${r.n}</dd>`,
                )
              : html`<dt>none</dt>
                  <dd>0</dd>`
          }
        </dl>
        ${statusChart("day", "Created in the last 24 h, by status now", "per hour", o.ordersByStatus.day)}
        ${statusChart("week", "Created in the last 7 d, by status now", "per 6 hours", o.ordersByStatus.week)}
      </section>
      <section class="card" aria-labelledby="pay-h">
        <h2 id="pay-h">Payments per hour</h2>
        ${barChart(o.paymentsPerHour, "payments seen per hour, last 24 hours")}
        <p class="muted">Last 24 h: ${o.paymentsPerHour.reduce((a, b) => a + b, 0)} payments.</p>
      </section>
    </div>
    <div class="grid">${ratesCard(rates)} ${auditCard(audit, o.now)}</div>
    <p class="muted">As of ${iso(o.now)}.</p>`;
  return layout(f, "overview", "Overview", body, true);
}

function ratesCard(r: RatesView): Html {
  return html`<section class="card" aria-labelledby="rates-h" data-section="rates">
    <h2 id="rates-h">
      Rates
      ${r.live ? stateBadge(r.unpriced.length ? "unpriced" : "ok") : html`<span class="muted">static only</span>`}
    </h2>
    ${dataTable({
      label: "Rates",
      fit: true,
      head: ["Pair", "Rate", "From"],
      rows: r.pairs.map(
        (p) =>
          html`<tr data-pair="${p.asset}/${p.currency}">
            <td>${p.asset}/${p.currency}</td>
            <td class="num">${p.rate ?? html`<span class="badge bad">none</span>`}</td>
            <td>
              ${
                p.source === "static"
                  ? "static table"
                  : p.rate
                    ? html`${p.sources.map((q) => `${q.source} ${q.price}`).join(", ")}
                        <span class="muted">· ${p.age_seconds} s old</span>`
                    : html`<span class="muted">${p.reason ?? ""}</span>`
              }
              ${p.dropped.length ? html`<span class="muted">· dropped ${p.dropped.map((q) => `${q.source} (${q.reason ?? ""})`).join(", ")}</span>` : ""}
            </td>
          </tr>`,
      ),
    })}
    ${
      r.unpriced.length
        ? html`<h3>Unpriced</h3>
            <ul class="unpriced">
              ${r.unpriced.map((u) => html`<li data-pair="${u.asset}/${u.currency}"><strong>${u.asset}/${u.currency}</strong> <span class="muted">${u.reason}</span></li>`)}
            </ul>`
        : html`<p class="muted">Every enabled asset has a rate in every configured currency.</p>`
    }
    ${
      r.providers.length
        ? html`<h3>Markets</h3>
            <dl class="kv">
              ${r.providers.map(
                (p) =>
                  html`<dt>${p.kind}</dt>
                    <dd data-provider="${p.kind}">
                      ${p.errors}/${p.requests} failed · last answer
                      ${p.lastOkAt === null ? "never" : iso(p.lastOkAt)}
                      ${Object.keys(p.failing).length ? html`<span class="muted">· failing ${Object.keys(p.failing).join(", ")}</span>` : ""}
                    </dd>`,
              )}
            </dl>`
        : ""
    }
  </section>`;
}

function auditCard(a: AuditView, now: number): Html {
  if (!a.enabled)
    return html`<section class="card" aria-labelledby="audit-h" data-section="audit">
      <h2 id="audit-h">Audit</h2>
      <p class="muted">audit: not enabled</p>
    </section>`;
  return html`<section class="card" aria-labelledby="audit-h" data-section="audit">
    <h2 id="audit-h">Audit ${stateBadge(a.total ? "findings" : "ok")}</h2>
    <dl class="kv">
      ${a.cursors.map(
        (c) =>
          html`<dt>${c.chain}</dt>
            <dd>
              next block ${c.next_block} · ran
              ${c.last_run_at === null ? "never" : `${ago(now - c.last_run_at)} ago`}
              ${c.last_error ? html`<span class="mono">${c.last_error}</span>` : ""}
            </dd>`,
      )}
      ${a.counts.map(
        (c) =>
          html`<dt>${c.kind}</dt>
            <dd>${c.n}</dd>`,
      )}
    </dl>
    ${
      a.recent.length
        ? html`${dataTable({
            label: "Audit findings",
            fit: true,
            head: ["Chain", "Kind", "Transaction", "Detail"],
            rows: a.recent.map(
              (r) =>
                html`<tr>
                  <td>${r.chain}</td>
                  <td>${r.finding.kind}</td>
                  <td class="mono">${r.finding.txid}#${r.finding.index} ${r.finding.asset}</td>
                  <td>${r.finding.detail}</td>
                </tr>`,
            ),
          })}`
        : html`<p>No findings: the ledger matches the chains over what was audited.</p>`
    }
  </section>`;
}

function statusChart(id: string, title: string, per: string, b: StatusBuckets): Html {
  const totals = ORDER_STATUSES.map(
    (st) => [st, b.buckets.reduce((a, x) => a + (x[st] ?? 0), 0)] as const,
  ).filter(([, n]) => n > 0);
  return html`<figure class="status-chart" data-window="${id}">
    <h3>${title}</h3>
    ${stackedBars(b.buckets, ORDER_STATUSES, STATUS_COLORS, `${title}, ${per}`)}
    <figcaption>
      ${
        totals.length
          ? html`<ul class="legend">
              ${totals.map(
                ([st, n]) =>
                  html`<li data-status="${st}">
                    <span class="sw sw-${st}"></span><a href="/console/orders?status=${st}">${st}</a> ${n}
                  </li>`,
              )}
            </ul>`
          : html`<p class="muted">No orders created.</p>`
      }
    </figcaption>
  </figure>`;
}

function orderTable(rows: OrderHit[]): Html {
  if (rows.length === 0) return html`<p>No orders found.</p>`;
  return html`${dataTable({
    label: "Orders",
    head: ["Order", "Merchant order id", "Merchant", "Status", "Amount", "Created"],
    rows: rows.map(
      (o) =>
        html`<tr>
          <td class="mono"><a href="/console/orders/${o.id}">${o.id}</a></td>
          <td>${o.merchant_order_id}</td>
          <td>${o.merchant}</td>
          <td>${stateBadge(o.status)}</td>
          <td class="num">${o.amount} ${o.currency}</td>
          <td>${iso(o.created_at)}</td>
        </tr>`,
    ),
  })}`;
}

export interface OrdersForm {
  /** the fields as typed (shown back) */
  form: Record<string, string>;
  errors: string[];
  merchants: readonly string[];
  chains: readonly string[];
}

function select(id: string, label: string, options: readonly string[], value: string): Html {
  return html`<div>
    <label for="${id}">${label}</label
    ><select id="${id}" name="${id}">
      <option value="">any</option>
      ${options.map((x) => html`<option${x === value ? html` selected` : ""}>${x}</option>`)}
    </select>
  </div>`;
}

export function renderOrders(f: Frame, o: OrdersForm, r: FilteredOrders): string {
  const v = o.form;
  const parts = [
    v.status && `status ${v.status}`,
    v.merchant && `merchant ${v.merchant}`,
    v.chain && `chain ${v.chain}`,
    v.from && `from ${v.from}`,
    v.to && `to ${v.to}`,
  ].filter(Boolean);
  const title = v.q
    ? `Matches for “${v.q}”${parts.length ? ` (${parts.join(", ")})` : ""}`
    : parts.length
      ? `Newest orders: ${parts.join(", ")}`
      : "Newest orders";
  const keep = new URLSearchParams(Object.entries(v).filter(([, x]) => x !== ""));
  if (r.next) keep.set("before", r.next);
  return layout(
    f,
    "orders",
    "Orders",
    html`<h1>Orders</h1>
      ${o.errors.length ? html`<div class="error" role="alert">${o.errors.map((e) => html`<p>${e}</p>`)}</div>` : ""}
      <form method="get" action="/console/orders" class="filters" role="search">
        <div class="wide">
          <label for="q">Order id, merchant order id, address or txid</label
          ><input id="q" name="q" value="${v.q ?? ""}" />
        </div>
        ${select("status", "Status", ORDER_STATUSES, v.status ?? "")}
        ${select("merchant", "Merchant", o.merchants, v.merchant ?? "")}
        ${select("chain", "Chain", o.chains, v.chain ?? "")}
        <div>
          <label for="from">Created from (UTC)</label
          ><input id="from" name="from" type="datetime-local" value="${v.from ?? ""}" />
        </div>
        <div>
          <label for="to">Created to (UTC)</label
          ><input id="to" name="to" type="datetime-local" value="${v.to ?? ""}" />
        </div>
        <div class="row"><button type="submit">Search</button> <a href="/console/orders">Clear</a></div>
      </form>
      <h2>${title}</h2>
      ${orderTable(r.rows)}
      ${
        r.capped
          ? html`<p class="muted" role="status">
              The chain filter looked at the newest ${CHAIN_SCAN} orders on ${v.chain} in this window and
              stopped: narrow the time window to see older ones.
            </p>`
          : ""
      }
      ${r.next ? html`<p class="pager"><a href="/console/orders?${keep.toString()}" rel="next">Older orders →</a></p>` : ""}`,
  );
}

function explorerLink(template: string | undefined, txid: string): Html {
  if (!template) return html`<span class="mono">${txid}</span>`;
  return html`<a
    class="mono"
    href="${template.replace("{txid}", encodeURIComponent(txid))}"
    rel="noreferrer noopener"
    >${txid}</a
  >`;
}

export interface OrderActions {
  cancel: boolean;
  accept: boolean;
}

export function renderOrder(
  f: Frame,
  p: OrderPage,
  explorer: (chain: string) => string | undefined,
  actions: OrderActions,
  notice: string | null,
): string {
  const o = p.order;
  return layout(
    f,
    "orders",
    `Order ${o.id}`,
    html`<h1>Order <span class="mono">${o.id}</span> ${stateBadge(o.status)}</h1>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
      <div class="grid">
        <section class="card" aria-labelledby="o-h">
          <h2 id="o-h">Order</h2>
          <dl class="kv">
            <dt>Merchant</dt>
            <dd>${p.merchant}</dd>
            <dt>Merchant order id</dt>
            <dd>${o.merchant_order_id}</dd>
            <dt>Amount</dt>
            <dd>${o.amount} ${o.currency}</dd>
            <dt>Paid</dt>
            <dd>${o.paid_amount} ${o.currency}</dd>
            ${
              o.resolution
                ? html`<dt>Resolution</dt>
                    <dd>${o.resolution}</dd>`
                : ""
            }
            <dt>Created</dt>
            <dd>${when(o.created_at)}</dd>
            <dt>Expires</dt>
            <dd>${when(o.expires_at)}</dd>
            <dt>Late until</dt>
            <dd>${when(o.late_until)}</dd>
            <dt>Callback</dt>
            <dd class="mono">${o.callback_url}</dd>
          </dl>
          ${
            actions.cancel || actions.accept
              ? html`<div class="row">
                  ${actions.cancel ? html`<form method="post" action="/console/orders/${o.id}/cancel" class="inline">${csrfField(f)}<button type="submit" class="secondary">Cancel order…</button></form>` : ""}
                  ${actions.accept ? html`<form method="post" action="/console/orders/${o.id}/accept" class="inline">${csrfField(f)}<button type="submit" class="secondary">Accept as paid…</button></form>` : ""}
                </div>`
              : ""
          }
        </section>
        <section class="card span" aria-labelledby="opt-h">
          <h2 id="opt-h">Options</h2>
          ${dataTable({
            label: "Payment options",
            head: ["Asset", "Chain", "Address", "Due", "Rate", "Rate from"],
            rows: o.options.map(
              (op) =>
                html`<tr>
                  <td>${op.asset}</td>
                  <td>${op.chain}</td>
                  <td class="mono">${op.address}</td>
                  <td class="num">${op.amount_due}</td>
                  <td class="num">${op.rate}</td>
                  <td class="rate-sources">
                    ${op.rate_sources.length ? op.rate_sources.map((r) => `${r.source} ${r.price}`).join(", ") : "the order's own currency"}
                    <span class="muted">at ${when(op.rate_at)}</span>
                  </td>
                </tr>`,
            ),
          })}
        </section>
      </div>
      <h2>Payments</h2>
      ${
        p.payments.length
          ? html`${dataTable({
              label: "Payments",
              head: ["Transaction", "Asset", "Amount", "Block", "Confirmations", "Status"],
              rows: p.payments.map(
                (py) =>
                  html`<tr>
                    <td>
                      ${explorerLink(explorer(py.chain), py.txid)}${py.index ? html` <span class="muted">#${py.index}</span>` : ""}
                    </td>
                    <td>${py.asset}</td>
                    <td class="num">${py.amount}</td>
                    <td class="num">${py.block_number ?? "mempool"}</td>
                    <td class="num">${py.confirmations}</td>
                    <td>
                      ${stateBadge(py.status)}${py.late ? " late" : ""}${py.unexpected_asset ? " unexpected asset" : ""}
                    </td>
                  </tr>`,
              ),
            })}`
          : html`<p>No payments yet.</p>`
      }
      <h2>Events</h2>
      ${
        p.events.length
          ? html`<ol class="timeline">
              ${p.events.map(
                (e) =>
                  html`<li data-event="${e.id}">
                    <div class="row">
                      <strong>#${e.seq ?? "–"} ${e.type}</strong> ${stateBadge(e.state)}
                      <span class="muted"
                        >${when(e.created_at)} · ${e.attempts} attempt${e.attempts === 1 ? "" : "s"}</span
                      >
                      <form method="post" action="/console/events/${e.id}/redeliver" class="inline">
                        ${csrfField(f)}<button
                          type="submit"
                          class="secondary"
                          aria-label="Redeliver event ${e.seq ?? e.id}"
                        >
                          Redeliver
                        </button>
                      </form>
                    </div>
                    ${
                      e.delivery_attempts.length
                        ? html`${dataTable({
                            label: `Attempts of event ${e.seq ?? e.id}`,
                            head: ["Attempt", "Started", "Status", "Latency", "Error", "Response"],
                            rows: e.delivery_attempts.map(
                              (a) =>
                                html`<tr class="attempt">
                                  <td class="num">${a.attempt}</td>
                                  <td>${when(a.started_at)}</td>
                                  <td class="num">${a.status_code ?? "—"}</td>
                                  <td class="num">${a.latency_ms} ms</td>
                                  <td class="mono">${a.error ?? ""}</td>
                                  <td class="mono">${(a.response_body ?? "").slice(0, 200)}</td>
                                </tr>`,
                            ),
                          })}`
                        : html`<p class="muted">Not attempted yet.</p>`
                    }
                  </li>`,
              )}
            </ol>`
          : html`<p>No events.</p>`
      }`,
  );
}

export function renderConfirm(
  f: Frame,
  o: { id: string; merchant_order_id: string; status: string },
  action: "cancel" | "accept",
): string {
  const what = action === "cancel" ? "Cancel this order" : "Accept this order as paid";
  return layout(
    f,
    "orders",
    what,
    html`<div class="card login">
      <h1>${what}?</h1>
      <p>
        Order <span class="mono">${o.id}</span> (${o.merchant_order_id}) is ${o.status}.
        ${
          action === "cancel"
            ? "Its addresses stop accepting payments for it."
            : "It becomes paid with resolution accepted."
        }
        The merchant gets a callback.
      </p>
      <form method="post" action="/console/orders/${o.id}/${action}">
        ${csrfField(f)}<input type="hidden" name="confirm" value="yes" />
        <div class="row">
          <button type="submit" class="danger">Yes, ${action}</button>
          <a href="/console/orders/${o.id}">No, go back</a>
        </div>
      </form>
    </div>`,
  );
}

export function renderDeliveries(
  f: Frame,
  d: { groups: HostGroup[]; truncated: boolean },
  notice: string | null,
  now: number,
): string {
  return layout(
    f,
    "deliveries",
    "Deliveries",
    html`<h1>Dead and failing deliveries</h1>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
      ${d.truncated ? html`<p class="muted">Showing the first 500 troubled events.</p>` : ""}
      ${d.groups.length === 0 ? html`<p>Every event was delivered or is waiting for its first attempt.</p>` : ""}
      ${d.groups.map(
        (g) =>
          html`<section class="card" aria-labelledby="host-${g.host}">
            <h2 id="host-${g.host}" class="mono">${g.host}</h2>
            <p>${g.dead} dead · ${g.failing} failing</p>
            ${g.dead ? html`<form method="post" action="/console/deliveries/redeliver-host">${csrfField(f)}<input type="hidden" name="host" value="${g.host}" /><button type="submit">Redeliver all dead for ${g.host} (up to ${REDELIVER_MAX})</button></form>` : ""}
            ${dataTable({
              label: `Events to ${g.host}`,
              head: ["Event", "Order", "State", "Attempts", "Last answer", "Created"],
              rows: g.events.map(
                (e) =>
                  html`<tr>
                    <td>${e.type}</td>
                    <td class="mono">
                      ${e.order_id ? html`<a href="/console/orders/${e.order_id}">${e.order_id}</a>` : "—"}
                    </td>
                    <td>${stateBadge(e.state)}</td>
                    <td class="num">${e.attempts}</td>
                    <td class="mono">
                      ${e.last ? `${e.last.status_code ?? ""} ${e.last.error ?? ""}`.trim() || "—" : "—"}
                    </td>
                    <td>${ago(now - e.created_at)} ago</td>
                  </tr>`,
              ),
            })}
          </section>`,
      )}`,
  );
}

export function renderInbox(
  f: Frame,
  rows: InboxRow[],
  explorer: (chain: string) => string | undefined,
  message: { ok: boolean; text: string } | null,
): string {
  return layout(
    f,
    "inbox",
    "Unattributed payments",
    html`<h1>Unattributed payments</h1>
      ${message ? html`<p class="${message.ok ? "notice" : "error"}" role="${message.ok ? "status" : "alert"}">${message.text}</p>` : ""}
      ${rows.length === 0 ? html`<p>No payment is waiting for an order.</p>` : ""}
      ${rows.map(
        (r) =>
          html`<section class="card" aria-label="Payment ${r.payment.id}" data-payment="${r.payment.id}">
            <dl class="kv">
              <dt>Payment</dt>
              <dd class="mono">${r.payment.id}</dd>
              <dt>Amount</dt>
              <dd>${r.payment.amount} ${r.payment.asset} on ${r.payment.chain}</dd>
              <dt>To</dt>
              <dd class="mono">${r.payment.address}</dd>
              <dt>Transaction</dt>
              <dd>${explorerLink(explorer(r.payment.chain), r.payment.txid)}</dd>
              <dt>Seen</dt>
              <dd>
                ${r.payment.created_at} · ${r.payment.confirmations} confirmations
                ${stateBadge(r.payment.status)}
              </dd>
              <dt>Address's last order</dt>
              <dd>
                ${r.lastOrder ? html`<a class="mono" href="/console/orders/${r.lastOrder.id}">${r.lastOrder.id}</a> ${r.lastOrder.merchant_order_id} ${stateBadge(r.lastOrder.status)}` : "none"}
              </dd>
            </dl>
            <form method="post" action="/console/inbox/${r.payment.id}/assign" class="row">
              ${csrfField(f)}
              <div>
                <label for="to-${r.payment.id}">Assign to order (id or merchant order id)</label
                ><input
                  id="to-${r.payment.id}"
                  name="order"
                  value="${r.lastOrder?.id ?? ""}"
                  size="34"
                  required
                />
              </div>
              <div><button type="submit">Assign</button></div>
            </form>
          </section>`,
      )}`,
  );
}

export function renderJob(f: Frame, j: JobProgress, bound: number): string {
  const settled = j.delivered + j.dead;
  const body = html`<h1>Redelivery to <span class="mono">${j.host}</span></h1>
    <section class="card" aria-labelledby="job-h" data-job="${j.id}" data-done="${j.done ? "yes" : "no"}">
      <h2 id="job-h">
        ${j.done ? "Done" : "In progress"} ${stateBadge(j.done ? (j.dead ? "dead" : "delivered") : "pending")}
      </h2>
      <p>
        Queued again: <strong class="queued">${j.total}</strong> dead event${j.total === 1 ? "" : "s"} (at
        most ${bound} per click), by ${j.operator} at ${iso(j.created_at)}.
      </p>
      <label for="job-progress">Settled: <span class="settled">${settled}</span> of ${j.total}</label>
      <progress id="job-progress" max="${j.total}" value="${settled}">${settled} of ${j.total}</progress>
      <dl class="kv">
        <dt>Delivered</dt>
        <dd class="delivered">${j.delivered}</dd>
        <dt>Dead again</dt>
        <dd class="dead">${j.dead}</dd>
        <dt>Waiting</dt>
        <dd class="pending">${j.pending}</dd>
        <dt>Attempted since</dt>
        <dd class="attempted">${j.attempted} of ${j.total}</dd>
      </dl>
      ${j.done ? "" : html`<p class="muted">This page refreshes itself every 2 s. <a href="/console/deliveries/jobs/${j.id}">Refresh</a></p>`}
      <p><a href="/console/deliveries">Back to deliveries</a></p>
    </section>
    ${dataTable({
      label: "Events of this redelivery",
      head: ["Event", "Order", "State", "Attempts since", "Last answer"],
      rows: j.events.map(
        (e) =>
          html`<tr data-event="${e.id}">
            <td>${e.type}</td>
            <td class="mono">
              ${e.order_id ? html`<a href="/console/orders/${e.order_id}">${e.order_id}</a>` : "—"}
            </td>
            <td>${stateBadge(e.state)}</td>
            <td class="num since">${e.since}</td>
            <td class="num">${e.last_code ?? "—"}</td>
          </tr>`,
      ),
    })}`;
  return layout(f, "deliveries", `Redelivery to ${j.host}`, body, j.done ? false : 2000);
}

export function renderMessage(f: Frame, title: string, text: string): string {
  return layout(
    f,
    "overview",
    title,
    html`<div class="card login">
      <h1>${title}</h1>
      <p>${text}</p>
      <p><a href="/console/overview">Back to the overview</a></p>
    </div>`,
  );
}
