// The console's pages as HTML strings (server-rendered; see docs/console.md for why).
import { ORDER_STATUSES } from "../core/reconcile.js";
import type { OrderHit } from "./statements.js";
import type { HostGroup, InboxRow, Overview, OrderPage } from "./data.js";
import { HOUR, LAG_WINDOW_MS } from "./data.js";
import { barChart, lineChart } from "./chart.js";
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

export function layout(f: Frame, section: Section, title: string, body: Html, refresh = false): string {
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
        <main id="main" ${refresh ? html` data-refresh` : ""}>${body}</main>
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

function stateBadge(state: string): Html {
  const cls =
    state === "ok" || state === "delivered" || state === "paid" || state === "confirmed"
      ? "ok"
      : state === "behind" || state === "failing" || state === "pending" || state === "seen"
        ? "warn"
        : state === "stopped" || state === "dead" || state === "reverted" || state === "quarantined"
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

export function renderOverview(f: Frame, o: Overview): string {
  const from = o.now - LAG_WINDOW_MS;
  const body = html`<h1>Overview</h1>
    <h2>Chains</h2>
    <div class="grid">
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
            <div class="scroll" role="region" aria-label="${c.id} RPC URLs" tabindex="0">
              <table>
                <thead>
                  <tr>
                    <th>RPC URL</th>
                    <th>State</th>
                    <th>Errors</th>
                    <th>Last error</th>
                  </tr>
                </thead>
                <tbody>
                  ${c.rpc.map(
                    (r) =>
                      html`<tr>
                        <td class="mono">${r.url}</td>
                        <td>${stateBadge(r.state)}</td>
                        <td class="num">${r.errors}/${r.requests} (${Math.round(r.error_rate * 100)}%)</td>
                        <td>${r.last_error_at === null ? "—" : ago(o.now - r.last_error_at) + " ago"}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>
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
        <h3>Created per hour, last 24 h</h3>
        ${barChart(o.ordersPerHour, "orders created per hour, last 24 hours")}
      </section>
      <section class="card" aria-labelledby="pay-h">
        <h2 id="pay-h">Payments per hour</h2>
        ${barChart(o.paymentsPerHour, "payments seen per hour, last 24 hours")}
        <p class="muted">Last 24 h: ${o.paymentsPerHour.reduce((a, b) => a + b, 0)} payments.</p>
      </section>
    </div>
    <p class="muted">As of ${iso(o.now)}.</p>`;
  return layout(f, "overview", "Overview", body, true);
}

function orderTable(rows: OrderHit[]): Html {
  if (rows.length === 0) return html`<p>No orders found.</p>`;
  return html`<div class="scroll" role="region" aria-label="Orders" tabindex="0">
    <table>
      <thead>
        <tr>
          <th>Order</th>
          <th>Merchant order id</th>
          <th>Merchant</th>
          <th>Status</th>
          <th>Amount</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (o) =>
            html`<tr>
              <td class="mono"><a href="/console/orders/${o.id}">${o.id}</a></td>
              <td>${o.merchant_order_id}</td>
              <td>${o.merchant}</td>
              <td>${stateBadge(o.status)}</td>
              <td class="num">${o.amount} ${o.currency}</td>
              <td>${iso(o.created_at)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export const ORDER_STATUS_FILTER: readonly string[] = ORDER_STATUSES;

export function renderOrders(
  f: Frame,
  q: string,
  status: string,
  rows: OrderHit[],
  searched: boolean,
): string {
  return layout(
    f,
    "orders",
    "Orders",
    html`<h1>Orders</h1>
      <form method="get" action="/console/orders" class="row" role="search">
        <div>
          <label for="q">Order id, merchant order id, address or txid</label
          ><input id="q" name="q" value="${q}" size="44" />
        </div>
        <div>
          <label for="status">Status</label
          ><select id="status" name="status">
            <option value="">any</option>
            ${ORDER_STATUS_FILTER.map((s) => html`<option${s === status ? html` selected` : ""}>${s}</option>`)}
          </select>
        </div>
        <div><button type="submit">Search</button></div>
      </form>
      <h2>${searched ? `Matches for “${q}”` : status ? `Newest ${status} orders` : "Newest orders"}</h2>
      ${orderTable(rows)}`,
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
        <section class="card" aria-labelledby="opt-h">
          <h2 id="opt-h">Options</h2>
          <div class="scroll" role="region" aria-label="Payment options" tabindex="0">
            <table>
              <thead>
                <tr>
                  <th>Asset</th>
                  <th>Chain</th>
                  <th>Address</th>
                  <th>Due</th>
                  <th>Rate</th>
                </tr>
              </thead>
              <tbody>
                ${o.options.map(
                  (op) =>
                    html`<tr>
                      <td>${op.asset}</td>
                      <td>${op.chain}</td>
                      <td class="mono">${op.address}</td>
                      <td class="num">${op.amount_due}</td>
                      <td class="num">${op.rate}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>
        </section>
      </div>
      <h2>Payments</h2>
      ${
        p.payments.length
          ? html`<div class="scroll" role="region" aria-label="Payments" tabindex="0">
              <table>
                <thead>
                  <tr>
                    <th>Transaction</th>
                    <th>Asset</th>
                    <th>Amount</th>
                    <th>Block</th>
                    <th>Confirmations</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  ${p.payments.map(
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
                  )}
                </tbody>
              </table>
            </div>`
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
                        ? html`<div
                            class="scroll"
                            role="region"
                            aria-label="Attempts of event ${e.seq ?? e.id}"
                            tabindex="0"
                          >
                            <table>
                              <thead>
                                <tr>
                                  <th>Attempt</th>
                                  <th>Started</th>
                                  <th>Status</th>
                                  <th>Latency</th>
                                  <th>Error</th>
                                  <th>Response</th>
                                </tr>
                              </thead>
                              <tbody>
                                ${e.delivery_attempts.map(
                                  (a) =>
                                    html`<tr class="attempt">
                                      <td class="num">${a.attempt}</td>
                                      <td>${when(a.started_at)}</td>
                                      <td class="num">${a.status_code ?? "—"}</td>
                                      <td class="num">${a.latency_ms} ms</td>
                                      <td class="mono">${a.error ?? ""}</td>
                                      <td class="mono">${(a.response_body ?? "").slice(0, 200)}</td>
                                    </tr>`,
                                )}
                              </tbody>
                            </table>
                          </div>`
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
            ${g.dead ? html`<form method="post" action="/console/deliveries/redeliver-host">${csrfField(f)}<input type="hidden" name="host" value="${g.host}" /><button type="submit">Redeliver all dead for ${g.host} (up to 200)</button></form>` : ""}
            <div class="scroll" role="region" aria-label="Events to ${g.host}" tabindex="0">
              <table>
                <thead>
                  <tr>
                    <th>Event</th>
                    <th>Order</th>
                    <th>State</th>
                    <th>Attempts</th>
                    <th>Last answer</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  ${g.events.map(
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
                  )}
                </tbody>
              </table>
            </div>
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
