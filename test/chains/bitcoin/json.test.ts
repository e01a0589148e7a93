import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { intFromText, satsFromBtcText } from "../../../src/chains/bitcoin/json.js";
import { parseJsonKeepingNumbers } from "../../../src/rpc/json.js";
import { parseCoreBlock } from "../../../src/chains/bitcoin/core.js";
import { RetryableError } from "../../../src/errors.js";

// Verbatim copy of /work/shared/fixtures/bitcoin/getblock_v2_regtest_height406_p2wpkh.json; ".txt" keeps
// prettier from rewriting 12.50002820 as 12.5000282, which is exactly the text this test reads.
const fixture = readFileSync(
  new URL("./fixtures/getblock_v2_regtest_height406_p2wpkh.json.txt", import.meta.url),
  "utf8",
);
const watch = (...addresses: string[]) => {
  const set = new Set(addresses);
  return { has: (a: string) => set.has(a), size: set.size };
};

describe("parseJsonKeepingNumbers", () => {
  test("default: every number arrives as its source text, strings untouched", () => {
    const parsed = parseJsonKeepingNumbers(
      '{"value": 0.1, "big": 20999999.99999999, "n": 0, "neg": -1.5e-10, "s": "1.5 \\"2\\" 3", "ok": true, "x": null, "a": [1, 2.50000000]}',
    );
    expect(parsed).toEqual({
      value: "0.1",
      big: "20999999.99999999",
      n: "0",
      neg: "-1.5e-10",
      s: '1.5 "2" 3',
      ok: true,
      x: null,
      a: ["1", "2.50000000"],
    });
  });

  test("behavior: amounts stay exact decimal text, where float maths would not", () => {
    const { v, w } = parseJsonKeepingNumbers('{"v": 20999999.99999999, "w": 0.29}') as {
      v: string;
      w: string;
    };
    expect(v).toBe("20999999.99999999");
    expect(satsFromBtcText(v)).toBe(2099999999999999n);
    // What a float path risks: 0.29 BTC × 1e8 is not 29000000.
    expect(0.29 * 1e8).not.toBe(29000000);
    expect(satsFromBtcText(w)).toBe(29000000n);
    expect(satsFromBtcText("0.00000001")).toBe(1n);
    expect(satsFromBtcText("12.50002820")).toBe(1250002820n);
  });

  test("error: malformed JSON and non-amounts are refused", () => {
    expect(() => parseJsonKeepingNumbers('{"v": 1,}')).toThrow();
    expect(() => satsFromBtcText(0.5)).toThrow(RetryableError);
    expect(() => satsFromBtcText("1e-8")).toThrow();
    expect(() => satsFromBtcText("0.000000001")).toThrow(/fraction digits/);
    expect(() => intFromText("1.5", "height")).toThrow(/height/);
    expect(intFromText("406", "height")).toBe(406);
  });
});

describe("parseCoreBlock (getblock <hash> 2 fixture, regtest height 406)", () => {
  const answer = parseJsonKeepingNumbers(fixture);

  test("default: a watched P2WPKH output is a payment of exactly 0.5 BTC", () => {
    const { block, transfers } = parseCoreBlock(
      answer,
      watch("bcrt1qxqcfnx6tk79lmat8vau9vfquz440rm9ztdx9v7"),
      "BTC",
    );
    expect(block).toEqual({
      number: 406,
      hash: "2116cb4ddde5b503d418595cfdb7dc03725b5776a68e4bf625fa00cf362e89c1",
      parentHash: "5a80a437d646773c9f6f04fa70f21d09b996a99743687e6814a29d3fb3fa8084",
      timestamp: 1785758434000,
    });
    expect(transfers).toEqual([
      {
        txid: "9536e1ed08a56b89e45a69d2ade2a84b1068d62a92997b5b6e084d7ef486042e",
        index: 1,
        via: "output",
        asset: "BTC",
        address: "bcrt1qxqcfnx6tk79lmat8vau9vfquz440rm9ztdx9v7",
        amount: 50000000n,
        block: { number: 406, hash: block.hash, timestamp: 1785758434000 },
      },
    ]);
  });

  test("behavior: coinbase outputs count when watched; change and OP_RETURN are ignored otherwise", () => {
    const { transfers } = parseCoreBlock(
      answer,
      watch("bcrt1q7n36a807k8fjwklngd0z2zgvu8r4c0vvttaxph", "bcrt1qy4ncf09ssalpdhfv66ka374wu9s8jcykzty38u"),
      "BTC",
    );
    expect(transfers.map((t) => [t.txid.slice(0, 8), t.index, t.amount])).toEqual([
      ["273e18ab", 0, 1250002820n],
      ["9536e1ed", 0, 49993020n],
    ]);
    expect(parseCoreBlock(answer, watch(), "BTC").transfers).toEqual([]);
  });

  test("error: a verbosity-1 answer (txids only) is refused, not read as an empty block", () => {
    const v1 = {
      ...(answer as object),
      tx: ["273e18ab89efeaf04a301222c0130f2e3c778eb953e7e2aaa227c475ff46983f"],
    };
    expect(() => parseCoreBlock(v1, watch("x"), "BTC")).toThrow();
  });
});
