// Small inline SVG charts drawn on the server (no chart library, no script): a lag line and bars.
// Pure: data and the time window in, markup out.
import { type Html, html } from "./html.js";

export interface Point {
  at: number;
  value: number | null;
}

const W = 320;
const H = 64;

/** A line of `points` over [from, to]; null values break the line. */
export function lineChart(points: Point[], from: number, to: number, label: string, unit: string): Html {
  const max = Math.max(1, ...points.map((p) => p.value ?? 0));
  const x = (at: number) => (((at - from) / Math.max(1, to - from)) * W).toFixed(1);
  const y = (v: number) => (H - 4 - (v / max) * (H - 12)).toFixed(1);
  const runs: string[][] = [[]];
  for (const p of points) {
    if (p.value === null) runs.push([]);
    else runs[runs.length - 1]!.push(`${x(p.at)},${y(p.value)}`);
  }
  const lines = runs.filter((r) => r.length > 0);
  const last = [...points].reverse().find((p) => p.value !== null);
  const summary = points.length
    ? `${label}: ${points.length} samples, peak ${max} ${unit}, latest ${last?.value ?? "none"} ${unit}`
    : `${label}: no samples yet`;
  return html`<svg
    class="chart"
    viewBox="0 0 ${W} ${H}"
    width="${W}"
    height="${H}"
    role="img"
    aria-label="${summary}"
  >
    <title>${summary}</title>
    <line x1="0" y1="${H - 4}" x2="${W}" y2="${H - 4}" stroke="#9ca3af" stroke-width="1" />
    <text x="2" y="10" font-size="10" fill="#4b5563">
      ${points.length ? `${max} ${unit}` : "no samples yet"}
    </text>
    ${lines.map((r) =>
      r.length === 1
        ? html`<circle cx="${r[0]!.split(",")[0]!}" cy="${r[0]!.split(",")[1]!}" r="2" fill="#1d4ed8" />`
        : html`<polyline points="${r.join(" ")}" fill="none" stroke="#1d4ed8" stroke-width="2" />`,
    )}
  </svg>`;
}

/** Vertical bars, one per bucket, oldest first. */
export function barChart(values: number[], label: string): Html {
  const max = Math.max(1, ...values);
  const bw = W / Math.max(1, values.length);
  const total = values.reduce((a, b) => a + b, 0);
  const summary = `${label}: ${total} in ${values.length} buckets, peak ${Math.max(0, ...values)}`;
  return html`<svg
    class="chart"
    viewBox="0 0 ${W} ${H}"
    width="${W}"
    height="${H}"
    role="img"
    aria-label="${summary}"
  >
    <title>${summary}</title>
    <line x1="0" y1="${H - 4}" x2="${W}" y2="${H - 4}" stroke="#9ca3af" stroke-width="1" />
    <text x="2" y="10" font-size="10" fill="#4b5563">${Math.max(0, ...values)}</text>
    ${values.map((v, i) => {
      const h = (v / max) * (H - 16);
      return v > 0
        ? html`<rect
            x="${(i * bw + 0.5).toFixed(1)}"
            y="${(H - 4 - h).toFixed(1)}"
            width="${Math.max(1, bw - 1).toFixed(1)}"
            height="${h.toFixed(1)}"
            fill="#047857"
          />`
        : "";
    })}
  </svg>`;
}

/** One colour per order status: the stacked chart's bars and its legend's swatches (assets.ts). */
export const STATUS_COLORS = {
  pending: "#7c3aed",
  processing: "#2563eb",
  partially_paid: "#d97706",
  paid: "#047857",
  overpaid: "#0f766e",
  expired: "#b91c1c",
  paid_late: "#65a30d",
  cancelled: "#6b7280",
} as const;

/** Stacked bars, one per bucket (oldest first), one colour per key, in `keys` order bottom up. */
export function stackedBars<K extends string>(
  buckets: Partial<Record<K, number>>[],
  keys: readonly K[],
  colors: Record<K, string>,
  label: string,
): Html {
  const totals = buckets.map((b) => keys.reduce((a, k) => a + (b[k] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const bw = W / Math.max(1, buckets.length);
  const byKey = keys
    .map((k) => [k, buckets.reduce((a, b) => a + (b[k] ?? 0), 0)] as const)
    .filter(([, n]) => n > 0);
  // one path per key (a few hundred bytes), not one rect per bucket and key
  const d = {} as Record<K, string>;
  buckets.forEach((b, i) => {
    let y = H - 4;
    for (const k of keys) {
      const v = b[k] ?? 0;
      if (v <= 0) continue;
      const h = (v / max) * (H - 16);
      y -= h;
      d[k] =
        `${d[k] ?? ""}M${(i * bw + 0.5).toFixed(1)} ${y.toFixed(1)}h${Math.max(1, bw - 1).toFixed(1)}v${h.toFixed(1)}h-${Math.max(1, bw - 1).toFixed(1)}z`;
    }
  });
  const summary = `${label}: ${totals.reduce((a, b) => a + b, 0)} orders${byKey.length ? ", " : ""}${byKey.map(([k, n]) => `${n} ${k}`).join(", ")}`;
  return html`<svg
    class="chart"
    viewBox="0 0 ${W} ${H}"
    width="${W}"
    height="${H}"
    role="img"
    aria-label="${summary}"
  >
    <title>${summary}</title>
    <line x1="0" y1="${H - 4}" x2="${W}" y2="${H - 4}" stroke="#9ca3af" stroke-width="1" />
    <text x="2" y="10" font-size="10" fill="#4b5563">${Math.max(0, ...totals)}</text>
    ${keys.map((k) => (d[k] ? html`<path d="${d[k]}" fill="${colors[k]}" data-status="${k}" />` : ""))}
  </svg>`;
}
