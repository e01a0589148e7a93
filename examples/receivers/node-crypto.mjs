// A depositd callback receiver with nothing but node:crypto:
//   DEPOSITD_CALLBACK_SECRET=... PORT=3000 node node-crypto.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const secret = process.env.DEPOSITD_CALLBACK_SECRET;
if (!secret) throw new Error("set DEPOSITD_CALLBACK_SECRET");
const TOLERANCE_S = 300;

/** Depositd-Signature: t=<unix s>,v1=<hex>[,v1=<hex>] — HMAC-SHA256(secret, "<t>.<raw body>") */
function verify(raw, header) {
  let t = null;
  const v1 = [];
  for (const part of String(header).split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k === "t" && /^\d+$/.test(v ?? "")) t = Number(v);
    if (k === "v1" && /^[0-9a-f]{64}$/.test(v ?? "")) v1.push(Buffer.from(v, "hex"));
  }
  if (t === null || v1.length === 0) return false;
  if (Math.abs(Date.now() / 1000 - t) > TOLERANCE_S) return false; // replayed or stale
  const expected = createHmac("sha256", secret).update(`${t}.`).update(raw).digest();
  return v1.some((sig) => timingSafeEqual(sig, expected));
}

const seenEvents = new Set();
const lastSeq = new Map();

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    if (req.method !== "POST" || !verify(raw, req.headers["depositd-signature"] ?? "")) {
      res.writeHead(400).end("bad signature");
      return;
    }
    const event = JSON.parse(raw.toString("utf8"));
    if (!seenEvents.has(event.id)) {
      seenEvents.add(event.id);
      const orderId = event.order?.id;
      const stale = orderId && event.seq !== null && event.seq <= (lastSeq.get(orderId) ?? 0);
      if (!stale) {
        if (orderId && event.seq !== null) lastSeq.set(orderId, event.seq);
        console.log(
          JSON.stringify({
            received: event.id,
            type: event.type,
            seq: event.seq,
            status: event.order?.status ?? null,
          }),
        );
      }
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}/`);
});
