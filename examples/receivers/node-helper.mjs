// A depositd callback receiver using the package's helper: `npm install depositd`, then
//   DEPOSITD_CALLBACK_SECRET=... PORT=3000 node node-helper.mjs
import { createServer } from "node:http";
import { verifySignature } from "depositd/verify";

const secret = process.env.DEPOSITD_CALLBACK_SECRET;
if (!secret) throw new Error("set DEPOSITD_CALLBACK_SECRET");

const seenEvents = new Set(); // use your database in a real shop: a unique key on the event id
const lastSeq = new Map(); // order id -> highest seq processed

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks); // verify the raw bytes, never re-serialized JSON
    const header = req.headers["depositd-signature"] ?? "";
    if (req.method !== "POST" || !verifySignature(raw, String(header), [secret])) {
      res.writeHead(400).end("bad signature");
      return;
    }
    const event = JSON.parse(raw.toString("utf8"));
    // answer 2xx for duplicates too, or depositd keeps retrying them
    if (!seenEvents.has(event.id)) {
      seenEvents.add(event.id);
      const orderId = event.order?.id;
      if (orderId && event.seq !== null && event.seq <= (lastSeq.get(orderId) ?? 0)) {
        // an older state than one already applied: record it, do not go back in time
      } else {
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
