// The parsers against the TRON docs' own response bodies (copied verbatim from /work/shared/fixtures/tron).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  TRANSFER_TOPIC,
  findTrc20Transfers,
  findTrxTransfers,
  parseBlockList,
  parseTransactionInfos,
  parseTronBlock,
  parseTxInfo,
} from "../../../src/chains/tron/parse.js";
import { tronBase58ToHex } from "../../../src/chains/tron/address.js";
import { decodeTransferContract, tronTxId } from "../../../src/chains/tron/raw-transaction.js";
import { type WatchedSet } from "../../../src/chains/types.js";
import { RetryableError } from "../../../src/errors.js";

type Fixture = any;

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
}
function watching(...addresses: string[]): WatchedSet {
  const set = new Set(addresses);
  return { has: (a) => set.has(a), size: set.size };
}

const TRX_BLOCK = "getblockbynum_mainnet_30864544.json";
const TRX_TO = "TJ4eV1hnVAiFmeArBsuL6GkgTGVnWBe7eV"; // 4158c85b…, converted by tronweb
const TRX_TXID = "979e0823f455f3b67d65b351052f0265233f422792d31d5dbeb7c24737dd5556";
const NILE_USDT = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"; // 41eca9bc…
const USDT_FROM = "TFWCgEouJUC1bHLMfjdzLQdXPeiCE1byfw"; // 3cb540bb…
const USDT_TO = "TWgezbnYkrQrWJY4tv2vbftyvUwaM9r7s1"; // e3394468…

describe("parseTronBlock", () => {
  it("default: identity of mainnet block 30864544", () => {
    const block = parseTronBlock(fixture(TRX_BLOCK), "fixture")!;
    expect(block.ref).toEqual({
      number: 30864544,
      hash: "0000000001d6f4a09f60c27befccff6fe3cc593b2d6c46cdc79d3fd4f55db859",
      parentHash: "0000000001d6f49f615231bdeeddd8b563c746188d5e270a58afc87b059f29de",
      timestamp: 1623055923000,
    });
    expect(block.txs).toHaveLength(1);
    expect(block.txs[0]).toMatchObject({ txID: TRX_TXID, type: "TransferContract", contractRet: "SUCCESS" });
  });

  it("default: the Nile header-only block", () => {
    const block = parseTronBlock(fixture("getblockbynum_nile_66987565_header.json"), "fixture")!;
    expect(block.ref.number).toBe(66987565);
    expect(block.ref.hash).toBe("0000000003fe262d52bfa4b2814f816fd2e57af5b98a33d60d8630a03a908e0e");
    expect(block.ref.timestamp).toBe(1777445121000);
    expect(block.txs).toEqual([]);
  });

  it("behavior: {} is a missing block", () => {
    expect(parseTronBlock({}, "x")).toBeNull();
  });

  it("behavior: an empty block without a transactions field", () => {
    const raw = fixture(TRX_BLOCK) as Record<string, unknown>;
    delete raw.transactions;
    expect(parseTronBlock(raw, "x")!.txs).toEqual([]);
  });

  const garbage: Array<[string, (b: Record<string, Fixture>) => unknown]> = [
    ["not an object", () => "oops"],
    ["blockID not hex", (b) => ({ ...b, blockID: "zz" })],
    ["blockID of another number", (b) => ({ ...b, blockID: "0000000001d6f4a1" + b.blockID.slice(16) })],
    ["no header", (b) => ({ blockID: b.blockID, transactions: [] })],
    [
      "timestamp as string",
      (b) => ({ ...b, block_header: { raw_data: { ...b.block_header.raw_data, timestamp: "1" } } }),
    ],
    ["transactions not a list", (b) => ({ ...b, transactions: {} })],
    [
      "tx without contract",
      (b) => ({ ...b, transactions: [{ txID: TRX_TXID, raw_data: { contract: [] } }] }),
    ],
  ];
  for (const [name, mutate] of garbage) {
    it(`error: ${name} → RetryableError`, () => {
      expect(() => parseTronBlock(mutate(fixture(TRX_BLOCK) as Record<string, Fixture>), "x")).toThrow(
        RetryableError,
      );
    });
  }
});

