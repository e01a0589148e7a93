// The checkout page as server-rendered HTML. Every merchant- or order-provided string passes
// through esc(); the live stream sends the same fragment the page was rendered with.
import { LANGUAGE_NAMES, LANGUAGES, type Lang, STRINGS, type Strings, fill } from "./i18n.js";
import { qrSvg } from "./qr.js";
import type { CheckoutOption, CheckoutState } from "./view.js";

export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** a table string with escaped values filled in */
function t(s: Strings, key: keyof Strings, values: Record<string, string> = {}): string {
  return fill(esc(s[key]), Object.fromEntries(Object.entries(values).map(([k, v]) => [k, esc(v)])));
}

function query(lang: Lang | undefined, option: string | undefined): string {
  const p = new URLSearchParams();
  if (option) p.set("option", option);
  if (lang) p.set("lang", lang);
  const s = p.toString();
  return s ? `?${s}` : "";
}

function statusLine(state: CheckoutState, s: Strings, sel: CheckoutOption | undefined): string {
  const st = state.order.status;
  let text: string;
  switch (st) {
    case "partially_paid":
      text = t(s, "status_partially_paid", { amount: sel ? `${sel.amount_due} ${sel.symbol}` : "" });
      break;
    case "processing":
    case "pending":
    case "paid":
    case "paid_late":
    case "overpaid":
    case "expired":
    case "cancelled":
      text = t(s, `status_${st}`);
      break;
    default:
      text = esc(st);
  }
  let conf = "";
  if (st === "processing" && sel?.confirmations) {
    const c = sel.confirmations;
    conf = `<p class="conf" data-conf>${
      c.need === "final"
        ? t(s, "confirmations_final")
        : t(s, "confirmations", { have: String(c.have), need: String(c.need) })
    }</p>`;
  }
  const tone = state.done ? (st === "cancelled" ? "bad" : "good") : st === "expired" ? "bad" : "wait";
  return `<div class="status ${tone}" role="status" data-status="${esc(st)}"><p>${text}</p>${conf}</div>`;
}

/** the part of the page that changes: replaced as a whole by the live stream */
export function renderMain(state: CheckoutState, lang: Lang, langInUrl: boolean): string {
  const s = STRINGS[lang];
  const sel = state.options.find((o) => o.asset === state.selected);
  const o = state.order;
  let html = statusLine(state, s, sel);
  const open = !state.done && o.status !== "expired";
  if (state.done && o.status !== "cancelled" && o.return_url) {
    html += `<a class="button primary" href="${esc(o.return_url)}" rel="noreferrer">${t(s, "back_to_shop")}</a>`;
  }
  if (open && sel) {
    // a choice only matters while something is left to send
    if (state.options.length > 1 && sel.amount_due !== "0") {
      html += `<nav class="picker" aria-label="${t(s, "pay_with")}"><h2>${t(s, "pay_with")}</h2><ul>`;
      for (const opt of state.options) {
        const current = opt.asset === sel.asset;
        html +=
          `<li><a href="${esc(query(langInUrl ? lang : undefined, opt.asset))}"` +
          `${current ? ' aria-current="true" class="current"' : ""}>${esc(opt.label)}</a></li>`;
      }
      html += `</ul></nav>`;
    }
    const remaining = sel.amount_due !== "0";
    html += `<section class="pay" aria-label="${esc(sel.label)}">`;
    if (remaining) {
      html +=
        `<div class="field"><span class="label">${t(s, "send_exactly")}</span>` +
        `<div class="row"><output class="big" data-amount>${esc(sel.amount_due)} ${esc(sel.symbol)}</output>` +
        `<button type="button" class="copy" data-copy="${esc(sel.amount_due)}" data-done="${t(s, "copied")}">${t(s, "copy_amount")}</button></div></div>` +
        `<div class="field"><span class="label">${t(s, "to_address")}</span>` +
        `<div class="row"><code class="address" data-address>${esc(sel.address)}</code>` +
        `<button type="button" class="copy" data-copy="${esc(sel.address)}" data-done="${t(s, "copied")}">${t(s, "copy_address")}</button></div></div>` +
        `<figure class="qrbox">${qrSvg(sel.qr, t(s, "qr_alt", { asset: sel.label, address: sel.address }))}` +
        `<figcaption>${t(s, "scan")}</figcaption></figure>`;
      if (sel.wallet) {
        const w = sel.wallet;
        html +=
          `<button type="button" class="button primary wallet" hidden data-wallet data-chain="${esc(w.chainId)}" ` +
          `data-to="${esc(w.to)}"${w.value ? ` data-value="${esc(w.value)}"` : ""}${w.data ? ` data-data="${esc(w.data)}"` : ""} ` +
          `data-sent="${t(s, "wallet_sent")}" data-failed="${t(s, "wallet_failed")}">${t(s, "wallet_pay")}</button>` +
          `<p class="wallet-status" data-wallet-status aria-live="polite"></p>`;
      }
      html += `<p class="warning">${t(s, "warning", { asset: sel.symbol, network: sel.network + (sel.standard ? ` (${sel.standard})` : "") })}</p>`;
    }
    if (sel.received !== "0")
      html += `<p class="muted">${t(s, "paid_so_far")}: ${esc(sel.received)} ${esc(sel.symbol)}</p>`;
    html += `</section>`;
    html +=
      `<p class="timer"><span class="label">${t(s, "time_left")}</span> ` +
      `<time data-left="${o.seconds_left}" datetime="${esc(o.expires_at)}">${clock(o.seconds_left)}</time></p>`;
  }
  return html;
}

