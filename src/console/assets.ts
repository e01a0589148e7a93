// The console's one stylesheet and one script, served under content-hashed names by depositd
// itself: no CDN, no web font, nothing inline (the CSP forbids inline code).
import { createHash } from "node:crypto";
import { STATUS_COLORS } from "./chart.js";

export const STYLESHEET = `:root{--ink:#111827;--muted:#4b5563;--line:#d1d5db;--bg:#f3f4f6;--accent:#1d4ed8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
header{background:#111827;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center}
header .brand{font-weight:700;margin-right:auto}
header nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
header a{color:#fff}
header a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
header form{margin:0}
header button{background:transparent;color:#fff;border:1px solid #9ca3af;border-radius:6px;padding:.2rem .6rem}
main{max-width:78rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.25rem 0 1rem}
h2{font-size:1.1rem;margin:1.25rem 0 .5rem}
h3{font-size:1rem;margin:0 0 .4rem}
.grid{display:grid;gap:1rem;margin:0 0 1rem;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr))}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:.9rem 1rem;min-width:0;margin:0 0 1rem}
.grid>.card{margin:0}
.grid>.card.span{grid-column:1/-1}
.card>h2:first-child,.card>h3:first-child{margin-top:0}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.8rem;font-weight:700;vertical-align:middle}
.ok{background:#d1fae5;color:#064e3b}.bad{background:#fee2e2;color:#7f1d1d}.warn{background:#fef3c7;color:#78350f}.neutral{background:#e5e7eb;color:#1f2937}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .9rem;margin:.4rem 0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.chart{display:block;max-width:100%;height:auto;background:#f9fafb;border-radius:6px;margin:.4rem 0}
.scroll{overflow-x:auto;max-width:100%}
.scroll td,.scroll th{white-space:nowrap}
.scroll td.wrap{white-space:normal;min-width:14rem;max-width:28rem}
.scroll.fit td,.scroll.fit th{white-space:normal}
.grid.chains{grid-template-columns:repeat(auto-fill,minmax(min(100%,30rem),1fr))}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
form.inline{display:inline;margin:0}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}
input,select{font:inherit;padding:.4rem .5rem;border:1px solid #6b7280;border-radius:6px;max-width:100%}
button{font:inherit;cursor:pointer;border-radius:6px;border:1px solid #1e3a8a;background:var(--accent);color:#fff;padding:.35rem .8rem}
button.secondary{background:#fff;color:#1e3a8a}
button.danger{background:#b91c1c;border-color:#7f1d1d}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.row>div{min-width:0;max-width:100%}
.notice{background:#eff6ff;border-left:4px solid var(--accent);padding:.5rem .75rem;border-radius:4px;margin:0 0 1rem}
.error{background:#fef2f2;border-left:4px solid #b91c1c;padding:.5rem .75rem;border-radius:4px;margin:0 0 1rem;color:#7f1d1d}
.muted{color:var(--muted)}
.login{max-width:26rem;margin:3rem auto}
.login input{width:100%}
.timeline{list-style:none;padding:0;margin:0}
.timeline>li{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;margin:.5rem 0}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
figure{margin:.4rem 0}
ul.legend{list-style:none;padding:0;margin:.2rem 0 .6rem;display:flex;flex-wrap:wrap;gap:.1rem .8rem;font-size:.85rem}
.sw{display:inline-block;width:.75rem;height:.75rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
${Object.entries(STATUS_COLORS)
  .map(([k, c]) => `.sw-${k}{background:${c}}`)
  .join("")}
.filters{display:grid;gap:.25rem .75rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,11rem),1fr));align-items:end}
.filters .wide{grid-column:1/-1}
.filters input,.filters select{width:100%}
.pager{margin:.75rem 0}
progress{width:100%;height:1rem}
@media (max-width:40rem){main{padding:.6rem}.grid{grid-template-columns:1fr}th,td{padding:.3rem .35rem}}
`;

/**
 * Progressive enhancement only: every page works without it. It refreshes pages marked
 * data-refresh (the overview, a running redelivery job) in place.
 */
export const SCRIPT = `(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !main.hasAttribute("data-refresh")) return;
  var every = Number(main.getAttribute("data-refresh")) || 10000;
  var timer = setInterval(function () {
    if (document.hidden) return;
    fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (t) {
        if (!t) return;
        var next = new DOMParser().parseFromString(t, "text/html").getElementById("main");
        if (!next) return;
        main.replaceChildren.apply(main, Array.prototype.slice.call(next.childNodes));
        // a page that is finished (a done job) stops asking
        if (!next.hasAttribute("data-refresh")) {
          clearInterval(timer);
          main.removeAttribute("data-refresh");
        }
      })
      .catch(function () {});
  }, every);
})();
`;

export interface StaticAsset {
  path: string;
  type: string;
  body: Buffer;
}

export function staticAsset(name: string, ext: string, type: string, text: string): StaticAsset {
  const body = Buffer.from(text);
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { path: `/console/assets/${name}.${hash}.${ext}`, type, body };
}