describe("findTrxTransfers", () => {
  it("default: the TransferContract of block 30864544 (50 TRX)", () => {
    const block = parseTronBlock(fixture(TRX_BLOCK), "fixture")!;
    expect(findTrxTransfers(block, watching(TRX_TO), "TRX")).toEqual([
      {
        txid: TRX_TXID,
        index: 0,
        via: "transaction",
        asset: "TRX",
        address: TRX_TO,
        amount: 50_000_000n,
        block: { number: 30864544, hash: block.ref.hash, timestamp: 1623055923000 },
      },
    ]);
  });

  it("behavior: the sender or an unwatched address is not a deposit", () => {
    const block = parseTronBlock(fixture(TRX_BLOCK), "fixture")!;
    expect(findTrxTransfers(block, watching("TTmaAAbFPtACn1amP3FBkmmUygFh8udAvA"), "TRX")).toEqual([]);
    expect(findTrxTransfers(block, watching(), "TRX")).toEqual([]);
  });

  it("behavior: a result other than SUCCESS is not counted", () => {
    const raw = fixture(TRX_BLOCK) as Fixture;
    raw.transactions[0].ret[0].contractRet = "REVERT";
    expect(findTrxTransfers(parseTronBlock(raw, "x")!, watching(TRX_TO), "TRX")).toEqual([]);
  });

  it("error: JSON amount disagreeing with the signed raw_data_hex", () => {
    const raw = fixture(TRX_BLOCK) as Fixture;
    raw.transactions[0].raw_data.contract[0].parameter.value.amount = 60_000_000;
    expect(() => findTrxTransfers(parseTronBlock(raw, "x")!, watching(TRX_TO), "TRX")).toThrow(/disagree/);
  });

  it("error: raw_data_hex that is not the txID's preimage", () => {
    const raw = fixture(TRX_BLOCK) as Fixture;
    raw.transactions[0].txID = "00".repeat(32);
    expect(() => findTrxTransfers(parseTronBlock(raw, "x")!, watching(TRX_TO), "TRX")).toThrow(/sha256/);
  });

  it("behavior: without raw_data_hex the JSON amount is used", () => {
    const raw = fixture(TRX_BLOCK) as Fixture;
    delete raw.transactions[0].raw_data_hex;
    expect(findTrxTransfers(parseTronBlock(raw, "x")!, watching(TRX_TO), "TRX")[0]!.amount).toBe(50_000_000n);
  });
});

describe("raw_data_hex", () => {
  it("default: txID is sha256 of the raw bytes; TransferContract decodes to the JSON's values", () => {
    const tx = (fixture(TRX_BLOCK) as Fixture).transactions[0];
    expect(tronTxId(tx.raw_data_hex)).toBe(tx.txID);
    expect(decodeTransferContract(tx.raw_data_hex)).toEqual({
      to: "4158c85b7b6a5118beb3b23c14fcb2f3551a81d79a",
      amount: 50_000_000n,
    });
  });

  it("behavior: a TRC-10 TransferAssetContract is not a TransferContract", () => {
    const tx = (fixture("getblockbylimitnext_mainnet_30864542.json") as Fixture).block[0].transactions[0];
    expect(tronTxId(tx.raw_data_hex)).toBe(tx.txID);
    expect(decodeTransferContract(tx.raw_data_hex)).toBeNull();
  });
});

describe("parseBlockList", () => {
  it("default: the {block:[…]} wrapper; its TRC-10 transfer is ignored", () => {
    const blocks = parseBlockList(fixture("getblockbylimitnext_mainnet_30864542.json"), "fixture");
    expect(blocks.map((b) => b.ref.number)).toEqual([30864542]);
    expect(blocks[0]!.txs[0]!.type).toBe("TransferAssetContract");
    // its recipient (4151521c… = THPC6jX3TP6tUfTAn3RJJjppcQtP895kkf) got 468000 of token 1004083, not TRX
    expect(findTrxTransfers(blocks[0]!, watching("THPC6jX3TP6tUfTAn3RJJjppcQtP895kkf"), "TRX")).toEqual([]);
  });

  it("behavior: {} is an empty list; a non-list is garbage", () => {
    expect(parseBlockList({}, "x")).toEqual([]);
    expect(() => parseBlockList({ block: {} }, "x")).toThrow(RetryableError);
    expect(() => parseBlockList({ block: [{}] }, "x")).toThrow(RetryableError);
  });
});

