// The page's only stylesheet and script, served by depositd under content-hashed names: no CDN,
// no web font, nothing inline (so the CSP can forbid inline code).
import { createHash } from "node:crypto";

export function stylesheet(accent: string): string {
  return `:root{--accent:${accent};--ink:#111827;--muted:#4b5563;--line:#d1d5db;--bg:#f3f4f6}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif}
.card{max-width:30rem;margin:0 auto;background:#fff;min-height:100vh;padding:1rem 1.25rem 2rem}
@media (min-width:40rem){body{padding:2rem 1rem}.card{min-height:0;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:1.5rem 2rem 2rem}}
.shop{display:flex;align-items:center;gap:.6rem;border-bottom:4px solid var(--accent);padding-bottom:.75rem}
.shop .logo{width:40px;height:40px;object-fit:contain}
.shop .name{font-weight:700;font-size:1.1rem}
.total{margin:1rem 0 .5rem}
.total h1{margin:.1rem 0 0;font-size:1.9rem;line-height:1.2}
.label{display:block;color:var(--muted);font-size:.85rem}
.status{border-radius:8px;padding:.6rem .8rem;margin:.75rem 0;font-weight:600}
.status p{margin:0}
.status .conf{font-weight:400;margin-top:.2rem}
.status.wait{background:#eff6ff;color:#1e3a8a}
.status.good{background:#ecfdf5;color:#065f46}
.status.bad{background:#fef2f2;color:#991b1b}
.picker h2{font-size:.85rem;color:var(--muted);font-weight:400;margin:1rem 0 .35rem}
.picker ul{list-style:none;margin:0;padding:0;display:grid;gap:.4rem}
.picker a{display:block;padding:.6rem .8rem;border:1px solid var(--line);border-radius:8px;color:var(--ink);text-decoration:none}
.picker a.current{border:2px solid var(--accent);font-weight:700;padding:calc(.6rem - 1px) calc(.8rem - 1px)}
.pay{margin-top:1rem}
.field{margin:.75rem 0}
.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
.big{font-size:1.35rem;font-weight:700;word-break:break-all}
.address{font:600 .95rem/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all;background:var(--bg);padding:.35rem .5rem;border-radius:6px;flex:1 1 14rem}
button{font:inherit;cursor:pointer}
.copy{border:1px solid var(--line);background:#fff;color:var(--ink);border-radius:6px;padding:.35rem .7rem;font-size:.9rem}
.button{display:block;width:100%;text-align:center;border:0;border-radius:8px;padding:.8rem 1rem;margin:1rem 0;font-weight:700;text-decoration:none}
.primary{background:var(--accent);color:#fff}
.wallet[hidden]{display:none}
.qrbox{margin:1rem auto;text-align:center;max-width:17rem}
.qr{display:block;width:100%;height:auto;image-rendering:pixelated}
.qrbox figcaption{color:var(--muted);font-size:.85rem;margin-top:.25rem}
.warning{background:#fffbeb;color:#78350f;border-left:4px solid #d97706;padding:.5rem .75rem;border-radius:4px;font-size:.9rem}
.muted{color:var(--muted);font-size:.9rem}
.timer{margin-top:1rem;display:flex;justify-content:space-between;align-items:baseline}
.timer .label{display:inline}
.timer time{font-variant-numeric:tabular-nums;font-weight:700}
.wallet-status:empty{display:none}
.meta{margin:.5rem 0;font-size:.9rem}.meta div{display:flex;gap:.5rem}.meta dt{color:var(--muted)}.meta dd{margin:0}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem;text-align:center}
footer a{color:var(--muted)}
.offscreen{position:fixed;left:-9999px;top:0}
a:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
`;
}

export const SCRIPT = `(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main) return;
  var tick = null;

  function clock(sec) {
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  function startClock() {
    if (tick) clearInterval(tick);
    var el = main.querySelector("[data-left]");
    if (!el) return;
    var left = Number(el.getAttribute("data-left"));
    var t0 = performance.now();
    tick = setInterval(function () {
      var s = Math.max(0, left - Math.floor((performance.now() - t0) / 1000));
      el.textContent = clock(s);
      if (s === 0) clearInterval(tick);
    }, 1000);
  }
  function showWallets() {
    var eth = window.ethereum;
    if (!eth || typeof eth.request !== "function") return;
    main.querySelectorAll("[data-wallet]").forEach(function (b) { b.hidden = false; });
  }
  function init() { startClock(); showWallets(); }

  function copy(b) {
    var text = b.getAttribute("data-copy");
    var done = function () { b.textContent = b.getAttribute("data-done"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
      return;
    }
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    try { if (document.execCommand("copy")) done(); } catch (e) {}
    document.body.removeChild(ta);
  }

  async function pay(b) {
    var eth = window.ethereum;
    var out = main.querySelector("[data-wallet-status]");
    b.disabled = true;
    try {
      var accounts = await eth.request({ method: "eth_requestAccounts" });
      var want = b.getAttribute("data-chain");
      var have = await eth.request({ method: "eth_chainId" });
      if (String(have).toLowerCase() !== want) {
        await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: want }] });
        have = await eth.request({ method: "eth_chainId" });
        if (String(have).toLowerCase() !== want) throw new Error("wrong chain");
      }
      var tx = { from: accounts[0], to: b.getAttribute("data-to") };
      if (b.hasAttribute("data-value")) tx.value = b.getAttribute("data-value");
      if (b.hasAttribute("data-data")) tx.data = b.getAttribute("data-data");
      await eth.request({ method: "eth_sendTransaction", params: [tx] });
      if (out) out.textContent = b.getAttribute("data-sent");
    } catch (e) {
      if (out) out.textContent = b.getAttribute("data-failed");
      b.disabled = false;
    }
  }

  main.addEventListener("click", function (ev) {
    var b = ev.target.closest("button");
    if (!b) return;
    if (b.hasAttribute("data-copy")) copy(b);
    else if (b.hasAttribute("data-wallet")) pay(b);
  });

  init();
  if (main.getAttribute("data-done") !== "1" && window.EventSource) {
    var es = new EventSource(location.pathname.replace(/\\/+$/, "") + "/events" + location.search);
    es.onmessage = function (m) {
      var d = JSON.parse(m.data);
      main.innerHTML = d.html;
      main.setAttribute("data-done", d.done ? "1" : "0");
      init();
      if (d.done) es.close();
    };
    // a stream refused for good (429, a restart's 404 window): fall back to what noscript does
    es.onerror = function () {
      if (es.readyState === 2) setTimeout(function () { location.reload(); }, 15000);
    };
  }
})();
`;

export interface StaticAsset {
  path: string;
  type: string;
  body: Buffer;
  etag: string;
}

export function staticAsset(name: string, ext: string, type: string, body: Buffer | string): StaticAsset {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const hash = createHash("sha256").update(buf).digest("hex").slice(0, 12);
  return { path: `/checkout/${name}.${hash}.${ext}`, type, body: buf, etag: `"${hash}"` };
}
