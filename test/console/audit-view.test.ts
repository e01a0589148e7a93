// The overview's audit section: without persisted findings it says "audit: not enabled"; with a
// source of findings (here the self-audit's own verdict, compareRange on a real-shaped rescan,
// held in memory: this branch has no findings table yet) it shows counts and each finding.
import { describe, expect, it } from "vitest";
import { type AuditFinding, compareRange } from "../../src/core/audit.js";
import { type AuditFindingsSource, type Overview, loadAudit } from "../../src/console/data.js";
import { renderOverview } from "../../src/console/render.js";
import { TEST_EPOCH_MS } from "../helpers/config.js";

const frame = { css: "/c.css", js: "/c.js", csrf: "t", operator: "ops", now: TEST_EPOCH_MS };
const overview: Overview = {
  now: TEST_EPOCH_MS,
  chains: [],
  outbox: { pending: 0, oldest_pending_ms: null, dead: 0 },
  orders: [],
  ordersPerHour: [],
  paymentsPerHour: [],
  ordersByStatus: { day: { hoursPerBucket: 1, buckets: [] }, week: { hoursPerBucket: 6, buckets: [] } },
};
const rates = { live: false, pairs: [], unpriced: [], providers: [] };

function findings(): AuditFinding[] {
  const block = { number: 7, hash: "0xb7", timestamp: 1 };
  return compareRange(
    [
      { txid: "0xaa", index: 0, asset: "ETH", address: "0x01", amount: 5n, block },
      { txid: "0xbb", index: 1, asset: "ETH", address: "0x02", amount: 9n, block },
    ],
    [
      {
        id: "pay_1",
        txid: "0xbb",
        idx: 1,
        asset: "ETH",
        address: "0x02",
        amount: "8",
        block_number: 7,
        block_hash: "0xb7",
        status: "confirmed",
      },
    ],
    new Map([[7, "0xb7"]]),
  );
}

describe("the overview's audit section", () => {
  it("default: without persisted findings it says audit: not enabled", () => {
    const page = renderOverview(frame, overview, rates, loadAudit(undefined));
    expect(page).toContain("audit: not enabled");
  });

  it("behavior: findings from a source are counted by kind and listed with their chain", () => {
    const list = findings();
    expect(list.map((f) => f.kind)).toEqual(["missing", "mismatch"]);
    const source: AuditFindingsSource = {
      counts: () => [
        { kind: "missing", n: 1 },
        { kind: "mismatch", n: 1 },
        { kind: "extra", n: 0 },
      ],
      recent: (limit) =>
        list.slice(0, limit).map((finding) => ({ chain: "eth", found_at: TEST_EPOCH_MS, finding })),
      cursors: () => [{ chain: "eth", next_block: 8, last_run_at: TEST_EPOCH_MS - 60_000, last_error: null }],
    };
    const view = loadAudit(source);
    expect(view).toMatchObject({ enabled: true, total: 2 });
    const page = renderOverview(frame, overview, rates, view).replace(/\s+/g, " ");
    expect(page).not.toContain("audit: not enabled");
    expect(page).toContain('<span class="badge bad">findings</span>');
    expect(page).toContain("next block 8 · ran 60 s ago");
    expect(page).toContain("0xaa#0 ETH");
    expect(page).toContain("stored 8 to 0x02, on chain 9 to 0x02");
    expect(page).not.toContain("<dt>extra</dt>");
    expect(page).toContain("<dt>missing</dt> <dd>1</dd>");
  });
});
