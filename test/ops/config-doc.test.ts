import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_DOC_PATH, configKeys, renderConfigDoc } from "../../scripts/gen-config-doc.js";

const docPath = new URL(`../../${CONFIG_DOC_PATH}`, import.meta.url);

describe("docs/config.md", () => {
  it("default: is exactly what scripts/gen-config-doc.ts renders from the schema", () => {
    const current = readFileSync(docPath, "utf8");
    // not toBe(): a long diff helps nobody; the message says how to fix it
    expect(
      current === renderConfigDoc(),
      `${CONFIG_DOC_PATH} is out of date with src/config/schema.ts or config/depositd.example.yaml: ` +
        "run `npm run gen:config-doc` and commit the result",
    ).toBe(true);
  });

  it("behavior: lists every key with its type, default and description", () => {
    const doc = renderConfigDoc();
    const keys = configKeys();
    expect(keys.length).toBeGreaterThan(50);
    for (const k of keys) expect(doc, k.path).toContain(`| \`${k.path}\` |`);
    expect(doc).toContain(
      "| `chains[].poll_interval_ms` | integer 50–600000 | `2000` | how often the head is polled |",
    );
    expect(doc).toContain(
      "| `api.keys` | list of object (≥ 1 items) | **required** | API keys, stored hashed |",
    );
  });

  it("behavior: keys of one variant say which variant they belong to", () => {
    const byPath = (p: string) => configKeys().filter((k) => k.path === p);
    expect(byPath("chains[].chain_id")[0]!.when).toEqual([{ key: "kind", values: ["evm"] }]);
    expect(byPath("chains[].rpc_auth")[0]!.when).toEqual([{ key: "kind", values: ["bitcoin"] }]);
    expect(byPath("chains[].pool.xpub")[0]!.when).toEqual([{ key: "source", values: ["xpub"] }]);
    // shared by every kind and source: no condition
    expect(byPath("chains[].rpc")[0]!.when).toEqual([]);
    expect(byPath("chains[].pool.low_water")).toHaveLength(1);
    expect(byPath("chains[].pool.low_water")[0]!.when).toEqual([]);
    expect(renderConfigDoc()).toContain("*(only when kind: tron)* sent as TRON-PRO-API-KEY");
  });

  it("behavior: embeds the validated example configuration", () => {
    const example = readFileSync(new URL("../../config/depositd.example.yaml", import.meta.url), "utf8");
    expect(renderConfigDoc()).toContain("```yaml\n" + example.trimEnd() + "\n```");
  });
});