describe("transaction infos", () => {
  it("default: plain TRX infos of Nile block 66987565 have no logs and no receipt result", () => {
    const infos = parseTransactionInfos(
      fixture("gettransactioninfobyblocknum_nile_66987565_first2.json"),
      "fixture",
    );
    expect(infos.map((i) => i.id)).toEqual([
      "ff44a2823a870c12f12a4ca6e7647650356bc2bb5e02c5855312cf2db4c950c1",
      "0419405287081aa44f4d78725e6fabac8d14e71abf9e28825ad4f4e61a5bccb7",
    ]);
    expect(
      infos.every((i) => i.logs.length === 0 && i.receiptResult === undefined && i.blockNumber === 66987565),
    ).toBe(true);
  });

  it("behavior: [] (and {}) for a block without transactions; garbage is retryable", () => {
    expect(parseTransactionInfos([], "x")).toEqual([]);
    expect(parseTransactionInfos({}, "x")).toEqual([]);
    expect(() => parseTransactionInfos({ Error: "x" }, "x")).toThrow(RetryableError);
    expect(() => parseTransactionInfos([{ id: "ab" }], "x")).toThrow(RetryableError);
  });

  it("default: the Nile USDT Transfer log → 1 USDT from TFWCg… to TWgez…", () => {
    const info = parseTxInfo(fixture("gettransactioninfobyid_nile_usdt_transfer.json"), "fixture");
    expect(info.receiptResult).toBe("SUCCESS");
    expect(info.logs[0]!.topics[0]).toBe(TRANSFER_TOPIC);
    const block = {
      ref: {
        number: info.blockNumber,
        hash: "00".repeat(32),
        parentHash: "00".repeat(32),
        timestamp: 1734772239000,
      },
      txs: [
        {
          txID: info.id,
          type: "TriggerSmartContract",
          value: {},
          contractRet: "SUCCESS",
          rawDataHex: undefined,
        },
      ],
    };
    // logs carry the contract as 20-byte hex: the configured T-address minus its 41
    const tokens = new Map([[tronBase58ToHex(NILE_USDT).slice(2), "USDT-TRC20"]]);
    expect(findTrc20Transfers(block, [info], tokens, watching(USDT_TO))).toEqual([
      {
        txid: "d6161e2819feaa74ee44113ccb525f79cc2d9fa1f290554804988d1223d2e3b6",
        index: 0,
        via: "log",
        asset: "USDT-TRC20",
        address: USDT_TO,
        amount: 1_000_000n,
        block: { number: 52953811, hash: "00".repeat(32), timestamp: 1734772239000 },
      },
    ]);
    // the sender is not paid; another token contract is not configured
    expect(findTrc20Transfers(block, [info], tokens, watching(USDT_FROM))).toEqual([]);
    expect(
      findTrc20Transfers(
        block,
        [info],
        new Map([["a614f803b6fd780986a42c78ec9c7f77e6ded13c", "X"]]),
        watching(USDT_TO),
      ),
    ).toEqual([]);
  });

  it("behavior: a failed execution does not count even if it carries the log", () => {
    const raw = fixture("gettransactioninfobyid_nile_usdt_transfer.json") as Fixture;
    const tokens = new Map([["eca9bc828a3005b9a3b909f2cc5c2a54794de05f", "USDT-TRC20"]]);
    const block = {
      ref: { number: 52953811, hash: "00".repeat(32), parentHash: "00".repeat(32), timestamp: 1734772239000 },
      txs: [
        {
          txID: raw.id,
          type: "TriggerSmartContract",
          value: {},
          contractRet: "SUCCESS",
          rawDataHex: undefined,
        },
      ],
    };
    for (const patch of [
      { receipt: { ...raw.receipt, result: "REVERT" } },
      { result: "FAILED" },
      { receipt: { ...raw.receipt, result: "OUT_OF_ENERGY" } },
    ]) {
      const info = parseTxInfo({ ...raw, ...patch }, "x");
      expect(findTrc20Transfers(block, [info], tokens, watching(USDT_TO))).toEqual([]);
    }
  });

  it("error: infos of another block, or a contract call without info", () => {
    const raw = fixture("gettransactioninfobyid_nile_usdt_transfer.json") as Fixture;
    const info = parseTxInfo(raw, "x");
    const tokens = new Map([["eca9bc828a3005b9a3b909f2cc5c2a54794de05f", "USDT-TRC20"]]);
    const tx = {
      txID: raw.id,
      type: "TriggerSmartContract",
      value: {},
      contractRet: "SUCCESS",
      rawDataHex: undefined,
    };
    const ref = {
      number: 52953811,
      hash: "00".repeat(32),
      parentHash: "00".repeat(32),
      timestamp: 1734772239000,
    };
    expect(() =>
      findTrc20Transfers({ ref: { ...ref, number: 52953812 }, txs: [tx] }, [info], tokens, watching()),
    ).toThrow(RetryableError);
    expect(() => findTrc20Transfers({ ref, txs: [tx] }, [], tokens, watching())).toThrow(/no info/);
    expect(() => findTrc20Transfers({ ref, txs: [] }, [info], tokens, watching())).toThrow(
      /not a transaction/,
    );
  });
});
