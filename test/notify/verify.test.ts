import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signatureHeader } from "../../src/notify/sign.js";
import { verifySignature } from "../../src/notify/verify.js";
import { OLD_SECRET, SECRET } from "./helpers.js";

const body =
  '{"id":"evt_1","type":"order.paid","seq":4,"created_at":"2025-01-01T00:00:00.000Z","order":{"note":"ü ✓"},"payment":null}';
const t = 1_750_000_000;

describe("signatureHeader", () => {
  it("default: t=<t>,v1=<hex HMAC-SHA256(secret, t.body)>", () => {
    const expected = createHmac("sha256", SECRET).update(`${t}.${body}`).digest("hex");
    expect(signatureHeader(body, [SECRET], t)).toBe(`t=${t},v1=${expected}`);
  });

  it("behavior: one v1 per secret while rotating, in config order", () => {
    const h = signatureHeader(body, [OLD_SECRET, SECRET], t);
    const parts = h.split(",");
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(`v1=${createHmac("sha256", OLD_SECRET).update(`${t}.${body}`).digest("hex")}`);
    expect(parts[2]).toBe(`v1=${createHmac("sha256", SECRET).update(`${t}.${body}`).digest("hex")}`);
  });

  it("behavior: t is whole seconds", () => {
    expect(signatureHeader(body, [SECRET], t + 0.9).startsWith(`t=${t},`)).toBe(true);
  });
});

describe("verifySignature", () => {
  const header = signatureHeader(body, [SECRET], t);

  it("default: accepts a fresh signature, string or Buffer body", () => {
    expect(verifySignature(body, header, [SECRET], { now: t + 10 })).toBe(true);
    expect(verifySignature(Buffer.from(body, "utf8"), header, [SECRET], { now: t + 10 })).toBe(true);
  });

  it("args: now may be given in milliseconds", () => {
    expect(verifySignature(body, header, [SECRET], { now: (t + 10) * 1000 })).toBe(true);
    expect(verifySignature(body, header, [SECRET], { now: (t + 301) * 1000 })).toBe(false);
  });

  it("error: tampered body, wrong secret", () => {
    expect(verifySignature(body.replace('"seq":4', '"seq":5'), header, [SECRET], { now: t })).toBe(false);
    expect(verifySignature(body + " ", header, [SECRET], { now: t })).toBe(false);
    expect(verifySignature(body, header, ["another_secret_value_123"], { now: t })).toBe(false);
  });

  it("error: t outside the tolerance (old or far future); tolerance is configurable", () => {
    expect(verifySignature(body, header, [SECRET], { now: t + 300 })).toBe(true);
    expect(verifySignature(body, header, [SECRET], { now: t + 301 })).toBe(false);
    expect(verifySignature(body, header, [SECRET], { now: t - 301 })).toBe(false);
    expect(verifySignature(body, header, [SECRET], { now: t + 3600, toleranceSec: 7200 })).toBe(true);
  });

  it("error: a changed t invalidates the HMAC", () => {
    const moved = header.replace(`t=${t}`, `t=${t + 1}`);
    expect(verifySignature(body, moved, [SECRET], { now: t })).toBe(false);
  });

  it("behavior: rotation — either secret verifies a two-v1 header", () => {
    const rotating = signatureHeader(body, [OLD_SECRET, SECRET], t);
    expect(verifySignature(body, rotating, [SECRET], { now: t })).toBe(true);
    expect(verifySignature(body, rotating, [OLD_SECRET], { now: t })).toBe(true);
    expect(verifySignature(body, rotating, ["not_one_of_them_1234"], { now: t })).toBe(false);
  });

  it("error: missing parts", () => {
    const v1 = header.split(",")[1]!;
    expect(verifySignature(body, v1, [SECRET], { now: t })).toBe(false);
    expect(verifySignature(body, `t=${t}`, [SECRET], { now: t })).toBe(false);
    expect(verifySignature(body, `t=${t},v0=${v1.slice(3)}`, [SECRET], { now: t })).toBe(false);
    expect(verifySignature(body, `t=${t},t=${t},${v1}`, [SECRET], { now: t })).toBe(false);
    expect(verifySignature(body, header, [], { now: t })).toBe(false);
    expect(verifySignature(body, "", [SECRET], { now: t })).toBe(false);
  });

  it("behavior: never throws on garbage", () => {
    const garbage: unknown[] = [
      undefined,
      null,
      42,
      {},
      "t=",
      "v1=zz",
      "t=abc,v1=00",
      ",,,,",
      "t=1e9,v1=" + "0".repeat(64),
    ];
    for (const g of garbage) {
      expect(verifySignature(body, g as string, [SECRET], { now: t })).toBe(false);
      expect(verifySignature(g as string, header, [SECRET], { now: t })).toBe(false);
      expect(verifySignature(body, header, g as string[], { now: t })).toBe(false);
    }
    fc.assert(
      fc.property(fc.string(), fc.string(), (h, b) => {
        expect(verifySignature(b, h, [SECRET], { now: t })).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("behavior: extra whitespace and unknown schemes are tolerated", () => {
    const [tp, v1] = header.split(",");
    expect(verifySignature(body, ` ${tp} , v0=abc, ${v1} `, [SECRET], { now: t })).toBe(true);
  });
});
