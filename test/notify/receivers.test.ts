import { testDatabase } from "../helpers/config.js";
// Runs every receiver example from examples/receivers/ against events the real worker delivers.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DB } from "../../src/db/index.js";
import { createDeliveryWorker } from "../../src/notify/deliver.js";
import { signatureHeader } from "../../src/notify/sign.js";
import { transpileForChild } from "./build-child.js";
import {
  OLD_SECRET,
  SECRET,
  attemptsOf,
  eventRow,
  insertEvents,
  insertOrder,
  startReceiver,
  testCommon,
  testConfig,
  waitFor,
} from "./helpers.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/receivers/", import.meta.url));
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Running {
  url: string;
  lines: string[];
  child: ChildProcess;
}

/** Starts an example receiver on a free port and waits for its "listening on" line. */
async function runReceiver(command: string, args: string[], cwd: string): Promise<Running> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, DEPOSITD_CALLBACK_SECRET: SECRET, PORT: "0", HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(() => child.kill("SIGKILL"));
  const lines: string[] = [];
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => lines.push(...d.split("\n").filter(Boolean)));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  await waitFor(
    () => lines.some((l) => l.startsWith("listening on ")),
    15_000,
    `${args.join(" ")} to listen (${stderr})`,
  );
  const url =
    lines.find((l) => l.startsWith("listening on "))!.slice("listening on ".length) + "hooks/depositd";
  return { url, lines, child };
}

async function post(url: string, body: string, signature: string): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "depositd-signature": signature },
  });
  await res.text();
  return res.status;
}

let db: DB;
let seq = 0;

/** Delivers one real event (signed by the given secrets) to `url` with the worker; returns its id. */
async function deliverTo(url: string, secrets: string[] = [SECRET]): Promise<string> {
  seq++;
  const orderId = `ord_rx${seq}`;
  const id = `evt_rx${seq}`;
  insertOrder(db, orderId, url);
  insertEvents(db, [{ id, orderId, seq: 1, url, at: Date.now() - 10 }]);
  const common = testCommon(testConfig({ secrets: secrets.map((value, i) => ({ id: `k${i}`, value })) }));
  const worker = createDeliveryWorker({ db, common });
  await worker.tick();
  await worker.stop(100);
  return id;
}

beforeAll(() => {
  db = testDatabase();
  cleanups.push(() => db.close());
});

describe.each([
  { name: "node (depositd/verify helper)", file: "node-helper.mjs", command: process.execPath },
  { name: "node (plain node:crypto)", file: "node-crypto.mjs", command: process.execPath },
  { name: "python (hmac)", file: "python_receiver.py", command: "python3" },
])("examples/receivers: $name", ({ file, command }) => {
  let rx: Running;

  beforeAll(async () => {
    let cwd = EXAMPLES;
    if (file === "node-helper.mjs") {
      // install the helper the way a shop gets it: a `depositd` package exporting ./verify
      const build = transpileForChild(["src/notify/verify.ts"]);
      cleanups.push(build.cleanup);
      const pkg = join(build.dir, "node_modules", "depositd");
      mkdirSync(join(pkg, "dist", "src", "notify"), { recursive: true });
      copyFileSync(
        join(build.dir, "src", "notify", "verify.js"),
        join(pkg, "dist", "src", "notify", "verify.js"),
      );
      writeFileSync(
        join(pkg, "package.json"),
        JSON.stringify({
          name: "depositd",
          type: "module",
          exports: { "./verify": "./dist/src/notify/verify.js" },
        }),
      );
      cwd = join(build.dir, "shop");
      mkdirSync(cwd, { recursive: true });
      copyFileSync(join(EXAMPLES, file), join(cwd, file));
    }
    rx = await runReceiver(command, [join(cwd, file)], cwd);
  });

  it("default: accepts a real delivered event (delivered = the receiver verified it)", async () => {
    const id = await deliverTo(rx.url);
    expect(eventRow(db, id).state).toBe("delivered");
    expect(attemptsOf(db, id)[0]!.status_code).toBe(200);
    await waitFor(() => rx.lines.some((l) => l.includes(id)), 5000, "receiver log line");
    expect(JSON.parse(rx.lines.find((l) => l.includes(id))!)).toMatchObject({
      received: id,
      type: "order.paid",
      seq: 1,
    });
  });

  it("behavior: rotation — a receiver holding only one of two secrets accepts", async () => {
    expect(eventRow(db, await deliverTo(rx.url, [OLD_SECRET, SECRET])).state).toBe("delivered");
    expect(eventRow(db, await deliverTo(rx.url, [SECRET, OLD_SECRET])).state).toBe("delivered");
  });

  it("error: wrong secret, tampered body, old timestamp → 400 (and the worker retries)", async () => {
    const id = await deliverTo(rx.url, [OLD_SECRET]);
    expect(eventRow(db, id).state).toBe("pending");
    expect(attemptsOf(db, id)[0]!.status_code).toBe(400);

    const body = '{"id":"evt_manual","type":"order.paid","seq":1,"order":null,"payment":null}';
    const now = Math.floor(Date.now() / 1000);
    expect(await post(rx.url, body, signatureHeader(body, [SECRET], now))).toBe(200);
    expect(await post(rx.url, body.replace('"seq":1', '"seq":2'), signatureHeader(body, [SECRET], now))).toBe(
      400,
    );
    expect(await post(rx.url, body, signatureHeader(body, [SECRET], now - 301))).toBe(400);
    expect(await post(rx.url, body, "t=abc,v1=nothex")).toBe(400);
  });
});

describe("examples/receivers/verify.sh (openssl dgst -hmac)", () => {
  it("default: verifies a real delivered event; rejects tampering and old timestamps", async () => {
    const capture = await startReceiver();
    cleanups.push(() => capture.close());
    const id = await deliverTo(capture.url, [OLD_SECRET, SECRET]);
    expect(eventRow(db, id).state).toBe("delivered");
    const got = capture.received[0]!;
    const dir = mkdtempSync(join(tmpdir(), "depositd-sh-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bodyFile = join(dir, "body.json");
    writeFileSync(bodyFile, got.body);
    const header = String(got.headers["depositd-signature"]);
    const verifySh = (h: string, secret = SECRET) =>
      spawnSync("sh", [join(EXAMPLES, "verify.sh"), h, bodyFile], {
        env: { ...process.env, DEPOSITD_CALLBACK_SECRET: secret },
        encoding: "utf8",
      });

    const ok = verifySh(header);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(verifySh(header, OLD_SECRET).status).toBe(0);
    expect(verifySh(header, "some_other_secret_value").status).toBe(1);

    const old = signatureHeader(got.body, [SECRET], Math.floor(Date.now() / 1000) - 301);
    expect(verifySh(old).status).toBe(1);
    expect(verifySh("v1=abc").status).toBe(1);

    writeFileSync(bodyFile, got.body.replace('"seq":1', '"seq":9'));
    expect(verifySh(header).status).toBe(1);
  });
});