export function clock(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return `${h ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

export function renderPage(
  state: CheckoutState,
  lang: Lang,
  opts: { langInUrl: boolean; assets: { css: string; js: string } },
): string {
  const s = STRINGS[lang];
  const o = state.order;
  const sel = state.selected;
  // without JavaScript the page still moves: a refresh while something can still change
  const refresh = state.done ? "" : `<noscript><meta http-equiv="refresh" content="15"></noscript>`;
  const meta = Object.entries(o.metadata)
    .map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`)
    .join("");
  const langs = LANGUAGES.map((l) =>
    l === lang
      ? `<strong lang="${STRINGS[l].html_lang}">${LANGUAGE_NAMES[l]}</strong>`
      : `<a lang="${STRINGS[l].html_lang}" hreflang="${STRINGS[l].html_lang}" href="${esc(query(l, sel))}">${LANGUAGE_NAMES[l]}</a>`,
  ).join(" · ");
  return (
    `<!doctype html><html lang="${s.html_lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="referrer" content="no-referrer">${refresh}` +
    `<title>${t(s, "title")} · ${esc(state.shop.name)}</title>` +
    `<link rel="stylesheet" href="${opts.assets.css}"><script src="${opts.assets.js}" defer></script></head>` +
    `<body><div class="card"><header class="shop">` +
    (state.shop.logo_url
      ? `<img class="logo" src="${esc(state.shop.logo_url)}" alt="" width="40" height="40">`
      : "") +
    `<span class="name">${esc(state.shop.name)}</span></header>` +
    `<div class="total"><span class="label">${t(s, "order")} ${esc(o.merchant_order_id)}</span>` +
    `<h1 class="amount">${esc(o.amount)} ${esc(o.currency)}</h1></div>` +
    (meta ? `<dl class="meta">${meta}</dl>` : "") +
    `<main id="main" data-done="${state.done ? "1" : "0"}">${renderMain(state, lang, opts.langInUrl)}</main>` +
    (refresh ? `<noscript><p class="muted">${t(s, "no_js")}</p></noscript>` : "") +
    `<footer><nav aria-label="${t(s, "language")}">${langs}</nav></footer></div></body></html>`
  );
}

export function renderNotFound(lang: Lang, css: string): string {
  const s = STRINGS[lang];
  return (
    `<!doctype html><html lang="${s.html_lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${t(s, "not_found")}</title>` +
    `<link rel="stylesheet" href="${css}"></head><body><main class="card"><h1>${t(s, "not_found")}</h1></main></body></html>`
  );
}
