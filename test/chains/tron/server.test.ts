// The test node must speak exactly what the TRON docs show; these compare it with the fixtures.
import { readFileSync } from "node:fs";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type TronServer,
  encodeRawTransaction,
  rawReply,
  startTronServer,
} from "../../helpers/tron-server.js";

type Fixture = any;

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
}

/** every key path of a JSON value (array elements collapsed to []) */
function keyPaths(v: unknown, prefix = ""): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(v)) for (const x of v) for (const p of keyPaths(x, prefix + "[]")) out.add(p);
  else if (typeof v === "object" && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.add(prefix + "." + k);
      for (const p of keyPaths(x, prefix + "." + k)) out.add(p);
    }
  }
  return out;
}

let server: TronServer;
async function post(path: string, body: unknown): Promise<Fixture> {
  const res = await request(server.url + path, { method: "POST", body: JSON.stringify(body) });
  return res.body.json();
}

beforeAll(async () => {
  server = await startTronServer({ solidLag: 5, initialBlocks: 10 });
});
afterAll(() => server.stop());

describe("tron test server", () => {
  it("encodes raw_data exactly as the fixtures' raw_data_hex", () => {
    const trx = fixture("getblockbynum_mainnet_30864544.json").transactions[0];
    expect(encodeRawTransaction(trx.raw_data)).toBe(trx.raw_data_hex);
    const trc10 = fixture("getblockbylimitnext_mainnet_30864542.json").block[0].transactions[0];
    expect(encodeRawTransaction(trc10.raw_data)).toBe(trc10.raw_data_hex);
  });

  it("serves blocks, transactions and infos with the fixtures' fields", async () => {
    const { chain } = server;
    const [alice, bob] = [chain.newAccount(), chain.newAccount()];
    chain.transferTrx(alice, bob.address, 50_000_000n);
    const trc20 = chain.transferTrc20("TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf", alice, bob.address, 1_000_000n);
    chain.transferTrc10(alice, bob.address, 468000n);
    const n = chain.mine();

    const block = await post("/wallet/getblockbynum", { num: n });
    const mainnet = fixture("getblockbynum_mainnet_30864544.json");
    const fromTrx = keyPaths({ ...block, transactions: [block.transactions[0]] });
    for (const p of keyPaths(mainnet)) expect(fromTrx).toContain(p);
    expect(block.transactions[0].raw_data.contract[0].parameter.value.to_address).toBe(bob.hex);

    const list = await post("/wallet/getblockbylimitnext", { startNum: n, endNum: n + 1 });
    const trc10Paths = keyPaths({
      block: [{ ...list.block[0], transactions: [list.block[0].transactions[2]] }],
    });
    const trc10Fixture = fixture("getblockbylimitnext_mainnet_30864542.json");
    delete trc10Fixture.block[0].transactions[0].raw_data.data; // a memo, optional
    for (const p of keyPaths(trc10Fixture)) expect(trc10Paths).toContain(p);

    const info = await post("/wallet/gettransactioninfobyid", { value: trc20 });
    for (const p of keyPaths(fixture("gettransactioninfobyid_nile_usdt_transfer.json")))
      expect(keyPaths(info)).toContain(p);
    expect(info.log[0].address).toBe("eca9bc828a3005b9a3b909f2cc5c2a54794de05f");
    expect(info.log[0].topics[2]).toBe("0".repeat(24) + bob.hex.slice(2));

    const infos = await post("/wallet/gettransactioninfobyblocknum", { num: n });
    expect(infos).toHaveLength(3);
    for (const p of keyPaths(fixture("gettransactioninfobyblocknum_nile_66987565_first2.json"))) {
      expect(keyPaths([infos[0]])).toContain(p);
    }
  });

  it("answers {} for a missing block, [] for no infos, omits an empty block's transactions", async () => {
    const { chain } = server;
    expect(await post("/wallet/getblockbynum", { num: chain.head + 1 })).toEqual({});
    expect(
      await post("/wallet/getblockbylimitnext", { startNum: chain.head + 1, endNum: chain.head + 3 }),
    ).toEqual({});
    const empty = chain.mine();
    expect(await post("/wallet/gettransactioninfobyblocknum", { num: empty })).toEqual([]);
    expect(await post("/wallet/getblockbynum", { num: empty })).not.toHaveProperty("transactions");
    // genesis: protobuf JSON omits number 0
    expect((await post("/wallet/getblockbynum", { num: 0 })).block_header.raw_data).not.toHaveProperty(
      "number",
    );
  });

  it("walletsolidity twins trail the head by solidLag", async () => {
    const { chain } = server;
    const head = await post("/wallet/getnowblock", {});
    const solid = await post("/walletsolidity/getnowblock", {});
    expect(head.block_header.raw_data.number).toBe(chain.head);
    expect(solid.block_header.raw_data.number).toBe(chain.head - 5);
    expect(await post("/walletsolidity/getblockbynum", { num: chain.head })).toEqual({});
    chain.solidLag = 0;
    expect((await post("/walletsolidity/getnowblock", {})).blockID).toBe(chain.blockId(chain.head));
    chain.solidLag = 5;
  });

  it("blockIDs carry the number and chain by parentHash; reorg changes the hashes", () => {
    const { chain } = server;
    const top = chain.mine(3);
    for (let n = 1; n <= top; n++) {
      expect(parseInt(chain.blockId(n).slice(0, 16), 16)).toBe(n);
      expect((chain.blockJson(n) as Fixture).block_header.raw_data.parentHash).toBe(chain.blockId(n - 1));
    }
    const before = [top - 1, top].map((n) => chain.blockId(n));
    chain.reorg(2);
    expect(chain.head).toBe(top);
    expect([top - 1, top].map((n) => chain.blockId(n))).not.toEqual(before);
    expect((chain.blockJson(top - 1) as Fixture).block_header.raw_data.parentHash).toBe(
      chain.blockId(top - 2),
    );
  });

  it("overrides replace one path's answer", async () => {
    server.override("/wallet/getnowblock", () => rawReply(503, "busy"));
    const res = await request(server.url + "/wallet/getnowblock", { method: "POST", body: "{}" });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    server.override("/wallet/getnowblock", undefined);
    expect((await post("/wallet/getnowblock", {})).blockID).toBe(server.chain.blockId(server.chain.head));
  });
});
