// `depositd dev` end to end: anvil from npm, token, xpub pool, daemon, demo order paid, callbacks verified.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { freePort } from "../src/dev/anvil.js";
import { runDev } from "../src/dev/index.js";

it("default: the embedded default runs the demo order to paid with signed callbacks", async () => {
  const dir = mkdtempSync(join(tmpdir(), "depositd-dev-"));
  const lines: string[] = [];
  try {
    const run = await runDev({
      dir,
      port: await freePort(),
      exitAfterDemo: true,
      print: (l) => lines.push(l),
    });
    const out = lines.join("\n");
    expect(out).toContain("status: pending → processing");
    expect(out).toContain("→ paid");
    expect(out).toMatch(/callback ✓ signature ok\s+order.paid/);
    expect(run.received.map((e) => e.type)).toEqual(
      expect.arrayContaining(["payment.seen", "order.processing", "payment.confirmed", "order.paid"]),
    );
    // the written config is a valid, loadable config
    expect(readFileSync(join(dir, "depositd.yaml"), "utf8")).toContain("source: xpub");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
