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
