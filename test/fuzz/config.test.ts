// Hostile config files: random text, YAML/JSON breakage, and valid configs with random parts replaced.
// parseConfigText + validateConfig either accept or throw ConfigError listing `path: message` lines;
// never another exception, never a hang.
import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfigText, validateConfig } from "../../src/config/load.js";
import { rawConfig } from "../helpers/config.js";
import { SEED, recordResult, size } from "../chaos/harness.js";

const RUNS = size(2000, 12_000);

type Outcome = "ok" | "config-error";

function check(text: string, source: string): Outcome {
  try {
    validateConfig(parseConfigText(text, source), {});
    return "ok";
  } catch (e) {
    if (!(e instanceof ConfigError))
      throw new Error(`not a ConfigError: ${(e as Error)?.name}: ${(e as Error)?.message}`);
    if (e.problems.length === 0) throw new Error("ConfigError without problems");
    for (const p of e.problems) {
      // "path: message", one line each
      if (!/^[^\n:]+(:[^\n:]*)*: \S[^\n]*$/.test(p) || p.includes("\n"))
        throw new Error(`bad problem line: ${JSON.stringify(p)}`);
    }
    return "config-error";
  }
}

const PATHS: (string | number)[][] = [
  ["database"],
  ["database", "path"],
  ["database", "synchronous"],
  ["database", "engine"],
  ["database", "url"],
  ["api", "listen"],
  ["api", "keys"],
  ["api", "keys", 0, "sha256"],
  ["api", "keys", 0, "name"],
  ["notify", "secrets"],
  ["notify", "secrets", 0, "value"],
  ["notify", "retry_schedule_s"],
  ["notify", "timeout_ms"],
  ["orders", "valid_minutes"],
  ["orders", "underpaid_tolerance"],
  ["rates", "static", "USD"],
  ["rates", "static", "USD", "ETH"],
  ["chains"],
  ["chains", 0, "kind"],
  ["chains", 0, "rpc"],
  ["chains", 0, "rpc", 0],
  ["chains", 0, "pool"],
  ["chains", 0, "pool", "source"],
  ["chains", 0, "start_block"],
  ["chains", 0, "chain_id"],
  ["assets"],
  ["assets", 0, "decimals"],
  ["assets", 1, "contract"],
  ["assets", 1, "chain"],
  ["log", "level"],
  ["extra_key"],
];

const hostile = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constantFrom(
    -1,
    0,
    1e308,
    Number.NaN,
    "",
    "http://",
    "ftp://x",
    "127.0.0.1:99999",
    "../../../etc/passwd",
    { env: "" },
    { env: "NOT_SET_ANYWHERE" },
    { file: "" },
    { file: "missing/secret.txt" },
    { env: "A", file: "B" },
    [],
    {},
    null,
  ),
);

function setAt(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return;
    node = (node as Record<string, unknown>)[key];
  }
  if (node !== null && typeof node === "object")
    (node as Record<string | number, unknown>)[path.at(-1)!] = value;
}

// one valid config, made once (on the postgres engine each rawConfig() makes a database)
let valid: Record<string, unknown> | undefined;
const base = () => (valid ??= rawConfig());

const mutatedConfig = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom(...PATHS), hostile), { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([edits, yaml]) => {
    const cfg = structuredClone(base());
    for (const [path, value] of edits) setAt(cfg, path, value);
    return yaml
      ? { text: stringify(cfg), source: "fuzz.yaml" }
      : { text: JSON.stringify(cfg), source: "fuzz.json" };
  });

// text-level damage to a valid file: cut, duplicated keys, stray characters, tabs, anchors
const damagedText = fc
  .tuple(fc.boolean(), fc.nat(), fc.nat(), fc.string({ maxLength: 8 }))
  .map(([yaml, a, b, junk]) => {
    const text = yaml ? stringify(base()) : JSON.stringify(base(), null, 1);
    const i = a % text.length;
    const j = b % text.length;
    return {
      text: text.slice(0, Math.min(i, j)) + junk + text.slice(Math.max(i, j)),
      source: yaml ? "fuzz.yaml" : "fuzz.json",
    };
  });

const randomText = fc
  .tuple(fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.json()), fc.boolean())
  .map(([text, yaml]) => ({ text, source: yaml ? "fuzz.yaml" : "fuzz.json" }));

describe("fuzz: config loader", () => {
  it("error: a YAML alias bomb and duplicate keys are config errors, not hangs or crashes", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(", ")}]`,
      ),
    ].join("\n");
    expect(check(bomb, "bomb.yaml")).toBe("config-error");
    expect(check("database: {}\ndatabase: {}\n", "dup.yaml")).toBe("config-error");
    expect(() => parseConfigText("a: 1\na: 2\n", "dup.yaml")).toThrow(/dup\.yaml: cannot parse/);
  });

  it(`behavior: ${RUNS} damaged configs are accepted or refused with path: message lines, never anything else`, () => {
    const started = Date.now();
    const tally: Record<Outcome, number> = { ok: 0, "config-error": 0 };
    fc.assert(
      fc.property(fc.oneof(mutatedConfig, damagedText, randomText), ({ text, source }) => {
        tally[check(text, source)]++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    recordResult({
      scenario: "fuzz: config loader",
      faults: `${RUNS} damaged configs (${tally["config-error"]} refused, ${tally.ok} still valid)`,
      checked: "ConfigError with path: message lines only",
      delivered: "-",
      mismatches: 0,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(tally["config-error"]).toBeGreaterThan(RUNS / 2);
  });
});
